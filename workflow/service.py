"""Taking an action on a need: the state machine says where it may go, the policy who may move it,
the effects table what else happens; then the move is recorded in the audit trail and whoever
acts next is told. Callers (API, CLI, jobs) check that the actor may see the need, and commit."""
from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from access.policy import actions_for, describe, may_answer, may_take
from core.errors import Forbidden
from core.metrics import BATCH_MATCHED, BATCH_NEEDS, BATCH_SECONDS
from core.times import utcnow
from core.vocab import STATUS_LABELS_ZH, SYSTEM, Action, NeedStatus
from dispatch.batch import Outcome, batch_subdistrict, run_batch
from dispatch.classifier import needs_triage
from dispatch.index_cache import note_write
from matching.engine import BatchResult
from models import AuditEntry, MatchRun, Need, Subdistrict, User
from pools.subdistricts import default_subdistrict, subdistrict_by_code, subdistrict_for

from . import notify
from .effects import EFFECTS, Step, TransitionConflict
from .states import TRANSITIONS, IllegalTransition, allowed_actions, check

log = logging.getLogger(__name__)


def _level(actor: User | None) -> int:
    """A person's every move is logged; the system's come in bulk (a batch, an import, the SLA job),
    each summed up in one line by its caller, so its moves one by one are for debugging."""
    return logging.INFO if actor is not None else logging.DEBUG


