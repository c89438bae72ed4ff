"""The one state machine of a need: which action moves it from which statuses to which. Pure: no
database, no flask. Who may take each action is the policy's (``access.policy.ACTION_ROLES``);
what each action does besides moving the need is ``workflow.effects``.

    submitted ─▶ triage ─▶ submitted            (the classifier was unsure; a person sets the service)
    submitted ─▶ proposed ─▶ accepted ─▶ approved ─▶ in_service ─▶ done ─▶ closed
                    │  ▲          │               (resident confirms, a coordinator's return visit, or automatically)
          declined ─┘  └─ sent back / reassigned by the grid branch
    submitted ─▶ unmatched ─▶ escalated (grid council) ─▶ proposed
    cancelled by the resident; closed or cancelled ─▶ submitted when the resident reopens in time
"""
from __future__ import annotations

from dataclasses import dataclass

from core.vocab import Action, NeedStatus

S = NeedStatus


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[NeedStatus]
    target: NeedStatus
    label_zh: str


def _t(action: Action, sources: set[NeedStatus], target: NeedStatus, label_zh: str) -> Transition:
    return Transition(action, frozenset(sources), target, label_zh)


TRANSITIONS: dict[Action, Transition] = {t.action: t for t in (
    _t(Action.TRIAGE, {S.SUBMITTED}, S.TRIAGE, "转人工分类"),
    _t(Action.CLASSIFY, {S.TRIAGE}, S.SUBMITTED, "人工分类"),
    # From triage only on a strong skill match, marked for a coordinator to confirm (matching.engine).
    _t(Action.PROPOSE, {S.SUBMITTED, S.TRIAGE, S.UNMATCHED, S.ESCALATED}, S.PROPOSED, "推荐服务方"),
    _t(Action.FAIL_MATCH, {S.SUBMITTED}, S.UNMATCHED, "暂无合适服务方"),
    _t(Action.ACCEPT, {S.PROPOSED}, S.ACCEPTED, "接受推荐"),
    # A decline moves on to the next best provider (proposed) or, with none left, to unmatched.
    _t(Action.DECLINE, {S.PROPOSED}, S.PROPOSED, "婉拒推荐"),
    _t(Action.APPROVE, {S.ACCEPTED}, S.APPROVED, "支部审核通过"),
    _t(Action.SEND_BACK, {S.ACCEPTED}, S.PROPOSED, "退回重新确认"),
    # Also from approved: a provider who does not show up is replaced by the branch (found by the simulation).
    _t(Action.REASSIGN, {S.PROPOSED, S.ACCEPTED, S.APPROVED}, S.PROPOSED, "改派服务方"),
    _t(Action.START, {S.APPROVED}, S.IN_SERVICE, "开始服务"),
    _t(Action.REPORT_DONE, {S.APPROVED, S.IN_SERVICE}, S.DONE, "报告完成"),
    _t(Action.CONFIRM, {S.DONE}, S.CLOSED, "确认办结并评价"),
    _t(Action.AUTO_CLOSE, {S.DONE}, S.CLOSED, "超时自动办结"),
    _t(Action.RETURN_VISIT, {S.DONE}, S.CLOSED, "回访办结"),
    _t(Action.CANCEL, {S.SUBMITTED, S.TRIAGE, S.PROPOSED, S.ACCEPTED, S.APPROVED, S.UNMATCHED, S.ESCALATED},
       S.CANCELLED, "撤销需求"),
    _t(Action.REOPEN, {S.CLOSED, S.CANCELLED}, S.SUBMITTED, "重新打开"),
    _t(Action.ESCALATE, {S.UNMATCHED}, S.ESCALATED, "提交网格议事会"),
)}


class IllegalTransition(Exception):
    def __init__(self, action: str, status: str) -> None:
        self.action, self.status = action, status
        self.allowed = allowed_actions(status)
        super().__init__(f"cannot {action} a need that is {status}")


def allowed_actions(status: str) -> list[Action]:
    """The actions possible from ``status``, in the table's order."""
    return [t.action for t in TRANSITIONS.values() if status in t.sources]


def check(action: str, status: str) -> Transition:
    """The transition ``action`` makes from ``status``; raises IllegalTransition if there is none."""
    known = action in set(Action)
    transition = TRANSITIONS[Action(action)] if known else None
    if transition is None or status not in transition.sources:
        raise IllegalTransition(action, status)
    return transition
