"""The dashboard (数据看板) of coordinators, grid Party branches and subdistrict staff, each over their own
scope (``access.policy.grid_ids_in_scope``): for a period and a grouping chosen by a plain GET form, the
headline figures (closure rate, time to match and to close, needs still open), the table by the grouping
with its CSV and XLSX exports, and, where the browser runs scripts, ECharts bars of the closure rate and
a map of the grids drawn from their boundaries.

The figures are ``workflow.reports``' own (the same definitions as ``GET /api/v1/reports/closure``): one
query reads the facts of the period's needs, grouped in Python for the table, the total and the map. The
charts' data is JSON in a ``<script type="application/json">`` block read by ``static/dashboard.js``
(the Content-Security-Policy runs no inline script); without scripts the tables are the page.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request
from marshmallow import EXCLUDE, ValidationError, fields, validate

from access.auth import signed_in
from access.policy import grid_ids_in_scope
from core.config import zone
from core.database import db_session
from core.exports import XLSX_MIMETYPE
from core.times import local_today
from core.vocab import ARRANGERS, STAFF, Role, ScopeType
from models import User
from pools.grids import grid_features
from web.routes import allow
from workflow import reports
from workflow.reports_api import PeriodArgs

from .assets import vendor_available
from .shell import FormErrors, page, percent

bp = Blueprint("dashboard", __name__)

GROUPING_CHOICES: list[tuple[str, str]] = [(by, reports.GROUPING_LABELS_ZH[by]) for by in reports.GROUPINGS]
COLUMNS = reports.CLOSURE_COLUMNS_WITH_OPEN
ECHARTS = "echarts.min.js"


class DashboardArgs(PeriodArgs):
    """The form: the period (dates included; the last 30 days by default) and the grouping."""

    class Meta:
        unknown = EXCLUDE  # a page's address may carry more (a bookmark's leftovers); they change nothing

    by = fields.String(load_default="grid", validate=validate.OneOf(
        reports.GROUPINGS, error=f"应为以下之一：{'、'.join(reports.GROUPING_LABELS_ZH.values())}"))


@dataclass(frozen=True)
class Choice:
    start: date
    end: date
    by: str

    def query(self, **changes: str) -> str:
        values = {"start": self.start.isoformat(), "end": self.end.isoformat(), "by": self.by, **changes}
        return urlencode(values)


def read_form() -> tuple[Choice | None, dict[str, str], FormErrors]:
    """The form's choice, the values to show back in it, and the reasons by field of a refusal."""
    raw = {name: (request.args.get(name) or "").strip()[:40] for name in ("start", "end", "by")}
    try:
        args = DashboardArgs().load({k: v for k, v in raw.items() if v})
    except ValidationError as exc:
        return None, raw, FormErrors.of(exc.normalized_messages())
    start, end = args["start"], args["end"]
    if start is None or end is None:
        default_start, default_end = reports.default_period(end or local_today(zone()))
        start, end = start or default_start, end or default_end
        if start > end:
            return None, raw, FormErrors({"start": ["开始日期不能晚于结束日期"]})
    choice = Choice(start, end, args["by"])
    return choice, {"start": start.isoformat(), "end": end.isoformat(), "by": choice.by}, FormErrors()


def scope_text(user: User, grid_ids: list[int] | None) -> str:
    if grid_ids is None:
        return "全街道所有网格"
    codes = "、".join(user.scope_codes or [])
    if user.role == Role.REVIEWER or user.scope_type == ScopeType.PARTY_GRID:
        return f"党建网格 {codes}（{len(grid_ids)} 个网格）"
    if user.scope_type == ScopeType.GRID:
        return f"网格 {codes}"
    return "按组织授权的账号：看板按网格统计，没有可显示的网格"


