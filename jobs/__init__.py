"""Jobs: the work that runs outside a request, on Celery with Redis as broker and result store.

    queue.py    the Celery app bound to the Flask app (settings from core.config, the beat schedule)
    tasks.py    batch matching of a scope, the SLA job, notification delivery, file imports
    signals.py  the request id carried into tasks; tasks counted by state for /metrics
    api.py      /api/v1/jobs: queue a batch or an import, follow its progress

Each task is one unit of work: it commits once at its end and rolls back on any error, so a task
that fails leaves the database as it was; and each is safe to run twice (see each task).
"""
