"""Reports: closure rate, time to match and to close, volunteer hours; figures checked by hand."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.factories import error_of, make_account, make_map, make_volunteer, signed_in
from tests.workflow.test_sla import fail_match, propose, serve, submit
from workflow.reports import closure_rate, closure_report, percentile_hours, volunteer_hours_report
from workflow.service import apply_action

T0 = datetime(2026, 12, 1, 9, 0)
DECEMBER = {"start": "2026-12-01", "end": "2026-12-31"}
CLOSURE = "/api/v1/reports/closure"
HOURS = "/api/v1/reports/volunteer-hours"


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


@pytest.fixture
def needs(session: Any) -> None:
    """December, by hand:
    G1  A matched in 1 h, closed in 10 h (2.5 h by V1); B matched in 3 h, closed in 30 h (1.5 h by V1);
        C cancelled; D unmatched.
    G2  E matched in 5 h, not closed.
    G3  F (public, PG2) matched in 4 h, closed in 50 h (3 h by V2).
    November: G in G1, closed. Not in December's figures."""
    make_map(session)
    v1 = make_volunteer(session, ref="V1", name="张小明", capacity=9)
    v2 = make_volunteer(session, ref="V2", name="李大姐", capacity=9, phone="13800138001", grid="G3")
    staff = make_account(session, "admin", "admin-reports")
    resident = make_account(session, "resident", "resident-reports")

    a = serve(session, submit(session, "A", at=T0), v1, staff, proposed=T0 + h(1), done=T0 + h(8), hours=2.5)
    a.resident_id = resident.id
    apply_action(session, a, "confirm", resident, rating=5, now=T0 + h(10))
    b = serve(session, submit(session, "B", at=T0), v1, staff, proposed=T0 + h(3), done=T0 + h(20), hours=1.5)
    apply_action(session, b, "auto_close", None, now=T0 + h(30))
    apply_action(session, submit(session, "C", at=T0), "cancel", staff, now=T0 + h(1))
    fail_match(session, submit(session, "D", at=T0), at=T0 + h(1))
    e = submit(session, "E", at=T0 + h(24), grid="G2")
    propose(session, e, v2, at=T0 + h(29))
    f = serve(session, submit(session, "F", at=T0 + h(48), grid="G3", service="public"), v2, staff,
              proposed=T0 + h(52), done=T0 + h(90), hours=3.0)
    apply_action(session, f, "auto_close", None, now=T0 + h(98))
    november = datetime(2026, 11, 20, 9, 0)
    g = serve(session, submit(session, "G", at=november), v1, staff, proposed=november + h(2),
              done=november + h(6), hours=8.0)
    apply_action(session, g, "auto_close", None, now=november + h(12))
    session.commit()


def rows_by_key(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in report["rows"]}


# --- the figures ----------------------------------------------------------------------------------------

def test_closure_rate_and_times_by_grid_are_what_we_count_by_hand(session, needs):
    report = closure_report(session, by="grid", start=date(2026, 12, 1), end=date(2026, 12, 31))

    rows = rows_by_key(report)
    assert list(rows) == ["G1", "G2", "G3"]
    assert rows["G1"] == {"key": "G1", "label": "海滨社区第1网格", "created": 4, "cancelled": 1, "closed": 2,
                          "closure_rate": 0.6667, "match_median_hours": 2.0, "match_p90_hours": 2.8,
                          "close_median_hours": 20.0, "close_p90_hours": 28.0}
    g2 = rows["G2"]
    assert (g2["closure_rate"], g2["match_median_hours"], g2["close_median_hours"]) == (0.0, 5.0, None)
    assert (rows["G3"]["closure_rate"], rows["G3"]["close_median_hours"]) == (1.0, 50.0)


def test_the_total_counts_every_need_of_the_period_once(session, needs):
    total = closure_report(session, by="grid", start=date(2026, 12, 1), end=date(2026, 12, 31))["total"]

    assert (total["created"], total["cancelled"], total["closed"], total["closure_rate"]) == (6, 1, 3, 0.6)
    assert (total["match_median_hours"], total["match_p90_hours"]) == (3.5, 4.7)  # 1, 3, 4, 5
    assert (total["close_median_hours"], total["close_p90_hours"]) == (30.0, 46.0)  # 10, 30, 50


def test_figures_group_by_party_grid_service_and_month(session, needs):
    def rates(by: str, start: date = date(2026, 12, 1)) -> dict[str, Any]:
        report = closure_report(session, by=by, start=start, end=date(2026, 12, 31))
        return {k: (r["label"], r["created"], r["closure_rate"]) for k, r in rows_by_key(report).items()}

    assert rates("party_grid") == {"PG1": ("PG1", 5, 0.5), "PG2": ("PG2", 1, 1.0)}
    assert rates("service") == {"public": ("公共服务", 1, 1.0), "volunteer": ("志愿服务", 5, 0.5)}
    assert rates("month", date(2026, 11, 1)) == {
        "2026-11": ("2026年11月", 1, 1.0), "2026-12": ("2026年12月", 6, 0.6)}


def test_volunteer_hours_are_summed_by_the_accepted_volunteer_for_needs_done_in_the_period(session, needs):
    report = volunteer_hours_report(session, start=date(2026, 12, 1), end=date(2026, 12, 31))

    assert [(r["ref"], r["needs"], r["hours"]) for r in report["rows"]] == [("V1", 2, 4.0), ("V2", 1, 3.0)]
    assert report["total_hours"] == 7.0


def test_percentiles_interpolate_between_the_values_as_numpy_does():
    assert percentile_hours([1.0, 3.0], 50) == 2.0
    assert percentile_hours([10.0, 30.0, 50.0], 90) == 46.0
    assert percentile_hours([], 50) is None