def move_of(need: Need, to_status: NeedStatus, actor: User | None, reason: str,
            now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """What moving ``need`` to ``to_status`` writes, computed, nothing written: the need's fields that
    change and the audit entry's row. The one home of a move's rules, for :func:`record` (one need,
    through the session) and :func:`record_match_outcomes` (a batch's needs, in bulk)."""
    entry = {"need_id": need.id, "actor_id": actor.id if actor else None, "actor_role": actor.role if actor else SYSTEM,
             "at": now, "from_status": need.status or "", "to_status": to_status, "reason": reason}
    fields: dict[str, Any] = {"status": to_status, "status_changed_at": now}
    if to_status == NeedStatus.PROPOSED and need.matched_at is None:
        fields["matched_at"] = now
    if to_status == NeedStatus.DONE:
        fields["done_at"] = now
    if to_status == NeedStatus.CLOSED:
        fields["closed_at"] = now
    if to_status == NeedStatus.ESCALATED:
        fields["escalation_level"] = 2
    return fields, entry


def record(session: Session, need: Need, to_status: NeedStatus, actor: User | None, reason: str = "",
           now: datetime | None = None, *, tell: bool = True) -> AuditEntry:
    """Move the need and append the audit entry; the only place that writes ``need.status`` (with
    :func:`record_match_outcomes`, by the same rules: :func:`move_of`). Whoever acts next is told, unless
    ``tell`` is off: the caller tells them, as a batch tells all its needs' at once."""
    now = now or utcnow()
    fields, row = move_of(need, to_status, actor, reason, now)
    entry = AuditEntry(**row)
    session.add(entry)
    log.log(_level(actor), "need %s: %s → %s by %s", need.ref, need.status or "new", to_status, describe(actor))
    for name, value in fields.items():
        setattr(need, name, value)
    if tell:
        notify.next_actors(session, need, to_status)
    return entry


def record_creation(session: Session, need: Need, actor: User | None) -> None:
    """A need has just entered the pool: its first audit entry, then triage when the classifier was
    unsure, else the coordinators hear of it."""
    session.flush()
    session.add(AuditEntry(need_id=need.id, actor_id=actor.id if actor else None,
                           actor_role=actor.role if actor else SYSTEM, at=need.created_at or utcnow(),
                           from_status="", to_status=NeedStatus.SUBMITTED, reason="提交需求"))
    log.log(_level(actor), "need %s submitted (%s) by %s", need.ref, need.channel, describe(actor))
    need.status = NeedStatus.SUBMITTED
    if needs_triage(need.service_confidence):
        record(session, need, NeedStatus.TRIAGE, None,
               f"分类器把握不足（置信度 {need.service_confidence:.2f}），转人工分类", need.created_at)
    elif need.place_unsure:
        names = "、".join(c["name"] for c in need.address_candidates[:3])
        record(session, need, NeedStatus.TRIAGE, None,
               f"地址“{need.address}”不能确定是哪个楼栋（可能是 {names}），请工作人员确认", need.created_at)
    else:
        notify.next_actors(session, need, NeedStatus.SUBMITTED)


def _label(action: str) -> str:
    transition = TRANSITIONS.get(action)  # type: ignore[call-overload]
    return transition.label_zh if transition is not None else action


def allowed_for(need: Need, role: str) -> list[Action]:
    """What an actor of ``role`` may do with the need now (for the API's answers)."""
    return actions_for(role, allowed_actions(need.status))


def apply_action(session: Session, need: Need, action: str, actor: User | None, *, reason: str = "",
                 provider: dict[str, Any] | None = None, rating: int | None = None, hours: float | None = None,
                 service: str | None = None, proposal: int | None = None, now: datetime | None = None) -> Need:
    """Take ``action`` on ``need`` as ``actor`` (None: the system). The fields are the action's,
    validated by its schema. Raises 409 for an illegal move, 403 for an actor who may not take it."""
    role = actor.role if actor else SYSTEM
    try:
        transition = check(action, need.status)
    except IllegalTransition:
        raise TransitionConflict(
            f"需求当前为“{STATUS_LABELS_ZH.get(need.status, need.status)}”，不能执行“{_label(action)}”",
            extra={"status": need.status, "allowed": allowed_actions(need.status)}) from None
    if not may_take(role, transition.action):
        raise Forbidden(f"角色 {role} 不能执行“{transition.label_zh}”")
    current = need.current_proposal
    if not may_answer(actor, transition.action, current):
        raise Forbidden("该推荐需协调员先确认" if current is not None and current.review_required
                        else "只有当前被推荐的志愿者本人可以执行此操作")
    if proposal is not None and (current is None or current.id != proposal):
        # The client answered a proposal that has since been replaced (a decline, a reassignment).
        raise TransitionConflict("该推荐已变更，请刷新后再操作", extra={
            "status": need.status, "allowed": allowed_actions(need.status),
            "proposal": current.id if current is not None else None})
    step = Step(session=session, need=need, actor=actor, now=now or utcnow(), proposal=current,
                target=transition.target, reason=reason,
                fields={"provider": provider, "rating": rating, "hours": hours, "service": service})
    effect = EFFECTS.get(transition.action)
    if effect is not None:
        effect(step)
    record(session, need, step.target, actor, step.reason or transition.label_zh, step.now)
    session.flush()
    return need


def outcome_of(need: Need, proposed: bool, reason: str) -> tuple[NeedStatus | None, dict[str, Any]]:
    """What the batch matcher's finding for a need does to it, computed: the status it moves to (None: it
    stays) and the need's fields set besides the move's (:func:`move_of`). Raises ``IllegalTransition`` when
    the need may not move so."""
    if not proposed and need.status in (NeedStatus.UNMATCHED, NeedStatus.TRIAGE):
        return None, {"unmatched_reason": reason}  # still waiting as it was: the latest reason, no new entry
    target = check(Action.PROPOSE if proposed else Action.FAIL_MATCH, need.status).target
    if proposed:
        return target, {}
    # The matcher already tried neighbours.
    return target, {"unmatched_reason": reason, "escalation_level": max(need.escalation_level or 0, 1)}


def record_match_outcome(session: Session, need: Need, proposed: bool, reason: str,
                         now: datetime | None = None, *, tell: bool = True) -> NeedStatus | None:
    """What the batch matcher found for a need, recorded as the system's move (at ``now``: a
    controlled clock, as the demo's history and the simulation keep). Returns the status it moved to
    (None: it stays), whose next actors are told unless ``tell`` is off (see :func:`record`)."""
    target, fields = outcome_of(need, proposed, reason)
    for name, value in fields.items():
        setattr(need, name, value)
    if target is not None:
        record(session, need, target, None, reason, now, tell=tell)
    return target


def record_match_outcomes(session: Session, outcomes: list[Outcome],
                          now: datetime | None = None) -> list[tuple[Need, NeedStatus]]:
    """:func:`record_match_outcome` for a batch's outcomes at once, nobody told (the caller tells the moves it
    returns, all at once): the audit entries inserted and the needs updated with a few statements of many
    rows, not one ORM object each, by the same rules (:func:`outcome_of`, :func:`move_of`). The session's
    needs are kept in step with what was written, as if each had been moved through the session."""
    session.flush()  # anything pending goes first, as the unit of work would have sent it
    now = now or utcnow()
    stamp = utcnow()  # updated_at, as the needs' ``onupdate`` would have set it at the flush
    moves: list[tuple[Need, NeedStatus]] = []
    entries: list[dict[str, Any]] = []
    changes: list[tuple[Need, dict[str, Any]]] = []
    for outcome in outcomes:
        need = outcome.need
        target, fields = outcome_of(need, outcome.proposed, outcome.reason)
        if target is not None:
            moved, entry = move_of(need, target, None, outcome.reason, now)
            fields = {**fields, **moved}
            entries.append(entry)
            moves.append((need, target))
            log.debug("need %s: %s → %s by %s", need.ref, need.status or "new", target, describe(None))
        # As the unit of work: a field set to the value it has is no change, and a need unchanged keeps its updated_at.
        fields = {name: value for name, value in fields.items() if getattr(need, name) != value}
        if fields:
            changes.append((need, {**fields, "updated_at": stamp}))
    if entries:
        session.execute(insert(cast(Table, AuditEntry.__table__)), entries)  # Core: no ORM work per row
    if changes:
        # Rows setting the same columns side by side: each run of them is one executemany.
        rows = sorted(({"id": need.id, **fields} for need, fields in changes), key=lambda row: sorted(row))
        session.execute(update(Need), rows)
        for need, fields in changes:
            for name, value in fields.items():
                set_committed_value(need, name, value)
    note_write(session)
    return moves


def record_batch(session: Session, outcomes: list[Outcome], now: datetime | None = None) -> list[tuple[Need, NeedStatus]]:
    """A batch's outcomes recorded and whoever acts next told, with a few statements in all: what follows
    matching for any batch (:func:`match_scope`; the simulated month's policies). Returns the moves."""
    moves = record_match_outcomes(session, outcomes, now)
    notify.next_actors_of_many(session, moves)  # everyone told with a few queries, not a few per need
    return moves


def match_scope(session: Session, *, grid: str | None = None, party_grid: str | None = None,
                subdistrict_id: int | None = None) -> tuple[MatchRun, BatchResult]:
    """Batch-match the open needs of a scope (in one subdistrict: ``dispatch.batch.batch_subdistrict``) and
    record each outcome in the workflow."""
    started = time.perf_counter()
    run, result, outcomes = run_batch(session, grid=grid, party_grid=party_grid, subdistrict_id=subdistrict_id)
    record_batch(session, outcomes)
    session.flush()
    BATCH_SECONDS.observe(time.perf_counter() - started)
    BATCH_NEEDS.observe(len(outcomes))
    BATCH_MATCHED.inc(sum(o.proposed for o in outcomes))
    log.info("match run %s (%s): %s", run.id, run.scope, run.stats)
    return run, result


def batch_subdistricts(session: Session, user: User | None, *, grid: str | None = None,
                       party_grid: str | None = None, subdistrict: str | None = None) -> list[int]:
    """The subdistricts a batch request covers, one batch each: a grid's or a Party grid's; a subdistrict's
    staff their own (naming another is a 404); the city's admins and the command line the one named, or
    every subdistrict of the city."""
    if grid is not None or party_grid is not None:
        return [batch_subdistrict(session, grid=grid, party_grid=party_grid)]
    if user is not None and user.subdistrict_id is not None:
        return [subdistrict_for(session, user, subdistrict).id]
    if subdistrict:
        return [subdistrict_by_code(session, subdistrict).id]
    ids = list(session.scalars(select(Subdistrict.id).order_by(Subdistrict.code)))
    return ids or [default_subdistrict(session).id]


def audit_trail(session: Session, need: Need) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.need_id == need.id)
                                .order_by(AuditEntry.at, AuditEntry.id)))

