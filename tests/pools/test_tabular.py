"""Reading CSV/XLSX uploads into tables, checking their header, writing rejects back."""
from __future__ import annotations

import codecs
import csv
import io
import zipfile
from datetime import date, datetime, time

import openpyxl
import pytest

from pools import tabular
from pools.tabular import (
    IMPORT_COLUMNS,
    MAX_IMPORT_COLUMNS,
    REJECTS_ERROR_COLUMN,
    CellError,
    Row,
    Table,
    TableError,
    check_columns,
    excel_value_text,
    format_rejects_csv,
    read_table,
    write_rejects_csv,
)

VOLUNTEER_COLUMNS = list(IMPORT_COLUMNS["volunteers"].required)

HEADER = ["ref", "name", "kind", "phone", "grid", "skills", "capacity", "description"]
DATA = [
    ["V001", "张晓明", "个人", "13800138000", "G001", "陪诊；买菜、智能手机", "3", "退休教师，熟悉辖区老人"],
    ["V002", "深圳市启航社工服务中心", "组织", "0755-27881234", "G002", "心理咨询;家庭调解", "10",
     "驻站社工, 周末也在\n电话提前预约"],
]


def csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]], *, start_row: int = 1) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for r, values in enumerate(rows, start=start_row):
        for c, value in enumerate(values, start=1):
            if value is not None:
                sheet.cell(row=r, column=c, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def expected_table() -> Table:
    return Table(
        columns=HEADER,
        rows=[Row(number=i, values=dict(zip(HEADER, values))) for i, values in enumerate(DATA, start=2)],
    )


# ------------------------------------------------------------------------------ the same content


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_a_csv_reads_the_same_table_in_every_accepted_encoding(encoding):
    table = read_table(csv_bytes([HEADER, *DATA], encoding), "volunteers.csv")

    assert table == expected_table()


def test_an_xlsx_reads_the_same_table_as_the_csv_even_when_numbers_are_typed_as_numbers():
    typed = [[13800138000 if c == "13800138000" else 3.0 if c == "3" else 10 if c == "10" else c for c in row]
             for row in DATA]

    table = read_table(xlsx_bytes([HEADER, *typed]), "volunteers.xlsx")

    assert table == expected_table()
    assert table.rows[0].values["phone"] == "13800138000"
    assert table.rows[0].values["capacity"] == "3"


def test_a_gbk_file_keeps_the_chinese_name_intact():
    data = csv_bytes([HEADER, *DATA], "gbk")
    assert data.decode("gbk")  # the fixture really is GBK, not UTF-8
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    table = read_table(data, "v.csv")

    assert table.rows[0].values["name"] == "张晓明"


def test_the_extension_is_matched_without_regard_to_case():
    assert read_table(csv_bytes([HEADER, *DATA], "utf-8"), "VOLUNTEERS.CSV") == expected_table()


# ----------------------------------------------------------------------------- header and cells


def test_header_cells_are_stripped_lower_cased_and_freed_of_a_stray_bom():
    table = read_table("\ufeff Ref ,\ufeffNAME,\u200bGrid\u200b\nV1,a,G1\n".encode("utf-8-sig"), "x.csv")

    assert table.columns == ["ref", "name", "grid"]


def test_cells_are_stripped_but_keep_their_case():
    table = read_table("ref,name\n  V1 , Zhang  Xiaoming\u3000\n".encode(), "x.csv")

    assert table.rows[0].values == {"ref": "V1", "name": "Zhang  Xiaoming"}


def test_a_short_row_is_padded_with_empty_cells():
    table = read_table(b"ref,name,grid\nV1\n", "x.csv")

    assert table.rows[0].values == {"ref": "V1", "name": "", "grid": ""}


def test_a_quoted_comma_stays_inside_its_cell():
    table = read_table('ref,description\nV1,"a, b"\n'.encode(), "x.csv")

    assert table.rows[0].values["description"] == "a, b"
    assert table.rows[0].overflow == ()


def test_a_tab_separated_file_is_read_when_its_header_has_tabs_and_no_commas():
    table = read_table("ref\tname\nV1\t张晓明, 李敏\n".encode(), "x.csv")

    assert table.rows[0].values == {"ref": "V1", "name": "张晓明, 李敏"}


def test_a_comma_header_is_split_on_commas_even_if_a_cell_holds_a_tab():
    table = read_table(b"ref,name\nV1,a\tb\n", "x.csv")

    assert table.rows[0].values == {"ref": "V1", "name": "a\tb"}


def test_empty_columns_right_of_the_data_are_dropped():
    table = read_table(b"ref,name,,\nV1,a,,\n", "x.csv")

    assert table.columns == ["ref", "name"]
    assert table.rows[0].values == {"ref": "V1", "name": "a"}


def test_a_nameless_column_holding_data_is_refused_naming_the_row():
    with pytest.raises(TableError, match="第 2 列没有列名.*第 3 行"):
        read_table(b"ref,,name\nV1,,a\nV2,x,b\n", "x.csv")


def test_a_repeated_column_name_is_refused():
    with pytest.raises(TableError, match="grid 重复"):
        read_table(b"ref,grid,GRID\nV1,G1,G2\n", "x.csv")


# ---------------------------------------------------------------------------------- row numbers


def test_row_numbers_count_blank_lines_and_a_multi_line_cell_as_excel_shows_them():
    data = 'ref,description\r\n\r\nV1,"line one\r\nline two\r\nline three"\r\n,\r\nV2,x\r\n'.encode()

    table = read_table(data, "x.csv")

    assert [row.number for row in table.rows] == [3, 5]
    assert table.rows[0].values["description"] == "line one\nline two\nline three"


def test_blank_rows_before_the_header_move_the_header_row():
    table = read_table(b"\n,,\nref,name\nV1,a\n", "x.csv")

    assert table.header_row == 3
    assert table.columns == ["ref", "name"]
    assert table.rows[0].number == 4


def test_xlsx_row_numbers_skip_blank_rows_but_stay_true():
    data = xlsx_bytes([["ref", "name"], [None, None], ["V1", "a"], [None, None], [None, None], ["V2", "b"]])

    table = read_table(data, "x.xlsx")

    assert [row.number for row in table.rows] == [3, 6]


def test_an_xlsx_sheet_starting_lower_down_has_its_header_row_there():
    table = read_table(xlsx_bytes([["ref", "name"], ["V1", "a"]], start_row=3), "x.xlsx")

    assert table.header_row == 3
    assert table.rows[0].number == 4


def test_a_header_without_data_rows_gives_an_empty_table():
    table = read_table(b"ref,name\n\n", "x.csv")

    assert table == Table(columns=["ref", "name"], rows=[])


# ----------------------------------------------------------------------------------------- xlsx


def test_the_first_sheet_is_read_even_when_another_sheet_is_active():
    workbook = openpyxl.Workbook()
    workbook.active.append(["ref"])
    workbook.active.append(["from the first sheet"])
    other = workbook.create_sheet("说明")
    other.append(["ref"])
    other.append(["from the second sheet"])
    workbook.active = 1
    buffer = io.BytesIO()
    workbook.save(buffer)

    table = read_table(buffer.getvalue(), "x.xlsx")

    assert table.rows[0].values["ref"] == "from the first sheet"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (13800138000, "13800138000"),
        (13800138000.0, "13800138000"),
        (3.0, "3"),
        (2.5, "2.5"),
        (True, "TRUE"),
        (datetime(2026, 12, 9, 0, 0), "2026-12-09"),
        (datetime(2026, 12, 9, 9, 30), "2026-12-09T09:30"),
        (date(2026, 12, 9), "2026-12-09"),
        (time(9, 0), "09:00"),
        ("  G001 ", "  G001 "),
    ],
)
def test_an_excel_value_becomes_the_text_a_person_would_type(value, text):
    assert excel_value_text(value) == text


