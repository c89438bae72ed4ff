"""The building register (楼栋): registry functions.

Buildings are the homes of a grid; they come in by file (``import buildings``, upserted by ``code``) and
are read by staff (``GET /api/v1/buildings``). A building's ``head`` (楼栋长) is a volunteer, named by ref.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session, selectinload

from core.errors import Conflict, InvalidData
from models import Building, Grid, Volunteer

from .lookup import Page, get_or_404, grid_by_code, paginate

FIELDS = ("name", "address", "aliases", "households", "lng", "lat")


def volunteer_by_ref(session: Session, ref: str, field: str = "head") -> Volunteer:
    """The active volunteer of ``ref``; an unknown or deactivated one is a 422 on ``field``."""
    row = session.scalar(select(Volunteer).where(Volunteer.ref == ref))
    if row is None:
        raise InvalidData(fields={field: [f"未知志愿者编号 {ref}"]})
    if not row.active:
        raise InvalidData(fields={field: [f"志愿者 {ref} 已停用"]})
    return row


def apply_building(session: Session, row: Building, data: dict[str, Any], *,
                   grids: Mapping[str, Grid] | None = None, heads: Mapping[str, Volunteer] | None = None) -> None:
    """Set ``row`` from loaded ``data`` (BuildingIn); ``grids`` and ``heads`` (by code, by ref), when given, save
    a query per row: a code missing from them is looked up as usual (and refused when unknown)."""
    # Resolve the codes first, so that no flush sees a half-built building.
    grid = None
    if data.get("grid"):
        grid = (grids or {}).get(data["grid"]) or grid_by_code(session, data["grid"])
    head = None
    if data.get("head"):
        head = (heads or {}).get(data["head"]) or volunteer_by_ref(session, data["head"])
    for key in FIELDS:
        if key in data:
            setattr(row, key, data[key])
    if grid is not None:
        row.grid = grid
    if "head" in data:
        row.head = head


def create_building(session: Session, data: dict[str, Any]) -> Building:
    if session.scalar(select(Building.id).where(Building.code == data["code"])) is not None:
        message = f"楼栋编码 {data['code']} 已存在"
        raise Conflict(message, fields={"code": [message]})
    row = Building(code=data["code"])
    apply_building(session, row, data)
    session.add(row)
    session.flush()
    return row


def update_building(session: Session, row: Building, data: dict[str, Any]) -> Building:
    if "code" in data and data["code"] != row.code:
        raise InvalidData(fields={"code": ["楼栋编码不可修改"]})
    apply_building(session, row, data)
    session.flush()
    return row


def get_building(session: Session, id_: int) -> Building:
    return get_or_404(session, Building, id_)


def list_buildings(session: Session, *, page: int, per_page: int, active: bool = True, q: str | None = None,
                   grid: str | None = None, subdistrict_id: int | None = None) -> Page[Building]:
    """Buildings by code; ``q`` finds a code, name, address or former name containing it, ``grid`` a grid's,
    ``subdistrict_id`` (a subdistrict's staff) those of its grids."""
    query = (select(Building).options(selectinload(Building.grid), selectinload(Building.head))
             .where(Building.active == active))
    if subdistrict_id is not None:
        query = query.join(Building.grid).where(Grid.subdistrict_id == subdistrict_id)
    if q:
        query = query.where(or_(Building.code.contains(q), Building.name.contains(q), Building.address.contains(q),
                                cast(Building.aliases, String).contains(q)))
    if grid:
        query = query.where(Building.grid_id == grid_by_code(session, grid).id)
    return paginate(session, query.order_by(Building.code), page, per_page)


def buildings_by_code(session: Session, codes: list[str], chunk: int = 500) -> dict[str, Building]:
    """The buildings of ``codes`` by code, looked up ``chunk`` at a time (bound variables are limited)."""
    unique = list(dict.fromkeys(codes))
    found: dict[str, Building] = {}
    for start in range(0, len(unique), chunk):
        part = unique[start:start + chunk]
        query = (select(Building).options(selectinload(Building.grid), selectinload(Building.head))
                 .where(Building.code.in_(part)))
        found.update((b.code, b) for b in session.scalars(query))
    return found


def snapshot(row: Building) -> dict[str, Any]:
    """What an import compares to tell a changed building from an unchanged one."""
    return {"name": row.name, "address": row.address, "aliases": list(row.aliases or ()),
            "grid": row.grid.code if row.grid else None, "head": row.head.ref if row.head else None,
            "households": row.households, "lng": row.lng, "lat": row.lat, "active": row.active}


__all__ = ["apply_building", "buildings_by_code", "create_building", "get_building", "list_buildings", "snapshot",
           "update_building", "volunteer_by_ref"]
