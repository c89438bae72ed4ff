"""The building register (楼栋): the homes of a grid, where its needs come from."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .grid import Grid
from .providers import Volunteer


class Building(Base):
    """A building of a grid: an estate's 栋 or 座, an urban village's house, a park's dormitory or a shop-street
    number, with its former names, its building head (楼栋长) and where it stands."""

    __tablename__ = "buildings"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    aliases: Mapped[list[str]] = mapped_column(default=list)  # former names (旧名): 上合村12号
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    head_id: Mapped[Optional[int]] = mapped_column(ForeignKey("volunteers.id"))  # the building head (楼栋长)
    households: Mapped[int] = mapped_column(default=0)
    lng: Mapped[Optional[float]] = mapped_column(Float)  # WGS84; both or neither
    lat: Mapped[Optional[float]] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    grid: Mapped[Grid] = relationship()
    head: Mapped[Optional[Volunteer]] = relationship()
