"""HTTP side of reports and the grid council agenda.

    GET /api/v1/reports/closure?by=grid|party_grid|service|month&start=&end=[&format=csv]
    GET /api/v1/reports/volunteer-hours?start=&end=[&format=csv]
    GET /api/v1/council/<party_grid_code>?start=&end=      the agenda as JSON
    GET /council/<party_grid_code>?start=&end=             the printable agenda (网格议事会议程)

Reports are aggregates, so any signed-in user may read them; an agenda names needs, so only the
Party grid's branch reviewers, its coordinators and admins may.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, render_template, request
from marshmallow import ValidationError, fields, validate, validates_schema

from access.auth import signed_in
from access.policy import may_see_agenda, report_subdistrict
from core.config import zone
from core.database import db_session
from core.errors import Forbidden
from core.times import local_today, utcnow
from web.openapi import documented
from web.routes import SIGNED_IN, allow
from web.schemas import StrictSchema

from . import council, reports

bp = Blueprint("reports", __name__, template_folder="templates")

FORMATS = ("json", "csv")
_DATE_ERRORS: dict[str, Any] = {"invalid": "日期格式应为 YYYY-MM-DD", "format": "日期格式应为 YYYY-MM-DD"}


# Reports speak of this century; a date far outside it is a typo (and would overflow the clock).
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
_IN_RANGE = validate.Range(min=EARLIEST, max=LATEST, error=f"日期应在 {EARLIEST} 到 {LATEST} 之间")


class PeriodArgs(StrictSchema):
    start = fields.Date(load_default=None, error_messages=_DATE_ERRORS, validate=_IN_RANGE,
                        metadata={"description": "开始日期 YYYY-MM-DD（含），默认最近 30 天"})
    end = fields.Date(load_default=None, error_messages=_DATE_ERRORS, validate=_IN_RANGE,
                      metadata={"description": "结束日期 YYYY-MM-DD（含），默认今天"})

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise ValidationError({"end": ["结束日期不能早于开始日期"]})


class ClosureArgs(PeriodArgs):
    by = fields.String(load_default="grid", validate=validate.OneOf(
        reports.GROUPINGS, error=f"应为以下之一：{'、'.join(reports.GROUPINGS)}"),
        metadata={"description": "分组：grid 网格、party_grid 党建网格、community 社区、service 服务类型、month 月份"})
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS, error="应为 json 或 csv"))


class VolunteerHoursArgs(PeriodArgs):
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS, error="应为 json 或 csv"))


def _args(schema: StrictSchema) -> tuple[dict[str, Any], date, date]:
    args = schema.load(request.args.to_dict())
    start, end = args["start"], args["end"]
    if start is None or end is None:
        default_start, default_end = reports.default_period(end or local_today(zone()))
        start, end = start or default_start, end or default_end
        if start > end:
            raise ValidationError({"start": ["开始日期不能晚于结束日期"]})
    return args, start, end


def _csv(body: bytes, name: str) -> Response:
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@bp.get("/api/v1/reports/closure")
@allow(*SIGNED_IN)
@documented("办结率与匹配、办结用时（按网格、党建网格、服务类型或月份）", query=ClosureArgs, tag="reports")
def closure() -> Any:
    args, start, end = _args(ClosureArgs())
    session = db_session()
    # Only the user's subdistrict's figures (the city's for its admins).
    grids = reports.subdistrict_grid_ids(session, report_subdistrict(signed_in()))
    report = reports.closure_report(session, by=args["by"], start=start, end=end, grid_ids=grids)
    if args["format"] == "csv":
        return _csv(reports.closure_csv(report), f"closure-{args['by']}-{start}-{end}")
    return report


@bp.get("/api/v1/reports/volunteer-hours")
@allow(*SIGNED_IN)
@documented("志愿服务时长（按志愿者）", query=VolunteerHoursArgs, tag="reports")
def volunteer_hours() -> Any:
    args, start, end = _args(VolunteerHoursArgs())
    report = reports.volunteer_hours_report(db_session(), start=start, end=end,
                                            subdistrict_id=report_subdistrict(signed_in()))
    if args["format"] == "csv":
        return _csv(reports.volunteer_hours_csv(report), f"volunteer-hours-{start}-{end}")
    return report


def _agenda(code: str) -> dict[str, Any]:
    user = signed_in()
    _, start, end = _args(PeriodArgs())
    session = db_session()
    council.party_grid_by_code(session, code)  # 404 before 403: Party grid codes are public
    if not may_see_agenda(session, user, code):
        raise Forbidden("无权查看该党建网格的议事会议程")
    return council.agenda(session, code, start, end, utcnow())


@bp.get("/api/v1/council/<code>")
@allow(*SIGNED_IN)
@documented("网格议事会议程（上报议事会、逾期、缺少的技能、负担过重的服务方、办结率）", query=PeriodArgs,
            tag="reports")
def council_json(code: str) -> Any:
    return _agenda(code)


@bp.get("/council/<code>")
@allow(*SIGNED_IN)
def council_page(code: str) -> Any:
    return render_template("council.html", agenda=_agenda(code))
