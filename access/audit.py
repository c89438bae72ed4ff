"""The read audit (查看记录): each look at a resident's personal data by someone else — an unmasked contact, a photo,
a sensitive need's words, an export — leaves a record of who, when, what, from which endpoint or page, and why.

A record made while answering a read (GET) is written after the answer is ready, in a transaction of its own, so
a read stays a read; if it cannot be written the answer is withheld (500): no look without its record. The same
look repeated within ``REPEAT_WINDOW`` is recorded once; a look asked for with a reason always is."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.times import utcnow
from core.vocab import Role
from models import AccessRecord, Need, User

log = logging.getLogger(__name__)
WHAT = ("contact", "photo", "sensitive", "export", "data")
WHAT_ZH = {"contact": "联系方式", "photo": "照片", "sensitive": "需求内容", "export": "导出", "data": "个人数据"}
REPEAT_WINDOW = timedelta(hours=1)
_PENDING = "pending_access_records"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def record_access(session: Session, user: User, need: Need | None, what: str, *, reason: str = "",
                  count: int = 1, via: str | None = None) -> None:
    """``user`` saw ``what`` of ``need`` (None: an export of many). A resident's look at their own is no event."""
    assert what in WHAT, what
    if need is not None and user.role == Role.RESIDENT and need.resident_id == user.id:
        return
    row: dict[str, Any] = {"user_id": user.id, "need_id": need.id if need is not None else None, "what": what,
                           "via": (via or _via())[:200], "reason": reason, "count": count, "at": utcnow()}
    if has_request_context() and request.method in READ_ONLY_METHODS:
        g.setdefault(_PENDING, []).append(row)
    else:
        _write(session, [row])


def _via() -> str:
    return f"{request.method} {request.path}" if has_request_context() else "命令行"


def _write(session: Session, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if not row["reason"] and row["need_id"] is not None and session.scalar(
                select(AccessRecord.id).where(AccessRecord.user_id == row["user_id"],
                                              AccessRecord.need_id == row["need_id"], AccessRecord.what == row["what"],
                                              AccessRecord.at >= row["at"] - REPEAT_WINDOW).limit(1)) is not None:
            continue
        session.add(AccessRecord(**row))
    session.flush()


def install_read_audit(app: Flask) -> None:
    """Write the looks a read made, once its answer is ready (before it is sent)."""

    @app.after_request
    def _write_pending(response: Response) -> Response:
        rows = g.pop(_PENDING, None)
        if not rows or response.status_code >= 400:
            return response
        from core.database import get_db
        try:
            with get_db().unit_of_work() as session:
                _write(session, rows)
        except Exception:  # noqa: BLE001 (no look without its record: the answer is withheld)
            log.exception("read audit could not be written; answer withheld")
            return Response('{"error": {"code": "audit_failed", "message": "查看记录无法保存，请稍后再试"}}',
                            status=500, mimetype="application/json")
        return response


def access_log(session: Session, need: Need) -> list[AccessRecord]:
    return list(session.scalars(select(AccessRecord).where(AccessRecord.need_id == need.id)
                                .order_by(AccessRecord.at.desc(), AccessRecord.id.desc())))
