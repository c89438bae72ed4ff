"""``flask --app app import KIND FILE``: the file import from the command line."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models import Volunteer
from pools.tabular import IMPORT_COLUMNS, TEMPLATES_DIR, read_table
from tests.factories import csv_bytes, table_counts, xlsx_bytes

VOLUNTEER_HEADER = list(IMPORT_COLUMNS["volunteers"].required)
VOLUNTEERS = [
    ["V1", "张晓明", "个人", "13800138000", "G001", "陪诊;买菜", "志愿服务", "周三 08:00-12:00", "2", "自治力量", "是", ""],
    ["V2", "李敏", "个人", "13912345678", "G999", "法律咨询", "社会服务", "", "3", "专业力量", "否", ""],
    ["V3", "王芳", "个人", "13700137000", "G002", "买菜", "志愿服务", "", "1", "自治力量", "0", ""],
]  # V2 (file row 3) names a grid that does not exist
NEED_HEADER = [*IMPORT_COLUMNS["needs"].required, "service"]


def run_import(runner: Any, kind: str, path: Path, *options: str) -> Any:
    return runner.invoke(args=["import", kind, str(path), *options])


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture
def templates_grids(runner: Any) -> None:
    result = run_import(runner, "grids", TEMPLATES_DIR / "grids.csv")
    assert result.exit_code == 0, result.output


def test_importing_a_template_prints_the_counts_and_exits_0(runner, connection):
    result = run_import(runner, "grids", TEMPLATES_DIR / "grids.csv")

    assert result.exit_code == 0, result.output
    assert "grids: 共 3 行；新增 3，更新 0，未变 0" in result.output
    assert table_counts(connection)["grids"] == 3


def test_the_templates_import_in_order_from_the_command_line(runner, connection):
    for kind in ("grids", "resources", "volunteers"):
        result = run_import(runner, kind, TEMPLATES_DIR / f"{kind}.csv")
        assert result.exit_code == 0, result.output
        assert "新增 3" in result.output

    counts = table_counts(connection)
    assert (counts["grids"], counts["resources"], counts["volunteers"]) == (3, 3, 3)


def test_importing_the_same_file_twice_creates_and_updates_nothing_the_second_time(runner, connection):
    run_import(runner, "grids", TEMPLATES_DIR / "grids.csv")
    before = table_counts(connection)

    result = run_import(runner, "grids", TEMPLATES_DIR / "grids.csv")

    assert result.exit_code == 0
    assert "新增 0，更新 0，未变 3" in result.output
    assert table_counts(connection) == before


def test_an_xlsx_file_imports_from_the_command_line(runner, tmp_path, connection):
    table = read_table((TEMPLATES_DIR / "grids.csv").read_bytes(), "grids.csv")
    rows = [list(r.values.values()) for r in table.rows]
    path = write(tmp_path / "grids.xlsx", xlsx_bytes(table.columns, rows))

    result = run_import(runner, "grids", path)

    assert result.exit_code == 0, result.output
    assert "新增 3" in result.output and table_counts(connection)["grids"] == 3


def test_a_gbk_file_imports_the_same_as_its_utf8_twin_from_the_command_line(runner, tmp_path,
                                                                             templates_grids):
    good = [VOLUNTEERS[0], VOLUNTEERS[2]]
    run_import(runner, "volunteers", write(tmp_path / "utf8.csv", csv_bytes(VOLUNTEER_HEADER, good)))
    gbk = write(tmp_path / "gbk.csv", csv_bytes(VOLUNTEER_HEADER, good, "gbk"))

    result = run_import(runner, "volunteers", gbk)

    assert result.exit_code == 0, result.output
    assert "新增 0，更新 0，未变 2" in result.output


def test_a_file_with_one_bad_row_imports_nothing_exits_non_zero_and_names_row_column_and_reason(
        runner, tmp_path, connection, templates_grids):
    path = write(tmp_path / "volunteers.csv", csv_bytes(VOLUNTEER_HEADER, VOLUNTEERS))
    before = table_counts(connection)

    result = run_import(runner, "volunteers", path)

    assert result.exit_code != 0
    assert "第 3 行，列 grid：未知网格编码 G999" in result.output
    assert "未导入任何数据" in result.output
    assert table_counts(connection) == before
    assert not (tmp_path / "volunteers.rejects.csv").exists()


def test_skip_invalid_imports_the_good_rows_and_writes_the_bad_ones_with_an_error_column(
        runner, tmp_path, connection, session, templates_grids):
    path = write(tmp_path / "volunteers.csv", csv_bytes(VOLUNTEER_HEADER, VOLUNTEERS))

    result = run_import(runner, "volunteers", path, "--skip-invalid")

    assert result.exit_code == 0, result.output
    assert sorted(session.scalars(select(Volunteer.ref))) == ["V1", "V3"]
    rejects = tmp_path / "volunteers.rejects.csv"
    assert str(rejects) in result.output
    table = read_table(rejects.read_bytes(), rejects.name)
    assert table.columns == [*VOLUNTEER_HEADER, "错误"]
    assert [(r.values["ref"], r.values["grid"]) for r in table.rows] == [("V2", "G999")]
    assert "第 3 行，列 grid：未知网格编码 G999" in table.rows[0].values["错误"]


def test_the_rejects_file_may_be_named_and_once_corrected_imports_as_is(runner, tmp_path, session,
                                                                        templates_grids):
    path = write(tmp_path / "volunteers.csv", csv_bytes(VOLUNTEER_HEADER, VOLUNTEERS))
    rejects = tmp_path / "bad.csv"
    run_import(runner, "volunteers", path, "--skip-invalid", "--rejects", str(rejects))

    corrected = rejects.read_bytes().decode("utf-8-sig").replace("G999", "G003").encode("utf-8-sig")
    result = run_import(runner, "volunteers", write(tmp_path / "fixed.csv", corrected))

    assert result.exit_code == 0, result.output
    assert session.scalar(select(Volunteer.name).where(Volunteer.ref == "V2")) == "李敏"


def test_probable_duplicates_are_printed_and_both_rows_kept(runner, tmp_path, connection):
    rows = [["V1", "张晓明", "个人", "13800138000", "", "陪诊", "志愿服务", "", "1", "自治力量", "是", ""],
            ["V2", "张小明", "个人", "13800138001", "", "买菜", "志愿服务", "", "1", "自治力量", "否", ""]]
    path = write(tmp_path / "volunteers.csv", csv_bytes(VOLUNTEER_HEADER, rows))

    result = run_import(runner, "volunteers", path)

    assert result.exit_code == 0, result.output
    assert "疑似重复：V1 与 V2" in result.output and "未合并" in result.output
    assert table_counts(connection)["volunteers"] == 2


def test_needs_that_name_their_service_import_without_the_classifier(runner, tmp_path, connection,
                                                                     templates_grids):
    rows = [["N1", "楼道外路灯坏了一个多月", "G001", "较急", "", "13700137000", "公共服务"],
            ["N2", "想找人陪老人去医院复查", "G002", "一般", "2026-12-09T09:00/2026-12-09T12:00", "", "志愿服务"]]
    path = write(tmp_path / "needs.csv", csv_bytes(NEED_HEADER, rows))

    result = run_import(runner, "needs", path)

    assert result.exit_code == 0, result.output
    assert table_counts(connection)["needs"] == 2


def test_the_needs_template_imports_with_the_classifier(runner, connection, templates_grids):
    pytest.importorskip("matching.classifier")

    result = run_import(runner, "needs", TEMPLATES_DIR / "needs.csv")

    assert result.exit_code == 0, result.output
    assert table_counts(connection)["needs"] == 3


def test_a_file_that_cannot_be_read_exits_2_saying_why(runner, tmp_path, connection):
    path = write(tmp_path / "grids.xls", b"\xd0\xcf\x11\xe0 an old Excel file")

    result = run_import(runner, "grids", path)

    assert result.exit_code == 2
    assert "无法读取文件" in result.output and ".xlsx" in result.output
    assert table_counts(connection)["grids"] == 0


def test_an_unknown_kind_is_a_usage_error(runner):
    result = run_import(runner, "parks", TEMPLATES_DIR / "grids.csv")

    assert result.exit_code == 2 and "parks" in result.output


def test_a_missing_file_is_a_usage_error(runner, tmp_path):
    result = run_import(runner, "grids", tmp_path / "nowhere.csv")

    assert result.exit_code == 2 and "nowhere.csv" in result.output
