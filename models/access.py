"""The read audit (查看记录): who saw a resident's personal data, when, what, where from, and why."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .user import User


class AccessRecord(Base):
    """One look at personal data: an unmasked contact, a photo, a sensitive need, an export. Append-only; it
    records the fact, never the content seen."""

    __tablename__ = "access_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), index=True)  # who looked
    need_id: Mapped[Optional[int]] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    what: Mapped[str] = mapped_column(String(16))  # access.audit.WHAT: contact, photo, sensitive, export, data
    via: Mapped[str] = mapped_column(String(200), default="")  # the endpoint or page, e.g. "GET /api/v1/needs/12"
    reason: Mapped[str] = mapped_column(Text, default="")  # why, when the look was asked for (a reveal, an export)
    count: Mapped[int] = mapped_column(default=1)  # rows of an export

    user: Mapped[Optional[User]] = relationship()
