"""Importing the grid map and the pools from files: the service (pools.imports.import_file) and
POST /api/v1/import/<kind>. The command line is in test_import_cli.py."""
from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select

from models import Grid, Need, Resource, Volunteer
from pools.imports import NeedIntake, import_file
from pools.schemas import GridOut, ResourceOut, VolunteerOut
from pools.tabular import IMPORT_COLUMNS, TEMPLATES_DIR, read_table
from tests.factories import (
    csv_bytes,
    error_of,
    make_account,
    make_map,
    make_volunteer,
    signed_in,
    table_counts,
    xlsx_bytes,
)

KINDS_IN_ORDER = ("grids", "resources", "volunteers", "needs")

GRID_HEADER = list(IMPORT_COLUMNS["grids"].required)
GRID_ROWS = [
    ["G1", "海滨一网格", "海滨社区", "PG1", "G2"],  # G2 does not name G1: the import links both sides
    ["G2", "海滨二网格", "海滨社区", "PG1", ""],
    ["G3", "上川一网格", "上川社区", "PG2", "G2"],
]
VOLUNTEER_HEADER = list(IMPORT_COLUMNS["volunteers"].required)
VOLUNTEER_ROWS = [
    ["V1", "张晓明", "个人", "13800138000", "G1", "陪诊;买菜；理发、读报", "志愿服务", "周六至周日 09:00-12:00", "2",
     "自治力量", "是", "退休教师，熟悉辖区独居老人"],
    ["V2", "启航社工服务中心", "组织", "0755-27881234", "G2", "心理咨询;家庭调解", "社会服务；志愿服务",
     "mon-fri 09:00-18:00", "10", "共建力量", "否", "驻海滨社区党群服务中心社工站"],
    ["V3", "李敏", "个人", "13912345678", "G3", "法律咨询、劳动纠纷", "社会服务", "tue 14:00-17:00;thu 14:00-17:00", "3",
     "专业", "1", "执业律师"],
]
NEED_HEADER = list(IMPORT_COLUMNS["needs"].required) + ["service"]


def stub_classify(texts: list[str]) -> list[tuple[str, float]]:
    """Stands in for the classifier (matching.classifier, not needed to test the import)."""
    return [("volunteer", 0.5) for _ in texts]


def import_csv(session: Any, kind: str, header: list[str], rows: list[list[Any]],
               **kwargs: Any):  # type: ignore[no-untyped-def]
    return import_file(session, kind, csv_bytes(header, rows), f"{kind}.csv", **kwargs)


def import_template(session: Any, kind: str):  # type: ignore[no-untyped-def]
    path = TEMPLATES_DIR / f"{kind}.csv"
    return import_file(session, kind, path.read_bytes(), path.name, intake=NeedIntake(classify=stub_classify))


def volunteers_as_the_api_shows_them(session: Any) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(Volunteer).order_by(Volunteer.ref))
    hidden = ("id", "created_at", "updated_at")  # differ between two imports of the same row
    return {v.ref: {k: val for k, val in VolunteerOut().dump(v).items() if k not in hidden} for v in rows}


def volunteers_imported_from(session: Any, data: bytes, filename: str) -> dict[str, dict[str, Any]]:
    """The volunteers that ``data`` creates, as the API shows them; the import is then undone."""
    nested = session.begin_nested()
    report = import_file(session, "volunteers", data, filename)
    assert report.imported and report.created == len(VOLUNTEER_ROWS), report.to_dict()
    shown = volunteers_as_the_api_shows_them(session)
    nested.rollback()
    return shown


@pytest.fixture
def grids_imported(session: Any) -> None:
    report = import_csv(session, "grids", GRID_HEADER, GRID_ROWS)
    assert report.imported and not report.errors, report.to_dict()


# --- the shipped templates ----------------------------------------------------------------------

def test_the_templates_import_cleanly_in_order_grids_resources_volunteers_needs(session):
    for kind in KINDS_IN_ORDER:
        report = import_template(session, kind)

        assert report.imported and report.errors == [] and report.rejected_rows == [], report.to_dict()
        assert report.created == report.rows == len(read_table((TEMPLATES_DIR / f"{kind}.csv").read_bytes(),
                                                                f"{kind}.csv").rows)
    counts = table_counts(session)
    assert (counts["grids"], counts["resources"], counts["volunteers"], counts["needs"]) == (3, 3, 3, 3)