# ------------------------------------------------------------------------------ unreadable files


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b" \r\n\r\n", b",,\r\n,\r\n"])
def test_an_empty_csv_is_refused_as_empty(data):
    with pytest.raises(TableError, match="文件为空"):
        read_table(data, "x.csv")


def test_an_xlsx_without_any_cell_is_refused_as_empty():
    with pytest.raises(TableError, match="文件为空"):
        read_table(xlsx_bytes([]), "x.xlsx")


def test_bytes_that_are_neither_utf8_nor_gb18030_are_refused():
    with pytest.raises(TableError, match="编码无法识别"):
        read_table(b"ref,name\nV1,\x81\xff\n", "x.csv")


@pytest.mark.parametrize("filename", ["x.txt", "x", "", "x.json"])
def test_an_unsupported_extension_is_refused(filename):
    with pytest.raises(TableError, match=r"\.csv 或 \.xlsx"):
        read_table(b"ref\nV1\n", filename)


def test_an_old_excel_file_is_refused_with_advice_to_save_as_xlsx():
    with pytest.raises(TableError, match="另存为 .xlsx"):
        read_table(b"\xd0\xcf\x11\xe0", "x.xls")


def test_a_file_named_xlsx_that_is_not_a_zip_is_refused():
    with pytest.raises(TableError, match="无法打开"):
        read_table(b"ref,name\nV1,a\n", "x.xlsx")


def test_a_zip_that_is_not_a_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")

    with pytest.raises(TableError, match="无法打开"):
        read_table(buffer.getvalue(), "x.xlsx")


