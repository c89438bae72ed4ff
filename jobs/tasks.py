"""The tasks. Each runs in the Flask app's context (``jobs.queue``), does its work in one unit of work
(committed at its end, rolled back on any error: a task that fails leaves the database as it was),
and may run twice without a second effect:

- ``jobs.match_city`` (beat): the city's batch, fanned out as one ``jobs.match_scope`` per subdistrict,
  each under an id made from its parent's and the subdistrict's, so a redelivered parent queues the same
  tasks again and each finds its run: one result per subdistrict, whichever worker takes it.
- ``jobs.match_scope``: batch matching of a grid, a Party grid or a subdistrict. The run is stored
  with the task's id (unique): a retried or redelivered task finds its run and answers it. Run again
  under a new id, it finds the needs it proposed for no longer waiting, and the unmatched still
  unmatched for the same reason: no proposal, no audit entry, no notification is added.
- ``jobs.escalate``: the SLA job (``workflow.sla``), on beat; each need moves once.
- ``jobs.deliver_due`` (beat) leases the notifications whose time has come and queues
  ``jobs.deliver_notification`` for each: one try, its failure counted with an exponential backoff,
  dead-lettered after the last (``workflow.notify``); a delivered row is never sent again.
- ``jobs.import_file``: a large file's import, with its phase for the pages; rows are upserted by
  ``ref``, so importing it again changes nothing.
- ``jobs.spawn_recurring``: the recurring needs that are due (``intake.recurring``), on beat.
"""
from __future__ import annotations

import base64
import logging
import uuid
from datetime import datetime
from typing import Any

from celery import Task, shared_task
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.config import setting
from core.database import get_db
from core.times import utcnow
from intake.recurring import spawn_due
from intake.service import import_records
from models import MatchRun, Subdistrict
from pools.tabular import TableError
from privacy.retention import apply_retention
from workflow.notify import attempt_delivery, claim_due, configured_sender
from workflow.service import match_scope
from workflow.sla import run_escalation

log = logging.getLogger(__name__)
DELIVER_BATCH = 500  # notifications leased per sweep


def _run_summary(run: MatchRun, repeated: bool) -> dict[str, Any]:
    return {"match_run_id": run.id, "scope": run.scope, "stats": dict(run.stats), "repeated": repeated}


def _run_of(task_id: str | None) -> dict[str, Any] | None:
    if not task_id:
        return None
    with get_db().unit_of_work() as session:
        run = session.scalar(select(MatchRun).where(MatchRun.task_id == task_id))
        return _run_summary(run, True) if run is not None else None


def subtask_id(parent_id: str, subdistrict_id: int) -> str:
    """The id of a subdistrict's part of a fanned-out batch: the same for the same parent, every time."""
    return str(uuid.uuid5(uuid.UUID(parent_id) if _is_uuid(parent_id) else uuid.NAMESPACE_OID,
                          f"{parent_id}:{subdistrict_id}"))


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def fan_out(celery: Any, parent_id: str, subdistrict_ids: list[int]) -> list[str]:
    """Queue one batch per subdistrict (workers take them in parallel); answers their task ids."""
    ids = []
    for subdistrict_id in subdistrict_ids:
        child = subtask_id(parent_id, subdistrict_id)
        celery.tasks["jobs.match_scope"].apply_async(kwargs={"subdistrict_id": subdistrict_id}, task_id=child)
        ids.append(child)
    return ids


@shared_task(name="jobs.match_city", bind=True)
def match_city_task(self: Task) -> dict[str, Any]:
    """The city's batch: one task per subdistrict (see the module doc); answers their ids by subdistrict."""
    with get_db().unit_of_work() as session:
        subdistricts = list(session.execute(select(Subdistrict.id, Subdistrict.code).order_by(Subdistrict.code)))
    ids = fan_out(self.app, self.request.id or str(uuid.uuid4()), [s.id for s in subdistricts])
    return {"tasks": {s.code: i for s, i in zip(subdistricts, ids)}}


