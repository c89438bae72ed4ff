"""Service-level targets (时限) and the scheduled escalation job.

Targets are hours from submission (``Need.created_at``): to match (a provider proposed) and to close
(办结). A table maps keys to hours; a need's target is the first key that applies, most specific first:
``"<service>:<urgency>"``, ``"<urgency>"``, ``"<service>"``, ``"default"``. So an urgent public need
must close within 24 h, any other public need within 60 h (the subdistrict settles common disputes in
2.5 days), the rest within 5 days.

Tables come from the app config (``SLA_MATCH_HOURS`` / ``SLA_CLOSE_HOURS``: a dict or its JSON text)
or the environment (``SANKU_SLA_MATCH_HOURS`` / ``SANKU_SLA_CLOSE_HOURS``, JSON) and are merged over
the defaults below, so a deployment overrides only what it changes.

``run_escalation`` is meant for a scheduler (``flask --app app escalate``): every step selects only
needs that still need it and marks what it did, so running it twice in a row changes nothing the
second time. Time is always the ``now`` passed in (naive UTC, as stored), never the wall clock.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from matching.taxonomy import URGENCY_LABELS_ZH
from models import AuditEntry, Grid, Need, Notification, User, utcnow

from .service import apply_action
from .states import ENDED, STATUS_LABELS_ZH, STATUSES, SYSTEM

DEFAULT_MATCH_HOURS: dict[str, float] = {"urgent": 2, "high": 8, "normal": 24, "low": 72, "default": 24}
DEFAULT_CLOSE_HOURS: dict[str, float] = {"urgent": 24, "public": 60, "default": 5 * 24}
DEFAULT_AUTO_CLOSE_DAYS = 7

MATCH_CONFIG_KEY, CLOSE_CONFIG_KEY = "SLA_MATCH_HOURS", "SLA_CLOSE_HOURS"
MATCH_ENV, CLOSE_ENV = "SANKU_SLA_MATCH_HOURS", "SANKU_SLA_CLOSE_HOURS"

# Statuses the matcher has not got past: waiting past the match target sends the need to the council.
WAITING_FOR_MATCH = ("submitted", "unmatched")
OPEN_STATUSES: tuple[str, ...] = tuple(s for s in STATUSES if s not in ENDED)
# Starts the reason of the audit entry that records a need's overdue notice; its presence is what
# makes the notice once-only.
OVERDUE_MARK = "逾期提醒："


class SlaConfigError(ValueError):
    pass


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
    raise SlaConfigError("时限表缺少 default 项")


def _table(raw: Any, name: str, defaults: Mapping[str, float]) -> dict[str, float]:
    if raw is None or raw == "":
        return dict(defaults)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SlaConfigError(f"{name} 不是有效的 JSON：{exc}") from None
    if not isinstance(raw, Mapping):
        raise SlaConfigError(f"{name} 应为 {{键: 小时数}} 的字典")
    table = dict(defaults)
    for key, hours in raw.items():
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours <= 0:
            raise SlaConfigError(f"{name}[{key}] 应为正数（小时），而不是 {hours!r}")
        table[str(key)] = float(hours)
    return table


def _resolve_config(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if config is not None:
        return config
    return current_app.config if has_app_context() else {}


def load_targets(config: Mapping[str, Any] | None = None) -> SlaTargets:
    """The targets of ``config`` (default: the current app's), then the environment, then the defaults."""
    config = _resolve_config(config)
    match = _table(config.get(MATCH_CONFIG_KEY, os.environ.get(MATCH_ENV)), MATCH_CONFIG_KEY,
                   DEFAULT_MATCH_HOURS)
    close = _table(config.get(CLOSE_CONFIG_KEY, os.environ.get(CLOSE_ENV)), CLOSE_CONFIG_KEY,
                   DEFAULT_CLOSE_HOURS)
    days = config.get("AUTO_CLOSE_DAYS", DEFAULT_AUTO_CLOSE_DAYS)
    if isinstance(days, bool) or not isinstance(days, (int, float)) or days <= 0:
        raise SlaConfigError(f"AUTO_CLOSE_DAYS 应为正数（天），而不是 {days!r}")
    return SlaTargets(match, close, float(days))


def as_naive_utc(moment: datetime | None) -> datetime:
    """``moment`` as stored in the database (naive UTC); None is the current time."""
    if moment is None:
        return utcnow()
    if moment.tzinfo is not None:
        return moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def hours_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def _fmt_hours(hours: float) -> str:
    return f"{hours:g}"


def _candidates(session: Session, statuses: tuple[str, ...], column: Any, before: datetime, *,
                grid_ids: list[int] | None = None, lock: bool = True) -> list[Need]:
    query = (select(Need).where(Need.active.is_(True), Need.status.in_(statuses), column <= before)
             .order_by(Need.created_at, Need.id))
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
    for need in _candidates(session, WAITING_FOR_MATCH, Need.created_at, oldest):
        hours = targets.match_for(need)
        if hours_between(need.created_at, now) <= hours:
            continue
        urgency = URGENCY_LABELS_ZH.get(need.urgency, need.urgency)
        late = f"超过匹配时限（{urgency}需求 {_fmt_hours(hours)} 小时）仍未匹配到服务方"
        if need.status == "submitted":
            need.unmatched_reason = need.unmatched_reason or late
            apply_action(session, need, "fail_match", None, reason=late, now=now)
            failed += 1
        known = need.unmatched_reason
        detail = f"：{known}" if known and known != late else ""
        apply_action(session, need, "escalate", None, reason=f"{late}，提交网格议事会{detail}", now=now)
        escalated += 1
    return escalated, failed


def _auto_close(session: Session, now: datetime, targets: SlaTargets) -> int:
    closed = 0
    cutoff = now - timedelta(days=targets.auto_close_days)
    for need in _candidates(session, ("done",), Need.status_changed_at, cutoff):
        done_at = need.done_at or need.status_changed_at
        if done_at >= cutoff:  # "more than" the configured days
            continue
        apply_action(session, need, "auto_close", None, now=now,
                     reason=f"服务完成后 {targets.auto_close_days:g} 天内居民未确认，系统自动办结")
        closed += 1
    return closed


def is_overdue(need: Need, now: datetime, targets: SlaTargets) -> bool:
    return (need.active and need.status not in ENDED
            and hours_between(need.created_at, now) > targets.close_for(need))


def overdue_needs(session: Session, now: datetime | None = None, config: Mapping[str, Any] | None = None, *,
                  grid_ids: list[int] | None = None) -> list[Need]:
    """Open needs past their close target at ``now``, oldest first (``grid_ids``: only those grids)."""
    return _overdue(session, as_naive_utc(now), load_targets(config), grid_ids=grid_ids)


def _overdue(session: Session, now: datetime, targets: SlaTargets, *, grid_ids: list[int] | None = None,
             lock: bool = False) -> list[Need]:
    oldest = now - timedelta(hours=targets.shortest_close)
    needs = _candidates(session, OPEN_STATUSES, Need.created_at, oldest, grid_ids=grid_ids, lock=lock)
    return [n for n in needs if is_overdue(n, now, targets)]


def _branch_reviewers(session: Session) -> dict[str, list[User]]:
    """Party grid code → its active branch reviewers (scope codes are JSON, so matched here)."""
    by_code: dict[str, list[User]] = {}
    for user in session.scalars(select(User).where(User.role == "reviewer", User.active.is_(True))
                                .order_by(User.id)):
        for code in user.scope_codes or []:
            by_code.setdefault(code, []).append(user)
    return by_code


def _flagged_ids(session: Session, needs: list[Need]) -> set[int]:
    if not needs:
        return set()
    return set(session.scalars(select(AuditEntry.need_id).where(
        AuditEntry.need_id.in_([n.id for n in needs]), AuditEntry.reason.startswith(OVERDUE_MARK))))


def _flag_overdue(session: Session, now: datetime, targets: SlaTargets) -> tuple[int, int]:
    needs = _overdue(session, now, targets, lock=True)
    done_before = _flagged_ids(session, needs)
    fresh = [n for n in needs if n.id not in done_before]
    reviewers = _branch_reviewers(session) if fresh else {}
    notified = 0
    for need in fresh:
        hours = _fmt_hours(targets.close_for(need))
        label = STATUS_LABELS_ZH.get(need.status, need.status)
        # Recorded in the audit trail (status unchanged), so the notice goes out once even when the
        # Party grid has no reviewer yet.
        session.add(AuditEntry(need_id=need.id, actor_id=None, actor_role=SYSTEM, at=now,
                               from_status=need.status, to_status=need.status,
                               reason=f"{OVERDUE_MARK}超过办结时限 {hours} 小时，当前{label}"))
        party = need.grid.party_grid.code if need.grid.party_grid else None
        message = f"【逾期提醒】需求 {need.ref}（{need.grid.name}）已超过办结时限 {hours} 小时，当前{label}：{need.text[:30]}"
        for user in reviewers.get(party, []) if party else []:
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
    return {"escalated": escalated, "failed_match": failed, "auto_closed": auto_closed, "overdue": overdue,
            "notified": notified}
