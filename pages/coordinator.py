"""The coordinator's pages (desk, usable on a tablet): the work queue of their scope by state with
filters, batch matching of the scope, a need's page with ranked proposals drawn as bars per feature,
accept, decline, propose by hand (fuzzy search by characters and pinyin), set the service of a
triaged need, and a need entered on a resident's behalf. Admins use the same pages over everything."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, flash, redirect, request
from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.orm import selectinload

from access.audit import record_access
from access.auth import signed_in
from access.policy import get_visible_need, grid_ids_in_scope, mask_phone, may_match, may_reveal_contact, need_filter
from core.config import setting, zone
from core.database import db_session
from core.errors import Forbidden
from core.times import local_today, utcnow
from core.vocab import (
    ARRANGERS,
    CHANNEL_LABELS_ZH,
    RECORDED_CHANNELS,
    SERVICE_LABELS_ZH,
    WAITING_FOR_MATCH,
    Action,
    Channel,
    NeedStatus,
    ProposalStatus,
    ProviderKind,
    Role,
    ScopeType,
    Service,
    Urgency,
)
from dispatch.proposals import instant_proposals, set_aside
from intake.photos import photos_of
from intake.service import confirm_place
from matching.scoring import WEIGHTS
from matching.sensitivity import sensitive_topics
from models import Building, Grid, Need, Proposal, Resource, User, Volunteer
from pools.needs import lock_need
from pools.providers import search
from web.routes import allow
from workflow.effects import return_visit_due
from workflow.service import allowed_for, audit_trail, match_scope

from .resident import PART_CHOICES, URGENCY_CHOICES, grid_choices, need_from_form
from .shell import FormErrors, attempt, form_text, page, safe_next, take_action
from .story import tell

bp = Blueprint("coordinator", __name__)

# The queue's tabs: a state a coordinator works on, and which needs are in it.
_declined = exists().where(Proposal.need_id == Need.id, Proposal.status == ProposalStatus.DECLINED)
QUEUES: dict[str, tuple[str, ColumnElement[bool]]] = {
    "triage": ("待人工分类", Need.status == NeedStatus.TRIAGE),
    "waiting": ("待匹配", Need.status == NeedStatus.SUBMITTED),
    "unmatched": ("暂未匹配", Need.status == NeedStatus.UNMATCHED),
    "proposed": ("已推荐待答复", and_(Need.status == NeedStatus.PROPOSED, ~_declined)),
    "declined": ("被婉拒后待答复", and_(Need.status == NeedStatus.PROPOSED, _declined)),
    "escalated": ("已提交议事会", Need.status == NeedStatus.ESCALATED),
    "serving": ("办理中", Need.status.in_([NeedStatus.ACCEPTED, NeedStatus.APPROVED, NeedStatus.IN_SERVICE])),
    # Done, the resident has not confirmed yet: after RETURN_VISIT_HOURS the coordinator calls them (回访).
    "done": ("已完成待确认", Need.status == NeedStatus.DONE),
}
AGES = [("", "不限"), ("1", "超过 1 天"), ("3", "超过 3 天"), ("7", "超过 7 天")]
# Oldest and most urgent first.
_URGENCY_ORDER = case({Urgency.URGENT: 0, Urgency.HIGH: 1, Urgency.NORMAL: 2, Urgency.LOW: 3}, value=Need.urgency)
PER_PAGE = 50
PROVIDER_OPEN = WAITING_FOR_MATCH | {NeedStatus.TRIAGE, NeedStatus.PROPOSED, NeedStatus.ACCEPTED, NeedStatus.ESCALATED}
FEATURE_LABELS_ZH = {"skill": "技能", "text": "描述相近", "tier": "距离", "availability": "时间合适",
                     "load": "当前负担", "reliability": "以往表现", "recipient": "服务对象", "continuity": "连续服务"}
INTAKE_CHANNELS = [c for c in RECORDED_CHANNELS if c != Channel.APP]


def _filters(args: Mapping[str, str]) -> dict[str, str]:
    state = args.get("state", "triage")
    return {"state": state if state in QUEUES else "triage", "grid": args.get("grid", "")[:32],
            "service": args.get("service", "") if args.get("service") in set(Service) else "",
            "urgency": args.get("urgency", "") if args.get("urgency") in set(Urgency) else "",
            "age": args.get("age", "") if args.get("age") in dict(AGES) else ""}


def _conditions(user: User, f: dict[str, str]) -> list[ColumnElement[bool]]:
    where = [need_filter(user), Need.active.is_(True)]
    if f["grid"]:
        where.append(Need.grid_id.in_(select(Grid.id).where(Grid.code == f["grid"])))
    if f["service"]:
        where.append(Need.service == f["service"])
    if f["urgency"]:
        where.append(Need.urgency == f["urgency"])
    if f["age"]:
        where.append(Need.created_at <= utcnow() - timedelta(days=int(f["age"])))
    return where


def scope_grids(user: User) -> list[tuple[str, list[tuple[str, str]]]]:
    """The grid picker of the user's scope (every grid for an admin)."""
    groups = grid_choices()
    session = db_session()
    ids = grid_ids_in_scope(session, user)
    if ids is None:
        return groups
    allowed = set(session.scalars(select(Grid.code).where(Grid.id.in_(ids))))
    return [(name, kept) for name, options in groups if (kept := [(c, t) for c, t in options if c in allowed])]


