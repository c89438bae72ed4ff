"""HTTP side of Party members' responsibility fields (党员责任田): ``GET /api/v1/fields`` (each member's field,
visits this month, buildings not visited lately), ``PUT /api/v1/fields/<ref>`` (a member's buildings),
``POST``/``GET /api/v1/visits`` (a visit with the needs it raised), ``GET /api/v1/reports/visits`` (by Party
grid)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from access.auth import signed_in
from access.policy import grid_ids_in_scope
from core.config import zone
from core.database import db_session
from core.errors import Forbidden
from core.times import local_today
from core.vocab import Role
from models import Building, Grid, PartyGrid, User, Visit
from web.http import json_body, query_args
from web.openapi import documented
from web.routes import allow
from web.schemas import StrictSchema, Timestamp

from .responsibility import (
    DEFAULT_STALE_DAYS,
    FieldIn,
    VisitIn,
    field_of,
    log_visit,
    member_fields,
    member_of,
    party_grid_visits,
    party_member,
    set_field,
)

bp = Blueprint("responsibility", __name__, url_prefix="/api/v1")
STAFF = (Role.COORDINATOR, Role.REVIEWER, Role.ADMIN)
MAX_STALE_DAYS = 366


class FieldArgs(StrictSchema):
    party_grid = fields.String(load_default=None, validate=validate.Length(min=1, max=32),
                               metadata={"description": "只看这个党建网格"})
    stale_days = fields.Integer(load_default=DEFAULT_STALE_DAYS, validate=validate.Range(min=1, max=MAX_STALE_DAYS),
                                metadata={"description": "超过多少天未走访算“久未走访”"})


class ReportArgs(StrictSchema):
    month = fields.String(load_default=None, validate=validate.Regexp(r"^(19|20)\d{2}-(0[1-9]|1[0-2])$",
                                                                      error="月份应为 YYYY-MM，如 2026-11"),
                          metadata={"description": "YYYY-MM；不填为本月"})
    stale_days = fields.Integer(load_default=DEFAULT_STALE_DAYS, validate=validate.Range(min=1, max=MAX_STALE_DAYS))


class VisitArgs(StrictSchema):
    member = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    since = fields.Date(load_default=None, metadata={"description": "只列这一天及以后的走访"})


class BuildingStateOut(Schema):
    code = fields.String()
    name = fields.String()
    grid = fields.String()
    households = fields.Integer()
    last_visited_on = fields.Date(allow_none=True)


class MemberFieldOut(Schema):
    ref = fields.String()
    name = fields.String()
    grid = fields.String()
    party_grid = fields.String(allow_none=True)
    buildings = fields.List(fields.Nested(BuildingStateOut))
    visits_this_month = fields.Integer()
    households_this_month = fields.Integer()
    needs_raised_this_month = fields.Integer()
    stale = fields.List(fields.Nested(BuildingStateOut), metadata={"description": "超过 stale_days 天未走访的楼栋"})


class FieldsOut(Schema):
    items = fields.List(fields.Nested(MemberFieldOut))
    today = fields.Date()
    stale_days = fields.Integer()


class FieldOut(Schema):
    member = fields.String()
    buildings = fields.List(fields.String())


class VisitOut(Schema):
    id = fields.Integer()
    member = fields.Function(lambda v: v.member.ref)
    member_name = fields.Function(lambda v: v.member.name)
    building = fields.Function(lambda v: v.building.code)
    building_name = fields.Function(lambda v: v.building.name)
    visited_on = fields.Date()
    households = fields.Integer()
    notes = fields.String()
    needs = fields.Function(lambda v: [{"id": n.id, "ref": n.ref, "status": n.status} for n in v.needs],
                            metadata={"description": "这次走访收集或关联的需求"})
    created_at = Timestamp()


class PartyGridVisitsOut(Schema):
    code = fields.String()
    name = fields.String()
    members = fields.Integer()
    buildings = fields.Integer()
    buildings_visited = fields.Integer()
    coverage = fields.Float(allow_none=True, metadata={"description": "本月走访到的楼栋占责任田楼栋的比例"})
    visits = fields.Integer()
    households = fields.Integer()
    needs_raised = fields.Integer()
    stale_buildings = fields.Integer()


def _today() -> date:
    return local_today(zone())


def _grid_ids(user: User, party_grid: str | None) -> list[int] | None:
    """The grids whose fields ``user`` sees, narrowed to ``party_grid`` when given."""
    session = db_session()
    ids = grid_ids_in_scope(session, user)
    if party_grid is None:
        return ids
    wanted = set(session.scalars(select(Grid.id).join(Grid.party_grid).where(PartyGrid.code == party_grid)))
    return sorted(wanted if ids is None else wanted & set(ids))


@bp.get("/fields")
@allow(*STAFF, Role.VOLUNTEER)
@documented("党员责任田：每位党员的楼栋、本月走访、久未走访的楼栋（党员本人只看自己的）", query=FieldArgs,
            response=FieldsOut, tag="fields")
def list_fields() -> Any:
    user = signed_in()
    args = query_args(FieldArgs())
    session = db_session()
    if user.role == Role.VOLUNTEER:
        member = member_of(session, user, None)
        items = member_fields(session, None, _today(), args["stale_days"], member_id=member.id)
    else:
        items = member_fields(session, _grid_ids(user, args["party_grid"]), _today(), args["stale_days"])
    return FieldsOut().dump({"items": items, "today": _today(), "stale_days": args["stale_days"]})


@bp.put("/fields/<ref>")
@allow(*STAFF)
@documented("设定一位党员责任田的全部楼栋（替换原有的；已属他人的楼栋需先移出）", body=FieldIn, response=FieldOut,
            tag="fields")
def put_field(ref: str) -> Any:
    session = db_session()
    body = json_body(FieldIn())
    member = party_member(session, ref, "member")
    buildings = set_field(session, member, body["buildings"], signed_in())
    return FieldOut().dump({"member": member.ref, "buildings": [b.code for b in buildings]})


@bp.post("/visits")
@allow(*STAFF, Role.VOLUNTEER)
@documented("登记一次责任田走访，连同走访中收集到的需求（每条登记为来源“党员走访”的需求）", body=VisitIn,
            response=VisitOut, status=201, tag="fields")
def create_visit() -> Any:
    visit = log_visit(db_session(), json_body(VisitIn()), signed_in(), _today())
    return VisitOut().dump(visit), 201


@bp.get("/visits")
@allow(*STAFF, Role.VOLUNTEER)
@documented("走访记录（党员本人看自己的；工作人员看范围内楼栋的）", query=VisitArgs, response=VisitOut, many=True,
            tag="fields")
def list_visits() -> Any:
    user = signed_in()
    args = query_args(VisitArgs())
    session = db_session()
    query = select(Visit).options(joinedload(Visit.member), joinedload(Visit.building))
    if user.role == Role.VOLUNTEER:
        query = query.where(Visit.member_id == member_of(session, user, args["member"]).id)
    else:
        if args["member"]:
            query = query.where(Visit.member_id == party_member(session, args["member"]).id)
        if (ids := grid_ids_in_scope(session, user)) is not None:
            query = query.where(Visit.building.has(Building.grid_id.in_(ids)))
    if args["since"]:
        query = query.where(Visit.visited_on >= args["since"])
    visits = session.scalars(query.order_by(Visit.visited_on.desc(), Visit.id.desc()).limit(500)).unique()
    return {"items": VisitOut(many=True).dump(list(visits))}


@bp.get("/fields/mine")
@allow(Role.VOLUNTEER)
@documented("党员本人责任田的楼栋", response=FieldOut, tag="fields")
def my_field() -> Any:
    session = db_session()
    member = member_of(session, signed_in(), None)
    return FieldOut().dump({"member": member.ref, "buildings": [b.code for b in field_of(session, member)]})


@bp.get("/reports/visits")
@allow(*STAFF)
@documented("按党建网格统计责任田走访：党员数、楼栋数、本月走访覆盖率、户数、收集的需求、久未走访的楼栋", query=ReportArgs,
            response=PartyGridVisitsOut, many=True, tag="fields")
def visit_report() -> Any:
    user = signed_in()
    args = query_args(ReportArgs())
    session = db_session()
    codes: list[str] | None = None
    if (ids := grid_ids_in_scope(session, user)) is not None:
        if not ids:
            raise Forbidden("没有负责的网格")
        codes = list(session.scalars(select(PartyGrid.code).join(Grid, Grid.party_grid_id == PartyGrid.id)
                                     .where(Grid.id.in_(ids)).distinct()))
    month = datetime.strptime(args["month"], "%Y-%m").date() if args["month"] else _today()
    rows = party_grid_visits(session, codes, month, _today(), args["stale_days"])
    return {"items": PartyGridVisitsOut(many=True).dump(rows)}
