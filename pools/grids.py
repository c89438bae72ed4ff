"""The grid map: communities, Party-building grids and grids with their neighbours."""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, joinedload, selectinload, undefer

from core.errors import Conflict, InvalidData
from models import Community, Grid, PartyGrid, Subdistrict

from .lookup import Page, get_or_404, grids_by_code, paginate
from .subdistricts import resolve_id, same_subdistrict, subdistrict_by_code


def find_or_create_community(session: Session, value: str, subdistrict_id: int) -> Community:
    """A community of the subdistrict by code or name; a new name creates it (its code is the name). Two
    subdistricts may each have a 幸福社区: names are looked up in the subdistrict, codes everywhere."""
    row = session.scalar(select(Community).where(or_(
        Community.code == value, (Community.name == value) & (Community.subdistrict_id == subdistrict_id)))
        .order_by((Community.subdistrict_id == subdistrict_id).desc()).limit(1))
    if row is None:
        row = Community(code=value[:32], name=value, subdistrict_id=subdistrict_id)
        session.add(row)
        session.flush()
    same_subdistrict(row, subdistrict_id, "community")
    return row


def find_or_create_party_grid(session: Session, code: str, subdistrict_id: int) -> PartyGrid:
    row = session.scalar(select(PartyGrid).where(PartyGrid.code == code))
    if row is None:
        row = PartyGrid(code=code, name=code, branch="", subdistrict_id=subdistrict_id)
        session.add(row)
        session.flush()
    same_subdistrict(row, subdistrict_id, "party_grid")
    return row


def map_changed(session: Session, subdistrict_id: int) -> None:
    """The subdistrict's grid map moved: the matcher reads it again (``Subdistrict.map_version``)."""
    session.execute(update(Subdistrict).where(Subdistrict.id == subdistrict_id)
                    .values(map_version=Subdistrict.map_version + 1))


def set_neighbors(session: Session, grid: Grid, codes: list[str]) -> None:
    """Neighbourhood is symmetric: linking A to B links B to A, unlinking likewise."""
    map_changed(session, grid.subdistrict_id)
    if grid.code in codes:
        raise InvalidData(fields={"neighbors": ["网格不能与自己相邻"]})
    wanted = grids_by_code(session, codes, "neighbors", grid.subdistrict_id)
    for old in list(grid.neighbors):
        if old not in wanted:
            grid.neighbors.remove(old)
            if grid in old.neighbors:
                old.neighbors.remove(grid)
    for new in wanted:
        if new not in grid.neighbors:
            grid.neighbors.append(new)
        if grid not in new.neighbors:
            new.neighbors.append(grid)


def _apply(session: Session, grid: Grid, data: dict[str, Any]) -> None:
    # Look up (or create) the community and Party grid before touching the grid, so that no
    # flush sees a half-built grid.
    sid = grid.subdistrict_id
    community = find_or_create_community(session, data["community"], sid) if "community" in data else None
    party_grid = find_or_create_party_grid(session, data["party_grid"], sid) if data.get("party_grid") else None
    if "name" in data:
        grid.name = data["name"]
    if community is not None:
        grid.community = community
    if "party_grid" in data:
        grid.party_grid = party_grid
    if "boundary" in data:
        grid.boundary = data["boundary"]


def create_grid(session: Session, data: dict[str, Any]) -> Grid:
    if session.scalar(select(Grid.id).where(Grid.code == data["code"])) is not None:
        message = f"网格编码 {data['code']} 已存在"
        raise Conflict(message, fields={"code": [message]})
    grid = Grid(code=data["code"], subdistrict_id=resolve_id(session, data.get("subdistrict_id")))
    map_changed(session, grid.subdistrict_id)
    _apply(session, grid, data)
    session.add(grid)
    session.flush()
    set_neighbors(session, grid, data.get("neighbors", []))
    session.flush()
    return grid


def update_grid(session: Session, grid: Grid, data: dict[str, Any]) -> Grid:
    if "code" in data and data["code"] != grid.code:
        raise InvalidData(fields={"code": ["网格编码不可修改"]})
    map_changed(session, grid.subdistrict_id)
    _apply(session, grid, data)
    if "neighbors" in data:
        set_neighbors(session, grid, data["neighbors"])
    session.flush()
    return grid


def deactivate_grid(session: Session, grid: Grid) -> Grid:
    map_changed(session, grid.subdistrict_id)
    grid.active = False
    session.flush()
    return grid


def get_grid(session: Session, id_: int) -> Grid:
    return get_or_404(session, Grid, id_)


def list_grids(session: Session, *, page: int, per_page: int, active: bool = True, q: str | None = None,
               community: str | None = None, party_grid: str | None = None,
               subdistrict: str | None = None) -> Page[Grid]:
    # Each grid's one community, Party grid and subdistrict in the same query; its neighbours in one more,
    # their codes only (a neighbour's boundary is a GeoJSON document to parse, and the list shows codes).
    query = (select(Grid).options(joinedload(Grid.community), joinedload(Grid.party_grid),
                                  selectinload(Grid.neighbors).load_only(Grid.code), joinedload(Grid.subdistrict),
                                  undefer(Grid.boundary))
             .where(Grid.active == active).order_by(Grid.code))
    if subdistrict:
        query = query.where(Grid.subdistrict_id == subdistrict_by_code(session, subdistrict).id)
    if q:
        query = query.where(or_(Grid.code.contains(q), Grid.name.contains(q)))
    if community:
        query = query.join(Grid.community).where(or_(Community.code == community, Community.name == community))
    if party_grid:
        query = query.join(Grid.party_grid).where(PartyGrid.code == party_grid)
    return paginate(session, query, page, per_page)


def grid_features(session: Session, grid_ids: Collection[int] | None = None) -> dict[str, Any]:
    """The active grids that have a boundary (all, or those of ``grid_ids``) as a GeoJSON FeatureCollection,
    ordered by code; each feature's id is the grid's code and its properties name the grid, its community
    and its Party grid (codes and names)."""
    query = (select(Grid).options(joinedload(Grid.community), joinedload(Grid.party_grid), undefer(Grid.boundary))
             .where(Grid.active.is_(True), Grid.boundary.is_not(None)).order_by(Grid.code))
    if grid_ids is not None:
        ids = sorted(set(grid_ids))
        if not ids:
            return {"type": "FeatureCollection", "features": []}
        query = query.where(Grid.id.in_(ids))
    features = []
    for grid in session.scalars(query):
        if not grid.boundary:  # a JSON null stored as such
            continue
        party = grid.party_grid
        features.append({
            "type": "Feature",
            "id": grid.code,
            "geometry": grid.boundary,
            "properties": {
                "code": grid.code, "name": grid.name,
                "community": grid.community.name, "community_code": grid.community.code,
                "party_grid": party.code if party else None, "party_grid_name": party.name if party else None,
            },
        })
    return {"type": "FeatureCollection", "features": features}


def list_party_grids(session: Session, subdistrict: str | None = None) -> list[PartyGrid]:
    query = select(PartyGrid).options(selectinload(PartyGrid.grids)).order_by(PartyGrid.code)
    if subdistrict:
        query = query.where(PartyGrid.subdistrict_id == subdistrict_by_code(session, subdistrict).id)
    return list(session.scalars(query))

