"""Taking an action on a need: check the state machine and the role, do the action's work, write the
audit entry and tell whoever acts next. Callers (API, CLI, jobs) check scope and commit."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from errors import Conflict, Forbidden, InvalidData
from models import AuditEntry, Need, Proposal, Resource, User, Volunteer, utcnow

from . import notify
from .states import ACTIONS, SYSTEM, IllegalTransition, RoleNotAllowed, allowed_actions, check

# Need statuses in which an accepted proposal occupies its provider's capacity.
OCCUPYING = ("accepted", "approved", "in_service")
DEFAULT_REOPEN_DAYS = 7
# Actions a volunteer takes as the provider of the need's current proposal.
PROVIDER_ACTIONS = frozenset({"accept", "decline", "start", "report_done"})


class TransitionConflict(Conflict):
    code = "illegal_transition"


def _config(key: str, default: Any) -> Any:
    return current_app.config.get(key, default) if has_app_context() else default


def record(session: Session, need: Need, to_status: str, actor: User | None, reason: str = "",
           now: datetime | None = None) -> AuditEntry:
    """Move the need and append the audit entry; the only place that writes ``need.status``."""
    now = now or utcnow()
    entry = AuditEntry(need_id=need.id, actor_id=actor.id if actor else None,
                       actor_role=actor.role if actor else SYSTEM, at=now,
                       from_status=need.status or "", to_status=to_status, reason=reason)
    session.add(entry)
    need.status = to_status
    need.status_changed_at = now
    if to_status == "proposed" and need.matched_at is None:
        need.matched_at = now
    if to_status == "done":
        need.done_at = now
    if to_status == "closed":
        need.closed_at = now
    if to_status == "escalated":
        need.escalation_level = 2
    notify.next_actors(session, need, to_status)
    return entry


def record_creation(session: Session, need: Need, actor: User | None, triage: bool) -> None:
    session.add(AuditEntry(need_id=need.id, actor_id=actor.id if actor else None,
                           actor_role=actor.role if actor else SYSTEM, at=need.created_at or utcnow(),
                           from_status="", to_status="submitted", reason="提交需求"))
    need.status = "submitted"
    if triage:
        record(session, need, "triage", None, f"分类器把握不足（置信度 {need.service_confidence:.2f}），转人工分类")
    else:
        notify.next_actors(session, need, "submitted")


def record_match_outcome(need: Need, new_status: str, reason: str) -> None:
    """Called by the batch matcher for each need it proposed for or could not match."""
    session = object_session(need)
    assert session is not None
    if new_status == "unmatched" and need.status == "unmatched":
        need.unmatched_reason = reason
        return
    action = "propose" if new_status == "proposed" else "fail_match"
    check(action, need.status, SYSTEM)
    if new_status == "unmatched":
        need.unmatched_reason = reason
        need.escalation_level = max(need.escalation_level or 0, 1)  # the matcher already tried neighbours
    record(session, need, new_status, None, reason)


def current_proposal(need: Need) -> Proposal | None:
    live = [p for p in need.proposals if p.status in ("proposed", "accepted")]
    return max(live, key=lambda p: p.id) if live else None


def _provider_of(session: Session, p: Proposal, lock: bool = False) -> Resource | Volunteer:
    model: Any = Resource if p.resource_id is not None else Volunteer
    query = select(model).where(model.id == (p.resource_id or p.volunteer_id))
    if lock:
        query = query.with_for_update()  # serialises concurrent accepts for one provider (PostgreSQL)
    return session.scalars(query).one()


def _occupied(session: Session, p: Proposal) -> int:
    column = Proposal.resource_id if p.resource_id is not None else Proposal.volunteer_id
    return session.scalar(
        select(func.count()).select_from(Proposal).join(Need, Need.id == Proposal.need_id)
        .where(column == (p.resource_id or p.volunteer_id), Proposal.status == "accepted",
               Need.status.in_(OCCUPYING), Proposal.id != p.id)) or 0


def _new_proposal(session: Session, need: Need, ranked: Any) -> Proposal:
    from pools.matcher import proposal_row
    row = proposal_row(need, ranked, 1, None)
    session.add(row)
    return row


def _next_best(session: Session, need: Need, provider: tuple[str, int] | None = None) -> Any:
    from matching.scoring import MIN_SCORE
    from pools.matcher import declined_providers, instant_proposals
    exclude = declined_providers(need)
    ranked = instant_proposals(session, need, limit=200 if provider else 5, exclude=exclude)
    if provider is not None:
        return next((p for p in ranked if (p.provider_kind, p.provider_id) == provider), None)
    return next((p for p in ranked if p.score >= MIN_SCORE), None)


def _parse_provider(value: Any) -> tuple[str, int]:
    if not isinstance(value, dict) or value.get("kind") not in ("resource", "volunteer") \
            or not isinstance(value.get("id"), int):
        raise InvalidData(fields={"provider": ['应为 {"kind": "volunteer"|"resource", "id": 整数}']})
    return value["kind"], value["id"]


def apply_action(session: Session, need: Need, action: str, actor: User | None, *, reason: str = "",
                 provider: Any = None, rating: int | None = None, hours: float | None = None,
                 service: str | None = None, now: datetime | None = None) -> Need:
    """Take ``action`` on ``need`` as ``actor`` (None: the system). Raises 409 for an illegal move."""
    role = actor.role if actor else SYSTEM
    try:
        spec = check(action, need.status, role)
    except IllegalTransition:
        raise TransitionConflict(
            f"需求当前为“{need.status}”，不能执行“{action}”",
            extra={"status": need.status, "allowed": allowed_actions(need.status)}) from None
    except RoleNotAllowed:
        raise Forbidden(f"角色 {role} 不能执行“{ACTIONS[action].label_zh}”") from None
    now = now or utcnow()
    proposal = current_proposal(need)
    target = spec.target
    if actor is not None and role == "volunteer" and action in PROVIDER_ACTIONS and (
            proposal is None or proposal.volunteer_id is None or proposal.volunteer_id != actor.volunteer_id):
        # A volunteer sees every need once proposed to them; only the current one is theirs to answer.
        raise Forbidden("只有当前被推荐的志愿者本人可以执行此操作")

    if action == "classify":
        if not service:
            raise InvalidData(fields={"service": ["必填项"]})
        need.service, need.service_confidence = service, None
    elif action == "accept":
        assert proposal is not None
        provider_row = _provider_of(session, proposal, lock=True)
        if _occupied(session, proposal) >= provider_row.capacity:
            raise Conflict(f"服务方 {provider_row.name} 已满（容量 {provider_row.capacity}）")
        proposal.status, proposal.decided_at, proposal.decided_by_id = "accepted", now, actor.id if actor else None
    elif action == "decline":
        assert proposal is not None
        proposal.status, proposal.decided_at = "declined", now
        proposal.decided_by_id, proposal.decline_reason = (actor.id if actor else None), reason
        session.flush()
        session.expire(need, ["proposals"])
        nxt = _next_best(session, need)
        if nxt is None:
            need.unmatched_reason = "推荐均被婉拒，暂无其他合适服务方"
            record(session, need, "unmatched", actor, f"婉拒：{reason}；暂无其他合适服务方", now)
            return need
        _new_proposal(session, need, nxt)
        reason = f"婉拒：{reason or '未说明'}；改为推荐 {nxt.provider_name}"
    elif action in ("reassign", "propose"):
        # A person names the provider (reassign must); proposing without one takes the best left.
        if action == "reassign" or provider is not None:
            ranked = _next_best(session, need, _parse_provider(provider))
            if ranked is None:
                raise InvalidData(fields={"provider": ["该服务方不符合条件（服务类型、覆盖范围、容量或时间）"]})
        else:
            ranked = _next_best(session, need)
            if ranked is None:
                raise Conflict("暂无合适的服务方可推荐")
        if proposal is not None:
            proposal.status, proposal.decided_at = "withdrawn", now
        _new_proposal(session, need, ranked)
        reason = reason or f"推荐 {ranked.provider_name}：{ranked.explanation}"
    elif action == "send_back":
        assert proposal is not None
        if not reason:
            raise InvalidData(fields={"reason": ["退回须说明理由"]})
        proposal.status = "proposed"
    elif action == "report_done":
        if hours is not None:
            if not 0 < hours <= 24 * 14:
                raise InvalidData(fields={"hours": ["服务时长应在 0 到 336 小时之间"]})
            need.volunteer_hours = hours
    elif action == "confirm":
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise InvalidData(fields={"rating": ["评分应为 1 到 5 的整数"]})
        need.rating, need.feedback = rating, reason
    elif action == "cancel":
        if proposal is not None:
            proposal.status, proposal.decided_at = "withdrawn", now
    elif action == "reopen":
        days = _config("REOPEN_DAYS", DEFAULT_REOPEN_DAYS)
        if need.status_changed_at and now - need.status_changed_at > timedelta(days=days):
            raise TransitionConflict(f"已超过 {days} 天，不能重新打开，请提交新的需求",
                                     extra={"status": need.status, "allowed": []})
        need.rating = None
        need.escalation_level = 0
    elif action == "escalate":
        reason = reason or need.unmatched_reason or "本网格及相邻网格无法满足"
    record(session, need, target, actor, reason or spec.label_zh, now)
    session.flush()
    return need


def audit_trail(session: Session, need: Need) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.need_id == need.id)
                                .order_by(AuditEntry.at, AuditEntry.id)))

