"""HTTP API of the grid map and the three pools, under /api/v1. Views stay thin: parse → ask the
policy → call a service → dump. The app commits once per successful request. (Submitting a need
starts its workflow: that is ``intake``'s ``POST /needs``.)"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response
from sqlalchemy.orm import Session

from access import policy
from access.audit import record_access
from access.auth import current_user, signed_in
from core.config import zone
from core.database import db_session
from core.errors import Forbidden, InvalidData, NotFound
from core.exports import format_csv
from core.times import local_iso
from core.vocab import ARRANGERS, STAFF, STATUS_LABELS_ZH, Role
from matching.sensitivity import sensitive_topics
from models import Building, Grid, Need, Resource, User, Volunteer
from web.http import json_body, query_args
from web.openapi import documented
from web.routes import SIGNED_IN, allow, public
from web.schemas import page_body, shared

from . import buildings as building_service
from . import grids as grid_service
from . import needs as need_service
from . import providers as provider_service
from . import subdistricts as subdistrict_service
from .schemas import (
    BuildingListArgs,
    BuildingOut,
    GridIn,
    GridListArgs,
    GridOut,
    NeedExportArgs,
    NeedIn,
    NeedListArgs,
    NeedOut,
    PartyGridOut,
    ResourceIn,
    ResourceListArgs,
    ResourceOut,
    SearchArgs,
    VolunteerIn,
    VolunteerListArgs,
    VolunteerOut,
)

bp = Blueprint("pools", __name__, url_prefix="/api/v1")

Record = TypeVar("Record", Grid, Resource, Volunteer, Need, Building)


def _listed_subdistrict(named: str | None) -> str | None:
    """Which subdistrict's records a list shows: a subdistrict's staff their own (naming another is a 404);
    anyone else all of them, or the one they name."""
    user = current_user(required=False)
    if user is None or user.subdistrict_id is None or user.role not in STAFF:
        return named
    return subdistrict_service.subdistrict_for(db_session(), user, named).code


def _writing_into(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the subdistrict a new record lands in (see ``pools.subdistricts.subdistrict_for``)."""
    named = data.pop("subdistrict", None)
    return {**data, "subdistrict_id": subdistrict_service.subdistrict_for(session, signed_in(), named).id}


def _changing(row: Grid | Resource | Volunteer, data: dict[str, Any]) -> dict[str, Any]:
    """A record of another subdistrict does not exist for a subdistrict's staff; a record never moves."""
    if not policy.in_subdistrict(signed_in(), row.subdistrict_id):
        raise NotFound(f"找不到编号为 {row.id} 的记录")
    if data.get("subdistrict", row.subdistrict.code) != row.subdistrict.code:
        raise InvalidData(fields={"subdistrict": ["街道不可修改"]})
    data.pop("subdistrict", None)
    return data


def _readable(record: Record) -> Record:
    """A deactivated (DELETEd) record is gone from the API, for reading, changing and deleting again:
    its row stays, for the reports and the audit trail, and the lists still show it with ``active=false``."""
    if not record.active:
        raise NotFound(f"找不到编号为 {record.id} 的记录")
    return record

# --- grids -----------------------------------------------------------------------------------

@bp.get("/grids")
@public
@documented("网格列表", query=GridListArgs, response=GridOut, paged=True, tag="grids")
def list_grids() -> Any:
    args = query_args(shared(GridListArgs))
    args["subdistrict"] = _listed_subdistrict(args["subdistrict"])
    return page_body(grid_service.list_grids(db_session(), **args), shared(GridOut))


@bp.post("/grids")
@allow(Role.ADMIN)
@documented("新建网格", body=GridIn, response=GridOut, status=201, tag="grids")
def create_grid() -> Any:
    session = db_session()
    grid = grid_service.create_grid(session, _writing_into(session, json_body(GridIn())))
    return GridOut().dump(grid), 201


@bp.get("/grids/<int:id_>")
@public
@documented("查看网格", response=GridOut, tag="grids")
def get_grid(id_: int) -> Any:
    return GridOut().dump(_readable(grid_service.get_grid(db_session(), id_)))