def test_a_csv_with_a_nul_byte_is_refused_as_not_text():
    with pytest.raises(TableError, match="编码无法识别"):
        read_table(b"ref\nV1\nV\x002\n", "x.csv")


def test_utf16_without_its_bom_is_refused_rather_than_read_as_garbage():
    with pytest.raises(TableError, match="编码无法识别"):
        read_table("ref,name\nV1,张晓明\n".encode("utf-16-le"), "x.csv")


def test_a_workbook_renamed_to_csv_is_refused_with_advice_to_rename_it():
    with pytest.raises(TableError, match="扩展名改为 .xlsx"):
        read_table(xlsx_bytes([["ref"], ["V1"]]), "x.csv")


def test_table_error_is_a_value_error():
    assert issubclass(TableError, ValueError)


# --------------------------------------------------------------------------------- check_columns


def test_cell_error_reads_as_a_chinese_line_naming_row_and_column():
    assert str(CellError(5, "grid", "未知网格编码 G999")) == "第 5 行，列 grid：未知网格编码 G999"
    assert str(CellError(7, "", "该行有误")) == "第 7 行：该行有误"


def test_a_complete_header_has_no_column_errors():
    table = Table(columns=["ref", "text", "grid", "urgency", "window", "contact"], rows=[])
    spec = IMPORT_COLUMNS["needs"]

    assert check_columns(table, spec.required, spec.optional) == []


def test_missing_and_unknown_columns_are_reported_on_the_header_row():
    table = Table(columns=["ref", "name", "colour"], rows=[], header_row=2)

    errors = check_columns(table, ["ref", "name", "grid"], ["description"])

    assert [(e.row, e.column) for e in errors] == [(2, "grid"), (2, "colour")]
    assert "缺少" in errors[0].reason
    assert "未知" in errors[1].reason


def test_a_header_with_no_known_column_is_reported_once_as_missing():
    table = read_table(b"V1,a,G1\nV2,b,G2\n", "x.csv")

    errors = check_columns(table, ["ref", "name", "grid"])

    assert len(errors) == 1
    assert errors[0].row == 1
    assert "未找到表头" in errors[0].reason


def test_required_names_are_compared_lower_cased():
    assert check_columns(Table(columns=["ref"], rows=[]), ["REF"]) == []


def test_the_error_column_of_a_rejects_file_is_not_unknown():
    assert check_columns(Table(columns=["ref", REJECTS_ERROR_COLUMN], rows=[]), ["ref"]) == []


def test_a_row_wider_than_the_header_is_reported_with_advice_on_commas():
    table = read_table("ref,name\nV1,张晓明,退休教师\nV2,李敏,,\n".encode(), "x.csv")

    errors = check_columns(table, ["ref", "name"])

    assert [(e.row, e.column) for e in errors] == [(2, "")]
    assert "退休教师" in errors[0].reason and "逗号" in errors[0].reason


# ---------------------------------------------------------------------------------------- rejects


def test_the_rejects_file_is_utf8_with_bom_and_reads_back_with_its_error_column(tmp_path):
    table = read_table(csv_bytes([HEADER, *DATA], "gbk"), "v.csv")
    bad = table.rows[1]
    errors = [CellError(bad.number, "grid", "未知网格编码 G002"), CellError(bad.number, "capacity", "不能大于 5：10")]
    path = tmp_path / "rejects.csv"

    write_rejects_csv(path, table.columns, [(bad, errors)])

    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    back = read_table(data, "rejects.csv")
    assert back.columns == [*HEADER, REJECTS_ERROR_COLUMN]
    assert [row.number for row in back.rows] == [2]
    assert {k: v for k, v in back.rows[0].values.items() if k != REJECTS_ERROR_COLUMN} == bad.values
    assert back.rows[0].values[REJECTS_ERROR_COLUMN] == "第 3 行，列 grid：未知网格编码 G002；第 3 行，列 capacity：不能大于 5：10"
    assert check_columns(back, HEADER) == []


def test_a_rejects_file_imported_again_does_not_grow_a_second_error_column():
    row = Row(2, {"ref": "V1", REJECTS_ERROR_COLUMN: "旧的错误"})

    data = format_rejects_csv(["ref", REJECTS_ERROR_COLUMN], [(row, ["新的错误"])])

    back = read_table(data, "r.csv")
    assert back.columns == ["ref", REJECTS_ERROR_COLUMN]
    assert back.rows[0].values[REJECTS_ERROR_COLUMN] == "新的错误"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("+86 138 0013 8000", "+86 138 0013 8000"),
        ("-5", "-5"),
        ("张晓明", "张晓明"),
    ],
)
def test_the_rejects_file_defuses_cells_excel_would_run_as_formulas(value, written):
    data = format_rejects_csv(["name"], [(Row(2, {"name": value}), ["x"])])

    assert read_table(data, "r.csv").rows[0].values["name"] == written


