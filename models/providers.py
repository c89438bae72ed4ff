"""The two supply pools: the government resource pool (政府资源库) and the social volunteer pool (社会志愿库)."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.vocab import Force, Service, VolunteerKind

from .base import Base, code_of, utcnow
from .grid import Grid, Subdistrict

resource_grids = Table(
    "resource_grids",
    Base.metadata,
    Column("resource_id", ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("grid_id", ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True),
)


class Resource(Base):
    """A service a department or office delivers, with its capacity and the grids it covers."""

    __tablename__ = "resources"
    # The provider index asks for a subdistrict's last edit on every use (dispatch.index_cache.pool_state).
    __table_args__ = (Index("ix_resources_subdistrict_updated", "subdistrict_id", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    subdistrict_id: Mapped[int] = mapped_column(ForeignKey("subdistricts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    department: Mapped[str] = mapped_column(String(200), default="")
    service: Mapped[Service] = mapped_column(code_of(Service, "service"), index=True)
    covers_all: Mapped[bool] = mapped_column(default=False)  # True: every grid of the subdistrict
    capacity: Mapped[int] = mapped_column(default=1)  # needs it can serve at once
    skills: Mapped[list[str]] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    hours: Mapped[list[str]] = mapped_column(default=list)  # weekly slots "mon-fri 09:00-12:00"; empty: any time
    active: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    grids: Mapped[list[Grid]] = relationship(secondary=resource_grids, order_by=Grid.code)
    subdistrict: Mapped[Subdistrict] = relationship()


class Volunteer(Base):
    """A volunteer or an organisation of the social volunteer pool."""

    __tablename__ = "volunteers"
    __table_args__ = (Index("ix_volunteers_subdistrict_updated", "subdistrict_id", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    subdistrict_id: Mapped[int] = mapped_column(ForeignKey("subdistricts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[VolunteerKind] = mapped_column(code_of(VolunteerKind, "kind"), default=VolunteerKind.PERSON)
    phone: Mapped[str] = mapped_column(String(32), default="", index=True)
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("grids.id"), index=True)
    skills: Mapped[list[str]] = mapped_column(default=list)
    services: Mapped[list[str]] = mapped_column(default=list)  # codes of core.vocab.Service, checked by the schemas
    availability: Mapped[list[str]] = mapped_column(default=list)  # weekly slots; empty: any time
    capacity: Mapped[int] = mapped_column(default=1)
    force: Mapped[Force] = mapped_column(code_of(Force, "force"), default=Force.SELFGOV)  # 五大力量
    party_member: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    grid: Mapped[Optional[Grid]] = relationship()
    subdistrict: Mapped[Subdistrict] = relationship()