@bp.patch("/grids/<int:id_>")
@allow(Role.ADMIN)
@documented("修改网格（部分字段）", body=GridIn(partial=True), response=GridOut, tag="grids")
def update_grid(id_: int) -> Any:
    session = db_session()
    grid = _readable(grid_service.get_grid(session, id_))
    return GridOut().dump(grid_service.update_grid(session, grid, _changing(grid, json_body(GridIn(), partial=True))))


@bp.delete("/grids/<int:id_>")
@allow(Role.ADMIN)
@documented("停用网格", response=GridOut, tag="grids")
def deactivate_grid(id_: int) -> Any:
    session = db_session()
    grid = _readable(grid_service.get_grid(session, id_))
    _changing(grid, {})
    return GridOut().dump(grid_service.deactivate_grid(session, grid))


@bp.get("/party-grids")
@public
@documented("党建网格列表", response=PartyGridOut, many=True, tag="grids")
def list_party_grids() -> Any:
    return {"items": PartyGridOut().dump(grid_service.list_party_grids(db_session()), many=True)}


# --- resources and volunteers -----------------------------------------------------------------

@bp.get("/resources")
@public
@documented("政府资源列表", query=ResourceListArgs, response=ResourceOut, paged=True, tag="resources")
def list_resources() -> Any:
    args = query_args(ResourceListArgs())
    args["subdistrict"] = _listed_subdistrict(args["subdistrict"])
    return page_body(provider_service.list_resources(db_session(), **args), ResourceOut())


@bp.post("/resources")
@allow(Role.ADMIN)
@documented("新建政府资源", body=ResourceIn, response=ResourceOut, status=201, tag="resources")
def create_resource() -> Any:
    session = db_session()
    return ResourceOut().dump(provider_service.create_resource(session, _writing_into(session, json_body(ResourceIn())))), 201


@bp.get("/resources/<int:id_>")
@public
@documented("查看政府资源", response=ResourceOut, tag="resources")
def get_resource(id_: int) -> Any:
    return ResourceOut().dump(_readable(provider_service.get_resource(db_session(), id_)))


@bp.patch("/resources/<int:id_>")
@allow(Role.ADMIN)
@documented("修改政府资源", body=ResourceIn(partial=True), response=ResourceOut, tag="resources")
def update_resource(id_: int) -> Any:
    session = db_session()
    row = _readable(provider_service.get_resource(session, id_))
    data = _changing(row, json_body(ResourceIn(), partial=True))
    return ResourceOut().dump(provider_service.update_resource(session, row, data))


@bp.delete("/resources/<int:id_>")
@allow(Role.ADMIN)
@documented("停用政府资源", response=ResourceOut, tag="resources")
def deactivate_resource(id_: int) -> Any:
    session = db_session()
    row = _readable(provider_service.get_resource(session, id_))
    _changing(row, {})
    return ResourceOut().dump(provider_service.deactivate(session, row))


@bp.get("/volunteers")
@allow(*STAFF)
@documented("志愿者与组织列表", query=VolunteerListArgs, response=VolunteerOut, paged=True, tag="volunteers")
def list_volunteers() -> Any:
    args = query_args(VolunteerListArgs())
    args["subdistrict"] = _listed_subdistrict(args["subdistrict"])
    page = provider_service.list_volunteers(db_session(), **args)
    return page_body(page, VolunteerOut(), [_volunteer_body(v, signed_in()) for v in page.items])


@bp.post("/volunteers")
@allow(*ARRANGERS)
@documented("新建志愿者或组织", body=VolunteerIn, response=VolunteerOut, status=201, tag="volunteers")
def create_volunteer() -> Any:
    session, data = db_session(), json_body(VolunteerIn())
    data = _writing_into(session, data)
    if not policy.may_place_in_grid(session, signed_in(), data.get("grid")):
        raise Forbidden("只能在自己负责的网格登记志愿者")
    return VolunteerOut().dump(provider_service.create_volunteer(session, data)), 201


@bp.get("/volunteers/<int:id_>")
@allow(*STAFF)
@documented("查看志愿者或组织", response=VolunteerOut, tag="volunteers")
def get_volunteer(id_: int) -> Any:
    volunteer = _readable(provider_service.get_volunteer(db_session(), id_))
    if not policy.in_subdistrict(signed_in(), volunteer.subdistrict_id):
        raise NotFound(f"找不到编号为 {id_} 的记录")
    return _volunteer_body(volunteer, signed_in())


