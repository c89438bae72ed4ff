"""The grid Party branch's pages (desk): the review queue of the branch's scope — approve, send back
with a reason, reassign to another provider — and the grid council (网格议事会): the agenda of a
meeting with each item's decision and who takes it recorded there, printable afterwards as the
minutes (会议纪要) or downloaded as CSV. Admins use the same pages over everything."""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, flash, redirect, request
from marshmallow import ValidationError
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import selectinload

from access.audit import record_access
from access.auth import signed_in
from access.policy import get_visible_need, mask_phone, may_see_agenda, need_filter, sees_contact
from core.config import zone
from core.database import db_session
from core.errors import Forbidden
from core.times import local_today, utcnow
from core.vocab import ARRANGERS, Action, NeedStatus, Role, Urgency
from dispatch.proposals import instant_proposals, set_aside
from matching.sensitivity import sensitive_topics
from models import Grid, Need, PartyGrid, Proposal, User
from pools.grids import list_party_grids
from web.routes import allow
from workflow import council, minutes, reports
from workflow.reports_api import PeriodArgs
from workflow.service import allowed_for

from .shell import FormErrors, attempt, form_text, page, safe_next, take_action

bp = Blueprint("reviewer", __name__)

REVIEWERS = (Role.REVIEWER, Role.ADMIN)
# Who reads and records a council's agenda: those may_see_agenda lets in (admins, the Party grid's
# reviewers and coordinators); the route lets the staff roles reach the question.
COUNCIL_ROLES = (Role.REVIEWER, *ARRANGERS)

# --- the review queue -------------------------------------------------------------------------------

QUEUE = "/review"
PER_PAGE = 50
SORTS = [("oldest", "等待最久的在前"), ("urgent", "最紧急的在前")]
ALTERNATIVES = 5
# The counts at the top: the states of the branch's scope a reviewer keeps an eye on.
COUNTS: list[tuple[NeedStatus, str]] = [
    (NeedStatus.ACCEPTED, "待审核"), (NeedStatus.APPROVED, "已审核待服务"),
    (NeedStatus.UNMATCHED, "暂未匹配"), (NeedStatus.ESCALATED, "已提交议事会"),
]
_URGENCY_ORDER = case({Urgency.URGENT: 0, Urgency.HIGH: 1, Urgency.NORMAL: 2, Urgency.LOW: 3}, value=Need.urgency)
# What each of the branch's buttons says once done.
DONE: dict[str, str] = {
    Action.APPROVE: "已审核通过需求 {ref}，服务方可以开始服务。",
    Action.SEND_BACK: "已退回需求 {ref}，请服务方（或协调员）重新确认。",
    Action.REASSIGN: "已将需求 {ref} 改派给 {provider}，等待其确认接单。",
}


def _filters(args: Mapping[str, str]) -> dict[str, str]:
    sort = args.get("sort", "oldest")
    return {"grid": args.get("grid", "")[:32], "sort": sort if sort in dict(SORTS) else "oldest"}


def _queue_url(f: Mapping[str, str]) -> str:
    kept = {k: v for k, v in f.items() if v and not (k == "sort" and v == "oldest")}
    return QUEUE + (f"?{urlencode(kept)}" if kept else "")


def _back() -> str:
    """Where an action returns: the queue with its filters (never another page or site)."""
    back = safe_next(form_text("back", 500) or request.args.get("back", ""))
    return back if back and (back == QUEUE or back.startswith(QUEUE + "?")) else QUEUE


def _card(user: User, need: Need) -> dict[str, Any]:
    """What a reviewer reads of a need waiting for review; contact details only if the policy says so."""
    session = db_session()
    plain = sees_contact(session, user, need, visible=True)
    if sensitive_topics(need.text):
        record_access(session, user, need, "sensitive")
    current = need.current_proposal
    return {"need": need, "text": need.text if plain else mask_phone(need.text),
            "contact": need.contact if plain else mask_phone(need.contact), "proposal": current,
            "provider": current.provider if current is not None else None,
            "allowed": allowed_for(need, user.role)}


