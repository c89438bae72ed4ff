"""Address resolution in the database: the building register as the engine's address index
(``matching.addresses``), built once per app and again only when the register changes; and a position
(a photo's GPS) placed in the grid whose boundary holds it, at its nearest building."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matching.addresses import ACCEPT_SCORE, AddressCandidate, AddressIndex, BuildingRecord
from models import Building, Grid
from pools.geometry import contains, distance_m

CACHE_KEY = "sanku.address_index"


def register_records(session: Session) -> list[BuildingRecord]:
    rows = session.execute(select(Building.id, Building.code, Building.name, Building.address, Building.aliases,
                                  Grid.code).join(Grid, Grid.id == Building.grid_id)
                           .where(Building.active.is_(True)).order_by(Building.id))
    return [BuildingRecord(id=i, code=c, name=n, address=a or "", aliases=tuple(al or ()), grid=g)
            for i, c, n, a, al, g in rows]


def address_index(session: Session) -> AddressIndex:
    """The index of every active building; rebuilt only when a building was added, changed or removed."""
    if not has_app_context():
        return AddressIndex.build(register_records(session))
    cache = current_app.extensions.setdefault(CACHE_KEY, {})
    key = tuple(session.execute(select(func.count(Building.id), func.max(Building.updated_at))).one())
    if cache.get("key") != key:
        cache["index"], cache["key"] = AddressIndex.build(register_records(session)), key
    index: AddressIndex = cache["index"]
    return index


def resolve_address(session: Session, text: str, limit: int = 5) -> list[AddressCandidate]:
    """Buildings the text may name, best first, each with its grid and a score in [0, 1]."""
    return address_index(session).resolve(text, limit=limit)


def is_sure(candidates: list[AddressCandidate]) -> bool:
    """Whether the best candidate is sure enough to decide the grid without a person."""
    return bool(candidates) and candidates[0].score >= ACCEPT_SCORE


# A photo's position is a phone's GPS: a few metres to a few tens off. Within this of a building it is
# that building; farther, only the grid whose boundary holds the point is known.
NEAREST_BUILDING_M = 60.0


@dataclass(frozen=True)
class PointPlace:
    grid: str
    building_id: int | None
    distance_m: float | None  # to that building


def locate_point(session: Session, lng: float, lat: float) -> PointPlace | None:
    """Where a position is: the grid whose boundary holds it (else the grid of the nearest building within
    ``NEAREST_BUILDING_M``), and that nearest building when there is one; None when neither says."""
    grid = next((code for code, boundary in session.execute(
        select(Grid.code, Grid.boundary).where(Grid.active.is_(True), Grid.boundary.is_not(None)))
        if boundary and contains(boundary, lng, lat)), None)
    near: tuple[int, str, float] | None = None
    box = 0.002  # about 200 m: only the buildings around the point are measured
    for building_id, code, b_lng, b_lat in session.execute(
            select(Building.id, Grid.code, Building.lng, Building.lat).join(Grid, Grid.id == Building.grid_id)
            .where(Building.active.is_(True), Building.lng.between(lng - box, lng + box),
                   Building.lat.between(lat - box, lat + box))):
        d = distance_m(lng, lat, b_lng or 0.0, b_lat or 0.0)  # between() already left out those without one
        if d <= NEAREST_BUILDING_M and (near is None or d < near[2]) and (grid is None or code == grid):
            near = (building_id, code, d)
    if grid is None and near is None:
        return None
    if near is None:
        return PointPlace(grid=str(grid), building_id=None, distance_m=None)
    return PointPlace(grid=grid or near[1], building_id=near[0], distance_m=round(near[2], 1))
