"""What happens to a need after it is matched: the audit trail and notifications."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.vocab import ACTORS, NeedStatus

from .base import Base, utcnow
from .user import User


def _one_of(column: str, codes: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{code}'" for code in codes)
    return f"{column} IN ({quoted})"


class AuditEntry(Base):
    """One transition of a need: who, when, from, to, why. Append-only."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        CheckConstraint(_one_of("actor_role", ACTORS), name="actor_role"),
        # A need's first entry comes from nowhere ("").
        CheckConstraint(_one_of("from_status", ("", *NeedStatus)), name="from_status"),
        CheckConstraint(_one_of("to_status", tuple(NeedStatus)), name="to_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), index=True)  # None: the system
    actor_role: Mapped[str] = mapped_column(String(16), default="system")
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[Optional[User]] = relationship()


def _refuse_change(_mapper: Any, _conn: Any, _target: Any) -> None:
    raise ValueError("audit entries are append-only")


event.listen(AuditEntry, "before_update", _refuse_change)
event.listen(AuditEntry, "before_delete", _refuse_change)


class Notification(Base):
    """Tells whoever must act next; delivered in the app and through a pluggable sender."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    need_id: Mapped[Optional[int]] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[Optional[datetime]]
    delivered: Mapped[bool] = mapped_column(default=False)
    # Delivery through a sender (jobs.tasks.deliver_notification): tries so far, when the next may
    # run (a backoff, or a lease while one is under way), the last failure, and the dead-letter mark
    # after the last try. Kept in the row, not in the broker, so a restart loses no retry.
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    last_error: Mapped[Optional[str]] = mapped_column(String(500))
    dead_at: Mapped[Optional[datetime]]
