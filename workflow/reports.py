"""Reports (统计报表): closure rate (办结率), time to match and to close, volunteer hours.

A period is a cohort: the needs *created* in it (dates inclusive, days of the subdistrict's time zone,
``core.times``), judged by their status when the report is made. So

    办结率 = closed / (created − cancelled)

counts each need once, and the rate of a period can only rise as its needs close. Times are hours
from submission: to match ``matched_at − created_at`` (the first provider proposed), to close
``closed_at − created_at`` (closed needs only). Deactivated needs (soft-deleted) are left out.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import zone
from core.exports import format_csv
from core.times import day_bounds, to_local
from core.vocab import FINISHED, SERVICE_LABELS_ZH, NeedStatus, ProposalStatus
from models import Grid, Need, PartyGrid, Proposal, Volunteer

GROUPINGS: tuple[str, ...] = ("grid", "party_grid", "service", "month")
GROUPING_LABELS_ZH: dict[str, str] = {"grid": "网格", "party_grid": "党建网格", "service": "服务类型", "month": "月份"}
PERCENTILE_HIGH = 90
DEFAULT_PERIOD_DAYS = 30
HOURS_DECIMALS = 2
RATE_DECIMALS = 4
NO_PARTY_GRID = "未划入党建网格"
NO_SERVICE = "未分类"

CLOSURE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("key", "编码"), ("label", "名称"), ("created", "需求数"), ("cancelled", "撤销数"), ("closed", "办结数"),
    ("closure_rate", "办结率"), ("match_median_hours", "匹配用时中位数(小时)"),
    ("match_p90_hours", "匹配用时90分位(小时)"), ("close_median_hours", "办结用时中位数(小时)"),
    ("close_p90_hours", "办结用时90分位(小时)"),
)
VOLUNTEER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("ref", "志愿者编号"), ("name", "姓名"), ("grid", "所在网格"), ("needs", "服务次数"), ("hours", "服务时长(小时)"),
)


@dataclass(frozen=True)
class NeedFacts:
    """What the reports need of one need, read once."""
    status: str
    created_at: datetime
    matched_at: datetime | None
    closed_at: datetime | None
    service: str | None
    grid_code: str
    grid_name: str
    party_grid_code: str | None
    party_grid_name: str | None


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in the subdistrict's time zone, as stored (naive UTC):
    both dates included."""
    return day_bounds(start, end, zone())


def default_period(today: date, days: int = DEFAULT_PERIOD_DAYS) -> tuple[date, date]:
    """The last ``days`` days up to and including ``today``."""
    return today - timedelta(days=days - 1), today


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before [start, end]."""
    length = end - start + timedelta(days=1)
    return start - length, start - timedelta(days=1)


def percentile_hours(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    return round(float(np.percentile(np.asarray(values, dtype=float), q)), HOURS_DECIMALS)


def closure_rate(created: int, cancelled: int, closed: int) -> float | None:
    base = created - cancelled
    return round(closed / base, RATE_DECIMALS) if base > 0 else None


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def summarise(facts: Iterable[NeedFacts]) -> dict[str, Any]:
    """The closure figures of a set of needs."""
    facts = list(facts)
    created = len(facts)
    cancelled = sum(f.status == NeedStatus.CANCELLED for f in facts)
    closed = [f for f in facts if f.status in FINISHED and f.closed_at is not None]
    to_match = [_hours(f.created_at, f.matched_at) for f in facts if f.matched_at is not None]
    to_close = [_hours(f.created_at, f.closed_at) for f in closed if f.closed_at is not None]
    return {
        "created": created, "cancelled": cancelled, "closed": len(closed),
        "closure_rate": closure_rate(created, cancelled, len(closed)),
        "match_median_hours": percentile_hours(to_match, 50),
        "match_p90_hours": percentile_hours(to_match, PERCENTILE_HIGH),
        "close_median_hours": percentile_hours(to_close, 50),
        "close_p90_hours": percentile_hours(to_close, PERCENTILE_HIGH),
    }


def _group_key(by: str) -> Callable[[NeedFacts], tuple[str, str]]:
    """(key, label) of a need's group."""
    if by == "grid":
        return lambda f: (f.grid_code, f.grid_name)
    if by == "party_grid":
        return lambda f: (f.party_grid_code or "", f.party_grid_name or NO_PARTY_GRID)
    if by == "service":
        return lambda f: (f.service or "", SERVICE_LABELS_ZH.get(f.service or "", NO_SERVICE))
    if by == "month":
        tz = zone()

        def month(f: NeedFacts) -> tuple[str, str]:
            local = to_local(f.created_at, tz)
            return f"{local:%Y-%m}", f"{local.year}年{local.month}月"
        return month
    raise ValueError(f"unknown grouping {by!r}")


