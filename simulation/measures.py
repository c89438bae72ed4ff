"""The month's figures for one policy, read back from what the services recorded (needs, proposals,
audit trail), as the reports would read them.

- ``closure_rate`` (办结率): needs due within the month (created + close target ≤ the month's end) that
  are closed at the end of the run, over those due less the cancelled (办结 ÷ (提交 − 撤销)).
- ``closed_within_sla``: of the same needs, closed within their close target.
- time to match (first proposal) and to close, hours, median and p90, over the month's needs that got there.
- ``urgent_matched_within_1h``: urgent needs (not cancelled) whose first proposal came within an hour.
- ``escalated_share``: the month's needs sent to the grid council at least once.
- ``dispute_mean_days``: labour and money disputes and other quarrels (legal and mediation needs,
  recognised by their words), mean days from submission to closing, over those closed.
  ``dispute_mean_days_to_done`` the same to the provider's report that the dispute is settled (完成),
  and ``dispute_auto_closed_share`` the share of them closed by the SLA job, the resident silent: the
  resident's confirmation, a coordinator's return visit (回访) after ``RETURN_VISIT_HOURS``, or
  ``AUTO_CLOSE_DAYS`` without either, comes on top of the settling.
- ``load_gini``: Gini coefficient of tasks (accepted proposals) per volunteer who served this month.
- declines and no-shows per closed need; ``return_visit_share`` the closed needs closed on a return visit.
"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.vocab import NeedStatus, ProposalStatus
from models import AuditEntry, Need, Proposal
from workflow.sla import load_targets

if TYPE_CHECKING:
    from .world import World

# Words of a dispute (纠纷) in residents' texts: labour and money, neighbours, landlords, consumers.
DISPUTE_WORDS = ("纠纷", "调解", "欠薪", "拖欠", "工资", "劳动仲裁", "矛盾", "吵架", "争吵", "赔偿", "押金", "维权",
                 "法律", "律师", "起诉")
HOURS_PER_DAY = 24.0


def is_dispute(text: str) -> bool:
    return any(word in text for word in DISPUTE_WORDS)


def gini(values: list[int]) -> float:
    """0 when everybody carries the same, towards 1 when one carries all."""
    if not values or sum(values) == 0:
        return 0.0
    x = np.sort(np.asarray(values, dtype=float))
    n = x.size
    return float((2 * np.arange(1, n + 1) - n - 1).dot(x) / (n * x.sum()))


def _hours(a: Any, b: Any) -> float:
    return float((b - a).total_seconds() / 3600)


def _q(values: list[float], q: float) -> float | None:
    return round(float(np.quantile(values, q)), 2) if values else None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def measure(session: Session, world: World) -> dict[str, Any]:
    targets = load_targets()
    month_end = world.start + timedelta(days=world.days)
    needs = list(session.scalars(select(Need).where(Need.created_at < month_end).order_by(Need.id)))
    escalated = set(session.scalars(select(AuditEntry.need_id).where(AuditEntry.to_status == NeedStatus.ESCALATED)))
    auto_closed = set(session.scalars(select(AuditEntry.need_id).where(AuditEntry.to_status == NeedStatus.CLOSED,
                                                                      AuditEntry.actor_id.is_(None))))
    due = [n for n in needs if n.created_at + timedelta(hours=targets.close_for(n)) <= month_end
           and n.status != NeedStatus.CANCELLED]
    closed_due = [n for n in due if n.status == NeedStatus.CLOSED]
    in_sla = [n for n in closed_due if _hours(n.created_at, n.closed_at) <= targets.close_for(n)]
    to_match = [_hours(n.created_at, n.matched_at) for n in needs if n.matched_at]
    closed = [n for n in needs if n.status == NeedStatus.CLOSED and n.closed_at]
    to_close = [_hours(n.created_at, n.closed_at) for n in closed]
    urgent = [n for n in needs if n.urgency == "urgent" and n.status != NeedStatus.CANCELLED]
    urgent_fast = [n for n in urgent if n.matched_at and _hours(n.created_at, n.matched_at) <= 1.0]
    disputes = [n for n in closed if is_dispute(n.text)]
    tasks = Counter(session.scalars(select(Proposal.volunteer_id).where(
        Proposal.status == ProposalStatus.ACCEPTED, Proposal.volunteer_id.is_not(None))))
    unclosed = [n for n in due if n.status != NeedStatus.CLOSED]
    return {
        "closure_rate": _share(len(closed_due), len(due)),
        "closed_within_sla": _share(len(in_sla), len(due)),
        "median_hours_to_match": _q(to_match, 0.5),
        "p90_hours_to_match": _q(to_match, 0.9),
        "median_hours_to_close": _q(to_close, 0.5),
        "p90_hours_to_close": _q(to_close, 0.9),
        "urgent_matched_within_1h": _share(len(urgent_fast), len(urgent)),
        "escalated_share": _share(sum(1 for n in needs if n.id in escalated), len(needs)),
        "dispute_mean_days": (round(float(np.mean(
            [_hours(n.created_at, n.closed_at) for n in disputes])) / HOURS_PER_DAY, 2) if disputes else None),
        "dispute_mean_days_to_done": (round(float(np.mean(
            [_hours(n.created_at, n.done_at) for n in disputes if n.done_at])) / HOURS_PER_DAY, 2)
            if any(n.done_at for n in disputes) else None),
        "dispute_auto_closed_share": _share(sum(1 for n in disputes if n.id in auto_closed), len(disputes)),
        "load_gini": round(gini(list(tasks.values())), 4),
        "declines_per_closed": _share(world.tally.declines, len(closed)),
        "no_shows_per_closed": _share(world.tally.no_shows, len(closed)),
        "return_visit_share": _share(world.tally.return_visits, len(closed)),
        "needs": len(needs),
        "due": len(due),
        "closed_due": len(closed_due),
        "cancelled": sum(1 for n in needs if n.status == NeedStatus.CANCELLED),
        "urgent": len(urgent),
        "disputes_closed": len(disputes),
        "batches": world.tally.batches,
        "refused_moves": world.tally.refused,
        "statuses_seen": sorted({e for e in session.scalars(select(AuditEntry.to_status).distinct())}),
        "final_statuses": dict(Counter(str(n.status) for n in needs)),
        "misclassified": sum(1 for n in needs if n.service and world.tally.true_service.get(n.id) not in
                             (None, n.service)),
        "unclosed": [{"ref": n.ref, "grid": n.grid.code, "service": n.service, "urgency": n.urgency,
                      "status": str(n.status), "reason": n.unmatched_reason or "", "text": n.text[:40]}
                     for n in unclosed],
        "series": {"daily": world.tally.daily, "hours_to_match": [round(h, 3) for h in to_match],
                   "open_at_month_end": world.tally.open_at_month_end},
    }
