"""A month of history for the demo subdistrict, so that every page has something to show: the needs
arrived over the last 30 days, the matcher proposed providers, and the needs went on through the real
workflow (accepted, reviewed, served, closed; some declined, some still waiting at each step).

Every move goes through ``workflow.service`` as the API makes it, on a controlled clock: each need
arrives at its own moment of the month (``arrival``, used when the demo imports it), is matched a
little later, and each further move comes after a plausible delay, never after now. The demo's staff
accounts act on behalf of providers, who have no accounts. Deterministic for a seed.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import ApiError
from core.times import utcnow
from core.vocab import Action, NeedStatus
from dispatch.batch import run_batch
from models import Need, Proposal, User, Volunteer
from workflow.service import apply_action, record_match_outcome

DAYS = 30
# Hours from one move to the next, by the action (low, high).
DELAY_HOURS: dict[str, tuple[float, float]] = {
    Action.PROPOSE: (0.1, 6.0), Action.DECLINE: (0.5, 12.0), Action.ACCEPT: (0.2, 12.0),
    Action.APPROVE: (1.0, 24.0), Action.START: (4.0, 48.0), Action.REPORT_DONE: (1.0, 8.0),
    Action.CONFIRM: (6.0, 72.0), Action.AUTO_CLOSE: (6.0, 72.0),
}
# How far each proposed need goes (shares of the proposed ones, in order): still waiting for an answer,
# declined once, accepted and waiting for review, approved, in service, done and waiting for the resident;
# the rest is closed.
STOP_SHARES = (("proposed", 0.12), ("declined", 0.06), ("accepted", 0.10), ("approved", 0.07),
               ("in_service", 0.07), ("done", 0.08))


def arrival(ref: str, seed: int, now: datetime) -> datetime:
    """When the demo need ``ref`` arrived: a moment of the last ``DAYS`` days, the same for a seed."""
    return now - timedelta(days=random.Random(f"arrival-{seed}-{ref}").uniform(0.2, DAYS - 0.5))


def play_history(session: Session, *, seed: int, now: datetime | None = None, subdistrict_id: int | None = None,
                 suffix: str = "") -> list[str]:
    """Match the demo's needs (of ``subdistrict_id``, or the only subdistrict) and take the proposed ones on
    through the workflow, played by its demo accounts (``suffix``: theirs, as ``admin2``); summary lines."""
    rng = random.Random(f"history-{seed}")
    now = now or utcnow()
    latest = now - timedelta(minutes=5)
    admin = session.scalar(select(User).where(User.username == f"admin{suffix}", User.active.is_(True)))
    resident = session.scalar(select(User).where(User.username == f"resident{suffix}"))
    if admin is None:
        return []
    _run, _result, outcomes = run_batch(session, subdistrict_id=subdistrict_id)
    moves = proposed = 0
    for outcome in sorted(outcomes, key=lambda o: o.need.id):
        need = outcome.need
        at = min(need.created_at + _delay(rng, Action.PROPOSE), latest)
        for proposal in need.proposals:
            proposal.created_at = at
        record_match_outcome(session, need, outcome.proposed, outcome.reason, now=at)
        if need.status != NeedStatus.PROPOSED:
            continue
        proposed += 1
        for action, fields in _steps(_stop(rng.random()), rng):
            actor: User | None = admin
            if action == Action.CONFIRM and (resident is None or need.resident_id != resident.id):
                action, fields = Action.AUTO_CLOSE, {}
            if action == Action.CONFIRM:
                actor = resident
            elif action == Action.AUTO_CLOSE:
                actor = None
            at += _delay(rng, action)
            if at > latest:
                break  # not yet: the need waits at this step now
            try:
                apply_action(session, need, action, actor, now=at, **fields)  # type: ignore[arg-type]
            except ApiError:
                break  # a move the need cannot make (declined, with nobody left to propose): it stops here
            moves += 1
    session.flush()
    _give_the_volunteer_account_work(session, f"volunteer{suffix}")
    return [f"演示历史：最近 {DAYS} 天的 {len(outcomes)} 条需求已匹配，{proposed} 条找到服务方，"
            f"其后经由办理流程共 {moves} 步"]


def _delay(rng: random.Random, action: str) -> timedelta:
    low, high = DELAY_HOURS.get(action, (0.5, 12.0))
    return timedelta(hours=rng.uniform(low, high))


def _stop(draw: float) -> str:
    for stop, share in STOP_SHARES:
        if draw < share:
            return stop
        draw -= share
    return "closed"


def _steps(stop: str, rng: random.Random) -> list[tuple[Action, dict[str, object]]]:
    """The moves that take a proposed need to ``stop``."""
    if stop == "proposed":
        return []
    if stop == "declined":
        return [(Action.DECLINE, {"reason": rng.choice(["这几天不在家", "时间冲突", "不太熟悉这项服务"])})]
    order = ["accepted", "approved", "in_service", "done", "closed"]
    steps: list[tuple[Action, dict[str, object]]] = [
        (Action.ACCEPT, {}), (Action.APPROVE, {}), (Action.START, {}),
        (Action.REPORT_DONE, {"hours": round(rng.uniform(0.5, 4.0) * 2) / 2}),
        (Action.CONFIRM, {"rating": rng.choice([5, 5, 5, 4, 4, 3]), "reason": "谢谢"})]
    return steps[:order.index(stop) + 1]


def _give_the_volunteer_account_work(session: Session, username: str) -> None:
    """The demo's volunteer account speaks for the Party member in its Party grid the history gave the most tasks
    (some still to answer, if any), so that 我的任务 and 我的责任田 show what a volunteer's pages look like; where
    no Party member of that Party grid was given any, the busiest of its subdistrict."""
    account = session.scalar(select(User).where(User.username == username))
    if account is None or account.volunteer is None or account.volunteer.grid is None:
        return
    own, party_grid_id = account.volunteer, account.volunteer.grid.party_grid_id
    busiest_of = (select(Volunteer.id, Volunteer.name).join(Proposal, Proposal.volunteer_id == Volunteer.id)
                  .join(Need, Need.id == Proposal.need_id)
                  .where(Volunteer.kind == "person", Volunteer.party_member.is_(True), Volunteer.grid_id.is_not(None),
                         Volunteer.subdistrict_id == own.subdistrict_id, Proposal.review_required.is_(False))
                  .group_by(Volunteer.id, Volunteer.name)
                  .order_by(func.count(Proposal.id).desc(), Volunteer.id).limit(1))
    busiest = (session.execute(busiest_of.where(Need.grid.has(party_grid_id=party_grid_id))).first()
               or session.execute(busiest_of).first())
    if busiest is not None:
        account.volunteer_id, account.display_name = busiest.id, busiest.name
