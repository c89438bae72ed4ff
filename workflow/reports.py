"""Reports (统计报表): closure rate (办结率), time to match and to close, volunteer hours.

A period is a cohort: the needs *created* in it (dates inclusive, days of the subdistrict's time zone,
``core.times``), judged by their status when the report is made. So

    办结率 = closed / (created − cancelled)

counts each need once, and the rate of a period can only rise as its needs close. Times are hours
from submission: to match ``matched_at − created_at`` (the first provider proposed), to close
``closed_at − created_at`` (closed needs only). Deactivated needs (soft-deleted) are left out.
Still open (未办结): the period's needs neither closed nor cancelled when the report is made.

A report may be limited to some grids (``grid_ids``: a user's scope, ``access.policy.grid_ids_in_scope``);
it is exported as CSV or XLSX (``core.exports``) with Chinese headers, the rate as a number shown as %.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import zone
from core.exports import Sheet, format_csv, format_xlsx
from core.times import day_bounds, to_local
from core.vocab import FINISHED, OPEN, SERVICE_LABELS_ZH, NeedStatus, ProposalStatus
from models import Community, Grid, Need, PartyGrid, Proposal, Volunteer

GROUPINGS: tuple[str, ...] = ("grid", "party_grid", "community", "service", "month")
GROUPING_LABELS_ZH: dict[str, str] = {"grid": "网格", "party_grid": "党建网格", "community": "社区",
                                      "service": "服务类型", "month": "月份"}
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
# The closure columns with the needs still open, after the closed ones (the dashboard's table and exports).
CLOSURE_COLUMNS_WITH_OPEN: tuple[tuple[str, str], ...] = (
    *CLOSURE_COLUMNS[:5], ("open", "未办结数"), *CLOSURE_COLUMNS[5:])
RATE_FORMAT = "0.0%"
HOURS_FORMAT = "0.00"
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
    community_code: str = ""
    community_name: str = ""


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


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of ``values`` (not empty) by linear interpolation between the closest
    ranks: numpy's default (``np.percentile``, Hyndman & Fan's method 7), step for step, so the figures
    are the same to the last bit; in plain Python, since a report takes four per group and numpy's
    overhead on a few values was most of the dashboard's time."""
    ordered = sorted(values)
    n = len(ordered)
    virtual = (n - 1) * (q / 100)
    if virtual >= n - 1:
        return float(ordered[-1])
    lower = math.floor(virtual)
    gamma = virtual - lower
    a, b = ordered[lower], ordered[lower + 1]
    diff = b - a
    # numpy's _lerp: from the nearer end, for accuracy.
    return float(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)


def percentile_hours(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    return round(percentile(values, q), HOURS_DECIMALS)


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


def still_open(facts: Iterable[NeedFacts]) -> int:
    """The needs neither closed nor cancelled (their status now)."""
    return sum(f.status in OPEN for f in facts)


def summarise_with_open(facts: Iterable[NeedFacts]) -> dict[str, Any]:
    facts = list(facts)
    return {**summarise(facts), "open": still_open(facts)}


def closure_counts(facts: Iterable[NeedFacts]) -> dict[str, Any]:
    """:func:`summarise_with_open` without the times: the counts and the rate (a map's colours)."""
    facts = list(facts)
    created = len(facts)
    cancelled = sum(f.status == NeedStatus.CANCELLED for f in facts)
    closed = sum(f.status in FINISHED and f.closed_at is not None for f in facts)
    return {"created": created, "cancelled": cancelled, "closed": closed,
            "closure_rate": closure_rate(created, cancelled, closed), "open": still_open(facts)}


def _group_key(by: str) -> Callable[[NeedFacts], tuple[str, str]]:
    """(key, label) of a need's group."""
    if by == "grid":
        return lambda f: (f.grid_code, f.grid_name)
    if by == "party_grid":
        return lambda f: (f.party_grid_code or "", f.party_grid_name or NO_PARTY_GRID)
    if by == "community":
        return lambda f: (f.community_code, f.community_name)
    if by == "service":
        return lambda f: (f.service or "", SERVICE_LABELS_ZH.get(f.service or "", NO_SERVICE))
    if by == "month":
        tz = zone()

        def month(f: NeedFacts) -> tuple[str, str]:
            local = to_local(f.created_at, tz)
            return f"{local:%Y-%m}", f"{local.year}年{local.month}月"
        return month
    raise ValueError(f"unknown grouping {by!r}")


def group_rows(facts: Iterable[NeedFacts], by: str,
               summary: Callable[[Iterable[NeedFacts]], dict[str, Any]] = summarise) -> list[dict[str, Any]]:
    key_of = _group_key(by)
    groups: dict[tuple[str, str], list[NeedFacts]] = {}
    for f in facts:
        groups.setdefault(key_of(f), []).append(f)
    return [{"key": key, "label": label, **summary(groups[(key, label)])} for key, label in sorted(groups)]


def need_facts(session: Session, start: date, end: date, *,
               grid_ids: Sequence[int] | None = None) -> list[NeedFacts]:
    """The needs created in [start, end] (``grid_ids``: only those grids)."""
    since, until = period_bounds(start, end)
    query = (select(Need.status, Need.created_at, Need.matched_at, Need.closed_at, Need.service, Grid.code,
                    Grid.name, PartyGrid.code, PartyGrid.name, Community.code, Community.name)
             .join(Grid, Grid.id == Need.grid_id).outerjoin(PartyGrid, PartyGrid.id == Grid.party_grid_id)
             .join(Community, Community.id == Grid.community_id)
             .where(Need.active.is_(True), Need.created_at >= since, Need.created_at < until))
    if grid_ids is not None:
        query = query.where(Need.grid_id.in_(list(grid_ids)))
    return [NeedFacts(*row) for row in session.execute(query)]


def closure_report(session: Session, *, by: str, start: date, end: date, grid_ids: Sequence[int] | None = None,
                   with_open: bool = False, facts: Sequence[NeedFacts] | None = None) -> dict[str, Any]:
    """Rows by ``by`` and the total; ``grid_ids``: only those grids; ``with_open``: each row and the total
    count the needs still open too. ``facts`` already read (:func:`need_facts` of the same period and
    grids) are grouped again rather than read twice."""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}")
    if facts is None:
        facts = need_facts(session, start, end, grid_ids=grid_ids)
    summary = summarise_with_open if with_open else summarise
    return {"by": by, "start": start.isoformat(), "end": end.isoformat(), "rows": group_rows(facts, by, summary),
            "total": summary(facts)}


