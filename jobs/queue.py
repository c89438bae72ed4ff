"""The Celery app of a Flask app: its settings come from the app's configuration (``core.config``:
``REDIS_URL`` or ``SANKU_BROKER_URL``), every task runs inside the app's context, and beat runs the
periodic jobs."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery, Task
from flask import Flask, current_app

from core.config import broker_url

# A result (a batch's stats, an import's report, a job's progress) is kept a day.
RESULT_EXPIRES_SECONDS = 24 * 3600

def init_celery(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    eager = bool(app.config["TASKS_EAGER"])
    url = broker_url(app.config)
    # Redis hands an unacknowledged task to another worker after this long (core.config).
    visibility = {"visibility_timeout": int(app.config["TASK_VISIBILITY_TIMEOUT_SECONDS"])}
    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=url if not eager else "memory://",
        # Eager (tests): results kept in this process, so a job's progress can still be read back.
        result_backend=url if not eager else "cache+memory://",
        task_default_queue=str(app.config["TASK_QUEUE"]),
        task_always_eager=eager,
        task_eager_propagates=True,
        task_store_eager_result=eager,
        task_serializer="json", result_serializer="json", accept_content=["json"],
        result_expires=RESULT_EXPIRES_SECONDS,
        result_extended=True,
        task_track_started=True,
        # A task is acknowledged when it has finished, and given back when its worker dies: nothing is
        # lost to a killed worker, which is why every task is written to be run twice safely.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options=visibility,
        result_backend_transport_options=visibility,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,  # the app's logging (core.logs: JSON with the request id) stays
        timezone="UTC",
        beat_schedule=beat_schedule(app.config),
    )
    celery.set_default()
    app.extensions["celery"] = celery
    from . import signals, tasks  # noqa: F401  (the tasks register with this app; the signals connect once)
    return celery


def beat_schedule(config: Any) -> dict[str, Any]:
    return {
        "escalate": {"task": "jobs.escalate", "schedule": timedelta(seconds=int(config["ESCALATE_EVERY_SECONDS"]))},
        "deliver-due-notifications": {"task": "jobs.deliver_due",
                                      "schedule": timedelta(seconds=int(config["DELIVER_EVERY_SECONDS"]))},
        "spawn-recurring-needs": {"task": "jobs.spawn_recurring",
                                  "schedule": timedelta(seconds=int(config["RECURRING_EVERY_SECONDS"]))},
        "apply-retention": {"task": "jobs.apply_retention", "schedule": timedelta(days=1)},
        "match-city": {"task": "jobs.match_city", "schedule": timedelta(seconds=int(config["MATCH_EVERY_SECONDS"]))},
    }


def celery_app() -> Celery:
    """The Celery app of the running Flask app."""
    celery: Celery = current_app.extensions["celery"]
    return celery


def task(name: str) -> Any:
    """A task by its name, bound to the running app's Celery."""
    return celery_app().tasks[name]
