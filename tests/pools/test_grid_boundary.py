"""Grid boundaries: the schema's checks (reasons in Chinese by field), the file import's boundary column,
the API, and the map's FeatureCollection (pools.grids.grid_features)."""
from __future__ import annotations

import io
import json
from typing import Any

import pytest
from marshmallow import ValidationError
from sqlalchemy import select

from models import Grid
from pools.geometry import MAX_BOUNDARY_POSITIONS, boundary_from_text, ring_area
from pools.grids import deactivate_grid, grid_features, update_grid
from pools.imports import import_file
from pools.schemas import GridIn, GridOut
from tests.factories import csv_bytes, error_of, make_account, make_map, signed_in, table_counts, xlsx_bytes

SQUARE = [[113.88, 22.58], [113.884, 22.58], [113.884, 22.584], [113.88, 22.584], [113.88, 22.58]]
POLYGON = {"type": "Polygon", "coordinates": [SQUARE]}
HEADER = ["code", "name", "community", "party_grid", "neighbors", "boundary"]


def grid_body(**overrides: Any) -> dict[str, Any]:
    return {"code": "G1", "name": "海滨社区第1网格", "community": "海滨社区", "party_grid": "PG1", "neighbors": [],
            **overrides}


def boundary_errors(boundary: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        GridIn().load(grid_body(boundary=boundary))
    messages = caught.value.normalized_messages()
    assert list(messages) == ["boundary"], messages
    return messages["boundary"]


def shifted(ring: list[list[float]], dlng: float) -> list[list[float]]:
    return [[lng + dlng, lat] for lng, lat in ring]


# --- the schema ------------------------------------------------------------------------------------

def test_a_polygon_is_taken_and_normalised():
    loaded = GridIn().load(grid_body(boundary={**POLYGON, "bbox": [0, 0, 1, 1]}))

    assert loaded["boundary"] == {"type": "Polygon", "coordinates": [SQUARE]}


def test_a_multipolygon_with_a_hole_and_integers_and_altitudes_is_taken():
    outer = [[113, 22], [114, 22], [114, 23], [113, 23], [113, 22]]
    hole = [[113.2, 22.2], [113.2, 22.4, 5], [113.4, 22.4], [113.2, 22.2]]
    loaded = GridIn().load(grid_body(boundary={"type": "MultiPolygon",
                                               "coordinates": [[outer, hole], [shifted(SQUARE, 1)]]}))

    polygons = loaded["boundary"]["coordinates"]
    assert loaded["boundary"]["type"] == "MultiPolygon" and len(polygons) == 2
    assert polygons[0][1][1] == [113.2, 22.4]  # the altitude is dropped
    assert all(isinstance(n, float) for n in polygons[0][0][0])


def test_a_feature_is_read_as_its_geometry():
    loaded = GridIn().load(grid_body(boundary={"type": "Feature", "properties": {}, "geometry": POLYGON}))

    assert loaded["boundary"] == POLYGON


def test_no_boundary_leaves_the_key_out_and_null_clears_it():
    assert "boundary" not in GridIn().load(grid_body())
    assert GridIn().load(grid_body(boundary=None))["boundary"] is None


def test_an_unclosed_ring_is_refused_with_the_reason():
    assert boundary_errors({"type": "Polygon", "coordinates": [SQUARE[:-1] + [[113.881, 22.58]]]}) == [
        "第 1 个环未闭合：最后一个坐标应与第一个相同"]


def test_a_ring_of_three_positions_is_refused():
    [reason] = boundary_errors({"type": "Polygon", "coordinates": [[SQUARE[0], SQUARE[1], SQUARE[0]]]})

    assert reason == "第 1 个环只有 3 个坐标，至少需要 4 个（首尾相同）"


def test_a_ring_that_folds_onto_a_line_is_refused():
    [reason] = boundary_errors({"type": "Polygon", "coordinates": [[SQUARE[0], SQUARE[1], SQUARE[0], SQUARE[0]]]})

    assert reason == "第 1 个环至少需要 3 个不同的顶点"


@pytest.mark.parametrize("geometry", [
    {"type": "Point", "coordinates": [113.88, 22.58]},
    {"type": "LineString", "coordinates": SQUARE},
    {"type": "GeometryCollection", "geometries": [POLYGON]},
])
def test_a_geometry_of_another_type_is_refused(geometry):
    [reason] = boundary_errors(geometry)

    assert reason == f"边界类型应为 Polygon 或 MultiPolygon，而不是 {geometry['type']}"


@pytest.mark.parametrize("value", ["POLYGON((113 22, 114 22, 114 23, 113 22))", [SQUARE], 5, {"coordinates": [SQUARE]}])
def test_something_else_than_a_geometry_object_is_refused(value):
    [reason] = boundary_errors(value)

    assert "GeoJSON" in reason or "类型" in reason


def test_a_longitude_out_of_range_is_refused_naming_the_position():
    ring = [[113.88, 22.58], [200.0, 22.58], [113.884, 22.584], [113.88, 22.58]]

    assert boundary_errors({"type": "Polygon", "coordinates": [ring]}) == [
        "第 1 个环第 2 个坐标的经度 200.0 超出 -180 至 180"]


def test_swapped_coordinates_are_refused_on_the_latitude_with_a_hint():
    ring = [[lat, lng] for lng, lat in SQUARE]  # [22.58, 113.88]: latitude 113.88

    [reason] = boundary_errors({"type": "Polygon", "coordinates": [ring]})

    assert reason.startswith("第 1 个环第 1 个坐标的纬度 113.88 超出 -90 至 90")
    assert "写反" in reason


def test_a_position_in_the_second_polygon_of_a_multipolygon_is_named_so():
    bad = [[113.88, 22.58], [113.884, 95.0], [113.884, 22.584], [113.88, 22.58]]

    [reason] = boundary_errors({"type": "MultiPolygon", "coordinates": [[SQUARE], [bad]]})

    assert reason.startswith("第 2 个面的第 1 个环第 2 个坐标的纬度 95.0")


@pytest.mark.parametrize("position", [["113.88", 22.58], [True, 22.58], [113.88], [113.88, 22.58, 1, 2],
                                      [10 ** 400, 22.58]])
def test_a_position_that_is_not_two_numbers_is_refused(position):
    ring = [position, [113.884, 22.58], [113.884, 22.584], position]

    [reason] = boundary_errors({"type": "Polygon", "coordinates": [ring]})

    assert reason.startswith("第 1 个环第 1 个坐标")


def test_too_many_positions_are_refused():
    n = MAX_BOUNDARY_POSITIONS
    ring = [[113.88 + 0.001 * (i % 100), 22.58 + 0.001 * (i // 100)] for i in range(n)] + [[113.88, 22.58]]

    [reason] = boundary_errors({"type": "Polygon", "coordinates": [ring]})

    assert reason == f"边界的坐标超过 {MAX_BOUNDARY_POSITIONS} 个，请先简化边界"


def test_an_import_cell_is_read_as_json_text():
    assert boundary_from_text(json.dumps(POLYGON)) == POLYGON
    assert boundary_from_text("  ") is None
    with pytest.raises(ValueError, match="不是有效的 JSON"):
        boundary_from_text("{'type': 'Polygon'}")


def test_the_shoelace_area_is_positive_counter_clockwise():
    assert ring_area(SQUARE) == pytest.approx(0.004 * 0.004)
    assert ring_area(SQUARE[::-1]) == pytest.approx(-0.004 * 0.004)


# --- the import ------------------------------------------------------------------------------------

def test_a_csv_import_with_a_bad_boundary_reports_row_column_reason_and_imports_nothing(session, connection):
    before = table_counts(connection)
    unclosed = {"type": "Polygon", "coordinates": [SQUARE[:-1] + [[113.881, 22.58]]]}
    rows = [["G1", "海滨一网格", "海滨社区", "PG1", "", json.dumps(POLYGON)],
            ["G2", "海滨二网格", "海滨社区", "PG1", "G1", json.dumps(unclosed)],
            ["G3", "上川一网格", "上川社区", "PG2", "G2", "{not json"]]

    report = import_file(session, "grids", csv_bytes(HEADER, rows), "grids.csv")

    assert not report.imported
    assert [(e.row, e.column) for e in report.errors] == [(3, "boundary"), (4, "boundary")]
    assert str(report.errors[0]) == "第 3 行，列 boundary：第 1 个环未闭合：最后一个坐标应与第一个相同"
    assert report.errors[1].reason.startswith("边界不是有效的 JSON 文本")
    assert table_counts(connection) == before


def test_imported_boundaries_are_stored_and_a_second_import_changes_nothing(session):
    rows = [["G1", "海滨一网格", "海滨社区", "PG1", "G2", json.dumps(POLYGON)],
            ["G2", "海滨二网格", "海滨社区", "PG1", "", ""]]
    first = import_file(session, "grids", csv_bytes(HEADER, rows), "grids.csv")
    session.commit()
    session.expire_all()  # read back from the database, as a later import would

    again = import_file(session, "grids", csv_bytes(HEADER, rows), "grids.csv")

    assert (first.created, first.errors) == (2, [])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    stored = {g.code: g.boundary for g in session.scalars(select(Grid))}
    assert stored == {"G1": POLYGON, "G2": None}


def test_an_empty_boundary_cell_or_no_column_keeps_the_boundary_and_a_new_one_counts_as_updated(session):
    import_file(session, "grids", csv_bytes(HEADER, [["G1", "海滨一网格", "海滨社区", "PG1", "", json.dumps(POLYGON)]]),
                "grids.csv")
    session.commit()

    kept = import_file(session, "grids", csv_bytes(HEADER[:-1], [["G1", "海滨一网格", "海滨社区", "PG1", ""]]),
                       "grids.csv")
    moved = {"type": "Polygon", "coordinates": [shifted(SQUARE, 0.01)]}
    changed = import_file(session, "grids",
                          csv_bytes(HEADER, [["G1", "海滨一网格", "海滨社区", "PG1", "", json.dumps(moved)]]), "grids.csv")

    assert (kept.unchanged, kept.updated) == (1, 0)
    assert (changed.unchanged, changed.updated) == (0, 1)
    assert session.scalar(select(Grid.boundary).where(Grid.code == "G1")) == moved


def test_an_xlsx_cell_holding_the_json_imports(session):
    data = xlsx_bytes(HEADER, [["G1", "海滨一网格", "海滨社区", "PG1", "", json.dumps(POLYGON)]])

    report = import_file(session, "grids", data, "grids.xlsx")

    assert report.imported and report.errors == [], report.to_dict()
    assert session.scalar(select(Grid.boundary).where(Grid.code == "G1")) == POLYGON


# --- the API ---------------------------------------------------------------------------------------

@pytest.fixture
def api(app, client, session):  # type: ignore[no-untyped-def]
    admin = make_account(session, "admin")
    session.commit()
    return signed_in(client, app, admin)


def test_a_grid_created_with_a_boundary_returns_it_by_id(api, anon_client):
    created = api.post("/api/v1/grids", json=grid_body(boundary=POLYGON))
    assert created.status_code == 201, created.get_json()

    shown = anon_client.get(f"/api/v1/grids/{created.get_json()['id']}")

    assert shown.status_code == 200
    assert shown.get_json()["boundary"] == POLYGON


def test_a_grid_without_a_boundary_shows_null_and_a_patch_sets_and_clears_it(api):
    grid_id = api.post("/api/v1/grids", json=grid_body()).get_json()["id"]
    assert api.get(f"/api/v1/grids/{grid_id}").get_json()["boundary"] is None

    patched = api.patch(f"/api/v1/grids/{grid_id}", json={"boundary": POLYGON})
    assert patched.status_code == 200 and patched.get_json()["boundary"] == POLYGON
    assert api.patch(f"/api/v1/grids/{grid_id}", json={"name": "新名"}).get_json()["boundary"] == POLYGON

    cleared = api.patch(f"/api/v1/grids/{grid_id}", json={"boundary": None})
    assert cleared.get_json()["boundary"] is None


def test_a_bad_boundary_over_the_api_is_a_422_naming_the_field(api, connection):
    before = table_counts(connection)

    error = error_of(api.post("/api/v1/grids", json=grid_body(boundary={"type": "Point", "coordinates": [1, 2]})),
                     422)

    assert error["fields"] == {"boundary": ["边界类型应为 Polygon 或 MultiPolygon，而不是 Point"]}
    assert table_counts(connection) == before


def test_an_upload_with_a_bad_boundary_is_a_422_with_the_report(api):
    rows = [["G1", "海滨一网格", "海滨社区", "PG1", "", json.dumps({"type": "Polygon", "coordinates": [[[500, 1]]]})]]

    response = api.post("/api/v1/import/grids", content_type="multipart/form-data",
                        data={"file": (io.BytesIO(csv_bytes(HEADER, rows)), "grids.csv")})

    error = error_of(response, 422, "import_rejected")
    assert error["report"]["errors"] == [{"row": 2, "column": "boundary",
                                          "reason": "第 1 个环只有 1 个坐标，至少需要 4 个（首尾相同）",
                                          "message": "第 2 行，列 boundary：第 1 个环只有 1 个坐标，至少需要 4 个（首尾相同）"}]


def test_the_output_schema_lists_the_boundary():
    assert "boundary" in GridOut().fields


# --- the map's features ------------------------------------------------------------------------------

def test_grid_features_has_the_active_grids_with_a_boundary_and_their_names(session):
    make_map(session)
    grids = {g.code: g for g in session.scalars(select(Grid))}
    update_grid(session, grids["G1"], {"boundary": POLYGON})
    update_grid(session, grids["G3"], {"boundary": {"type": "Polygon", "coordinates": [shifted(SQUARE, 0.01)]}})
    update_grid(session, grids["G9"], {"boundary": {"type": "Polygon", "coordinates": [shifted(SQUARE, 0.02)]}})
    deactivate_grid(session, grids["G9"])

    collection = grid_features(session)

    assert collection["type"] == "FeatureCollection"
    assert [f["id"] for f in collection["features"]] == ["G1", "G3"]  # G2 has none, G9 is deactivated
    first = collection["features"][0]
    assert first["type"] == "Feature" and first["geometry"] == POLYGON
    assert first["properties"] == {"code": "G1", "name": "海滨社区第1网格", "community": "海滨社区",
                                   "community_code": "海滨社区", "party_grid": "PG1", "party_grid_name": "PG1"}
    json.dumps(collection)  # plain JSON, ready to embed in a page


def test_grid_features_can_be_limited_to_some_grids(session):
    make_map(session)
    grids = {g.code: g for g in session.scalars(select(Grid))}
    for code in ("G1", "G2", "G3"):
        update_grid(session, grids[code], {"boundary": POLYGON})

    some = grid_features(session, [grids["G2"].id, grids["G3"].id])

    assert [f["id"] for f in some["features"]] == ["G2", "G3"]
    assert grid_features(session, []) == {"type": "FeatureCollection", "features": []}
