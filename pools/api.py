"""HTTP API of the grid map and the three pools, under /api/v1. Views stay thin:
parse → call a service → dump. The app commits once per successful request."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from sqlalchemy import select

from database import db_session
from errors import Forbidden
from models import Resource, Volunteer
from web.http import json_body, page_body, query_args
from web.openapi import documented
from workflow import scope
from workflow.auth import current_user
from workflow.guard import STAFF, require
from workflow.service import record_creation
from workflow.states import STATUS_LABELS_ZH

from . import grids as grid_service
from . import needs as need_service
from . import providers as provider_service
from .classify import classify_text, needs_triage
from .fuzzy import Candidate, fuzzy_search
from .schemas import (
    GridIn,
    GridListArgs,
    GridOut,
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

# --- grids -----------------------------------------------------------------------------------

@bp.get("/grids")
@documented("网格列表", query=GridListArgs, response=GridOut, paged=True, tag="grids")
def list_grids() -> Any:
    args = query_args(GridListArgs())
    return page_body(grid_service.list_grids(db_session(), **args), GridOut())


@bp.post("/grids")
@documented("新建网格", body=GridIn, response=GridOut, status=201, tag="grids")
def create_grid() -> Any:
    require("admin")
    grid = grid_service.create_grid(db_session(), json_body(GridIn()))
    return GridOut().dump(grid), 201


@bp.get("/grids/<int:id_>")
@documented("查看网格", response=GridOut, tag="grids")
def get_grid(id_: int) -> Any:
    return GridOut().dump(grid_service.get_grid(db_session(), id_))


@bp.patch("/grids/<int:id_>")
@documented("修改网格（部分字段）", body=GridIn, response=GridOut, tag="grids")
def update_grid(id_: int) -> Any:
    require("admin")
    session = db_session()
    grid = grid_service.get_grid(session, id_)
    return GridOut().dump(grid_service.update_grid(session, grid, json_body(GridIn(), partial=True)))


@bp.delete("/grids/<int:id_>")
@documented("停用网格", response=GridOut, tag="grids")
def deactivate_grid(id_: int) -> Any:
    require("admin")
    session = db_session()
    return GridOut().dump(grid_service.deactivate_grid(session, grid_service.get_grid(session, id_)))


@bp.get("/party-grids")
@documented("党建网格列表", response=PartyGridOut, many=True, tag="grids")
def list_party_grids() -> Any:
    return {"items": PartyGridOut().dump(grid_service.list_party_grids(db_session()), many=True)}


# --- resources and volunteers -----------------------------------------------------------------

@bp.get("/resources")
@documented("政府资源列表", query=ResourceListArgs, response=ResourceOut, paged=True, tag="resources")
def list_resources() -> Any:
    args = query_args(ResourceListArgs())
    return page_body(provider_service.list_resources(db_session(), **args), ResourceOut())


@bp.post("/resources")
@documented("新建政府资源", body=ResourceIn, response=ResourceOut, status=201, tag="resources")
def create_resource() -> Any:
    require("admin")
    return ResourceOut().dump(provider_service.create_resource(db_session(), json_body(ResourceIn()))), 201


@bp.get("/resources/<int:id_>")
@documented("查看政府资源", response=ResourceOut, tag="resources")
def get_resource(id_: int) -> Any:
    return ResourceOut().dump(provider_service.get_resource(db_session(), id_))


@bp.patch("/resources/<int:id_>")
@documented("修改政府资源", body=ResourceIn, response=ResourceOut, tag="resources")
def update_resource(id_: int) -> Any:
    require("admin")
    session = db_session()
    row = provider_service.get_resource(session, id_)
    return ResourceOut().dump(provider_service.update_resource(session, row, json_body(ResourceIn(), partial=True)))


@bp.delete("/resources/<int:id_>")
@documented("停用政府资源", response=ResourceOut, tag="resources")
def deactivate_resource(id_: int) -> Any:
    require("admin")
    session = db_session()
    return ResourceOut().dump(provider_service.deactivate(session, provider_service.get_resource(session, id_)))


@bp.get("/volunteers")
@documented("志愿者与组织列表", query=VolunteerListArgs, response=VolunteerOut, paged=True, tag="volunteers")
def list_volunteers() -> Any:
    user = require(*STAFF)
    args = query_args(VolunteerListArgs())
    body = page_body(provider_service.list_volunteers(db_session(), **args), VolunteerOut())
    body["items"] = [_mask_volunteer(v, user) for v in body["items"]]
    return body


@bp.post("/volunteers")
@documented("新建志愿者或组织", body=VolunteerIn, response=VolunteerOut, status=201, tag="volunteers")
def create_volunteer() -> Any:
    require("admin", "coordinator")
    return VolunteerOut().dump(provider_service.create_volunteer(db_session(), json_body(VolunteerIn()))), 201


@bp.get("/volunteers/<int:id_>")
@documented("查看志愿者或组织", response=VolunteerOut, tag="volunteers")
def get_volunteer(id_: int) -> Any:
    user = require(*STAFF)
    return _mask_volunteer(VolunteerOut().dump(provider_service.get_volunteer(db_session(), id_)), user)


def _mask_volunteer(body: dict[str, Any], user: Any) -> dict[str, Any]:
    # Branch reviewers see who serves, not how to reach them; coordinators and admins arrange the work.
    if user.role not in ("admin", "coordinator"):
        body["phone"] = scope.mask_phone(body.get("phone") or "")
    return body


@bp.patch("/volunteers/<int:id_>")
@documented("修改志愿者或组织", body=VolunteerIn, response=VolunteerOut, tag="volunteers")
def update_volunteer(id_: int) -> Any:
    require("admin", "coordinator")
    session = db_session()
    row = provider_service.get_volunteer(session, id_)
    return VolunteerOut().dump(provider_service.update_volunteer(session, row, json_body(VolunteerIn(), partial=True)))


@bp.delete("/volunteers/<int:id_>")
@documented("停用志愿者或组织", response=VolunteerOut, tag="volunteers")
def deactivate_volunteer(id_: int) -> Any:
    require("admin", "coordinator")
    session = db_session()
    return VolunteerOut().dump(provider_service.deactivate(session, provider_service.get_volunteer(session, id_)))


def _search(model: type[Resource] | type[Volunteer], out: Any) -> Any:
    args = query_args(SearchArgs())
    session = db_session()
    rows = session.execute(select(model.id, model.name, model.skills).where(model.active.is_(True))).all()
    hits = fuzzy_search(args["q"], [Candidate(i, n, tuple(s or ())) for i, n, s in rows], limit=args["limit"])
    by_id = {r.id: r for r in session.scalars(select(model).where(model.id.in_([h.id for h in hits])))}
    return {"items": [{"score": h.score, "matched": h.matched, "record": out.dump(by_id[h.id])} for h in hits]}


@bp.get("/resources/search")
@documented("模糊搜索政府资源（名称、技能）", query=SearchArgs, tag="resources")
def search_resources() -> Any:
    return _search(Resource, ResourceOut())


@bp.get("/volunteers/search")
@documented("模糊搜索志愿者（姓名、技能，容忍错别字与同音字）", query=SearchArgs, tag="volunteers")
def search_volunteers() -> Any:
    user = require(*STAFF)
    body = _search(Volunteer, VolunteerOut())
    for item in body["items"]:
        _mask_volunteer(item["record"], user)
    return body


# --- needs -------------------------------------------------------------------------------------

@bp.get("/needs")
@documented("需求列表", query=NeedListArgs, response=NeedOut, paged=True, tag="needs")
def list_needs() -> Any:
    user = current_user()
    args = query_args(NeedListArgs())
    session = db_session()
    page = need_service.list_needs(session, visible=scope.need_filter(user), **args)
    return {"items": [_dump_need(session, n, user, visible=True) for n in page.items], "page": page.page,
            "per_page": page.per_page, "total": page.total}


def _dump_need(session: Any, need: Any, user: Any, visible: bool = False) -> dict[str, Any]:
    body = NeedOut().dump(need)
    if not scope.works_on(session, user, need, visible=visible):
        body["contact"] = scope.mask_phone(body["contact"])
    body["status_label"] = STATUS_LABELS_ZH.get(need.status, need.status)
    return body


@bp.post("/needs")
@documented("提交需求（不填服务类型时自动分类）", body=NeedIn, response=NeedOut, status=201, tag="needs")
def create_need() -> Any:
    user = current_user()
    session = db_session()
    need = need_service.create_need(session, json_body(NeedIn()), classify=classify_text)
    if user.role == "resident":
        need.resident_id = user.id
    record_creation(session, need, user, triage=needs_triage(need.service_confidence))
    session.flush()
    return _dump_need(session, need, user), 201


@bp.get("/needs/<int:id_>")
@documented("查看需求", response=NeedOut, tag="needs")
def get_need(id_: int) -> Any:
    user = current_user()
    session = db_session()
    return _dump_need(session, scope.get_visible_need(session, user, id_), user)


@bp.patch("/needs/<int:id_>")
@documented("修改需求（居民在匹配前可改自己的需求）", body=NeedIn, response=NeedOut, tag="needs")
def update_need(id_: int) -> Any:
    user = current_user()
    session = db_session()
    need = scope.get_visible_need(session, user, id_)
    if user.role not in ("admin", "coordinator") and not (
            user.role == "resident" and need.status in ("submitted", "triage")):
        raise Forbidden("需求已进入办理流程，不能再修改")
    return _dump_need(session, need_service.update_need(session, need, json_body(NeedIn(), partial=True)), user)


@bp.delete("/needs/<int:id_>")
@documented("停用需求", response=NeedOut, tag="needs")
def deactivate_need(id_: int) -> Any:
    user = require("admin")
    session = db_session()
    return _dump_need(session, need_service.deactivate_need(session, need_service.get_need(session, id_)), user)


@bp.after_request
def _no_store(response: Any) -> Any:
    # Pools hold personal data: never cache them in shared proxies.
    if request.method == "GET":
        response.headers.setdefault("Cache-Control", "no-store")
    return response