def test_the_templates_give_readable_values(session):
    for kind in KINDS_IN_ORDER:
        import_template(session, kind)

    r001 = session.scalar(select(Resource).where(Resource.ref == "R001"))
    v001 = session.scalar(select(Volunteer).where(Volunteer.ref == "V001"))
    n002 = session.scalar(select(Need).where(Need.ref == "N002"))
    assert r001.covers_all and r001.service == "public" and r001.skills == ["社保", "医保", "养老金"]
    assert "mon 09:00-12:00" in r001.hours and "fri 14:00-17:30" in r001.hours
    assert (v001.name, v001.kind, v001.force, v001.party_member) == ("张晓明", "person", "selfgov", True)
    assert v001.availability == ["sat 09:00-17:00", "sun 09:00-17:00"]
    assert (n002.service, n002.service_confidence, n002.urgency) == ("public", None, "high")


def test_needs_without_a_service_are_given_the_classifiers_answer(session):
    for kind in KINDS_IN_ORDER:
        import_template(session, kind)

    n001 = session.scalar(select(Need).where(Need.ref == "N001"))
    assert (n001.service, n001.service_confidence) == ("volunteer", 0.5)


def test_needs_that_all_name_their_service_never_call_the_classifier(session):
    import_template(session, "grids")

    def no_classifier(texts: list[str]) -> list[tuple[str, float]]:
        raise AssertionError(f"the classifier was called for {texts}")
    rows = [["N1", "楼道外路灯坏了一个多月", "G001", "较急", "", "13700137000", "公共服务"]]

    report = import_file(session, "needs", csv_bytes(NEED_HEADER, rows), "needs.csv", intake=NeedIntake(classify=no_classifier))

    assert report.imported and report.created == 1


# --- importing twice changes nothing --------------------------------------------------------------

def test_importing_the_templates_twice_leaves_the_same_rows(session):
    for kind in KINDS_IN_ORDER:
        import_template(session, kind)
    before = table_counts(session)
    shown = volunteers_as_the_api_shows_them(session)

    again = [import_template(session, kind) for kind in KINDS_IN_ORDER]

    assert [(r.created, r.updated, r.unchanged) for r in again] == [(0, 0, r.rows) for r in again]
    assert table_counts(session) == before
    assert volunteers_as_the_api_shows_them(session) == shown


def test_importing_a_changed_row_updates_that_row_only(session, grids_imported):
    import_csv(session, "volunteers", VOLUNTEER_HEADER, VOLUNTEER_ROWS)
    changed = [row[:] for row in VOLUNTEER_ROWS]
    changed[2][8] = "5"  # V3's capacity

    report = import_csv(session, "volunteers", VOLUNTEER_HEADER, changed)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    assert session.scalar(select(Volunteer.capacity).where(Volunteer.ref == "V3")) == 5


def test_neighbours_named_on_one_side_of_the_file_are_linked_on_both(session, grids_imported):
    grids = {g.code: GridOut().dump(g)["neighbors"] for g in session.scalars(select(Grid))}

    assert grids == {"G1": ["G2"], "G2": ["G1", "G3"], "G3": ["G2"]}


# --- the same file in another encoding or format ---------------------------------------------------

def test_a_gbk_file_imports_the_same_as_its_utf8_twin(session, grids_imported):
    utf8 = volunteers_imported_from(session, csv_bytes(VOLUNTEER_HEADER, VOLUNTEER_ROWS), "volunteers.csv")
    gbk = volunteers_imported_from(session, csv_bytes(VOLUNTEER_HEADER, VOLUNTEER_ROWS, "gbk"), "v.csv")

    assert gbk == utf8
    assert utf8["V1"]["name"] == "张晓明" and utf8["V3"]["skills"] == ["法律咨询", "劳动纠纷"]


def test_a_utf8_file_with_a_bom_imports_the_same_as_without(session, grids_imported):
    plain = volunteers_imported_from(session, csv_bytes(VOLUNTEER_HEADER, VOLUNTEER_ROWS), "volunteers.csv")
    bom = volunteers_imported_from(session, csv_bytes(VOLUNTEER_HEADER, VOLUNTEER_ROWS, "utf-8-sig"), "v.csv")

    assert bom == plain