# ---------------------------------------------------------------------------------------- bounds

XFD = 16384  # the last column Excel allows


def without_dimension(data: bytes) -> bytes:
    """The workbook with its sheet's recorded size removed, as some writers leave it."""
    source, target = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(target, "w") as archive:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                start = content.index(b"<dimension")
                content = content[:start] + content[content.index(b"/>", start) + 2:]
            archive.writestr(item, content)
    return target.getvalue()


def far_cell_sheet(column: int, rows: int) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["ref", "name"])
    for r in range(2, rows + 2):
        sheet.cell(row=r, column=1, value=f"V{r}")
        sheet.cell(row=r, column=column, value="x")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_with_a_cell_in_the_last_excel_column_is_refused_naming_the_column_limit():
    with pytest.raises(TableError, match=f"文件列数超过上限 {MAX_IMPORT_COLUMNS} 列（工作表用到第 {XFD} 列）"):
        read_table(far_cell_sheet(XFD, rows=5), "volunteers.xlsx")


def test_an_xlsx_that_hides_its_size_is_refused_on_the_first_cell_past_the_column_limit():
    data = without_dimension(far_cell_sheet(MAX_IMPORT_COLUMNS + 1, rows=5))

    with pytest.raises(TableError, match=f"第 2 行在第 {MAX_IMPORT_COLUMNS} 列之后仍有内容"):
        read_table(data, "volunteers.xlsx")


def test_cells_far_right_of_an_xlsx_that_hides_its_size_are_never_read():
    table = read_table(without_dimension(far_cell_sheet(XFD, rows=5)), "volunteers.xlsx")

    assert table.columns == ["ref", "name"] and len(table.rows) == 5
    assert all(row.overflow == () for row in table.rows)


def test_a_csv_with_a_filled_cell_past_the_column_limit_is_refused():
    row = ["V1", *[""] * MAX_IMPORT_COLUMNS, "x"]

    with pytest.raises(TableError, match=f"文件列数超过上限 {MAX_IMPORT_COLUMNS} 列"):
        read_table(csv_bytes([["ref"], row], "utf-8"), "x.csv")


def test_empty_cells_past_the_column_limit_are_dropped_like_other_empty_columns():
    table = read_table(csv_bytes([["ref", "name"], ["V1", "张晓明", *[""] * 100]], "utf-8"), "x.csv")

    assert table.rows == [Row(2, {"ref": "V1", "name": "张晓明"})]


@pytest.fixture
def five_rows_at_most(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(tabular, "MAX_IMPORT_ROWS", 5)


def rows_of(count: int) -> list[list[str]]:
    return [["ref", "name"], *([f"V{i}", "张晓明"] for i in range(count))]


def test_a_file_of_exactly_the_row_limit_is_read(five_rows_at_most):
    assert len(read_table(csv_bytes(rows_of(5), "utf-8"), "x.csv").rows) == 5
    assert len(read_table(xlsx_bytes(rows_of(5)), "x.xlsx").rows) == 5
    assert len(read_table(without_dimension(xlsx_bytes(rows_of(5))), "x.xlsx").rows) == 5


@pytest.mark.parametrize(("filename", "make"), [
    ("x.csv", lambda rows: csv_bytes(rows, "gbk")),
    ("x.xlsx", xlsx_bytes),
    ("x.xlsx", lambda rows: without_dimension(xlsx_bytes(rows))),
], ids=["csv", "xlsx", "xlsx-without-its-size"])
def test_a_file_of_one_row_more_than_the_limit_is_refused_with_advice_to_split_it(five_rows_at_most, filename,
                                                                                   make):
    with pytest.raises(TableError, match="^文件行数超过上限 5 行，请分批导入$"):
        read_table(make(rows_of(6)), filename)


def test_blank_rows_count_towards_the_row_limit_as_they_cost_reading_too(five_rows_at_most):
    data = xlsx_bytes([["ref"], ["V1"], [None], [None], [None], [None], ["V2"]])

    with pytest.raises(TableError, match="文件行数超过上限"):
        read_table(without_dimension(data), "x.xlsx")


def test_a_csv_is_read_no_further_than_the_row_past_the_limit(five_rows_at_most):
    # Row 9 holds a cell over the csv module's size limit: reading on would report it instead.
    data = csv_bytes(rows_of(7), "utf-8") + b"V9," + b"x" * 200_000 + b"\r\n"

    with pytest.raises(TableError, match="文件行数超过上限"):
        read_table(data, "x.csv")
