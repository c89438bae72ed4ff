"""The demo subdistrict's grid boundaries: one valid polygon per grid, tiling the map around Bao'an with
neighbouring cells sharing their edge, no overlap and no gap; deterministic; loaded through the import."""
from __future__ import annotations

import random
from collections import Counter
from itertools import combinations
from math import cos, radians

import pytest

from demo.data import CELL_METRES, MAP_CENTRE, DemoData, build_communities, build_demo, build_grid_map
from pools.geometry import boundary_geometry, ring_area
from pools.grids import grid_features
from pools.imports import NO_INTAKE, SCHEMAS, UPSERTS, ImportReport

Pt = tuple[float, float]
Segment = tuple[Pt, Pt]


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return build_demo()


@pytest.fixture(scope="module")
def rings(demo: DemoData) -> dict[str, list[Pt]]:
    """Each grid's exterior ring, closing position included."""
    return {g["code"]: [(p[0], p[1]) for p in g["boundary"]["coordinates"][0]] for g in demo.grids}


@pytest.fixture(scope="module")
def cells(demo: DemoData) -> dict[str, tuple[int, int]]:
    """The lattice cell of each grid, as build_demo laid them out (its first draws of the seed)."""
    grid_map = build_grid_map(random.Random(2026), build_communities())
    assert [g["code"] for g in grid_map.grids] == [g["code"] for g in demo.grids]
    return grid_map.cells


def segments(ring: list[Pt]) -> list[Segment]:
    return list(zip(ring, ring[1:]))


