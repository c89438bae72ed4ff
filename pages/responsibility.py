"""Party members' responsibility fields (党员责任田) in pages: a Party member's 我的责任田 (their buildings, when each
was last visited, and a form to log a visit with a need heard on it), and the branch's view of every member's
month with the buildings left unvisited, and the month by Party grid."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, flash, redirect, request
from sqlalchemy import select

from access.auth import signed_in
from access.policy import grid_ids_in_scope, own_buildings
from core.config import zone
from core.database import db_session
from core.errors import Forbidden
from core.times import local_today
from core.vocab import STAFF, Role
from intake.responsibility import (
    DEFAULT_STALE_DAYS,
    MAX_VISIT_AGE_DAYS,
    RaisedNeed,
    VisitIn,
    log_visit,
    member_fields,
    member_of,
    party_grid_visits,
    visits_of,
)
from intake.service import take_down_at_own_building
from models import Building, Grid, PartyGrid
from web.routes import allow

from .resident import URGENCY_CHOICES
from .shell import FormErrors, attempt, form_text, page

bp = Blueprint("party_fields", __name__)
STALE_CHOICES = (15, 30, 60, 90)
RECENT_VISITS = 10
# The form's names for a raised need's fields (RaisedNeed's own names are the API's).
NEED_FIELDS = {"text": "need_text", "resident_name": "resident_name", "resident_phone": "resident_phone"}


def _field_page(values: dict[str, str], errors: FormErrors, status: int = 200) -> Any:
    session = db_session()
    user = signed_in()
    member = member_of(session, user, None)
    today = local_today(zone())
    mine = member_fields(session, None, today, DEFAULT_STALE_DAYS, member_id=member.id)
    field = mine[0] if mine else None
    return page("volunteer/field.html", status, title="我的责任田", member=member, field=field, values=values,
                errors=errors, stale_days=DEFAULT_STALE_DAYS, today=today.isoformat(),
                earliest=(today - timedelta(days=MAX_VISIT_AGE_DAYS)).isoformat(),
                visits=visits_of(session, member)[:RECENT_VISITS],
                buildings=[(b.code, b.name) for b in (field.buildings if field else [])])


@bp.get("/field")
@allow(Role.VOLUNTEER)
def my_field() -> Any:
    values = {"building": request.args.get("building", ""), "visited_on": local_today(zone()).isoformat(),
              "households": "", "notes": "", "need_text": "", "resident_name": "", "resident_phone": ""}
    return _field_page(values, FormErrors())


@bp.post("/field/visits")
@allow(Role.VOLUNTEER)
def log_my_visit() -> Any:
    names = ("building", "visited_on", "households", "notes", "need_text", "resident_name", "resident_phone")
    values = {name: form_text(name) for name in names}
    body: dict[str, Any] = {"building": values["building"], "notes": values["notes"],
                            "households": values["households"] or "0", "visited_on": values["visited_on"] or None}
    loaded, errors = attempt(lambda: VisitIn().load(body))
    raised: dict[str, Any] | None = None
    if values["need_text"] or values["resident_name"] or values["resident_phone"]:
        raised, refused = attempt(lambda: RaisedNeed().load({"text": values["need_text"],
                                                            "resident_name": values["resident_name"],
                                                            "resident_phone": values["resident_phone"]}),
                                  rename=NEED_FIELDS)
        errors.update(refused)
    if not errors and loaded is not None:
        data = {**loaded, "needs": [raised] if raised else []}
        visit, refused = attempt(lambda: log_visit(db_session(), data, signed_in(), local_today(zone())))
        errors.update(refused)
        if visit is not None:
            heard = f"，并登记了需求 {visit.needs[0].ref}" if visit.needs else ""
            flash(f"已记录 {visit.visited_on.month} 月 {visit.visited_on.day} 日对 {visit.building.name} 的走访{heard}。", "ok")
            return redirect("/field")
    return _field_page(values, errors, 422)


def _need_form(values: dict[str, str], errors: FormErrors, status: int = 200) -> Any:
    buildings = own_buildings(db_session(), signed_in())
    if not buildings:
        raise Forbidden("只有楼栋长和有责任田的党员可以代住户登记需求")
    return page("volunteer/take_down.html", status, title="代住户登记需求", values=values, errors=errors,
                buildings=[(b.code, b.name) for b in buildings], urgencies=URGENCY_CHOICES)


@bp.get("/field/need")
@allow(Role.VOLUNTEER)
def new_need() -> Any:
    values = {"building": request.args.get("building", ""), "text": "", "resident_name": "", "resident_phone": "",
              "urgency": "normal"}
    return _need_form(values, FormErrors())


@bp.post("/field/need")
@allow(Role.VOLUNTEER)
def take_down_need() -> Any:
    """A building head or a Party member takes down a household's need at one of their buildings."""
    values = {name: form_text(name) for name in ("building", "text", "resident_name", "resident_phone", "urgency")}
    session = db_session()
    building = session.scalar(select(Building).where(Building.code == values["building"])) if values["building"] else None
    errors = FormErrors() if building is not None else FormErrors({"building": ["请选择住户所在的楼栋"]})
    raised, refused = attempt(lambda: RaisedNeed().load({k: values[k] for k in ("text", "resident_name",
                                                                                "resident_phone", "urgency")}))
    errors.update(refused)
    if not errors and raised is not None:
        need, refused = attempt(lambda: take_down_at_own_building(session, dict(raised), signed_in(), building))
        errors.update(FormErrors.of(refused, {"address": "building"}))
        if need is not None:
            flash(f"已为住户登记需求 {need.ref}，网格会尽快安排。", "ok")
            return redirect("/tasks")
    return _need_form(values, errors, 422)


@bp.get("/review/fields")
@allow(*STAFF)
def branch_fields() -> Any:
    user = signed_in()
    session = db_session()
    try:
        stale_days = int(request.args.get("days", DEFAULT_STALE_DAYS))
    except ValueError:
        stale_days = DEFAULT_STALE_DAYS
    if stale_days not in STALE_CHOICES:
        stale_days = DEFAULT_STALE_DAYS
    today = local_today(zone())
    ids = grid_ids_in_scope(session, user)
    if ids is not None and not ids:
        raise Forbidden("您没有负责的网格。如需查看党员责任田，请联系街道管理员。")
    codes = None if ids is None else list(session.scalars(
        select(PartyGrid.code).join(Grid, Grid.party_grid_id == PartyGrid.id).where(Grid.id.in_(ids)).distinct()))
    return page("reviewer/fields.html", title="党员责任田", members=member_fields(session, ids, today, stale_days),
                report=[r for r in party_grid_visits(session, codes, today, today, stale_days) if r.buildings],
                stale_days=stale_days, choices=[(str(d), f"{d} 天") for d in STALE_CHOICES], month=today.month)