def test_a_period_whose_needs_were_all_cancelled_has_no_closure_rate():
    assert closure_rate(created=2, cancelled=2, closed=0) is None
    assert closure_rate(created=3, cancelled=0, closed=3) == 1.0


# --- over HTTP --------------------------------------------------------------------------------------------

@pytest.fixture
def reader(app, session, needs):  # type: ignore[no-untyped-def]
    """Reports are aggregates: a resident may read them."""
    user = make_account(session, "resident", "resident-reader")
    session.commit()
    return signed_in(app.test_client(), app, user)


def test_the_closure_report_answers_json_rows_by_the_grouping_asked(reader):
    response = reader.get(CLOSURE, query_string={"by": "party_grid", **DECEMBER})

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["by"] == "party_grid" and body["start"] == "2026-12-01"
    assert [(r["key"], r["closure_rate"]) for r in body["rows"]] == [("PG1", 0.5), ("PG2", 1.0)]


def test_the_closure_report_as_csv_has_a_bom_chinese_headers_and_a_total_row(reader):
    response = reader.get(CLOSURE, query_string={"by": "grid", "format": "csv", **DECEMBER})

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert table[0][:7] == ["网格", "名称", "需求数", "撤销数", "办结数", "办结率", "匹配用时中位数(小时)"]
    assert table[1][:7] == ["G1", "海滨社区第1网格", "4", "1", "2", "66.67%", "2.0"]
    assert table[-1][0] == "合计" and table[-1][5] == "60.00%"
    assert "attachment" in response.headers["Content-Disposition"]


def test_volunteer_hours_come_as_json_or_csv(reader):
    body = reader.get(HOURS, query_string=DECEMBER).get_json()
    table = list(csv.reader(io.StringIO(
        reader.get(HOURS, query_string={"format": "csv", **DECEMBER}).data.decode("utf-8-sig"))))

    assert [r["ref"] for r in body["rows"]] == ["V1", "V2"] and body["total_hours"] == 7.0
    assert table[0] == ["志愿者编号", "姓名", "所在网格", "服务次数", "服务时长(小时)"]
    assert table[1] == ["V1", "张小明", "G1", "2", "4.0"]


@pytest.mark.parametrize("query,field", [
    ({"by": "street"}, "by"),
    ({"start": "2026-02-30"}, "start"),
    ({"end": "yesterday"}, "end"),
    ({"start": "2026-12-31", "end": "2026-12-01"}, "end"),
    ({"format": "xlsx"}, "format"),
    ({"colour": "red"}, "colour"),
])
def test_a_bad_query_answers_422_naming_the_field(reader, query, field):
    error = error_of(reader.get(CLOSURE, query_string=query), 422, "validation_error")

    assert list(error["fields"]) == [field]


def test_reports_need_a_login(app, needs):
    error_of(app.test_client().get(CLOSURE), 401, "unauthorized")
    error_of(app.test_client().get(HOURS), 401, "unauthorized")


# --- days of the subdistrict, not of Greenwich ---------------------------------------------------------

def test_a_day_of_a_report_is_a_day_in_the_subdistricts_time_zone(session):
    make_map(session)
    # 2026-12-01 17:30 UTC is 2 December 01:30 in Shenzhen; 15:30 UTC is still 1 December 23:30 there.
    submit(session, "LATE", at=datetime(2026, 12, 1, 15, 30))
    submit(session, "AFTER-MIDNIGHT", at=datetime(2026, 12, 1, 17, 30))
    session.flush()

    first = closure_report(session, by="grid", start=date(2026, 12, 1), end=date(2026, 12, 1))
    second = closure_report(session, by="grid", start=date(2026, 12, 2), end=date(2026, 12, 2))

    assert (first["total"]["created"], second["total"]["created"]) == (1, 1)


def test_the_month_of_a_need_is_its_month_in_the_subdistrict(session):
    make_map(session)
    submit(session, "NEW-YEAR", at=datetime(2026, 12, 31, 18, 0))  # 1 January 02:00 in Shenzhen
    session.flush()

    report = closure_report(session, by="month", start=date(2026, 12, 1), end=date(2027, 1, 31))

    assert [(r["key"], r["label"], r["created"]) for r in report["rows"]] == [("2027-01", "2027年1月", 1)]


# --- spreadsheet safety: names typed by people never run as formulas --------------------------------------

@pytest.fixture
def formula_names(session: Any) -> None:
    """A grid named ``@SUM(A1)`` whose need was served for 2 h by a volunteer named ``=1+1``."""
    from pools.grids import create_grid

    make_map(session)
    create_grid(session, {"code": "GX", "name": "@SUM(A1)", "community": "海滨社区", "party_grid": "PG1",
                          "neighbors": []})
    volunteer = make_volunteer(session, ref="VX", name="=1+1", grid="GX")
    staff = make_account(session, "admin", "admin-formulas")
    serve(session, submit(session, "NX", at=T0, grid="GX"), volunteer, staff, proposed=T0 + h(1),
          done=T0 + h(3), hours=2.0)
    session.commit()


def csv_table(response: Any) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_a_grid_name_excel_would_run_as_a_formula_is_defused_in_the_closure_csv(client, formula_names):
    table = csv_table(client.get(CLOSURE, query_string={"by": "grid", "format": "csv", **DECEMBER}))

    assert ["GX", "'@SUM(A1)"] in [row[:2] for row in table]


def test_a_volunteer_name_excel_would_run_as_a_formula_is_defused_in_the_hours_csv(client, formula_names):
    table = csv_table(client.get(HOURS, query_string={"format": "csv", **DECEMBER}))

    assert table[1] == ["VX", "'=1+1", "GX", "1", "2.0"]
