"""Logging, set up once per process (the app, a gunicorn worker, a Celery worker): one line a record,
as text or as JSON (python-json-logger), each carrying the id of the request it serves.

The request id travels in a context variable: ``web.request_id`` sets it for each request (from the
caller's ``X-Request-ID`` or a new one), the jobs room hands it to every task the request queues and
sets it again in the worker, so one id follows a need from the click to the webhook.
"""
from __future__ import annotations

import logging
import logging.config
import uuid
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("sanku_request_id", default="")


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str:
    return REQUEST_ID.get()


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (empty outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def configure_logging(level: str, fmt: str = "text") -> None:
    formatters = {
        "text": {"format": "%(asctime)s %(levelname)s [%(name)s] %(request_id)s %(message)s"},
        "json": {"()": "pythonjsonlogger.json.JsonFormatter",
                 "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(request_id)s %(message)s",
                 "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                 "json_ensure_ascii": False},
    }
    logging.config.dictConfig({
        "version": 1, "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"line": formatters["json" if fmt == "json" else "text"]},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "line", "filters": ["request_id"]}},
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        # Alembic announces its plugins and each step at INFO; the CLI prints what matters.
        "loggers": {"alembic": {"level": "WARNING"}},
    })