def match_scopes(user: User, grid: str) -> list[tuple[str | None, str | None]]:
    """(grid, Party grid) scopes one press of 批量匹配 runs: the filtered grid, else the user's whole scope."""
    if grid:
        return [(grid, None)]
    if user.role == Role.ADMIN:
        return [(None, None)]
    codes = list(user.scope_codes or [])
    if user.scope_type == ScopeType.PARTY_GRID:
        return [(None, code) for code in codes]
    if user.scope_type == ScopeType.GRID:
        return [(code, None) for code in codes]
    return []


def _queue_url(f: Mapping[str, str]) -> str:
    return "/queue?" + urlencode({k: v for k, v in f.items() if v})


@bp.get("/queue")
@allow(*ARRANGERS)
def queue() -> Any:
    user = signed_in()
    session = db_session()
    f = _filters(request.args)
    where = _conditions(user, f)
    tab = case(*((cond, key) for key, (_, cond) in QUEUES.items()), else_="").label("tab")
    counts: dict[str, int] = dict(session.execute(select(tab, func.count()).where(*where).group_by(tab)).all())
    if "state" not in request.args:  # opened from the menu: the first state with work waiting
        f["state"] = next((key for key in QUEUES if counts.get(key)), f["state"])
    page_no = max(1, min(int(request.args.get("page", "1")) if request.args.get("page", "").isdigit() else 1, 10_000))
    rows = list(session.scalars(
        select(Need).options(selectinload(Need.grid), selectinload(Need.proposals))
        .where(*where, QUEUES[f["state"]][1]).order_by(_URGENCY_ORDER, Need.created_at, Need.id)
        .limit(PER_PAGE).offset((page_no - 1) * PER_PAGE)))
    here = _queue_url(f)
    tabs = {key: _queue_url({**f, "state": key}) for key in QUEUES}
    scopes = match_scopes(user, f["grid"])
    can_match = bool(scopes) and all(may_match(session, user, g, pg) for g, pg in scopes)
    return page("coordinator/queue.html", title="工作台", f=f, queues=QUEUES, tabs=tabs, counts=counts, needs=rows,
                grids=scope_grids(user), services=list(SERVICE_LABELS_ZH.items()), urgencies=URGENCY_CHOICES,
                ages=AGES, here=here, page_no=page_no, more=counts.get(f["state"], 0) > page_no * PER_PAGE,
                can_match=can_match, per_page=PER_PAGE)


