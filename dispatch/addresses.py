"""Address resolution in the database: the building register as the engine's address index
(``matching.addresses``), built once per app and again only when the register changes."""
from __future__ import annotations

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from matching.addresses import ACCEPT_SCORE, AddressCandidate, AddressIndex, BuildingRecord
from models import Building, Grid

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