@bp.get("/review")
@allow(*REVIEWERS)
def queue() -> Any:
    user = signed_in()
    session = db_session()
    f = _filters(request.args)
    scope: list[ColumnElement[bool]] = [need_filter(user), Need.active.is_(True)]
    counts = dict(session.execute(select(Need.status, func.count()).where(
        *scope, Need.status.in_([s for s, _ in COUNTS])).group_by(Need.status)).all())
    waiting = [*scope, Need.status == NeedStatus.ACCEPTED]
    grids = [(code, f"{name}（{code}）") for code, name in session.execute(
        select(Grid.code, Grid.name).where(Grid.id.in_(select(Need.grid_id).where(*waiting))).order_by(Grid.code))]
    if f["grid"]:
        waiting.append(Need.grid_id.in_(select(Grid.id).where(Grid.code == f["grid"])))
    total = session.scalar(select(func.count()).select_from(Need).where(*waiting)) or 0
    page_no = max(1, min(int(request.args.get("page", "1")) if request.args.get("page", "").isdigit() else 1, 10_000))
    order = ((Need.status_changed_at, Need.id) if f["sort"] == "oldest"
             else (_URGENCY_ORDER, Need.status_changed_at, Need.id))
    rows = session.scalars(
        select(Need).options(selectinload(Need.grid), selectinload(Need.proposals).selectinload(Proposal.volunteer),
                             selectinload(Need.proposals).selectinload(Proposal.resource))
        .where(*waiting).order_by(*order).limit(PER_PAGE).offset((page_no - 1) * PER_PAGE))
    here = _queue_url(f)
    return page("reviewer/queue.html", title="审核", f=f, counts=counts, count_labels=COUNTS, total=total,
                cards=[_card(user, n) for n in rows], grids=grids, sorts=SORTS, here=here, page_no=page_no,
                more=total > page_no * PER_PAGE, now=utcnow())


def _review_page(need: Need, errors: FormErrors | None = None, values: Mapping[str, str] | None = None,
                 status: int = 200) -> Any:
    """One need's review: the queue's card, and the ranked providers it may be reassigned to."""
    user = signed_in()
    session = db_session()
    card = _card(user, need)
    alternatives = []
    if Action.REASSIGN in card["allowed"] and need.service:
        excluded = set_aside(need)
        if card["proposal"] is not None:
            excluded.add(card["proposal"].provider_key)  # the provider it already has is no alternative
        alternatives = instant_proposals(session, need, limit=ALTERNATIVES, exclude=excluded)
    back = _back()
    return page("reviewer/need.html", status, title=f"审核需求 {need.ref}", card=card, alternatives=alternatives,
                back=back, here=f"/review/{need.id}?{urlencode({'back': back})}", errors=errors or FormErrors(),
                values=values or {}, now=utcnow())


@bp.get("/review/<int:id_>")
@allow(*REVIEWERS)
def review(id_: int) -> Any:
    return _review_page(get_visible_need(db_session(), signed_in(), id_))


@bp.post("/review/<int:id_>/<action>")
@allow(*REVIEWERS)
def act(id_: int, action: str) -> Any:
    user = signed_in()
    session = db_session()
    if action not in DONE:
        return page("error.html", 404, title="找不到该页面", message="没有这个操作")
    need = get_visible_need(session, user, id_)  # outside the branch's scope the need does not exist: 404
    ref = need.ref
    values = {"reason": form_text("reason", 1000)}
    payload: dict[str, Any] = {"action": action, "reason": values["reason"]}
    if action == Action.REASSIGN:
        kind, provider_id = form_text("provider_kind", 16), form_text("provider_id", 16)
        payload["provider"] = {"kind": kind, "id": int(provider_id) if provider_id.isdigit() else provider_id}
    provider_name = ""

    def work() -> Need:
        nonlocal provider_name
        moved = take_action(id_, payload)
        current = moved.current_proposal
        provider_name = current.provider.name if current is not None else ""
        return moved

    moved, errors = attempt(work)
    if moved is None and set(errors) - {"_form"}:
        # A reason by field (the send-back's reason, the provider named): the need's page, the field marked.
        return _review_page(get_visible_need(session, user, id_), errors, values, 422)
    for message in errors.get("_form", []):
        flash(f"需求 {ref}：{message}", "error")
    if moved is not None:
        flash(DONE[action].format(ref=ref, provider=provider_name), "ok")
    return redirect(_back())


# --- the grid council -------------------------------------------------------------------------------

