"""What a grid council (网格议事会) decided at its meeting: one row per item, printable afterwards as
the minutes (会议纪要)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .grid import PartyGrid
from .need import Need
from .user import User


class CouncilDecision(Base):
    """One item of a council meeting: what was decided and who takes it. An item about a need is
    recorded once per meeting (recording it again updates it); other items carry no need."""

    __tablename__ = "council_decisions"
    __table_args__ = (UniqueConstraint("party_grid_id", "meeting_date", "need_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    party_grid_id: Mapped[int] = mapped_column(ForeignKey("party_grids.id"), index=True)
    meeting_date: Mapped[date]
    # The minutes outlive the need's row: its item text is a snapshot taken at the meeting.
    need_id: Mapped[Optional[int]] = mapped_column(ForeignKey("needs.id", ondelete="SET NULL"), index=True)
    item: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(Text)
    taker: Mapped[str] = mapped_column(String(100))  # a person or a unit
    due: Mapped[Optional[date]]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    party_grid: Mapped[PartyGrid] = relationship()
    need: Mapped[Optional[Need]] = relationship()
    recorded_by: Mapped[User] = relationship()