def subdistrict_grid_ids(session: Session, subdistrict_id: int | None) -> list[int] | None:
    """The grids of a subdistrict (deactivated ones too: their needs stay in the figures); None: all."""
    if subdistrict_id is None:
        return None
    return list(session.scalars(select(Grid.id).where(Grid.subdistrict_id == subdistrict_id).order_by(Grid.id)))


def volunteer_hours_report(session: Session, *, start: date, end: date,
                           subdistrict_id: int | None = None) -> dict[str, Any]:
    """Hours served by each volunteer (of ``subdistrict_id``, or all): needs reported done in [start, end],
    credited to the volunteer whose proposal was accepted (the latest, should a need have been served twice)."""
    since, until = period_bounds(start, end)
    rows = session.execute(
        select(Need.id, Need.volunteer_hours, Proposal.id, Volunteer.ref, Volunteer.name, Grid.code)
        .join(Proposal, Proposal.need_id == Need.id).join(Volunteer, Volunteer.id == Proposal.volunteer_id)
        .outerjoin(Grid, Grid.id == Volunteer.grid_id)
        .where(Need.active.is_(True), Need.volunteer_hours.is_not(None), Proposal.status == ProposalStatus.ACCEPTED,
               Need.done_at >= since, Need.done_at < until,
               *([Volunteer.subdistrict_id == subdistrict_id] if subdistrict_id is not None else []))
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


def closure_csv(report: dict[str, Any], columns: Sequence[tuple[str, str]] = CLOSURE_COLUMNS) -> bytes:
    """The closure report's rows and a total row; the first column is named after the grouping (网格…)."""
    total = {"key": "合计", "label": "", **report["total"]}
    return to_csv(columns, [*report["rows"], total], first_header=GROUPING_LABELS_ZH[report["by"]])


def closure_xlsx(report: dict[str, Any], columns: Sequence[tuple[str, str]] = CLOSURE_COLUMNS, *,
                 notes: Sequence[tuple[str, str]] = ()) -> bytes:
    """The closure report as a workbook: the rows and a total row as in :func:`closure_csv`, but typed:
    counts and hours as numbers, the rate as a number shown as a percentage; then a sheet 说明 with the
    period, the definitions and ``notes`` (label, text)."""
    headers: list[object] = [h for _, h in columns]
    headers[0] = GROUPING_LABELS_ZH[report["by"]]
    total = {"key": "合计", "label": "", **report["total"]}
    rows: list[list[object]] = [headers, *([row.get(key) for key, _ in columns] for row in [*report["rows"], total])]
    formats = {i: RATE_FORMAT if key == "closure_rate" else HOURS_FORMAT
               for i, (key, _) in enumerate(columns) if key == "closure_rate" or key.endswith("_hours")}
    about: list[list[object]] = [
        ["项目", "说明"],
        ["统计期间", f"{report['start']} 至 {report['end']}（按需求提交日期，含首尾两天）"],
        ["分组", GROUPING_LABELS_ZH[report["by"]]],
    ]
    about += [[label, text] for label, text in notes]
    about += [
        ["办结率", "办结数 ÷（需求数 − 撤销数）：期间内提交的需求按其当前状态统计"],
        ["匹配用时", "从提交到首次推荐服务方的小时数（中位数、90 分位）"],
        ["办结用时", "从提交到办结的小时数，仅计已办结的需求（中位数、90 分位）"],
    ]
    if any(key == "open" for key, _ in columns):
        about.append(["未办结数", "期间内提交、目前既未办结也未撤销的需求数"])
    return format_xlsx([Sheet(f"办结率-{GROUPING_LABELS_ZH[report['by']]}", rows, formats),
                        Sheet("说明", about)])


def volunteer_hours_csv(report: dict[str, Any]) -> bytes:
    total = {"ref": "合计", "needs": sum(r["needs"] for r in report["rows"]), "hours": report["total_hours"]}
    return to_csv(VOLUNTEER_COLUMNS, [*report["rows"], total])