@bp.post("/queue/match")
@allow(*ARRANGERS)
def batch_match() -> Any:
    user = signed_in()
    session = db_session()
    grid = form_text("grid", 32)
    back = safe_next(form_text("back", 500)) or "/queue"
    scopes = match_scopes(user, grid)
    if not scopes or not all(may_match(session, user, g, pg) for g, pg in scopes):
        flash("只能匹配自己负责的网格或党建网格", "error")
        return redirect(back)
    proposed = unmatched = 0
    for g, pg in scopes:
        _, result = match_scope(session, grid=g, party_grid=pg)
        proposed += len(result.assignments)
        unmatched += len(result.unmatched)
    flash(f"匹配完成：为 {proposed} 条需求推荐了服务方，{unmatched} 条暂未找到合适的服务方。", "ok")
    return redirect(back)


def _need_page(need: Need, errors: FormErrors | None = None, status: int = 200, revealed: bool = False) -> Any:
    """A need as staff work it. Its contact shows masked until revealed with a reason (``reveal_contact``); a
    sensitive need's words are a recorded look."""
    user = signed_in()
    session = db_session()
    if sensitive_topics(need.text):
        record_access(session, user, need, "sensitive")
    shown = {"contact": need.contact, "resident_phone": need.resident_phone} if revealed else {
        "contact": mask_phone(need.contact), "resident_phone": mask_phone(need.resident_phone)}
    back = safe_next(request.args.get("back")) or "/queue"
    query = (request.args.get("q") or "").strip()[:50]
    # Ranked providers while a provider may still be chosen or changed; after that, the record only.
    choosing = need.service and need.status in PROVIDER_OPEN
    ranked = instant_proposals(session, need, limit=8, exclude=set_aside(need)) if choosing else []
    found = []
    if query:
        found = [(hit, row, ProviderKind.RESOURCE) for hit, row in search(session, Resource, query, 8)]
        found += [(hit, row, ProviderKind.VOLUNTEER) for hit, row in search(session, Volunteer, query, 8)]
        found.sort(key=lambda t: -t[0].score)
    allowed = allowed_for(need, user.role)
    return page("coordinator/need.html", status, title=f"需求 {need.ref}", need=need, allowed=allowed,
                photos=photos_of(session, need),
                story=tell(need, audit_trail(session, need), for_resident=False), ranked=ranked,
                weights=WEIGHTS, labels=FEATURE_LABELS_ZH, back=back, q=query, found=found[:10],
                errors=errors or FormErrors(), services=list(SERVICE_LABELS_ZH.items()),
                history=sorted(need.proposals, key=lambda p: p.id), shown=shown, revealed=revealed,
                reopen_days=setting("REOPEN_DAYS"), visit_from=_visit_not_yet(need))


def _visit_not_yet(need: Need) -> datetime | None:
    """When a return visit becomes possible, if the resident still has time to confirm themselves."""
    due = return_visit_due(need) if need.status == NeedStatus.DONE else None
    return due if due is not None and due > utcnow() else None


@bp.get("/needs/<int:id_>")
@allow(*ARRANGERS, Role.REVIEWER)
def need_page(id_: int) -> Any:
    return _need_page(get_visible_need(db_session(), signed_in(), id_))


# What each staff button says once done.
DONE_MESSAGES: dict[str, str] = {
    Action.ACCEPT: "已代服务方接单。", Action.DECLINE: "已婉拒，系统已改推下一位服务方（如有）。",
    Action.PROPOSE: "已推荐该服务方。", Action.REASSIGN: "已改派该服务方。", Action.CLASSIFY: "已确定服务类型。",
    Action.ESCALATE: "已提交网格议事会。", Action.START: "已开始服务。", Action.REPORT_DONE: "已报告完成。",
    Action.APPROVE: "已审核通过。", Action.SEND_BACK: "已退回重新确认。", Action.CANCEL: "需求已撤销。",
    Action.RETURN_VISIT: "已记录回访，需求已办结。",
}


