"""A resident's rights over their data (PIPL arts. 45, 47): a copy of all of it (``GET /me/data``) and its erasure
(``DELETE /me``). Both walk the inventory (``models.personal``): every personal column of every table that holds
the resident's rows is in the copy, and is blanked by the erasure; a new personal column joins both by being in
the inventory.

Erasure keeps the facts the subdistrict's figures and audit rest on — each need's grid, service, status, times and
rating, who moved it when — and removes their content: the resident's words, contacts, address and photos, the
reasons written along the way, the notifications and council items that quoted them."""
from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from access.auth import hash_password, revoke_sessions
from core.config import zone
from core.times import local_iso
from intake.photos import forget_photos
from models import (
    AccessRecord,
    AuditEntry,
    CouncilDecision,
    Need,
    NeedPhoto,
    Notification,
    Recurrence,
    User,
)
from models.base import Base
from models.personal import personal_columns

# The tables holding a resident's rows, and how a row is theirs. Tables of the inventory left out are about
# someone else (a volunteer's own entry, a proposal's decline, a Party member's visit notes): ``NOT_A_RESIDENTS``.
OWNED_BY: dict[str, str] = {
    "users": "the account itself",
    "needs": "needs.resident_id",
    "need_photos": "the photos of their needs",
    "audit_entries": "the audit trail of their needs",
    "notifications": "notifications about their needs",
    "council_decisions": "council items about their needs",
    "recurrences": "recurrences.resident_id",
    "access_records": "who looked at their needs",
}
NOT_A_RESIDENTS = frozenset({"volunteers", "proposals", "visits"})
# Columns besides the personal ones that make a row of the copy readable.
CONTEXT: dict[str, tuple[str, ...]] = {
    "users": ("id", "role", "created_at"),
    "needs": ("id", "ref", "service", "status", "urgency", "channel", "created_at", "closed_at", "rating",
              "window_start", "window_end", "grid_id"),
    "need_photos": ("id", "need_id", "content_type", "width", "height", "created_at"),
    "audit_entries": ("need_id", "at", "actor_role", "from_status", "to_status"),
    "notifications": ("need_id", "created_at"),
    "council_decisions": ("need_id", "meeting_date", "decision"),
    "recurrences": ("id", "rrule", "dtstart", "active"),
    "access_records": ("need_id", "at", "what", "via"),
}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return local_iso(value, zone())
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row(table: str, row: Base) -> dict[str, Any]:
    names = [*CONTEXT.get(table, ()), *(n for n, f in personal_columns(table).items() if f.exported)]
    return {name: _plain(getattr(row, name)) for name in names}


def _their_rows(session: Session, user: User) -> dict[str, list[Any]]:
    need_ids = list(session.scalars(select(Need.id).where(Need.resident_id == user.id).order_by(Need.id)))
    of_needs = lambda model: list(session.scalars(select(model).where(model.need_id.in_(need_ids))))  # noqa: E731
    return {
        "users": [user],
        "needs": list(session.scalars(select(Need).where(Need.id.in_(need_ids)).order_by(Need.id))),
        "need_photos": of_needs(NeedPhoto),
        "audit_entries": of_needs(AuditEntry),
        "notifications": list(session.scalars(select(Notification).where(Notification.need_id.in_(need_ids)))),
        "council_decisions": of_needs(CouncilDecision),
        "recurrences": list(session.scalars(select(Recurrence).where(Recurrence.resident_id == user.id))),
        "access_records": of_needs(AccessRecord),
    }


def data_of(session: Session, user: User) -> dict[str, Any]:
    """Everything Sanku holds about ``user``, table by table, as JSON-ready rows (their own copy)."""
    rows = _their_rows(session, user)
    body: dict[str, Any] = {table: [_row(table, r) for r in items] for table, items in rows.items()}
    body["account"] = body.pop("users")[0]
    return body


def erase_resident(session: Session, user: User) -> dict[str, int]:
    """Erase ``user`` (a resident): the account can no longer sign in and holds nothing personal; their needs stay
    in the figures with their content gone. How many rows of each kind were touched."""
    rows = _their_rows(session, user)
    need_ids = [n.id for n in rows["needs"]]
    for need in rows["needs"]:
        for name, field in personal_columns("needs").items():
            setattr(need, name, field.blank)
    photos = forget_photos(session, need_ids)
    # The audit trail is append-only for the application (models.workflow refuses ORM updates); erasure is the one
    # writer allowed to empty its words, and does it in SQL, keeping who moved each need when.
    for model, column in ((AuditEntry, "reason"), (AccessRecord, "reason"), (CouncilDecision, "item"),
                          (Notification, "message")):
        blank = personal_columns(model.__tablename__)[column].blank
        session.execute(update(model).where(model.need_id.in_(need_ids)).values({column: blank})
                        .execution_options(synchronize_session=False))
    for recurrence in rows["recurrences"]:
        for name, field in personal_columns("recurrences").items():
            setattr(recurrence, name, field.blank)
        recurrence.active = False
    for name, field in personal_columns("users").items():
        setattr(user, name, field.blank)
    user.username = f"deleted-{user.id}"
    user.display_name = "已注销"
    user.password_hash = hash_password(secrets.token_urlsafe(32))  # nobody knows it: the account cannot sign in
    user.active = False
    revoke_sessions(user)
    session.flush()
    session.expire_all()
    return {"needs": len(need_ids), "photos": photos, "recurrences": len(rows["recurrences"])}
