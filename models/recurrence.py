"""Recurring needs (周期性需求): a rule (RFC 5545 RRULE) that makes one need per occurrence, such as a
weekly visit to an elderly resident (每周探访). The template holds the fields of the needs it makes; each
occurrence made is a row of ``recurrence_occurrences``, unique per (recurrence, time), so making the
occurrences due twice makes them once."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.vocab import Channel, Service, Urgency

from .base import Base, Encrypted, utcnow
from .grid import Grid


def _one_of(column: str, codes: type[Urgency] | type[Service] | type[Channel]) -> CheckConstraint:
    """The database refuses a code ``codes`` does not know (like ``base.code_of``, on a plain column)."""
    return CheckConstraint(f"{column} IN ({', '.join(repr(c.value) for c in codes)})", name=column)


class Recurrence(Base):
    __tablename__ = "recurrences"
    __table_args__ = (_one_of("urgency", Urgency), _one_of("service", Service), _one_of("channel", Channel))

    id: Mapped[int] = mapped_column(primary_key=True)
    # The template: what each occurrence's need says, where, for whom.
    text: Mapped[str] = mapped_column(Text)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    urgency: Mapped[str] = mapped_column(String(16), default=Urgency.NORMAL.value)
    contact: Mapped[str] = mapped_column(Encrypted(), default="")
    service: Mapped[Optional[str]] = mapped_column(String(16))  # None: each need is classified
    channel: Mapped[str] = mapped_column(String(16), default=Channel.VISIT.value)
    resident_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    building_id: Mapped[Optional[int]] = mapped_column(ForeignKey("buildings.id"))
    # The rule: an RRULE (without DTSTART) read from ``dtstart``, the first occurrence's start in the
    # subdistrict's wall-clock time (naive, like a need's window); each occurrence's window starts at its
    # time and lasts ``window_minutes``.
    rrule: Mapped[str] = mapped_column(String(500))
    dtstart: Mapped[datetime]
    window_minutes: Mapped[int] = mapped_column(default=60)
    next_at: Mapped[Optional[datetime]] = mapped_column(index=True)  # wall clock; None: no occurrence left
    last_need_id: Mapped[Optional[int]] = mapped_column(ForeignKey("needs.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(default=True, index=True)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    grid: Mapped[Grid] = relationship()


class RecurrenceOccurrence(Base):
    """One occurrence made into a need: at most one per (recurrence, wall-clock time)."""

    __tablename__ = "recurrence_occurrences"
    __table_args__ = (UniqueConstraint("recurrence_id", "at", name="uq_recurrence_occurrences_recurrence_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recurrence_id: Mapped[int] = mapped_column(ForeignKey("recurrences.id", ondelete="CASCADE"))
    at: Mapped[datetime]  # the occurrence's start, wall clock
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), unique=True)
