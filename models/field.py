"""Party members' responsibility fields (党员责任田): the buildings each Party member of the volunteer pool looks
after, and their visits to its households (走访, 民情收集), with the needs each visit raised."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Optional

from sqlalchemy import CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .building import Building
from .providers import Volunteer

if TYPE_CHECKING:
    from .need import Need


class FieldBuilding(Base):
    """A building in a Party member's field. One member per building, so nobody's households are left to
    "someone else" and none are visited twice over."""

    __tablename__ = "field_buildings"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), unique=True)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Volunteer] = relationship()
    building: Mapped[Building] = relationship()


class Visit(Base):
    """One visit of a Party member to a building's households: when, how many households, what they heard."""

    __tablename__ = "visits"
    __table_args__ = (CheckConstraint("households >= 0", name="households"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    visited_on: Mapped[date] = mapped_column(index=True)  # the subdistrict's calendar day
    households: Mapped[int] = mapped_column(default=0)  # households visited
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Volunteer] = relationship()
    building: Mapped[Building] = relationship()
    needs: Mapped[list["Need"]] = relationship(back_populates="visit", order_by="Need.id")
