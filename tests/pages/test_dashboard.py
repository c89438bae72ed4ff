"""The dashboard (/dashboard) and its exports: each member of staff sees the figures of their own scope,
with the definitions of workflow.reports; the exports (CSV, XLSX) hold the table's rows; the map's
GeoJSON is the scope's grids; a bad date gives the form back with the reason beside the field."""
from __future__ import annotations

import csv
import html as htmlmod
import io
import json
import re
from datetime import date
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from access.policy import grid_ids_in_scope
from core.vocab import Role
from models import Grid, User
from pages.shell import percent
from pools.grids import update_grid
from tests.factories import make_account, signed_in
from tests.pages.helpers import Browser, field_errors
from tests.workflow.test_reports import needs  # noqa: F401  (the December needs counted by hand)
from workflow.reports import closure_report

DECEMBER = {"start": "2026-12-01", "end": "2026-12-31"}


def square(lng: float) -> dict[str, Any]:
    ring = [[lng, 22.58], [lng + 0.003, 22.58], [lng + 0.003, 22.583], [lng, 22.583], [lng, 22.58]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def world(session: Any, needs: None) -> dict[str, User]:  # noqa: F811
    """The needs of tests.workflow.test_reports (G1, G2 in PG1; G3 in PG2), boundaries on G1–G3 (not G9),
    and one member of staff of each kind."""
    grids = {g.code: g for g in session.scalars(select(Grid))}
    for i, code in enumerate(("G1", "G2", "G3")):
        update_grid(session, grids[code], {"boundary": square(113.88 + 0.003 * i)})
    staff = {
        "admin": make_account(session, Role.ADMIN, "dash-admin"),
        "coord_g1": make_account(session, Role.COORDINATOR, "dash-coord-g1", scope_type="grid", scope_codes=["G1"]),
        "rev_pg2": make_account(session, Role.REVIEWER, "dash-rev-pg2", scope_type="party_grid",
                                scope_codes=["PG2"]),
        "coord_org": make_account(session, Role.COORDINATOR, "dash-coord-org", scope_type="organization",
                                  scope_codes=["V1"]),
    }
    session.commit()
    return staff


def as_user(app: Any, user: User) -> Any:
    return signed_in(app.test_client(), app, user)


def chart_of(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page, re.S)
    assert found, "the page embeds no chart data"
    return json.loads(found.group(1))


def headline(page: str, title: str) -> str:
    found = re.search(rf"<h2>{title}</h2>\s*<p class=\"figure\" data-measure=\"\w+\">([^<]*)</p>", page)
    assert found, title
    return found.group(1)


def table_keys(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"<[^>]+>", "", m).strip() for m in re.findall(r'<th scope="row">(.*?)</th>', body, re.S)]


def get(client: Any, path: str = "/dashboard", **query: str) -> Any:
    return client.get(path, query_string={**DECEMBER, **query})


# --- scope ---------------------------------------------------------------------------------------------

def test_an_admin_sees_every_grid_and_the_total_of_the_reports(app, session, world):
    response = get(as_user(app, world["admin"]))

    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "全街道所有网格" in page
    assert headline(page, "办结率") == "60.0%"  # 3 closed ÷ (6 − 1)
    assert "办结 3 条 ÷（提交 6 条 − 撤销 1 条）" in page
    assert "2026年12月1日至2026年12月31日提交的需求" in page
    assert headline(page, "未办结") == "2 条"  # D unmatched, E proposed
    assert table_keys(page) == ["G1", "G2", "G3"]


def test_a_coordinator_sees_only_the_figures_of_their_grids(app, session, world):
    page = get(as_user(app, world["coord_g1"])).get_data(as_text=True)

    assert "网格 G1" in page
    assert headline(page, "办结率") == "66.7%"  # G1: 2 closed ÷ (4 − 1)
    assert "办结 2 条 ÷（提交 4 条 − 撤销 1 条）" in page
    assert table_keys(page) == ["G1"]
    chart = chart_of(page)
    assert set(chart["grids"]) == {"G1"}
    assert [f["id"] for f in chart["map"]["features"]] == ["G1"]
    assert chart["queue"] == "/queue?grid="
    assert 'href="/queue?grid=G1"' in page


def test_a_branch_reviewer_sees_their_party_grid_and_the_map_opens_no_queue(app, session, world):
    page = get(as_user(app, world["rev_pg2"]), by="party_grid").get_data(as_text=True)

    assert "党建网格 PG2（2 个网格）" in page  # G3 and G9
    assert table_keys(page) == ["PG2"]
    assert headline(page, "办结率") == "100.0%"
    chart = chart_of(page)
    assert [f["id"] for f in chart["map"]["features"]] == ["G3"]  # G9 has no boundary
    assert chart["queue"] is None and "/queue?grid=" not in page