def contains(ring: list[Pt], point: Pt) -> bool:
    """Even-odd ray casting."""
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in segments(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def cross(o: Pt, a: Pt, b: Pt) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def properly_cross(s: Segment, t: Segment) -> bool:
    (a, b), (c, d) = s, t
    return cross(a, b, c) * cross(a, b, d) < 0 and cross(c, d, a) * cross(c, d, b) < 0


def outline(rings: dict[str, list[Pt]]) -> list[Segment]:
    """The segments no other polygon runs back along: the outer edge of the map."""
    everything = Counter(s for ring in rings.values() for s in segments(ring))
    return [(a, b) for ring in rings.values() for a, b in segments(ring) if (b, a) not in everything]


def outline_ring(rings: dict[str, list[Pt]]) -> list[Pt]:
    """The outline walked from its first point back to it; fails unless it is one closed loop."""
    edge = outline(rings)
    following = dict(edge)
    assert len(following) == len(edge)  # the outline never passes a point twice
    ring = [edge[0][0]]
    while len(ring) == 1 or ring[-1] != ring[0]:
        ring.append(following[ring[-1]])
        assert len(ring) <= len(edge) + 1
    return ring


# --- every grid has a valid polygon, in the right place ---------------------------------------------

def test_every_grid_has_a_polygon_the_import_schema_takes_unchanged(demo):
    assert len(demo.grids) == 158
    for grid in demo.grids:
        assert grid["boundary"]["type"] == "Polygon"
        assert boundary_geometry(grid["boundary"]) == grid["boundary"]


def test_exterior_rings_run_counter_clockwise_and_never_cross_themselves(rings):
    for code, ring in rings.items():
        assert ring_area(ring) > 0, code
        sides = segments(ring)
        for i, j in combinations(range(len(sides)), 2):
            assert not properly_cross(sides[i], sides[j]), (code, i, j)


def test_the_map_lies_around_baoan_with_cells_of_about_350_metres(rings):
    positions = [p for ring in rings.values() for p in ring]
    lng = sum(p[0] for p in positions) / len(positions)
    lat = sum(p[1] for p in positions) / len(positions)
    assert abs(lng - MAP_CENTRE[0]) < 0.01 and abs(lat - MAP_CENTRE[1]) < 0.01
    square_metres = 110_574.0 * 111_320.0 * cos(radians(MAP_CENTRE[1]))
    areas = [ring_area(ring) * square_metres for ring in rings.values()]
    mean = sum(areas) / len(areas)
    assert 300 ** 2 < mean < 400 ** 2 and CELL_METRES == 350
    assert min(areas) > 0.3 * mean and max(areas) < 2 * mean
    # irregular: not the same shape everywhere
    assert len({round(a, -2) for a in areas}) > 50


# --- a tiling ------------------------------------------------------------------------------------------

def test_cells_side_by_side_share_their_whole_bent_edge(rings, cells):
    at = {cell: code for code, cell in cells.items()}
    pairs = 0
    for code, (x, y) in cells.items():
        for other in (at.get((x + 1, y)), at.get((x, y + 1))):
            if other is None:
                continue
            mine, theirs = set(segments(rings[code])), set(segments(rings[other]))
            shared = {s for s in mine if (s[1], s[0]) in theirs}
            assert len(shared) == 2, (code, other, shared)  # the edge and its bend, run the other way
            pairs += 1
    assert pairs > 250


def test_no_segment_is_shared_by_more_than_two_grids_and_the_outline_is_one_closed_loop(rings):
    uses = Counter(frozenset(s) for ring in rings.values() for s in segments(ring))
    assert max(uses.values()) == 2

    assert len(outline_ring(rings)) == len(outline(rings)) + 1  # one loop: no hole left between grids


def test_the_grid_areas_add_up_to_the_area_inside_the_outline(rings):
    total = sum(ring_area(ring) for ring in rings.values())
    enclosed = ring_area(outline_ring(rings))

    assert total == pytest.approx(enclosed, rel=1e-9)


def test_every_point_of_the_map_lies_in_exactly_one_grid_and_each_grid_holds_its_own_centre(rings):
    boxes = {code: (min(p[0] for p in r), min(p[1] for p in r), max(p[0] for p in r), max(p[1] for p in r))
             for code, r in rings.items()}
    edge_ring = outline_ring(rings)

    def holders(point: Pt) -> list[str]:
        return [code for code, (x0, y0, x1, y1) in boxes.items()
                if x0 <= point[0] <= x1 and y0 <= point[1] <= y1 and contains(rings[code], point)]

    west, south = min(b[0] for b in boxes.values()), min(b[1] for b in boxes.values())
    east, north = max(b[2] for b in boxes.values()), max(b[3] for b in boxes.values())
    steps = 150
    inside = 0
    for i in range(steps):
        for j in range(steps):
            # Offsets off any round number, so that no sample sits exactly on a shared edge.
            point = (west + (east - west) * (i + 0.5137) / steps, south + (north - south) * (j + 0.4711) / steps)
            found = holders(point)
            assert len(found) <= 1, (point, found)  # no overlap
            if contains(edge_ring, point):
                assert len(found) == 1, point  # no gap
                inside += 1
    assert inside > steps * steps / 2

    for code, ring in rings.items():
        centre = (sum(p[0] for p in ring[:-1]) / (len(ring) - 1), sum(p[1] for p in ring[:-1]) / (len(ring) - 1))
        assert holders(centre) == [code]


# --- determinism ---------------------------------------------------------------------------------------

def test_the_same_seed_gives_the_same_boundaries_and_another_seed_other_ones(demo):
    again, other = build_demo(), build_demo(7)

    assert [g["boundary"] for g in again.grids] == [g["boundary"] for g in demo.grids]
    assert [g["boundary"] for g in other.grids] != [g["boundary"] for g in demo.grids]


# --- through the import, onto the map --------------------------------------------------------------------

def test_the_boundaries_load_through_the_import_and_come_out_as_features(demo, session):
    schema = SCHEMAS["grids"]()
    rows = [schema.load({k: v for k, v in g.items() if v is not None}) for g in demo.grids]
    report = ImportReport(kind="grids", rows=len(rows))
    UPSERTS["grids"](session, rows, report, NO_INTAKE)

    collection = grid_features(session)

    assert report.created == 158
    assert len(collection["features"]) == 158
    by_code = {f["id"]: f for f in collection["features"]}
    assert all(by_code[g["code"]]["geometry"] == g["boundary"] for g in demo.grids)
    assert by_code["G001"]["properties"]["party_grid"] == demo.grids[0]["party_grid"]