@bp.post("/needs/<int:id_>/<action>")
@allow(*ARRANGERS, Role.REVIEWER)
def act(id_: int, action: str) -> Any:
    user = signed_in()
    session = db_session()
    back = safe_next(form_text("back", 500))
    here = f"/needs/{id_}" + (f"?{urlencode({'back': back})}" if back else "")
    if action not in DONE_MESSAGES:
        return page("error.html", 404, title="找不到该页面", message="没有这个操作")
    payload: dict[str, Any] = {"action": action, "reason": form_text("reason", 1000)}
    for name in ("proposal", "provider_id"):
        if form_text(name).isdigit():
            payload[name] = int(form_text(name))
    if "provider_id" in payload:
        payload["provider"] = {"kind": form_text("provider_kind", 16), "id": payload.pop("provider_id")}
    if action == Action.CLASSIFY:
        payload["service"] = form_text("service", 16)
    if action == Action.RETURN_VISIT and form_text("rating", 8):
        rating = form_text("rating", 8)
        payload["rating"] = int(rating) if rating.isdigit() else rating

    get_visible_need(session, user, id_)  # outside the scope: 404, before anything else
    need, errors = attempt(lambda: take_action(id_, payload))
    if need is None and set(errors) - {"_form"}:
        return _need_page(get_visible_need(session, user, id_), errors, 422)
    for message in errors.get("_form", []):
        flash(message, "error")
    if need is not None:
        flash(DONE_MESSAGES[action], "ok")
    return redirect(here)


@bp.post("/needs/<int:id_>/contact")
@allow(*ARRANGERS, Role.REVIEWER)
def reveal_contact(id_: int) -> Any:
    """The full contact, shown once on this page, for a reason the read audit keeps."""
    user = signed_in()
    session = db_session()
    need = get_visible_need(session, user, id_)
    reason = form_text("reason", 200)
    if len(reason) < 2:
        return _need_page(need, FormErrors({"reason": ["请写明为什么需要完整号码，例如：电话确认上门时间"]}), 422)
    if not may_reveal_contact(session, user, need):
        raise Forbidden("无权查看完整联系方式")
    record_access(session, user, need, "contact", reason=reason)
    return _need_page(need, revealed=True)


@bp.post("/needs/<int:id_>/place")
@allow(*ARRANGERS)
def place(id_: int) -> Any:
    """A person chose the building of a need whose address the register could not place surely."""
    user = signed_in()
    session = db_session()
    need = get_visible_need(session, user, id_)
    chosen = form_text("building", 16)
    building = session.get(Building, int(chosen)) if chosen.isdigit() else None
    if building is None or not building.active:
        flash("请选择一个楼栋", "error")
        return redirect(f"/needs/{id_}")
    _, errors = attempt(lambda: confirm_place(session, lock_need(session, need), building, user))
    for message in errors.get("_form", []):
        flash(message, "error")
    if not errors:
        flash(f"已确认地址为 {building.name}（网格 {building.grid.code}）。", "ok")
    return redirect(f"/needs/{id_}")


# --- a need entered on a resident's behalf -------------------------------------------------------

def _intake_form(user: User, values: dict[str, str], errors: FormErrors, status: int = 200) -> Any:
    today = local_today(zone())
    return page("coordinator/new.html", status, title="代居民登记需求", values=values, errors=errors,
                grids=scope_grids(user), parts=PART_CHOICES, urgencies=URGENCY_CHOICES,
                channels=[(c.value, CHANNEL_LABELS_ZH[c]) for c in INTAKE_CHANNELS], today=today.isoformat(),
                latest=(today + timedelta(days=90)).isoformat())


@bp.get("/needs/new")
@allow(*ARRANGERS)
def new_need() -> Any:
    values = {"text": "", "address": "", "grid": request.args.get("grid", ""), "urgency": "normal", "part": "any", "day": "",
              "resident_name": "", "resident_phone": "", "channel": Channel.PHONE.value}
    return _intake_form(signed_in(), values, FormErrors())


@bp.post("/needs/new")
@allow(*ARRANGERS)
def enter_need() -> Any:
    user = signed_in()
    values = {k: form_text(k) for k in ("text", "address", "grid", "urgency", "part", "day", "resident_name",
                                        "resident_phone", "channel")}
    need, errors = need_from_form(values, user)
    if need is None:
        return _intake_form(user, values, errors, 422)
    flash(f"已登记需求 {need.ref}。", "ok")
    return redirect(f"/needs/{need.id}")