def test_a_coordinator_scoped_to_an_organisation_sees_no_grid(app, session, world):
    page = get(as_user(app, world["coord_org"])).get_data(as_text=True)

    assert "没有可显示的网格" in page
    assert headline(page, "未办结") == "0 条"
    assert chart_of(page)["map"]["features"] == []


def test_grid_ids_in_scope_follows_the_scope_rules(session, world):
    ids = {g.code: g.id for g in session.scalars(select(Grid))}

    assert grid_ids_in_scope(session, world["admin"]) is None
    assert grid_ids_in_scope(session, world["coord_g1"]) == [ids["G1"]]
    assert grid_ids_in_scope(session, world["rev_pg2"]) == sorted([ids["G3"], ids["G9"]])
    assert grid_ids_in_scope(session, world["coord_org"]) == []


def test_residents_and_volunteers_may_not_open_it_and_strangers_are_sent_to_sign_in(app, session, world):
    resident = make_account(session, Role.RESIDENT, "dash-resident")
    session.commit()

    assert as_user(app, resident).get("/dashboard").status_code == 403
    assert as_user(app, resident).get("/dashboard/export.csv").status_code == 403
    anonymous = app.test_client().get("/dashboard/export.xlsx")
    assert anonymous.status_code == 302 and anonymous.location.startswith("/login?next=")


# --- the same figures as the reports ---------------------------------------------------------------------

@pytest.mark.parametrize("by", ["grid", "party_grid", "community", "service", "month"])
def test_the_figures_are_the_closure_reports(app, session, world, by):
    report = closure_report(session, by=by, start=date(2026, 12, 1), end=date(2026, 12, 31))

    page = get(as_user(app, world["admin"]), by=by).get_data(as_text=True)

    assert headline(page, "办结率") == percent(report["total"]["closure_rate"])
    bars = chart_of(page)["bars"]
    assert [(b["key"], b["rate"], b["created"]) for b in bars] == [
        (r["key"], r["closure_rate"], r["created"]) for r in report["rows"]]
    assert table_keys(page) == [r["key"] or "—" for r in report["rows"]]


def test_the_community_grouping_is_in_the_reports_too(session, needs):  # noqa: F811
    report = closure_report(session, by="community", start=date(2026, 12, 1), end=date(2026, 12, 31))

    assert [(r["label"], r["created"], r["closure_rate"]) for r in report["rows"]] == [
        ("上川社区", 1, 1.0), ("海滨社区", 5, 0.5)]


def test_the_map_data_carries_each_grids_figures_and_names(app, session, world):
    chart = chart_of(get(as_user(app, world["admin"]), by="service").get_data(as_text=True))

    assert [f["id"] for f in chart["map"]["features"]] == ["G1", "G2", "G3"]
    assert chart["map"]["features"][0]["properties"]["community"] == "海滨社区"
    assert chart["grids"]["G1"] == {"created": 4, "open": 1, "closed": 2, "rate": 0.6667}
    assert chart["grids"]["G2"] == {"created": 1, "open": 1, "closed": 0, "rate": 0.0}
    assert chart["by"] == "service" and chart["byLabel"] == "服务类型"


# --- exports -------------------------------------------------------------------------------------------

def test_the_csv_export_has_the_scoped_rows_and_a_total(app, session, world):
    response = get(as_user(app, world["coord_g1"]), "/dashboard/export.csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="closure-grid-2026-12-01-2026-12-31.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][:7] == ["网格", "名称", "需求数", "撤销数", "办结数", "未办结数", "办结率"]
    assert [r[0] for r in rows[1:]] == ["G1", "合计"]
    assert rows[1][2:7] == ["4", "1", "2", "1", "66.67%"]


def test_the_xlsx_export_opens_with_numbers_and_the_rate_as_a_percentage(app, session, world):
    response = get(as_user(app, world["admin"]), "/dashboard/export.xlsx", by="party_grid")

    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet = workbook.worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:7] == ["党建网格", "名称", "需求数", "撤销数", "办结数", "未办结数", "办结率"]
    assert [r[0] for r in rows[1:]] == ["PG1", "PG2", "合计"]
    assert rows[1][2:7] == [5, 1, 2, 2, 0.5] and rows[3][6] == 0.6
    assert sheet.cell(row=2, column=7).number_format == "0.0%"
    about = {r[0]: r[1] for r in workbook["说明"].iter_rows(values_only=True)}
    assert str(about["统计期间"]).startswith("2026-12-01 至 2026-12-31") and about["范围"] == "全街道所有网格"