def _volunteer_body(volunteer: Volunteer, user: User) -> dict[str, Any]:
    body: dict[str, Any] = VolunteerOut().dump(volunteer)
    if not policy.sees_volunteer_phones(user):
        body["phone"] = policy.mask_phone(body.get("phone") or "")
    return body


@bp.patch("/volunteers/<int:id_>")
@allow(*ARRANGERS)
@documented("修改志愿者或组织", body=VolunteerIn(partial=True), response=VolunteerOut, tag="volunteers")
def update_volunteer(id_: int) -> Any:
    session = db_session()
    row = _managed_volunteer(session, id_)
    data = _changing(row, json_body(VolunteerIn(), partial=True))
    if "grid" in data and not policy.may_place_in_grid(session, signed_in(), data["grid"]):
        raise Forbidden("只能把志愿者调入自己负责的网格")
    return VolunteerOut().dump(provider_service.update_volunteer(session, row, data))


@bp.delete("/volunteers/<int:id_>")
@allow(*ARRANGERS)
@documented("停用志愿者或组织", response=VolunteerOut, tag="volunteers")
def deactivate_volunteer(id_: int) -> Any:
    session = db_session()
    return VolunteerOut().dump(provider_service.deactivate(session, _managed_volunteer(session, id_)))


def _managed_volunteer(session: Session, id_: int) -> Volunteer:
    volunteer = _readable(provider_service.get_volunteer(session, id_))
    if not policy.in_subdistrict(signed_in(), volunteer.subdistrict_id):
        raise NotFound(f"找不到编号为 {id_} 的记录")
    if not policy.may_manage_volunteer(session, signed_in(), volunteer):
        raise Forbidden("只能管理自己负责范围内的志愿者")
    return volunteer


Provider = TypeVar("Provider", Resource, Volunteer)


def _search(model: type[Provider], dump: Callable[[Provider], dict[str, Any]]) -> Any:
    args = query_args(SearchArgs())
    found = provider_service.search(db_session(), model, args["q"], args["limit"])
    return {"items": [{"score": h.score, "matched": h.matched, "record": dump(row)} for h, row in found]}  # type: ignore[arg-type]


@bp.get("/resources/search")
@public
@documented("模糊搜索政府资源（名称、技能）", query=SearchArgs, tag="resources")
def search_resources() -> Any:
    return _search(Resource, ResourceOut().dump)


@bp.get("/volunteers/search")
@allow(*STAFF)
@documented("模糊搜索志愿者（姓名、技能，容忍错别字与同音字）", query=SearchArgs, tag="volunteers")
def search_volunteers() -> Any:
    user = signed_in()
    return _search(Volunteer, lambda v: _volunteer_body(v, user))


# --- needs -------------------------------------------------------------------------------------

@bp.get("/needs")
@allow(*SIGNED_IN)
@documented("需求列表", query=NeedListArgs, response=NeedOut, paged=True, tag="needs")
def list_needs() -> Any:
    user = signed_in()
    args = query_args(shared(NeedListArgs))
    session = db_session()
    page = need_service.list_needs(session, visible=policy.need_filter(user), **args)
    return page_body(page, shared(NeedOut), [need_body(session, n, user, visible=True) for n in page.items])


EXPORT_MAX_ROWS = 5000


@bp.get("/needs/export.csv")
@allow(*STAFF)
@documented("导出需求（CSV，同列表的筛选；联系方式默认打码，协调员和管理员可写明原因导出完整号码；导出记入查看记录）",
            query=NeedExportArgs, tag="needs")
