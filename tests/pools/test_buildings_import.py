"""Importing the building register (楼栋): ``flask --app app import buildings FILE`` and POST /api/v1/import/buildings,
by the same rules as the pools (all or nothing, row/column/reason, --skip-invalid, upsert by code, GBK, xlsx)."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models import Building, Volunteer
from pools.tabular import IMPORT_COLUMNS, TEMPLATES_DIR, read_table
from tests.factories import csv_bytes, make_account, signed_in, table_counts, xlsx_bytes

HEADER = list(IMPORT_COLUMNS["buildings"].required)
ADDRESS = "广东省深圳市宝安区新安街道海旺社区新安六路188号"
GOOD = [
    ["B1", "金碧花园5栋", ADDRESS + "金碧花园5栋", "", "G001", "V001", "168", "113.8817", "22.5815"],
    ["B2", "海旺村三坊12号", "广东省深圳市宝安区新安街道海旺社区海旺村三坊12号", "海旺村126号；海旺老村12号、旧12号",
     "G002", "", "36", "", ""],
    ["B3", "兴华科技园宿舍2栋", "", "兴华工业区宿舍2栋", "G003", "V003", "240", "113.9", "22.6"],
]


def run_import(runner: Any, kind: str, path: Path, *options: str) -> Any:
    return runner.invoke(args=["import", kind, str(path), *options])


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def buildings(session: Any) -> dict[str, Building]:
    session.expire_all()
    return {b.code: b for b in session.scalars(select(Building))}


@pytest.fixture
def registry(runner: Any) -> None:
    """The grids G001–G003 and the volunteers V001–V003 of the templates."""
    for kind in ("grids", "volunteers"):
        result = run_import(runner, kind, TEMPLATES_DIR / f"{kind}.csv")
        assert result.exit_code == 0, result.output


def test_a_good_file_imports_every_building(runner, tmp_path, session, registry):
    result = run_import(runner, "buildings", write(tmp_path / "buildings.csv", csv_bytes(HEADER, GOOD)))

    assert result.exit_code == 0, result.output
    assert "buildings: 共 3 行；新增 3，更新 0，未变 0，有误 0 行" in result.output
    rows = buildings(session)
    b1, b2, b3 = rows["B1"], rows["B2"], rows["B3"]
    assert (b1.name, b1.address, b1.grid.code, b1.head.ref, b1.households) == (
        "金碧花园5栋", ADDRESS + "金碧花园5栋", "G001", "V001", 168)
    assert (b1.lng, b1.lat, b1.aliases, b1.active) == (113.8817, 22.5815, [], True)
    assert b2.aliases == ["海旺村126号", "海旺老村12号", "旧12号"]
    assert (b2.head, b2.lng, b2.lat, b2.grid.code) == (None, None, None, "G002")
    assert (b3.address, b3.head.ref) == ("", "V003")


def test_the_template_imports_after_the_grids_and_volunteers_templates(runner, session, registry):
    result = run_import(runner, "buildings", TEMPLATES_DIR / "buildings.csv")

    assert result.exit_code == 0, result.output
    assert "新增 3" in result.output
    assert len(buildings(session)) == len(read_table((TEMPLATES_DIR / "buildings.csv").read_bytes(), "b.csv").rows)


BAD = [
    GOOD[0],
    ["B2", "海旺村三坊12号", "", "", "G404", "", "36", "", ""],  # row 3: unknown grid
    ["B3", "兴华科技园宿舍2栋", "", "", "G003", "", "240", "200", "22.6"],  # row 4: longitude out of range
    ["B4", "翠湖苑1栋", "", "", "G001", "V404", "80", "", ""],  # row 5: unknown head
    ["B5", "翠湖苑2栋", "", "", "G001", "", "-1", "113.88", ""],  # row 6: households < 0, lng without lat
    ["B6", "翠湖苑3栋", "", "", "G001", "", "八十", "东经113", "22.58"],  # row 7: not numbers
    ["B7", "翠湖苑4栋", "", "", "G001", "", "80", "22.58", "113.88"],  # row 8: latitude out of range (swapped)
    ["B1", "翠湖苑5栋", "", "", "G001", "", "80", "", ""],  # row 9: the code of row 2 again
]
BAD_MESSAGES = [
    "第 3 行，列 grid：未知网格编码 G404",
    "第 4 行，列 lng：经度应在 -180 至 180 之间",
    "第 5 行，列 head：未知志愿者编号 V404",
    "第 6 行，列 households：应不小于 0 且不大于 100000",
    "第 6 行，列 lat：经度和纬度应同时填写或同时留空",
    "第 7 行，列 households：应为整数：“八十”",
    "第 7 行，列 lng：应为数字：“东经113”",
    "第 8 行，列 lat：纬度应在 -90 至 90 之间（是否把经纬度写反了？）",
    "第 9 行，列 code：与第 2 行重复：B1",
]


def test_a_file_with_bad_rows_imports_nothing_and_names_row_column_and_reason(runner, tmp_path, connection,
                                                                              registry):
    before = table_counts(connection)

    result = run_import(runner, "buildings", write(tmp_path / "buildings.csv", csv_bytes(HEADER, BAD)))

    assert result.exit_code == 1
    for message in BAD_MESSAGES:
        assert message in result.output, result.output
    assert "未导入任何数据" in result.output
    # A cell that cannot be read has one reason: the schema does not add that the value is then missing.
    assert result.output.count("第 7 行") == 2
    assert table_counts(connection) == before and before["buildings"] == 0
    assert not (tmp_path / "buildings.rejects.csv").exists()


def test_skip_invalid_imports_the_good_rows_and_writes_the_bad_ones(runner, tmp_path, session, registry):
    path = write(tmp_path / "buildings.csv", csv_bytes(HEADER, BAD))

    result = run_import(runner, "buildings", path, "--skip-invalid")

    assert result.exit_code == 0, result.output
    assert "新增 1" in result.output and "有误 7 行" in result.output
    assert sorted(buildings(session)) == ["B1"]
    rejects = tmp_path / "buildings.rejects.csv"
    table = read_table(rejects.read_bytes(), rejects.name)
    assert table.columns == [*HEADER, "错误"]
    assert [r.values["code"] for r in table.rows] == ["B2", "B3", "B4", "B5", "B6", "B7", "B1"]
    assert "列 grid：未知网格编码 G404" in table.rows[0].values["错误"]


def test_importing_the_same_file_again_changes_nothing_and_a_changed_row_updates(runner, tmp_path, connection,
                                                                                 session, registry):
    path = write(tmp_path / "buildings.csv", csv_bytes(HEADER, GOOD))
    run_import(runner, "buildings", path)
    stamps = {code: b.updated_at for code, b in buildings(session).items()}
    before = table_counts(connection)

    again = run_import(runner, "buildings", path)

    assert again.exit_code == 0, again.output
    assert "新增 0，更新 0，未变 3" in again.output
    assert table_counts(connection) == before
    assert {code: b.updated_at for code, b in buildings(session).items()} == stamps

    changed = [GOOD[0][:5] + ["", "170", "", ""], *GOOD[1:]]  # B1 loses its head and position, gains households
    result = run_import(runner, "buildings", write(tmp_path / "changed.csv", csv_bytes(HEADER, changed)))

    assert "新增 0，更新 1，未变 2" in result.output, result.output
    b1 = buildings(session)["B1"]
    assert (b1.head, b1.households, b1.lng, b1.lat) == (None, 170, None, None)


def test_a_gbk_file_and_an_xlsx_file_import_the_same_as_utf8(runner, tmp_path, session, registry):
    run_import(runner, "buildings", write(tmp_path / "utf8.csv", csv_bytes(HEADER, GOOD)))
    snapshot = {code: (b.name, b.address, b.aliases, b.households, b.lng, b.lat) for code, b in buildings(session).items()}

    gbk = run_import(runner, "buildings", write(tmp_path / "gbk.csv", csv_bytes(HEADER, GOOD, "gbk")))
    typed = [[*row[:6], int(row[6]), float(row[7]) if row[7] else None, float(row[8]) if row[8] else None]
             for row in GOOD]
    xlsx = run_import(runner, "buildings", write(tmp_path / "b.xlsx", xlsx_bytes(HEADER, typed)))

    assert gbk.exit_code == 0 and "新增 0，更新 0，未变 3" in gbk.output, gbk.output
    assert xlsx.exit_code == 0 and "新增 0，更新 0，未变 3" in xlsx.output, xlsx.output
    assert {code: (b.name, b.address, b.aliases, b.households, b.lng, b.lat)
            for code, b in buildings(session).items()} == snapshot


def test_a_deactivated_volunteer_heads_no_building(runner, tmp_path, session, registry):
    session.scalar(select(Volunteer).where(Volunteer.ref == "V001")).active = False
    session.commit()

    result = run_import(runner, "buildings", write(tmp_path / "buildings.csv", csv_bytes(HEADER, GOOD)))

    assert result.exit_code == 1
    assert "第 2 行，列 head：志愿者 V001 已停用" in result.output


def test_the_http_import_takes_buildings_too(app, session, registry):
    admin = make_account(session, "admin")
    session.commit()
    api = signed_in(app.test_client(), app, admin)
    upload = {"file": (io.BytesIO(csv_bytes(HEADER, GOOD)), "buildings.csv")}

    response = api.post("/api/v1/import/buildings", data=upload, content_type="multipart/form-data")

    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["created"], response.get_json()["imported"]) == (3, True)
    rejected = api.post("/api/v1/import/buildings", content_type="multipart/form-data",
                        data={"file": (io.BytesIO(csv_bytes(HEADER, BAD)), "buildings.csv")})
    assert rejected.status_code == 422
    messages = [e["message"] for e in rejected.get_json()["error"]["report"]["errors"]]
    assert "第 3 行，列 grid：未知网格编码 G404" in messages
    template = api.get("/api/v1/import/templates/buildings.csv")
    assert template.status_code == 200 and template.get_data().startswith(b"\xef\xbb\xbfcode,name,address")
    template.close()