_DATE_ERRORS = {"invalid": "日期格式应为 YYYY-MM-DD", "format": "日期格式应为 YYYY-MM-DD"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


def _council_of(code: str) -> PartyGrid:
    """The Party grid, if the signed-in user may read its council's agenda: 404 for an unknown one
    (Party grid codes are public), 403 otherwise, as the printable agenda answers."""
    session = db_session()
    party = council.party_grid_by_code(session, code)
    if not may_see_agenda(session, signed_in(), code):
        raise Forbidden("无权查看该党建网格的议事会")
    return party


@bp.get("/council")
@allow(*COUNCIL_ROLES)
def councils() -> Any:
    user = signed_in()
    session = db_session()
    parties = [p for p in list_party_grids(session) if may_see_agenda(session, user, p.code)]
    chosen = request.args.get("code", "")[:32]
    errors = FormErrors()
    if chosen:
        if chosen in {p.code for p in parties}:
            return redirect(f"/council/{_path(chosen)}/meeting")
        errors["code"] = ["请从列表中选择一个党建网格"]
    return page("reviewer/councils.html", 422 if errors else 200, title="网格议事会", parties=parties,
                held=minutes.meetings(session, [p.code for p in parties]), chosen=chosen, errors=errors,
                picker=user.role == Role.ADMIN,
                choices=[(p.code, _party_label(p.code, p.name, p.branch)) for p in parties])


def _party_label(code: str, name: str, branch: str) -> str:
    label = name if name == code else f"{name}（{code}）"
    return f"{label} · {branch}" if branch else label


def _date_arg(source: Mapping[str, str], name: str, errors: FormErrors, default: date) -> tuple[date, str]:
    """A YYYY-MM-DD argument (its text kept for the form), or the default with the reason."""
    text = (source.get(name) or "").strip()[:32]
    if not text:
        return default, ""
    try:
        value = date.fromisoformat(text)
    except ValueError:
        errors[name] = [_DATE_ERRORS["invalid"]]
        return default, text
    if not minutes.EARLIEST <= value <= minutes.LATEST:
        errors[name] = [f"日期应在 {minutes.EARLIEST} 到 {minutes.LATEST} 之间"]
        return default, text
    return value, text


def _meeting_args(source: Mapping[str, str]) -> tuple[dict[str, date], dict[str, str], FormErrors]:
    """The agenda's period and the meeting's date: values, the texts typed, reasons by field."""
    errors = FormErrors()
    today = local_today(zone())
    texts = {k: (source.get(k) or "").strip()[:32] for k in ("start", "end")}
    try:
        loaded = PeriodArgs().load({k: v for k, v in texts.items() if v})
    except ValidationError as exc:
        errors.update(FormErrors.of(exc.normalized_messages()))
        loaded = {}
    default_start, default_end = reports.default_period(loaded.get("end") or today)
    start, end = loaded.get("start") or default_start, loaded.get("end") or default_end
    if start > end and not errors:
        errors["start"] = ["开始日期不能晚于结束日期"]
    meeting, texts["date"] = _date_arg(source, "date", errors, today)
    return {"start": start, "end": end, "date": meeting}, texts, errors


def _path(code: str) -> str:
    """A Party grid's code as a segment of a path (codes are free text of up to 32 characters)."""
    return quote(code, safe="")


def _meeting_url(code: str, args: Mapping[str, Any], anchor: str = "") -> str:
    query = urlencode({k: str(v) for k, v in args.items() if v})
    return f"/council/{_path(code)}/meeting" + (f"?{query}" if query else "") + (f"#{anchor}" if anchor else "")


def _meeting_page(code: str, args: dict[str, date], texts: Mapping[str, str], errors: FormErrors,
                  values: Mapping[str, str] | None = None, status: int = 200) -> Any:
    session = db_session()
    party = _council_of(code)
    query_errors = {k: v for k, v in errors.items() if k in ("start", "end", "date")}
    agenda = None
    items: list[dict[str, Any]] = []
    recorded: dict[int, dict[str, Any]] = {}
    others: list[dict[str, Any]] = []
    if not query_errors:
        agenda = council.agenda(session, code, args["start"], args["end"], utcnow())
        listed = [("提交议事会", i) for i in agenda["escalated"]] + [("逾期未办结", i) for i in agenda["overdue"]]
        ids = dict(session.execute(select(Need.ref, Need.id).where(Need.ref.in_([i["ref"] for _, i in listed]))).all())
        items = [{**i, "section": section, "need_id": ids[i["ref"]]} for section, i in listed if i["ref"] in ids]
        held = minutes.minutes_of(session, code, args["date"])
        recorded = {i["need_id"]: i for i in held["items"] if i["need_id"] is not None}
        others = [i for i in held["items"] if i["need_id"] is None or i["need_id"] not in
                  {item["need_id"] for item in items}]
    kept = {"start": args["start"].isoformat(), "end": args["end"].isoformat(), "date": args["date"].isoformat()}
    agenda_url = f"/council/{_path(code)}?" + urlencode({"start": kept["start"], "end": kept["end"]})
    minutes_url = f"/council/{_path(code)}/minutes?" + urlencode({"date": kept["date"]})
    return page("reviewer/meeting.html", status, title=f"{party.name} 网格议事会", party=party, agenda=agenda,
                items=items, recorded=recorded, others=others, args=kept, texts=texts, errors=errors,
                values=values or {}, agenda_url=agenda_url, minutes_url=minutes_url,
                action=f"/council/{_path(code)}/meeting")


@bp.get("/council/<code>/meeting")
@allow(*COUNCIL_ROLES)
def meeting(code: str) -> Any:
    _council_of(code)
    args, texts, errors = _meeting_args(request.args)
    return _meeting_page(code, args, texts, errors, status=422 if errors else 200)


@bp.post("/council/<code>/meeting")
@allow(*COUNCIL_ROLES)
def record(code: str) -> Any:
    user = signed_in()
    session = db_session()
    _council_of(code)
    need_text = form_text("need", 16)
    key = need_text if need_text.isdigit() else "other"
    values = {name: form_text(f"{name}-{key}", limit) for name, limit in
              (("item", minutes.MAX_ITEM), ("decision", minutes.MAX_DECISION), ("taker", 200), ("due", 32))}
    back = {k: form_text(k, 32) for k in ("start", "end", "date")}
    payload: dict[str, Any] = {"meeting_date": back["date"] or local_today(zone()).isoformat(),
                               "need": int(need_text) if need_text.isdigit() else None,
                               "decision": values["decision"], "taker": values["taker"],
                               "due": values["due"] or None}
    if key == "other":
        payload["item"] = values["item"]
    rename = {name: f"{name}-{key}" for name in ("item", "decision", "taker", "due")}
    rename |= {"meeting_date": "date", "need": "_form"}

    def work() -> Any:
        fields = minutes.DecisionIn().load(payload)
        return minutes.record_decision(session, code, recorded_by=user, now=utcnow(), **fields)

    row, errors = attempt(work, rename=rename)
    if row is None:
        args, texts, query_errors = _meeting_args(back)  # the meeting's period and date, as posted
        return _meeting_page(code, args, texts, FormErrors({**query_errors, **errors}), {**values, "key": key}, 422)
    what = f"需求 {row.need.ref} 的议定事项" if row.need is not None else "该议题的议定事项"
    flash(f"已记录{what}（承办：{row.taker}）。", "ok")
    return redirect(_meeting_url(code, back, anchor=f"item-{key if key != 'other' else 'others'}"))


@bp.get("/council/<code>/minutes")
@allow(*COUNCIL_ROLES)
def minutes_page(code: str) -> Any:
    session = db_session()
    party = _council_of(code)
    errors = FormErrors()
    default = minutes.last_meeting(session, code) or local_today(zone())
    meeting_date, text = _date_arg(request.args, "date", errors, default)
    attendees = (request.args.get("attendees") or "").strip()[:300]
    if errors:
        return page("reviewer/minutes.html", 422, title=f"{party.name} 网格议事会纪要", party=party, minutes=None,
                    errors=errors, date_text=text, attendees=attendees, held=[])
    held = minutes.minutes_of(session, code, meeting_date)
    day = meeting_date.isoformat()
    if request.args.get("format") == "csv":
        name = _SAFE_NAME.sub("_", code) or "council"
        # The items quote needs (phone numbers masked): the export itself is a recorded look.
        record_access(session, signed_in(), None, "export", count=len(held.get("items", [])))
        return Response(minutes.minutes_csv(held), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="minutes-{name}-{day}.csv"'})
    return page("reviewer/minutes.html", title=f"{party.name} 网格议事会纪要 {day}", party=party, minutes=held,
                meeting_date=meeting_date, errors=errors, date_text=text or day, attendees=attendees,
                held=minutes.meetings(session, [code]).get(code, []),
                csv_url=f"/council/{_path(code)}/minutes?" + urlencode({"date": day, "format": "csv"}),
                meeting_url=_meeting_url(code, {"date": day}))