def test_the_exports_follow_the_scope(app, session, world):
    response = get(as_user(app, world["rev_pg2"]), "/dashboard/export.xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).worksheets[0]
    assert [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["G3", "合计"]


def test_the_page_links_its_exports_with_the_same_choice(app, session, world):
    page = htmlmod.unescape(get(as_user(app, world["admin"]), by="month").get_data(as_text=True))

    assert 'href="/dashboard/export.csv?start=2026-12-01&end=2026-12-31&by=month"' in page
    assert 'href="/dashboard/export.xlsx?start=2026-12-01&end=2026-12-31&by=month"' in page


# --- the form ------------------------------------------------------------------------------------------

def test_a_bad_date_gives_the_form_back_with_the_reason_beside_the_field(app, session, world):
    browser = Browser(app).login("dash-admin")

    response = browser.get("/dashboard", query_string={"start": "2026-13-01", "end": "2026-12-31"})

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_errors(page) == ["错误：日期格式应为 YYYY-MM-DD"]
    assert re.search(r'class="field has-error">\s*<label for="f-start">', page)
    assert 'value="2026-13-01"' in page and 'value="2026-12-31"' in page  # the input kept
    assert 'href="#f-start"' in page  # the summary links to the field
    assert "dashboard-data" not in page


def test_an_end_before_the_start_is_refused_on_the_end(app, session, world):
    response = get(as_user(app, world["admin"]), start="2026-12-31", end="2026-12-01")

    assert response.status_code == 422
    assert field_errors(response.get_data(as_text=True)) == ["错误：结束日期不能早于开始日期"]


def test_an_unknown_grouping_is_refused_on_its_field(app, session, world):
    response = get(as_user(app, world["admin"]), by="street")

    assert response.status_code == 422
    [reason] = field_errors(response.get_data(as_text=True))
    assert reason.startswith("错误：应为以下之一：网格、党建网格、社区")


def test_an_export_with_a_bad_date_gives_the_form_back(app, session, world):
    response = get(as_user(app, world["admin"]), "/dashboard/export.xlsx", start="yesterday")

    assert response.status_code == 422 and response.mimetype == "text/html"
    assert field_errors(response.get_data(as_text=True)) == ["错误：日期格式应为 YYYY-MM-DD"]


def test_without_dates_it_counts_the_last_30_days(app, session, world):
    response = as_user(app, world["admin"]).get("/dashboard")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    start, end = re.findall(r'name="(?:start|end)" type="date" value="([^"]*)"', page)
    assert (date.fromisoformat(end) - date.fromisoformat(start)).days == 29


# --- scripts -------------------------------------------------------------------------------------------

def test_only_the_dashboard_loads_echarts_and_its_script_from_this_site(app, session, world, monkeypatch):
    monkeypatch.setattr("pages.dashboard.vendor_available", lambda name: True)
    page = get(as_user(app, world["admin"])).get_data(as_text=True)

    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert [s.split("?")[0] for s in scripts] == ["/static/vendor/echarts.min.js", "/static/dashboard.js",
                                                  "/static/app.js"]
    assert "<script>" not in page  # nothing inline: the data is a JSON block
    assert 'id="dashboard-charts" class="charts" hidden' in page  # shown by the script, never without it

    queue = as_user(app, world["admin"]).get("/queue").get_data(as_text=True)
    assert "echarts" not in queue


def test_without_echarts_installed_the_page_is_its_tables(app, session, world, monkeypatch):
    monkeypatch.setattr("pages.dashboard.vendor_available", lambda name: False)

    page = get(as_user(app, world["admin"])).get_data(as_text=True)

    assert "echarts" not in page and "dashboard.js" not in page
    assert table_keys(page) == ["G1", "G2", "G3"]


def test_the_chart_json_cannot_close_its_script_block(app, session, world):
    grid = session.scalar(select(Grid).where(Grid.code == "G1"))
    grid.name = "</script><script>alert(1)</script>"
    session.commit()

    page = get(as_user(app, world["admin"])).get_data(as_text=True)

    assert "<script>alert(1)" not in page
    assert chart_of(page)["map"]["features"][0]["properties"]["name"] == "</script><script>alert(1)</script>"


def test_a_name_a_spreadsheet_would_run_is_kept_as_text_in_the_xlsx(app, session, world):
    grid = session.scalar(select(Grid).where(Grid.code == "G1"))
    grid.name = '=HYPERLINK("http://example.com","点我")'
    session.commit()

    response = get(as_user(app, world["admin"]), "/dashboard/export.xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).worksheets[0]
    cell = sheet.cell(row=2, column=2)
    assert cell.value == '=HYPERLINK("http://example.com","点我")'
    assert cell.data_type == "s" and cell.quotePrefix  # text, shown as typed, never a formula


# --- the reports' percentiles ---------------------------------------------------------------------------

def test_the_percentiles_are_numpys_to_the_last_bit():
    import random

    import numpy as np

    from workflow.reports import percentile

    rng = random.Random(5)
    for _ in range(3000):
        values = [rng.choice([rng.uniform(0, 300), rng.expovariate(0.05), float(rng.randint(0, 48))])
                  for _ in range(rng.randint(1, 40))]
        for q in (0, 50, 90, 100):
            assert percentile(values, q) == float(np.percentile(np.asarray(values), q)), (values, q)
