"""The entry point of the Celery processes (``make prod`` starts them):

    celery -A worker worker      # runs the tasks
    celery -A worker beat        # queues the periodic ones (escalate, deliver, recurring needs, retention)

The Flask app is built from the environment (``core.config``) as the web server's is, so a worker
uses the same database, broker and settings. It sits beside ``app.py`` at the root, not in ``jobs/``: it builds
the whole app, and no room imports the composition root.
"""
from __future__ import annotations

from app import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
