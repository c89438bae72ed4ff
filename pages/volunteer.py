"""The volunteer's pages (phone): 我的任务 — what is proposed to them and why, accept or decline,
start, report done with the hours given — and the month's hours."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from access.audit import record_access
from access.auth import signed_in
from access.policy import get_visible_need, mask_phone, may_answer, need_filter, sees_contact
from core.config import zone
from core.database import db_session
from core.times import day_bounds, local_today
from core.vocab import COMPLETED, SERVING, Action, NeedStatus, ProposalStatus, Role
from intake.photos import photos_of
from models import Need, Proposal, User
from web.routes import allow
from workflow.service import allowed_for

from .shell import FormErrors, attempt, form_text, page, take_action

bp = Blueprint("volunteer", __name__)
RECENT_DONE = 20


def month_hours(user: User, today: date) -> float:
    """Hours this volunteer reported this month (needs done since the 1st, their proposal accepted)."""
    since, until = day_bounds(today.replace(day=1), today, zone())
    total = db_session().scalar(
        select(func.coalesce(func.sum(Need.volunteer_hours), 0.0)).join(Proposal, Proposal.need_id == Need.id)
        .where(Proposal.volunteer_id == user.volunteer_id, Proposal.status == ProposalStatus.ACCEPTED,
               Need.done_at >= since, Need.done_at < until, Need.active.is_(True)))
    return round(float(total or 0.0), 2)


def is_theirs(user: User, need: Need) -> bool:
    current = need.current_proposal
    return current is not None and current.volunteer_id == user.volunteer_id


@bp.get("/tasks")
@allow(Role.VOLUNTEER)
def tasks() -> Any:
    user = signed_in()
    needs = list(db_session().scalars(select(Need).options(selectinload(Need.proposals), selectinload(Need.grid))
                                      .where(need_filter(user), Need.active.is_(True))
                                      .order_by(Need.status_changed_at.desc(), Need.id.desc())))
    asked = [n for n in needs if n.status == NeedStatus.PROPOSED and is_theirs(user, n)
             and may_answer(user, Action.ACCEPT, n.current_proposal)]
    serving = [n for n in needs if n.status in SERVING and is_theirs(user, n)]
    done = [n for n in needs if n.status in COMPLETED and any(
        p.volunteer_id == user.volunteer_id and p.status == ProposalStatus.ACCEPTED for p in n.proposals)]
    return page("volunteer/tasks.html", title="我的任务", asked=asked, serving=serving, done=done[:RECENT_DONE],
                hours=month_hours(user, local_today(zone())))


def _task_page(need: Need, errors: FormErrors | None = None, values: dict[str, str] | None = None,
               status: int = 200) -> Any:
    user = signed_in()
    session = db_session()
    theirs = is_theirs(user, need)
    allowed = [a for a in allowed_for(need, user.role) if theirs and may_answer(user, a, need.current_proposal)]
    contact = mask_phone(need.contact)
    if sees_contact(session, user, need):  # they must call: they see it, and the look is recorded
        contact = need.contact
        if contact:
            record_access(session, user, need, "contact")
    return page("volunteer/task.html", status, title=f"任务 {need.ref}", need=need, allowed=allowed,
                photos=photos_of(session, need),
                proposal=need.current_proposal if theirs else None, contact=contact,
                errors=errors or FormErrors(), values=values or {})


@bp.get("/tasks/<int:id_>")
@allow(Role.VOLUNTEER)
def task(id_: int) -> Any:
    return _task_page(get_visible_need(db_session(), signed_in(), id_))


# The volunteer's answers, with what each one says when it is done.
DONE_MESSAGES: dict[str, str] = {Action.ACCEPT: "已接单，等待网格党支部审核。", Action.DECLINE: "已婉拒，系统会另找服务方。",
                 Action.START: "已开始服务。", Action.REPORT_DONE: "已报告完成，等待居民确认。谢谢您！"}


@bp.post("/tasks/<int:id_>/<action>")
@allow(Role.VOLUNTEER)
def answer(id_: int, action: str) -> Any:
    if action not in DONE_MESSAGES:
        return page("error.html", 404, title="找不到该页面", message="没有这个操作")
    user = signed_in()
    session = db_session()
    values = {"reason": form_text("reason", 1000), "hours": form_text("hours", 16), "proposal": form_text("proposal", 16)}
    payload: dict[str, Any] = {"action": action, "reason": values["reason"]}
    if action in (Action.ACCEPT, Action.DECLINE) and values["proposal"].isdigit():
        payload["proposal"] = int(values["proposal"])
    if action == Action.REPORT_DONE and values["hours"]:
        try:
            payload["hours"] = float(values["hours"])
        except ValueError:
            payload["hours"] = values["hours"]  # the schema says why

    need, errors = attempt(lambda: take_action(id_, payload))
    if need is None:
        return _task_page(get_visible_need(session, user, id_), errors, values, 422)
    flash(DONE_MESSAGES[action], "ok")
    return redirect("/tasks" if action == Action.DECLINE else f"/tasks/{id_}")