def test_an_xlsx_file_imports_the_same_as_its_csv_twin(session, grids_imported):
    # Excel keeps numbers and booleans typed: a phone or a capacity arrives as a number.
    typed = [[*row[:3], int(row[3]) if row[3].isdigit() else row[3], *row[4:8], int(row[8]), *row[9:]]
             for row in VOLUNTEER_ROWS]
    typed[0][10] = True

    csv_rows = volunteers_imported_from(session, csv_bytes(VOLUNTEER_HEADER, VOLUNTEER_ROWS), "v.csv")
    xlsx_rows = volunteers_imported_from(session, xlsx_bytes(VOLUNTEER_HEADER, typed), "volunteers.xlsx")

    assert xlsx_rows == csv_rows


def test_a_twin_imported_after_the_original_changes_nothing(session, grids_imported):
    import_csv(session, "volunteers", VOLUNTEER_HEADER, VOLUNTEER_ROWS)

    report = import_file(session, "volunteers", csv_bytes(VOLUNTEER_HEADER, VOLUNTEER_ROWS, "gbk"), "v.csv")

    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)


# --- cells ----------------------------------------------------------------------------------------

def test_multi_valued_cells_split_on_every_separator(session, grids_imported):
    import_csv(session, "volunteers", VOLUNTEER_HEADER, VOLUNTEER_ROWS)

    by_ref = volunteers_as_the_api_shows_them(session)
    assert by_ref["V1"]["skills"] == ["陪诊", "买菜", "理发", "读报"]  # ; ； 、
    assert by_ref["V2"]["services"] == ["social", "volunteer"]
    assert by_ref["V3"]["availability"] == ["tue 14:00-17:00", "thu 14:00-17:00"]


def test_a_resource_covers_the_grids_its_cell_lists_or_every_grid_for_a_star(session, grids_imported):
    header = list(IMPORT_COLUMNS["resources"].required)
    rows = [["R1", "社保窗口", "受理中心", "公共服务", "*", "20", "社保", "", ""],
            ["R2", "调解室", "调解中心", "public", "G1；G3、G2", "5", "调解", "", "mon-fri 09:00-17:00"]]

    report = import_csv(session, "resources", header, rows)

    assert report.imported, report.to_dict()
    shown = {r.ref: ResourceOut().dump(r)["grids"] for r in session.scalars(select(Resource))}
    assert shown == {"R1": ["*"], "R2": ["G1", "G2", "G3"]}


@pytest.mark.parametrize(("cell", "value"), [
    ("是", True), ("否", False), ("1", True), ("0", False), ("true", True), ("FALSE", False), ("yes", True),
    ("no", False), ("", False),
])
def test_yes_no_cells_read_as_booleans(session, cell, value):
    row = ["V1", "王芳", "个人", "", "", "", "志愿服务", "", "1", "自治力量", cell, ""]

    report = import_csv(session, "volunteers", VOLUNTEER_HEADER, [row])

    assert report.imported, report.to_dict()
    assert session.scalar(select(Volunteer.party_member).where(Volunteer.ref == "V1")) is value


def test_a_yes_no_cell_that_is_neither_is_refused(session):
    row = ["V1", "王芳", "个人", "", "", "", "志愿服务", "", "1", "自治力量", "也许", ""]

    report = import_csv(session, "volunteers", VOLUNTEER_HEADER, [row])

    assert not report.imported
    assert [(e.row, e.column) for e in report.errors] == [(2, "party_member")]


# --- a bad row ------------------------------------------------------------------------------------

def bad_volunteer_rows() -> list[list[str]]:
    rows = [row[:] for row in VOLUNTEER_ROWS]
    rows[1][4] = "G999"  # file row 3 (the header is row 1)
    return rows


def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row_column_and_reason(session, grids_imported):
    before = table_counts(session)

    report = import_csv(session, "volunteers", VOLUNTEER_HEADER, bad_volunteer_rows())

    assert report.imported is False and report.created == 0
    assert [(e.row, e.column, e.reason) for e in report.errors] == [(3, "grid", "未知网格编码 G999")]
    assert str(report.errors[0]) == "第 3 行，列 grid：未知网格编码 G999"
    assert table_counts(session) == before


def test_every_bad_cell_of_a_row_is_reported(session):
    row = ["V1", "", "机器人", "12345", "", "", "志愿服务", "someday", "很多", "自治力量", "是", ""]

    report = import_csv(session, "volunteers", VOLUNTEER_HEADER, [row])

    assert {e.column for e in report.errors} == {"name", "kind", "phone", "availability", "capacity"}
    assert {e.row for e in report.errors} == {2}


