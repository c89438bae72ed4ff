"""Celery's signals, connected once per process: the request id goes with every task a request
queues and is set again while the task runs (its log lines carry it), and every task is counted by
state for /metrics (``sanku_tasks_total``)."""
from __future__ import annotations

from typing import Any

from celery import signals

from core.logs import REQUEST_ID
from core.metrics import TASKS

HEADER = "sanku_request_id"
_TOKENS = "_sanku_request_id_token"


@signals.before_task_publish.connect(dispatch_uid="sanku.request_id.publish")
def _send_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    rid = REQUEST_ID.get()
    if rid and headers is not None:
        headers[HEADER] = rid


@signals.task_prerun.connect(dispatch_uid="sanku.request_id.prerun")
def _take_request_id(task: Any = None, **_: Any) -> None:
    if task is None:
        return
    TASKS.labels(task.name, "started").inc()
    request = task.request
    rid = getattr(request, HEADER, None) or (getattr(request, "headers", None) or {}).get(HEADER)
    if rid:
        setattr(task.request, _TOKENS, REQUEST_ID.set(str(rid)))


@signals.task_postrun.connect(dispatch_uid="sanku.request_id.postrun")
def _forget_request_id(task: Any = None, **_: Any) -> None:
    token = getattr(task.request, _TOKENS, None) if task is not None else None
    if token is not None:
        try:
            REQUEST_ID.reset(token)
        except ValueError:  # set in another context (eager calls nest): leave it
            pass


@signals.task_success.connect(dispatch_uid="sanku.metrics.success")
def _count_success(sender: Any = None, **_: Any) -> None:
    TASKS.labels(getattr(sender, "name", "?"), "succeeded").inc()


@signals.task_retry.connect(dispatch_uid="sanku.metrics.retry")
def _count_retry(sender: Any = None, **_: Any) -> None:
    TASKS.labels(getattr(sender, "name", "?"), "retried").inc()


@signals.task_failure.connect(dispatch_uid="sanku.metrics.failure")
def _count_failure(sender: Any = None, **_: Any) -> None:
    TASKS.labels(getattr(sender, "name", "?"), "failed").inc()