def group_rows(facts: Iterable[NeedFacts], by: str) -> list[dict[str, Any]]:
    key_of = _group_key(by)
    groups: dict[tuple[str, str], list[NeedFacts]] = {}
    for f in facts:
        groups.setdefault(key_of(f), []).append(f)
    return [{"key": key, "label": label, **summarise(groups[(key, label)])} for key, label in sorted(groups)]


def need_facts(session: Session, start: date, end: date, *,
               grid_ids: Sequence[int] | None = None) -> list[NeedFacts]:
    """The needs created in [start, end] (``grid_ids``: only those grids)."""
    since, until = period_bounds(start, end)
    query = (select(Need.status, Need.created_at, Need.matched_at, Need.closed_at, Need.service, Grid.code,
                    Grid.name, PartyGrid.code, PartyGrid.name)
             .join(Grid, Grid.id == Need.grid_id).outerjoin(PartyGrid, PartyGrid.id == Grid.party_grid_id)
             .where(Need.active.is_(True), Need.created_at >= since, Need.created_at < until))
    if grid_ids is not None:
        query = query.where(Need.grid_id.in_(list(grid_ids)))
    return [NeedFacts(*row) for row in session.execute(query)]


def closure_report(session: Session, *, by: str, start: date, end: date) -> dict[str, Any]:
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}")
    facts = need_facts(session, start, end)
    return {"by": by, "start": start.isoformat(), "end": end.isoformat(), "rows": group_rows(facts, by),
            "total": summarise(facts)}


def volunteer_hours_report(session: Session, *, start: date, end: date) -> dict[str, Any]:
    """Hours served by each volunteer: needs reported done in [start, end], credited to the volunteer
    whose proposal was accepted (the latest, should a need have been served twice)."""
    since, until = period_bounds(start, end)
    rows = session.execute(
        select(Need.id, Need.volunteer_hours, Proposal.id, Volunteer.ref, Volunteer.name, Grid.code)
        .join(Proposal, Proposal.need_id == Need.id).join(Volunteer, Volunteer.id == Proposal.volunteer_id)
        .outerjoin(Grid, Grid.id == Volunteer.grid_id)
        .where(Need.active.is_(True), Need.volunteer_hours.is_not(None), Proposal.status == ProposalStatus.ACCEPTED,
               Need.done_at >= since, Need.done_at < until)
        .order_by(Need.id, Proposal.id))
    credited: dict[int, tuple[float, str, str, str | None]] = {}
    for need_id, hours, _proposal_id, volunteer_ref, volunteer_name, grid_code in rows:
        # Ordered by proposal: the latest wins.
        credited[need_id] = (hours or 0.0, volunteer_ref, volunteer_name, grid_code)
    totals: dict[str, dict[str, Any]] = {}
    for hours, ref, name, grid in credited.values():
        row = totals.setdefault(ref, {"ref": ref, "name": name, "grid": grid or "", "needs": 0, "hours": 0.0})
        row["needs"] += 1
        row["hours"] += hours
    out = sorted(totals.values(), key=lambda r: (-r["hours"], r["ref"]))
    for row in out:
        row["hours"] = round(row["hours"], HOURS_DECIMALS)
    return {"start": start.isoformat(), "end": end.isoformat(), "rows": out,
            "total_hours": round(sum(r["hours"] for r in out), HOURS_DECIMALS)}


def _cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "closure_rate":
        return f"{value * 100:.2f}%"
    return str(value)


def to_csv(columns: Sequence[tuple[str, str]], rows: Iterable[dict[str, Any]],
           first_header: str | None = None) -> bytes:
    """A report as a spreadsheet-safe CSV (``core.exports``: BOM, CRLF, no cell runs as a formula)."""
    headers = [h for _, h in columns]
    if first_header:
        headers[0] = first_header
    return format_csv([headers, *([_cell(key, row.get(key)) for key, _ in columns] for row in rows)])


def closure_csv(report: dict[str, Any]) -> bytes:
    """The closure report's rows and a total row; the first column is named after the grouping (网格…)."""
    total = {"key": "合计", "label": "", **report["total"]}
    return to_csv(CLOSURE_COLUMNS, [*report["rows"], total], first_header=GROUPING_LABELS_ZH[report["by"]])


def volunteer_hours_csv(report: dict[str, Any]) -> bytes:
    total = {"ref": "合计", "needs": sum(r["needs"] for r in report["rows"]), "hours": report["total_hours"]}
    return to_csv(VOLUNTEER_COLUMNS, [*report["rows"], total])