def test_a_ref_repeated_in_the_file_is_refused_naming_the_first_row(session, grids_imported):
    rows = [*VOLUNTEER_ROWS, [*VOLUNTEER_ROWS[0][:1], "张三", *VOLUNTEER_ROWS[0][2:]]]

    report = import_csv(session, "volunteers", VOLUNTEER_HEADER, rows)

    assert not report.imported
    assert [(e.row, e.column) for e in report.errors] == [(5, "ref")] and "第 2 行" in report.errors[0].reason


def test_a_missing_column_is_reported_and_nothing_is_imported(session):
    header = [c for c in VOLUNTEER_HEADER if c != "services"]
    rows = [[v for c, v in zip(VOLUNTEER_HEADER, VOLUNTEER_ROWS[0]) if c != "services"]]

    report = import_csv(session, "volunteers", header, rows)

    assert not report.imported and ("services", "缺少必需的列") in [(e.column, e.reason) for e in report.errors]
    assert table_counts(session)["volunteers"] == 0


def test_skip_invalid_imports_the_good_rows_and_keeps_the_bad_for_the_rejects_file(session, grids_imported):
    report = import_csv(session, "volunteers", VOLUNTEER_HEADER, bad_volunteer_rows(), skip_invalid=True)

    assert report.imported and report.created == 2
    assert [(row.number, row.values["ref"]) for row, _ in report.rejected_rows] == [(3, "V2")]
    assert sorted(session.scalars(select(Volunteer.ref))) == ["V1", "V3"]


# --- probable duplicates ----------------------------------------------------------------------------

DUPLICATE_ROWS = [
    ["V1", "张晓明", "个人", "13800138000", "", "陪诊", "志愿服务", "", "1", "自治力量", "是", ""],
    ["V2", "张小明", "个人", "13800138001", "", "买菜", "志愿服务", "", "1", "自治力量", "否", ""],
    ["V3", "李敏", "个人", "13912345678", "", "法律咨询", "社会服务", "", "1", "专业力量", "否", ""],
]


def test_probable_duplicates_in_a_file_are_reported_and_not_merged(session):
    report = import_csv(session, "volunteers", VOLUNTEER_HEADER, DUPLICATE_ROWS)

    assert report.imported and report.created == 3
    assert [(a, b) for a, b, _ in report.duplicates] == [("V1", "V2")]
    assert "张晓明" in report.duplicates[0][2] and "张小明" in report.duplicates[0][2]
    assert sorted(session.scalars(select(Volunteer.name))) == ["张小明", "张晓明", "李敏"]


def test_a_probable_duplicate_of_a_volunteer_already_in_the_pool_is_reported(session, app):
    make_map(session)
    make_volunteer(session, ref="V0", name="张小明", phone="13800138001")

    report = import_csv(session, "volunteers", VOLUNTEER_HEADER, DUPLICATE_ROWS[:1])

    assert report.imported and report.created == 1
    assert [{a, b} for a, b, _ in report.duplicates] == [{"V0", "V1"}]
    assert table_counts(session)["volunteers"] == 2


# --- the HTTP endpoint --------------------------------------------------------------------------

IMPORT = "/api/v1/import"


@pytest.fixture
def api(app, client, session):  # type: ignore[no-untyped-def]
    """The test client signed in as an administrator: only admins import."""
    admin = make_account(session, "admin")
    session.commit()
    return signed_in(client, app, admin)


def upload(api: Any, kind: str, data: bytes, filename: str | None = None, **query: Any) -> Any:
    return api.post(f"{IMPORT}/{kind}", query_string=query, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(data), filename or f"{kind}.csv")})


def test_uploading_the_templates_imports_them_and_reports_the_counts(api):
    for kind in ("grids", "resources", "volunteers"):
        response = upload(api, kind, (TEMPLATES_DIR / f"{kind}.csv").read_bytes())

        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert (body["kind"], body["imported"], body["created"], body["errors"]) == (kind, True, 3, [])
    assert api.get("/api/v1/volunteers/search", query_string={"q": "张晓明"}).get_json()["items"]


def test_uploading_the_same_file_twice_reports_every_row_unchanged(api):
    data = csv_bytes(GRID_HEADER, GRID_ROWS)
    upload(api, "grids", data)

    body = upload(api, "grids", data).get_json()

    assert (body["created"], body["updated"], body["unchanged"]) == (0, 0, 3)