def chart_data(user: User, choice: Choice, report: dict[str, Any], by_grid: list[dict[str, Any]],
               features: dict[str, Any]) -> dict[str, Any]:
    """What dashboard.js draws: the map's GeoJSON with each grid's figures, and the bars of the grouping."""
    figures = {row["key"]: {"created": row["created"], "open": row["open"], "closed": row["closed"],
                            "rate": row["closure_rate"]} for row in by_grid}
    return {
        "by": choice.by,
        "byLabel": reports.GROUPING_LABELS_ZH[choice.by],
        "map": features,
        "grids": figures,
        "bars": [{"key": row["key"], "label": row["label"], "rate": row["closure_rate"], "created": row["created"]}
                 for row in report["rows"]],
        # Only those who work the queue open it from the map; a branch reviewer reads the figures.
        "queue": "/queue?grid=" if user.role in ARRANGERS else None,
    }


def table_cells(row: dict[str, Any]) -> list[str]:
    """A row's cells as the table shows them, after its key and label: counts, the rate as %, hours
    with one decimal; "—" where there is nothing to count."""
    cells = []
    for key, _ in COLUMNS[2:]:
        value = row.get(key)
        if value is None:
            cells.append("—")
        elif key == "closure_rate":
            cells.append(percent(value))
        elif key.endswith("_hours"):
            cells.append(f"{value:.1f}")
        else:
            cells.append(str(value))
    return cells


def render(status: int, *, values: dict[str, str], errors: FormErrors, choice: Choice | None = None,
           **context: Any) -> Any:
    return page("dashboard/index.html", status, title="数据看板", values=values, errors=errors, choice=choice,
                groupings=GROUPING_CHOICES, columns=COLUMNS, echarts=vendor_available(ECHARTS), **context)


@bp.get("/dashboard")
@allow(*STAFF)
def dashboard() -> Any:
    user = signed_in()
    session = db_session()
    choice, values, errors = read_form()
    scope = grid_ids_in_scope(session, user)
    if choice is None:
        return render(422, values=values, errors=errors, scope=scope_text(user, scope))
    facts = reports.need_facts(session, choice.start, choice.end, grid_ids=scope)
    report = reports.closure_report(session, by=choice.by, start=choice.start, end=choice.end, with_open=True,
                                    facts=facts)
    by_grid = report["rows"] if choice.by == "grid" else reports.group_rows(facts, "grid", reports.closure_counts)
    features = grid_features(session, scope)
    table = [(row["key"], row["label"], table_cells(row)) for row in report["rows"]]
    return render(200, values=values, errors=errors, choice=choice, report=report, table=table,
                  total_cells=table_cells(report["total"]),
                  scope=scope_text(user, scope), chart=chart_data(user, choice, report, by_grid, features),
                  tabs=[(by, label, f"/dashboard?{choice.query(by=by)}") for by, label in GROUPING_CHOICES],
                  exports={kind: f"/dashboard/export.{kind}?{choice.query()}" for kind in ("csv", "xlsx")},
                  queue="/queue?grid=" if user.role in ARRANGERS else None)


def _export(kind: str) -> Any:
    user = signed_in()
    session = db_session()
    choice, values, errors = read_form()
    scope = grid_ids_in_scope(session, user)
    if choice is None:
        return render(422, values=values, errors=errors, scope=scope_text(user, scope))
    report = reports.closure_report(session, by=choice.by, start=choice.start, end=choice.end, grid_ids=scope,
                                    with_open=True)
    name = f"closure-{choice.by}-{choice.start}-{choice.end}.{kind}"
    if kind == "csv":
        body, mimetype = reports.closure_csv(report, COLUMNS), "text/csv"
    else:
        body = reports.closure_xlsx(report, COLUMNS, notes=[("范围", scope_text(user, scope))])
        mimetype = XLSX_MIMETYPE
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/dashboard/export.csv")
@allow(*STAFF)
def export_csv() -> Any:
    return _export("csv")


@bp.get("/dashboard/export.xlsx")
@allow(*STAFF)
def export_xlsx() -> Any:
    return _export("xlsx")
