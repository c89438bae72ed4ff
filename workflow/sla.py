"""Service-level targets (时限) and the scheduled escalation job.

Targets are hours from submission (``Need.created_at``): to match (a provider proposed) and to close
(办结). A table maps keys to hours; a need's target is the first key that applies, most specific first:
``"<service>:<urgency>"``, ``"<urgency>"``, ``"<service>"``, ``"default"``. So an urgent public need
must close within 24 h, any other public need within 60 h (the subdistrict settles common disputes in
2.5 days), the rest within 5 days.

Tables come from the configuration (``core.config``: ``SLA_MATCH_HOURS`` / ``SLA_CLOSE_HOURS``, set by
``SANKU_SLA_MATCH_HOURS`` / ``SANKU_SLA_CLOSE_HOURS``) and are merged over the defaults there, so a
deployment overrides only what it changes. Hours are hours: the clock is the same in every zone.

``run_escalation`` is meant for a scheduler (``flask --app app escalate``): every step selects only
needs that still need it and marks what it did, so running it twice in a row changes nothing the
second time. Time is always the ``now`` passed in (naive UTC, as stored), never the wall clock; the
command line reads a ``--now`` without an offset as the subdistrict's local time.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from access.policy import staff_who_see
from core.config import DEFAULT_SLA_CLOSE_HOURS, DEFAULT_SLA_MATCH_HOURS, ConfigError, hours_table, setting
from core.times import utcnow
from core.vocab import (
    OPEN,
    STATUS_LABELS_ZH,
    SYSTEM,
    URGENCY_LABELS_ZH,
    WAITING_FOR_MATCH,
    Action,
    NeedStatus,
    Role,
)
from models import AuditEntry, Grid, Need, Notification

from .service import apply_action

log = logging.getLogger(__name__)
# Starts the reason of the audit entry that records a need's overdue notice; its presence is what
# makes the notice once-only.
OVERDUE_MARK = "逾期提醒："
SlaConfigError = ConfigError


@dataclass(frozen=True)
class SlaTargets:
    match_hours: Mapping[str, float]
    close_hours: Mapping[str, float]
    auto_close_days: float

    def match_for(self, need: Need) -> float:
        return target_hours(self.match_hours, need.service, need.urgency)

    def close_for(self, need: Need) -> float:
        return target_hours(self.close_hours, need.service, need.urgency)

    @property
    def shortest_match(self) -> float:
        return min(self.match_hours.values())

    @property
    def shortest_close(self) -> float:
        return min(self.close_hours.values())


def target_hours(table: Mapping[str, float], service: str | None, urgency: str | None) -> float:
    """The hours of the most specific key of ``table`` that applies to (service, urgency)."""
    for key in (f"{service}:{urgency}", urgency, service, "default"):
        if key and key in table:
            return float(table[key])
    raise ConfigError("时限表缺少 default 项")


def load_targets(config: Mapping[str, Any] | None = None) -> SlaTargets:
    """The targets of ``config`` (default: the running app's settings) merged over the defaults."""
    def value(key: str) -> Any:
        return config.get(key) if config is not None else setting(key)
    days = value("AUTO_CLOSE_DAYS") or setting("AUTO_CLOSE_DAYS")
    if isinstance(days, bool) or not isinstance(days, (int, float)) or days <= 0:
        raise ConfigError(f"AUTO_CLOSE_DAYS 应为正数（天），而不是 {days!r}")
    return SlaTargets(hours_table(value("SLA_MATCH_HOURS"), "SLA_MATCH_HOURS", DEFAULT_SLA_MATCH_HOURS),
                      hours_table(value("SLA_CLOSE_HOURS"), "SLA_CLOSE_HOURS", DEFAULT_SLA_CLOSE_HOURS),
                      float(days))


def as_naive_utc(moment: datetime | None) -> datetime:
    """``moment`` as stored (naive UTC); None is the current time. A naive ``moment`` is taken as
    already stored time: callers with a wall-clock time convert it first (``core.times.to_utc``)."""
    if moment is None:
        return utcnow()
    if moment.tzinfo is not None:
        return moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def hours_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _fmt_hours(hours: float) -> str:
    return f"{hours:g}"


def late_ids(session: Session, table: Mapping[str, float], now: datetime, statuses: frozenset[NeedStatus], *,
             grid_ids: list[int] | None = None, unflagged: bool = False) -> list[int]:
    """Ids of the active needs of ``statuses`` created at least their target hours of ``table`` before
    ``now``. Read as plain rows (id, service, urgency, time), so that the SLA job loads as objects only
    the needs that may be late, not every open need at every pass (a month leaves hundreds open for
    days: windows days ahead, work done and awaiting the resident)."""
    query = select(Need.id, Need.service, Need.urgency, Need.created_at).where(
        Need.active.is_(True), Need.status.in_(statuses),
        Need.created_at <= now - timedelta(hours=min(table.values())))
    if unflagged:  # not yet given its overdue notice (a need stays open long after: it is read once)
        query = query.where(~exists().where(AuditEntry.need_id == Need.id, AuditEntry.reason.startswith(OVERDUE_MARK)))
    if grid_ids is not None:
        query = query.where(Need.grid_id.in_(grid_ids))
    return [need_id for need_id, service, urgency, created in session.execute(query)
            if hours_between(created, now) >= target_hours(table, service, urgency)]


def _candidates(session: Session, statuses: frozenset[NeedStatus], column: Any, before: datetime, *,
                grid_ids: list[int] | None = None, lock: bool = True, ids: list[int] | None = None) -> list[Need]:
    if ids is not None and not ids:
        return []
    query = (select(Need).where(Need.active.is_(True), Need.status.in_(statuses), column <= before)
             .order_by(Need.created_at, Need.id))
    if ids is not None:
        query = query.where(Need.id.in_(ids))
    if grid_ids is not None:
        query = query.where(Need.grid_id.in_(grid_ids))
    if lock:
        # Skipped when another run holds them (PostgreSQL), so two overlapping runs never act on
        # the same need; SQLite ignores FOR UPDATE and serialises writers anyway.
        query = query.with_for_update(skip_locked=True)
    needs = list(session.scalars(query))
    if needs:  # loaded separately: FOR UPDATE cannot lock the nullable side of an outer join
        session.scalars(select(Grid).options(selectinload(Grid.party_grid))
                        .where(Grid.id.in_({n.grid_id for n in needs}))).all()
    return needs


def _escalate_late_matches(session: Session, now: datetime, targets: SlaTargets) -> tuple[int, int]:
    escalated = failed = 0
    oldest = now - timedelta(hours=targets.shortest_match)
    for need in _candidates(session, WAITING_FOR_MATCH, Need.created_at, oldest,
                            ids=late_ids(session, targets.match_hours, now, WAITING_FOR_MATCH)):
        hours = targets.match_for(need)
        if hours_between(need.created_at, now) <= hours:
            continue
        urgency = URGENCY_LABELS_ZH.get(need.urgency, need.urgency)
        late = f"超过匹配时限（{urgency}需求 {_fmt_hours(hours)} 小时）仍未匹配到服务方"
        if need.status == NeedStatus.SUBMITTED:
            need.unmatched_reason = need.unmatched_reason or late
            apply_action(session, need, Action.FAIL_MATCH, None, reason=late, now=now)
            failed += 1
        known = need.unmatched_reason
        detail = f"：{known}" if known and known != late else ""
        apply_action(session, need, Action.ESCALATE, None, reason=f"{late}，提交网格议事会{detail}", now=now)
        escalated += 1
    return escalated, failed


def _auto_close(session: Session, now: datetime, targets: SlaTargets) -> int:
    closed = 0
    cutoff = now - timedelta(days=targets.auto_close_days)
    for need in _candidates(session, frozenset({NeedStatus.DONE}), Need.status_changed_at, cutoff):
        done_at = need.done_at or need.status_changed_at
        if done_at >= cutoff:  # "more than" the configured days
            continue
        apply_action(session, need, Action.AUTO_CLOSE, None, now=now,
                     reason=f"服务完成后 {targets.auto_close_days:g} 天内居民未确认，系统自动办结")
        closed += 1
    return closed


def is_overdue(need: Need, now: datetime, targets: SlaTargets) -> bool:
    return (need.active and need.status in OPEN
            and hours_between(need.created_at, now) > targets.close_for(need))


def overdue_needs(session: Session, now: datetime | None = None, config: Mapping[str, Any] | None = None, *,
                  grid_ids: list[int] | None = None) -> list[Need]:
    """Open needs past their close target at ``now``, oldest first (``grid_ids``: only those grids)."""
    return _overdue(session, as_naive_utc(now), load_targets(config), grid_ids=grid_ids)


def _overdue(session: Session, now: datetime, targets: SlaTargets, *, grid_ids: list[int] | None = None,
             lock: bool = False, unflagged: bool = False) -> list[Need]:
    oldest = now - timedelta(hours=targets.shortest_close)
    late = late_ids(session, targets.close_hours, now, OPEN, grid_ids=grid_ids, unflagged=unflagged)
    needs = _candidates(session, OPEN, Need.created_at, oldest, grid_ids=grid_ids, lock=lock, ids=late)
    return [n for n in needs if is_overdue(n, now, targets)]


def _flag_overdue(session: Session, now: datetime, targets: SlaTargets) -> tuple[int, int]:
    fresh = _overdue(session, now, targets, lock=True, unflagged=True)
    # The branch hears of it: the reviewers who see the need, by the same rule as their lists.
    reviewers = staff_who_see(session, fresh, [Role.REVIEWER])
    notified = 0
    for need in fresh:
        hours = _fmt_hours(targets.close_for(need))
        label = STATUS_LABELS_ZH.get(need.status, need.status)
        # Recorded in the audit trail (status unchanged), so the notice goes out once even when the
        # Party grid has no reviewer yet.
        session.add(AuditEntry(need_id=need.id, actor_id=None, actor_role=SYSTEM, at=now,
                               from_status=need.status, to_status=need.status,
                               reason=f"{OVERDUE_MARK}超过办结时限 {hours} 小时，当前{label}"))
        message = f"【逾期提醒】需求 {need.ref}（{need.grid.name}）已超过办结时限 {hours} 小时，当前{label}：{need.text[:30]}"
        for user in reviewers[need.id]:
            session.add(Notification(user_id=user.id, need_id=need.id, message=message, created_at=now))
            notified += 1
    session.flush()
    return len(fresh), notified


def run_escalation(session: Session, *, now: datetime | None = None,
                   config: Mapping[str, Any] | None = None) -> dict[str, int]:
    """One pass of the SLA job. Returns how many needs it escalated to the grid council, auto-closed
    and newly flagged overdue (and, in detail, failed to match and notifications written)."""
    now = as_naive_utc(now)
    targets = load_targets(config)
    escalated, failed = _escalate_late_matches(session, now, targets)
    auto_closed = _auto_close(session, now, targets)
    overdue, notified = _flag_overdue(session, now, targets)
    session.flush()
    summary = {"escalated": escalated, "failed_match": failed, "auto_closed": auto_closed, "overdue": overdue,
               "notified": notified}
    log.info("escalation at %s: %s", now.isoformat(timespec="minutes"), summary)
    return summary