def test_an_uploaded_gbk_file_gives_the_same_api_output_as_its_utf8_twin(api):
    upload(api, "grids", csv_bytes(GRID_HEADER, GRID_ROWS, "gbk"))
    from_gbk = api.get("/api/v1/grids").get_json()

    body = upload(api, "grids", csv_bytes(GRID_HEADER, GRID_ROWS)).get_json()

    assert body["unchanged"] == 3
    assert api.get("/api/v1/grids").get_json() == from_gbk
    assert [g["community"] for g in from_gbk["items"]] == ["海滨社区", "海滨社区", "上川社区"]


def test_an_uploaded_file_with_a_bad_row_is_a_422_with_the_report_and_imports_nothing(api, connection):
    upload(api, "grids", csv_bytes(GRID_HEADER, GRID_ROWS))
    before = table_counts(connection)

    error = error_of(upload(api, "volunteers", csv_bytes(VOLUNTEER_HEADER, bad_volunteer_rows())), 422,
                     "import_rejected")

    assert error["report"]["errors"] == [{"row": 3, "column": "grid", "reason": "未知网格编码 G999",
                                          "message": "第 3 行，列 grid：未知网格编码 G999"}]
    assert table_counts(connection) == before


def test_an_upload_with_skip_invalid_imports_the_good_rows(api):
    upload(api, "grids", csv_bytes(GRID_HEADER, GRID_ROWS))

    data = csv_bytes(VOLUNTEER_HEADER, bad_volunteer_rows())

    body = upload(api, "volunteers", data, skip_invalid=1).get_json()

    assert (body["imported"], body["created"], body["rejected"]) == (True, 2, 1)
    assert api.get("/api/v1/volunteers").get_json()["total"] == 2


