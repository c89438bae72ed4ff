"""What each action does besides moving the need: the effects, as a table beside the states.

An effect receives the step being taken (the need, its current proposal, the actor, the action's
validated fields) and may change the step's target or reason; the service then records the move.
Actions without an entry only move the need. Fields arrive validated by the action's schema
(``workflow.schemas``): an effect checks the world (capacity, eligibility), never the input.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import setting
from core.errors import Conflict, InvalidData
from core.vocab import SERVING, Action, NeedStatus, ProposalStatus, ProviderKind
from dispatch.proposals import best_left, eligible, proposal_row
from matching.scoring import Match
from models import Need, Proposal, Resource, User, Volunteer


class TransitionConflict(Conflict):
    code = "illegal_transition"


@dataclass
class Step:
    """One action being taken on a need."""
    session: Session
    need: Need
    actor: User | None  # None: the system
    fields: Mapping[str, Any]  # the action's validated fields (reason, provider, rating, hours, service)
    now: datetime
    proposal: Proposal | None  # the need's current proposal, if any
    target: NeedStatus  # where the need goes; an effect may change it
    reason: str  # the audit entry's reason; an effect may rewrite it

    @property
    def actor_id(self) -> int | None:
        return self.actor.id if self.actor is not None else None


def _decide(step: Step, status: ProposalStatus) -> Proposal:
    assert step.proposal is not None  # the state machine allows these actions only with a proposal
    step.proposal.status, step.proposal.decided_at = status, step.now
    return step.proposal


def _withdraw_current(step: Step) -> None:
    if step.proposal is not None:
        _decide(step, ProposalStatus.WITHDRAWN)


def _provider_for_update(session: Session, proposal: Proposal) -> Resource | Volunteer:
    # Serialises concurrent accepts for one provider (PostgreSQL); SQLite serialises writers anyway.
    kind, provider_id = proposal.provider_key
    if kind == ProviderKind.RESOURCE:
        return session.scalars(select(Resource).where(Resource.id == provider_id).with_for_update()).one()
    return session.scalars(select(Volunteer).where(Volunteer.id == provider_id).with_for_update()).one()


def _serving(session: Session, proposal: Proposal) -> int:
    """How many needs the proposal's provider is serving, this one left out."""
    column = Proposal.resource_id if proposal.provider_kind == ProviderKind.RESOURCE else Proposal.volunteer_id
    return session.scalar(
        select(func.count()).select_from(Proposal).join(Need, Need.id == Proposal.need_id)
        .where(column == proposal.provider_key[1], Proposal.status == ProposalStatus.ACCEPTED,
               Need.status.in_(SERVING), Proposal.id != proposal.id)) or 0


def _propose(step: Step, match: Match) -> None:
    step.session.add(proposal_row(step.need, match))


def classify(step: Step) -> None:
    step.need.service, step.need.service_confidence = step.fields["service"], None


def accept(step: Step) -> None:
    assert step.proposal is not None
    provider = _provider_for_update(step.session, step.proposal)
    if _serving(step.session, step.proposal) >= provider.capacity:
        raise Conflict(f"服务方 {provider.name} 已满（容量 {provider.capacity}）")
    accepted = _decide(step, ProposalStatus.ACCEPTED)
    accepted.decided_by_id = step.actor_id
    if accepted.review_required and accepted.service:
        # A coordinator confirmed a proposal across services (or for an unsure need): the need is
        # now of the service its provider gives, set by a person.
        step.need.service, step.need.service_confidence = accepted.service, None


def decline(step: Step) -> None:
    declined = _decide(step, ProposalStatus.DECLINED)
    declined.decided_by_id, declined.decline_reason = step.actor_id, step.reason
    step.session.flush()
    step.session.expire(step.need, ["proposals"])
    nxt = best_left(step.session, step.need)
    if nxt is None:
        step.need.unmatched_reason = "推荐均被婉拒，暂无其他合适服务方"
        step.target = NeedStatus.UNMATCHED
        step.reason = f"婉拒：{step.reason}；暂无其他合适服务方"
        return
    _propose(step, nxt)
    step.reason = f"婉拒：{step.reason or '未说明'}；改为推荐 {nxt.provider_name}"


def propose(step: Step) -> None:
    """A person names the provider (reassign must); proposing without one takes the best left."""
    named = step.fields.get("provider")
    if named is not None:
        match = eligible(step.session, step.need, (ProviderKind(named["kind"]), named["id"]))
        if match is None:
            raise InvalidData(fields={"provider": ["该服务方不符合条件（服务类型、覆盖范围、容量或时间）"]})
    else:
        match = best_left(step.session, step.need)
        if match is None:
            raise Conflict("暂无合适的服务方可推荐")
    _withdraw_current(step)
    _propose(step, match)
    step.reason = step.reason or f"推荐 {match.provider_name}：{match.explanation}"


def send_back(step: Step) -> None:
    assert step.proposal is not None
    step.proposal.status = ProposalStatus.PROPOSED


def report_done(step: Step) -> None:
    if step.fields.get("hours") is not None:
        step.need.volunteer_hours = step.fields["hours"]


def confirm(step: Step) -> None:
    step.need.rating, step.need.feedback = step.fields["rating"], step.reason


def return_visit_due(need: Need) -> datetime | None:
    """When a coordinator may close a done need on a return visit: once the resident has had
    ``RETURN_VISIT_HOURS`` to confirm it themselves."""
    done_at = need.done_at or need.status_changed_at
    return None if done_at is None else done_at + timedelta(hours=float(setting("RETURN_VISIT_HOURS")))


def return_visit(step: Step) -> None:
    """A coordinator closes the need on the resident's word by phone (回访); the rating is theirs, when
    they gave one."""
    due = return_visit_due(step.need)
    if due is not None and step.now < due:
        raise TransitionConflict(f"服务完成 {float(setting('RETURN_VISIT_HOURS')):g} 小时后才能回访办结，请先等居民自行确认",
                                 extra={"status": step.need.status, "allowed": []})
    step.need.rating = step.fields.get("rating")
    step.need.feedback = f"回访：{step.reason}"
    step.reason = f"回访：{step.reason}"


def cancel(step: Step) -> None:
    _withdraw_current(step)


def reopen(step: Step) -> None:
    days = setting("REOPEN_DAYS")
    if step.need.status_changed_at and step.now - step.need.status_changed_at > timedelta(days=days):
        raise TransitionConflict(f"已超过 {days} 天，不能重新打开，请提交新的需求",
                                 extra={"status": step.need.status, "allowed": []})
    step.need.rating = None
    step.need.escalation_level = 0


def escalate(step: Step) -> None:
    step.reason = step.reason or step.need.unmatched_reason or "本网格及相邻网格无法满足"


Effect = Callable[[Step], None]
EFFECTS: Mapping[Action, Effect] = {
    Action.CLASSIFY: classify,
    Action.ACCEPT: accept,
    Action.DECLINE: decline,
    Action.PROPOSE: propose,
    Action.REASSIGN: propose,
    Action.SEND_BACK: send_back,
    Action.REPORT_DONE: report_done,
    Action.CONFIRM: confirm,
    Action.RETURN_VISIT: return_visit,
    Action.CANCEL: cancel,
    Action.REOPEN: reopen,
    Action.ESCALATE: escalate,
}