def export_needs() -> Any:
    user = signed_in()
    args = query_args(NeedExportArgs())
    full, reason = args.pop("contacts") == "full", args.pop("reason").strip()
    if full and user.role not in ARRANGERS:
        raise Forbidden("只有协调员和管理员可以导出完整联系方式")
    session = db_session()
    args.update(page=1, per_page=EXPORT_MAX_ROWS)
    needs = need_service.list_needs(session, visible=policy.need_filter(user), **args).items
    rows: list[list[Any]] = [["编号", "网格", "状态", "服务类型", "紧急程度", "提交时间", "需求", "联系方式", "代登记居民"]]
    for need in needs:
        contact, phone = need.contact, need.resident_phone
        if full:
            record_access(session, user, need, "contact", reason=f"导出：{reason}")
        else:
            contact, phone = policy.mask_phone(contact), policy.mask_phone(phone)
        rows.append([need.ref, need.grid.code, STATUS_LABELS_ZH.get(need.status, need.status), need.service or "",
                     need.urgency, local_iso(need.created_at, zone()), policy.mask_phone(need.text), contact,
                     f"{need.resident_name} {phone}".strip()])
    record_access(session, user, None, "export", count=len(needs), reason=reason)
    return Response(format_csv(rows), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=needs.csv"})


def need_body(session: Session, need: Need, user: User, visible: bool = False) -> dict[str, Any]:
    """A need as ``user`` may see it: the contact masked unless it is theirs or they must call (staff reveal it
    with ``POST /needs/<id>/contact``); each look at a contact or at a sensitive need's words is recorded."""
    body: dict[str, Any] = shared(NeedOut).dump(need)
    if not policy.sees_contact(session, user, need, visible=visible):
        body["contact"] = policy.mask_phone(body["contact"])
        body["resident_phone"] = policy.mask_phone(body["resident_phone"])
    elif need.contact or need.resident_phone:
        record_access(session, user, need, "contact")
    if sensitive_topics(need.text):
        record_access(session, user, need, "sensitive")
    return body


@bp.get("/needs/<int:id_>")
@allow(*SIGNED_IN)
@documented("查看需求", response=NeedOut, tag="needs")
def get_need(id_: int) -> Any:
    user = signed_in()
    session = db_session()
    return need_body(session, policy.get_visible_need(session, user, id_), user)


@bp.patch("/needs/<int:id_>")
@allow(*SIGNED_IN)
@documented("修改需求（居民在匹配前可改自己的需求）", body=NeedIn(partial=True), response=NeedOut, tag="needs")
def update_need(id_: int) -> Any:
    user = signed_in()
    session = db_session()
    need = need_service.lock_need(session, policy.get_visible_need(session, user, id_))
    if not policy.may_edit_need(user, need):
        raise Forbidden("需求已进入办理流程，不能再修改")
    data = json_body(NeedIn(), partial=True)
    if "grid" in data and user.role != Role.RESIDENT and not policy.may_place_in_grid(session, user, data["grid"]):
        raise Forbidden("只能把需求移到自己负责的网格")
    if user.role == Role.RESIDENT and (refused := [k for k in ("resident_name", "resident_phone") if k in data]):
        raise InvalidData(fields={k: ["居民本人的需求不填写：需求属于登录的账号"] for k in refused})
    return need_body(session, need_service.update_need(session, need, data), user)


@bp.delete("/needs/<int:id_>")
@allow(Role.ADMIN)
@documented("停用需求", response=NeedOut, tag="needs")
def deactivate_need(id_: int) -> Any:
    session = db_session()
    need = policy.get_visible_need(session, signed_in(), id_)
    return need_body(session, need_service.deactivate_need(session, need), signed_in())


# --- buildings ---------------------------------------------------------------------------------
# The building register (楼栋) holds where people live: staff only, like the volunteers.

@bp.get("/buildings")
@allow(*STAFF)
@documented("楼栋列表（筛选 grid；q 查编码、名称、地址、曾用名）", query=BuildingListArgs, response=BuildingOut,
            paged=True, tag="buildings")
def list_buildings() -> Any:
    args = query_args(BuildingListArgs())
    user, session = signed_in(), db_session()
    own = None if policy.city_wide(user) else user.subdistrict_id
    return page_body(building_service.list_buildings(session, subdistrict_id=own, **args), BuildingOut())


@bp.get("/buildings/<int:id_>")
@allow(*STAFF)
@documented("查看楼栋", response=BuildingOut, tag="buildings")
def get_building(id_: int) -> Any:
    building = _readable(building_service.get_building(db_session(), id_))
    if not policy.in_subdistrict(signed_in(), building.grid.subdistrict_id):
        raise NotFound(f"找不到编号为 {id_} 的记录")
    return BuildingOut().dump(building)