def test_an_upload_may_ask_for_the_rejected_rows_as_a_csv_with_an_error_column(api):
    upload(api, "grids", csv_bytes(GRID_HEADER, GRID_ROWS))

    response = upload(api, "volunteers", csv_bytes(VOLUNTEER_HEADER, bad_volunteer_rows()), skip_invalid=1,
                      rejects="csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    rejects = read_table(response.get_data(), "rejects.csv")
    assert rejects.columns == [*VOLUNTEER_HEADER, "错误"]
    assert [r.values["ref"] for r in rejects.rows] == ["V2"]
    assert "第 3 行，列 grid：未知网格编码 G999" in rejects.rows[0].values["错误"]
    assert api.get("/api/v1/volunteers").get_json()["total"] == 2


def test_an_upload_reports_probable_duplicates(api):
    body = upload(api, "volunteers", csv_bytes(VOLUNTEER_HEADER, DUPLICATE_ROWS)).get_json()

    assert [(d["a"], d["b"]) for d in body["duplicates"]] == [("V1", "V2")]
    assert api.get("/api/v1/volunteers").get_json()["total"] == 3


def test_an_uploaded_xlsx_file_imports(api):
    body = upload(api, "grids", xlsx_bytes(GRID_HEADER, GRID_ROWS), "grids.xlsx").get_json()

    assert (body["imported"], body["created"]) == (True, 3)


def test_an_upload_of_an_unknown_kind_is_a_404(api):
    error_of(upload(api, "parks", csv_bytes(GRID_HEADER, GRID_ROWS)), 404, "not_found")


def test_an_upload_without_a_file_is_a_422_on_the_file_field(api):
    response = api.post(f"{IMPORT}/grids", content_type="multipart/form-data", data={"other": "x"})

    assert "file" in error_of(response, 422, "validation_error")["fields"]


def test_an_upload_that_is_not_multipart_is_a_415(api):
    error_of(api.post(f"{IMPORT}/grids", json={"file": "grids.csv"}), 415, "unsupported_media_type")


def test_an_upload_of_an_old_excel_file_is_a_422_saying_what_to_do(api):
    response = upload(api, "grids", b"\xd0\xcf\x11\xe0 old excel", "grids.xls")

    error = error_of(response, 422, "validation_error")

    assert ".xlsx" in error["fields"]["file"][0]


def test_an_upload_over_the_size_limit_is_a_413(app, api):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    rows = [[f"G{i}", f"网格{i}", "海滨社区", "PG1", ""] for i in range(200)]

    error_of(upload(api, "grids", csv_bytes(GRID_HEADER, rows)), 413, "payload_too_large")
    assert api.get("/api/v1/grids").get_json()["total"] == 0


def test_only_an_administrator_may_import(app, session):
    coordinator = make_account(session, "coordinator", scope_type="grid", scope_codes=["G1"])
    session.commit()

    coordinators_client = signed_in(app.test_client(), app, coordinator)

    response = upload(coordinators_client, "grids", csv_bytes(GRID_HEADER, GRID_ROWS))

    error_of(response, 403, "forbidden")


# --- templates download ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS_IN_ORDER)
def test_the_templates_endpoint_serves_each_template_as_a_csv_attachment(client, kind):
    with client.get(f"{IMPORT}/templates/{kind}.csv") as response:
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        assert response.get_data() == (TEMPLATES_DIR / f"{kind}.csv").read_bytes()


def test_the_templates_endpoint_has_no_template_for_an_unknown_kind(client):
    error_of(client.get(f"{IMPORT}/templates/parks.csv"), 404, "not_found")


def test_a_downloaded_template_uploads_cleanly(api):
    with api.get(f"{IMPORT}/templates/grids.csv") as response:
        template = response.get_data()

    assert upload(api, "grids", template).get_json()["created"] == 3


def test_needs_without_refs_imported_twice_are_the_same_needs(session):
    from pools.imports import import_file
    make_map(session)
    data = csv_bytes(["ref", "text", "grid", "urgency", "window", "contact", "service"],
                     [["", "楼道路灯坏了好几天", "G1", "一般", "", "13800138000", "public"],
                      ["", "想找人陪老人去医院复查", "G2", "一般", "", "", "volunteer"]])
    first = import_file(session, "needs", data, "needs.csv")
    second = import_file(session, "needs", data, "needs.csv")
    assert (first.created, second.created, second.unchanged) == (2, 0, 2)


# --- bounds: a file cannot make the server read or query without end ------------------------------------

def test_an_upload_of_one_row_more_than_the_limit_is_refused_and_imports_nothing(api, connection, monkeypatch):
    from pools import tabular
    monkeypatch.setattr(tabular, "MAX_IMPORT_ROWS", 5)
    rows = [[f"G{i}", f"网格{i}", "海滨社区", "PG1", ""] for i in range(6)]
    before = table_counts(connection)

    error = error_of(upload(api, "grids", csv_bytes(GRID_HEADER, rows)), 422, "validation_error")

    assert error["fields"]["file"] == ["文件行数超过上限 5 行，请分批导入"]
    assert table_counts(connection) == before
    assert upload(api, "grids", csv_bytes(GRID_HEADER, rows[:5])).get_json()["created"] == 5


NEED_ROWS = [[f"N{i:02d}", f"{i} 号楼楼道灯坏了", "G1", "一般", "", "", "public"] for i in range(10)]


@pytest.fixture
def ref_lookups(engine: Any) -> Any:
    """The bound values of each ``needs.ref IN (...)`` statement sent to the database."""
    from sqlalchemy import event
    sizes: list[int] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        # (the check that no ref belongs to another subdistrict binds the subdistrict too: left out)
        if "needs.ref IN (" in statement and "subdistrict_id" not in statement:
            sizes.append(len(parameters))
    event.listen(engine, "before_cursor_execute", record)
    yield sizes
    event.remove(engine, "before_cursor_execute", record)


def test_refs_are_looked_up_in_chunks_and_the_upsert_still_counts_every_row(session, monkeypatch, ref_lookups):
    from pools import imports
    monkeypatch.setattr(imports, "LOOKUP_CHUNK_SIZE", 3)
    make_map(session)
    changed = [[*row[:3], "紧急", *row[4:]] if i % 4 == 0 else row for i, row in enumerate(NEED_ROWS)]

    first = import_csv(session, "needs", NEED_HEADER, NEED_ROWS)
    again = import_csv(session, "needs", NEED_HEADER, NEED_ROWS)
    updated = import_csv(session, "needs", NEED_HEADER, changed)

    assert (first.created, first.updated, first.unchanged) == (10, 0, 0)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 10)
    assert (updated.created, updated.updated, updated.unchanged) == (0, 3, 7)
    assert ref_lookups and max(ref_lookups) <= 3
    assert table_counts(session)["needs"] == 10
