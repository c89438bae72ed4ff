"""The entry point of the Celery processes (``make prod`` starts them):

    celery -A jobs.worker worker      # runs the tasks
    celery -A jobs.worker beat        # queues the periodic ones (escalate, deliver, recurring needs)

The Flask app is built from the environment (``core.config``) as the web server's is, so a worker
uses the same database, broker and settings.
"""
from __future__ import annotations

from app import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
