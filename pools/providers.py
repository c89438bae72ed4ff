"""The government resource pool and the social volunteer pool: registry functions."""
from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from core.errors import Conflict, InvalidData
from models import Grid, Resource, Volunteer

from .fuzzy import Candidate, Hit, fuzzy_search
from .lookup import Page, get_or_404, grid_by_code, grids_by_code, json_list_contains, paginate
from .subdistricts import resolve_id, subdistrict_by_code


def _refuse_duplicate_ref(session: Session, model: type[Resource] | type[Volunteer], ref: str) -> None:
    if session.scalar(select(model.id).where(model.ref == ref)) is not None:
        raise Conflict(f"编号 {ref} 已存在", fields={"ref": [f"编号 {ref} 已存在"]})


def _refuse_ref_change(row: Resource | Volunteer, data: dict[str, Any]) -> None:
    if "ref" in data and data["ref"] != row.ref:
        raise InvalidData(fields={"ref": ["编号不可修改"]})


# --- resources ---------------------------------------------------------------------------------

def _apply_resource(session: Session, row: Resource, data: dict[str, Any]) -> None:
    for key in ("name", "department", "service", "capacity", "skills", "description", "hours"):
        if key in data:
            setattr(row, key, data[key])
    if "grids" in data:
        if data["grids"] == ["*"]:
            row.covers_all, row.grids = True, []
        else:
            row.covers_all, row.grids = False, grids_by_code(session, data["grids"], "grids", row.subdistrict_id)


def create_resource(session: Session, data: dict[str, Any]) -> Resource:
    _refuse_duplicate_ref(session, Resource, data["ref"])
    row = Resource(ref=data["ref"], subdistrict_id=resolve_id(session, data.get("subdistrict_id")))
    _apply_resource(session, row, data)
    session.add(row)
    session.flush()
    return row


def update_resource(session: Session, row: Resource, data: dict[str, Any]) -> Resource:
    _refuse_ref_change(row, data)
    _apply_resource(session, row, data)
    session.flush()
    return row


def get_resource(session: Session, id_: int) -> Resource:
    return get_or_404(session, Resource, id_)


def list_resources(session: Session, *, page: int, per_page: int, active: bool = True, q: str | None = None,
                   grid: str | None = None, service: str | None = None, skill: str | None = None,
                   subdistrict: str | None = None) -> Page[Resource]:
    query = select(Resource).options(selectinload(Resource.grids)).where(Resource.active == active)
    if subdistrict:
        query = query.where(Resource.subdistrict_id == subdistrict_by_code(session, subdistrict).id)
    if q:
        query = query.where(or_(Resource.name.contains(q), Resource.department.contains(q),
                                Resource.description.contains(q), json_list_contains(Resource.skills, q)))
    if grid:
        target = grid_by_code(session, grid)
        query = query.where(or_(Resource.covers_all.is_(True), Resource.grids.any(Grid.id == target.id)))
    if service:
        query = query.where(Resource.service == service)
    if skill:
        query = query.where(json_list_contains(Resource.skills, skill))
    return paginate(session, query.order_by(Resource.ref), page, per_page)


# --- volunteers --------------------------------------------------------------------------------

def _apply_volunteer(session: Session, row: Volunteer, data: dict[str, Any]) -> None:
    for key in ("name", "kind", "phone", "skills", "services", "availability", "capacity", "force",
                "party_member", "description"):
        if key in data:
            setattr(row, key, data[key])
    if "grid" in data:
        row.grid = grid_by_code(session, data["grid"], subdistrict_id=row.subdistrict_id) if data["grid"] else None


def create_volunteer(session: Session, data: dict[str, Any]) -> Volunteer:
    _refuse_duplicate_ref(session, Volunteer, data["ref"])
    row = Volunteer(ref=data["ref"], subdistrict_id=resolve_id(session, data.get("subdistrict_id")))
    _apply_volunteer(session, row, data)
    session.add(row)
    session.flush()
    return row


def update_volunteer(session: Session, row: Volunteer, data: dict[str, Any]) -> Volunteer:
    _refuse_ref_change(row, data)
    _apply_volunteer(session, row, data)
    session.flush()
    return row


def get_volunteer(session: Session, id_: int) -> Volunteer:
    return get_or_404(session, Volunteer, id_)


def list_volunteers(session: Session, *, page: int, per_page: int, active: bool = True, q: str | None = None,
                    grid: str | None = None, service: str | None = None, skill: str | None = None,
                    kind: str | None = None, subdistrict: str | None = None) -> Page[Volunteer]:
    query = select(Volunteer).options(selectinload(Volunteer.grid)).where(Volunteer.active == active)
    if subdistrict:
        query = query.where(Volunteer.subdistrict_id == subdistrict_by_code(session, subdistrict).id)
    if q:
        query = query.where(or_(Volunteer.name.contains(q), Volunteer.description.contains(q),
                                json_list_contains(Volunteer.skills, q)))
    if grid:
        query = query.where(Volunteer.grid_id == grid_by_code(session, grid).id)
    if service:
        query = query.where(json_list_contains(Volunteer.services, service))
    if skill:
        query = query.where(json_list_contains(Volunteer.skills, skill))
    if kind:
        query = query.where(Volunteer.kind == kind)
    return paginate(session, query.order_by(Volunteer.ref), page, per_page)


def deactivate(session: Session, row: Resource | Volunteer) -> Resource | Volunteer:
    row.active = False
    session.flush()
    return row


def search(session: Session, model: type[Resource] | type[Volunteer], query: str,
           limit: int = 10, subdistrict_id: int | None = None) -> list[tuple[Hit, Resource | Volunteer]]:
    """Active providers (of ``subdistrict_id``, or all) whose name (as characters or pinyin) or a skill is like
    ``query``, best first."""
    where = [model.active.is_(True)] + ([model.subdistrict_id == subdistrict_id] if subdistrict_id else [])
    rows = session.execute(select(model.id, model.name, model.skills).where(*where)).all()
    hits = fuzzy_search(query, [Candidate(i, n, tuple(s or ())) for i, n, s in rows], limit=limit)
    found: list[Resource | Volunteer] = list(session.scalars(select(model).where(model.id.in_([h.id for h in hits]))))
    by_id = {r.id: r for r in found}
    return [(h, by_id[h.id]) for h in hits]