@shared_task(name="jobs.match_scope", bind=True)
def match_scope_task(self: Task, grid: str | None = None, party_grid: str | None = None,
                     subdistrict_id: int | None = None) -> dict[str, Any]:
    """Batch-match a scope (in one subdistrict); answers the run's id, scope and stats."""
    task_id = self.request.id
    done = _run_of(task_id)
    if done is not None:
        log.info("match task %s already ran (run %s): nothing to do", task_id, done["match_run_id"])
        return done
    self.update_state(state="PROGRESS", meta={"phase": "matching", "scope": grid or party_grid or "all"})
    try:
        with get_db().unit_of_work() as session:
            run, _result = match_scope(session, grid=grid, party_grid=party_grid, subdistrict_id=subdistrict_id)
            run.task_id = task_id
            session.flush()
            summary = _run_summary(run, False)
    except IntegrityError:
        # The same task ran at once elsewhere (a redelivery) and stored its run first: answer that one.
        done = _run_of(task_id)
        if done is None:
            raise
        return done
    return summary


@shared_task(name="jobs.escalate")
def escalate_task(now: str | None = None) -> dict[str, int]:
    """One pass of the SLA job (``now``: ISO 8601 UTC, for a replay; None: the current time)."""
    moment = datetime.fromisoformat(now) if now else None
    with get_db().unit_of_work() as session:
        summary = run_escalation(session, now=moment)
    log.info("escalation: %s", summary)
    return dict(summary)


@shared_task(name="jobs.deliver_due", bind=True)
def deliver_due_task(self: Task) -> int:
    """Lease the due notifications and queue one delivery each; answers how many were queued."""
    if configured_sender() is None:
        return 0  # in-app only: nothing to send
    with get_db().unit_of_work() as session:
        ids = claim_due(session, DELIVER_BATCH)
    deliver = self.app.tasks["jobs.deliver_notification"]
    for notification_id in ids:
        deliver.delay(notification_id)
    return len(ids)


@shared_task(name="jobs.deliver_notification")
def deliver_notification_task(notification_id: int) -> dict[str, Any]:
    """One try of one notification (see ``workflow.notify.attempt_delivery``)."""
    sender = configured_sender()
    if sender is None:
        return {"id": notification_id, "outcome": "skipped"}
    with get_db().unit_of_work() as session:
        attempt = attempt_delivery(session, notification_id, sender)
    return {"id": notification_id, "outcome": attempt.outcome, "attempts": attempt.attempts,
            "retry_at": attempt.retry_at.isoformat() if attempt.retry_at else None}


@shared_task(name="jobs.import_file", bind=True)
def import_file_task(self: Task, kind: str, data_b64: str, filename: str, skip_invalid: bool = False,
                     subdistrict_id: int | None = None) -> dict[str, Any]:
    """Import a file (its bytes in base64, so a worker on another machine gets them with the task);
    the pages follow its phase: reading, checking (rows done of all), writing, then the report."""
    data = base64.b64decode(data_b64)
    self.update_state(state="PROGRESS", meta={"phase": "reading", "bytes": len(data), "filename": filename})

    def progress(phase: str, done: int, total: int) -> None:
        self.update_state(state="PROGRESS", meta={"phase": phase, "rows_done": done, "rows_total": total,
                                                  "bytes": len(data), "filename": filename})
    try:
        with get_db().unit_of_work() as session:
            report = import_records(session, kind, data, filename, skip_invalid=skip_invalid,
                                    subdistrict_id=subdistrict_id, progress=progress)
            if not report.imported:
                session.rollback()  # a rejected file imports nothing
    except TableError as exc:
        return {"phase": "rejected", "imported": False, "error": str(exc)}
    return {"phase": "done" if report.imported else "rejected", "imported": report.imported,
            "report": report.to_dict()}


@shared_task(name="jobs.spawn_recurring")
def spawn_recurring_task() -> dict[str, int]:
    with get_db().unit_of_work() as session:
        return dict(spawn_due(session))


@shared_task(name="jobs.apply_retention")
def apply_retention_task() -> dict[str, int]:
    """Retention on beat (``privacy.retention``): erase what the needs ended long ago no longer need."""
    with get_db().unit_of_work() as session:
        report = apply_retention(session, utcnow(), int(setting("RETENTION_DAYS")))
    log.info("retention: %d needs, %d photos, %d stray photo files", report.needs, report.photos, report.stray_files)
    return {"needs": report.needs, "photos": report.photos, "stray_files": report.stray_files}
