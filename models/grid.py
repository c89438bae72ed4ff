"""The subdistrict's map: communities (社区), grids (网格) and Party-building grids (党建网格)."""
from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import JSON, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base

grid_neighbors = Table(
    "grid_neighbors",
    Base.metadata,
    # Stored in both directions, so "neighbours of G" is one indexed lookup.
    Column("grid_id", ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True),
    Column("neighbor_id", ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True),
)


class Subdistrict(Base):
    """街道: a tenant of a city's deployment. Its grids, pools, needs (through their grids), accounts and
    reports are its own; its staff see nothing of another's (``access.policy``). Codes of grids, Party
    grids, communities and providers stay unique across the city, as a city's grid codes are."""
    __tablename__ = "subdistricts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # Raised by every change to its grid map (a grid added, renamed, moved, linked, deactivated): the
    # matcher's cached map of the subdistrict is read again only when it moved (dispatch.index_cache).
    map_version: Mapped[int] = mapped_column(default=0, server_default="0")


class Community(Base):
    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    subdistrict_id: Mapped[int] = mapped_column(ForeignKey("subdistricts.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))

    grids: Mapped[list["Grid"]] = relationship(back_populates="community")


class PartyGrid(Base):
    """党建网格: a group of grids with its grid Party branch (网格党支部)."""

    __tablename__ = "party_grids"

    id: Mapped[int] = mapped_column(primary_key=True)
    subdistrict_id: Mapped[int] = mapped_column(ForeignKey("subdistricts.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    subdistrict: Mapped[Subdistrict] = relationship()
    branch: Mapped[str] = mapped_column(String(100), default="")

    grids: Mapped[list["Grid"]] = relationship(back_populates="party_grid")


class Grid(Base):
    __tablename__ = "grids"

    id: Mapped[int] = mapped_column(primary_key=True)
    subdistrict_id: Mapped[int] = mapped_column(ForeignKey("subdistricts.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    party_grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("party_grids.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # The grid's outline: a GeoJSON Polygon or MultiPolygon geometry in lng/lat (WGS84), or none
    # (SQL NULL, not a JSON null, so "has a boundary" is ``boundary IS NOT NULL``). Deferred: a need's
    # grid is loaded with every need, and parsing its outline was most of loading a page of needs; the
    # map, the grid list and the import ask for it (``undefer``).
    boundary: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON(none_as_null=True), default=None, deferred=True)

    subdistrict: Mapped[Subdistrict] = relationship()
    community: Mapped[Community] = relationship(back_populates="grids")
    party_grid: Mapped[Optional[PartyGrid]] = relationship(back_populates="grids")
    neighbors: Mapped[list["Grid"]] = relationship(
        secondary=grid_neighbors,
        primaryjoin=lambda: Grid.id == grid_neighbors.c.grid_id,
        secondaryjoin=lambda: Grid.id == grid_neighbors.c.neighbor_id,
        order_by=lambda: Grid.code,
    )
