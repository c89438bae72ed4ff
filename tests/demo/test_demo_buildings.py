"""The demo building register (楼栋): deterministic, unique codes and names, every grid covered, names and
addresses naming their estate, positions inside their grid, heads from the grid's volunteers; fast at scale."""
from __future__ import annotations

import random
import re

import pytest

from demo.buildings import build_buildings
from demo.data import DemoData, build_demo
from pools.schemas import BuildingIn
from pools.tabular import IMPORT_COLUMNS

CODE_RE = re.compile(r"^B\d{5}$")
ADDRESS_PREFIX = "广东省深圳市宝安区新安街道"
# A building's name: its site (estate, village, park, street) and the building in it.
SITE_RE = re.compile(
    r"^(?P<site>.{2,}?(?:花园|名苑|苑|新村|公寓|大厦|华庭|雅居|御府|城|家园|豪庭|工业园|科技园|创意园|商业街|步行街|美食街|村))"
    r"(?:[A-H]座|\d+[栋幢]|\d+号厂房|宿舍\d+栋|[东西南北]?[一二三四五六七八九十]+[坊巷]\d+号|\d+号)?$"
)


def contains(ring: list[tuple[float, float]], x: float, y: float) -> bool:
    """Even-odd ray casting (written here apart from the generator's own)."""
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return build_demo()


@pytest.fixture(scope="module")
def buildings(demo: DemoData) -> list[dict]:
    return build_buildings(random.Random("buildings-2026"), demo.communities, demo.grids, volunteers=demo.volunteers)


def test_deterministic_for_a_seed(demo: DemoData, buildings: list[dict]) -> None:
    again = build_buildings(random.Random("buildings-2026"), demo.communities, demo.grids, volunteers=demo.volunteers)
    assert again == buildings
    other = build_buildings(random.Random("buildings-7"), demo.communities, demo.grids, volunteers=demo.volunteers)
    assert other != buildings


def test_columns_codes_and_names(buildings: list[dict]) -> None:
    assert len(buildings) == 3000
    assert all(set(b) == {"code", "name", "address", "aliases", "grid", "head", "households", "lng", "lat"}
               for b in buildings)
    assert all(CODE_RE.match(b["code"]) for b in buildings)
    assert len({b["code"] for b in buildings}) == len(buildings)
    assert len({b["name"] for b in buildings}) == len(buildings)
    assert all(20 <= b["households"] <= 400 for b in buildings)
    assert all(isinstance(a, str) and a and not set(a) & set(";；、") for b in buildings for a in b["aliases"])
    assert any(b["aliases"] for b in buildings)


def test_every_grid_has_buildings(demo: DemoData, buildings: list[dict]) -> None:
    assert {b["grid"] for b in buildings} == {g["code"] for g in demo.grids}


def test_name_and_address_name_the_estate(demo: DemoData, buildings: list[dict]) -> None:
    community_of = {g["code"]: g["community"] for g in demo.grids}
    community_name = {c["code"]: c["name"] for c in demo.communities}
    grids_of_site: dict[str, set[str]] = {}
    for b in buildings:
        match = SITE_RE.match(b["name"])
        assert match, b["name"]
        site = match["site"]
        assert site in b["address"] and b["address"].endswith(b["name"])
        assert b["address"].startswith(ADDRESS_PREFIX + community_name[community_of[b["grid"]]])
        grids_of_site.setdefault(site, set()).add(b["grid"])
    # A site lies in one grid or two neighbouring grids of one community.
    neighbours = {g["code"]: set(g["neighbors"]) for g in demo.grids}
    for site, grids in grids_of_site.items():
        assert len(grids) <= 2, site
        assert len({community_of[g] for g in grids}) == 1, site
        if len(grids) == 2:
            a, b = sorted(grids)
            assert b in neighbours[a], site


def test_positions_inside_their_grid(demo: DemoData, buildings: list[dict]) -> None:
    rings = {g["code"]: [(p[0], p[1]) for p in g["boundary"]["coordinates"][0]] for g in demo.grids}
    for b in buildings:
        assert b["lng"] is not None and b["lat"] is not None
        assert contains(rings[b["grid"]], b["lng"], b["lat"]), b


def test_heads_are_persons_of_the_grid(demo: DemoData, buildings: list[dict]) -> None:
    volunteers = {v["ref"]: v for v in demo.volunteers}
    headed = [b for b in buildings if b["head"] is not None]
    assert 0.5 < len(headed) / len(buildings) < 0.7
    for b in headed:
        assert volunteers[b["head"]]["kind"] == "person"
        assert volunteers[b["head"]]["grid"] == b["grid"]
    # Without volunteers nobody heads a building.
    bare = build_buildings(random.Random(1), demo.communities, demo.grids, 50)
    assert all(b["head"] is None for b in bare)


def test_no_boundary_no_position(demo: DemoData) -> None:
    grids = [{**g, "boundary": None} for g in demo.grids]
    rows = build_buildings(random.Random(1), demo.communities, grids, 200)
    assert rows and all(b["lng"] is None and b["lat"] is None for b in rows)


def test_thirty_thousand_are_unique(demo: DemoData) -> None:
    # (How fast is benchmarks/bench_addresses.py's business: a timed test fails on a loaded machine.)
    rows = build_buildings(random.Random(3), demo.communities, demo.grids, 30000, volunteers=demo.volunteers)
    assert len(rows) == 30000
    assert len({b["name"] for b in rows}) == 30000
    assert len({b["code"] for b in rows}) == 30000


def test_the_demo_carries_the_register_as_import_rows(demo: DemoData, buildings: list[dict]) -> None:
    assert demo.buildings == buildings and demo.counts()["buildings"] == 3000
    spec = IMPORT_COLUMNS["buildings"]
    assert all(set(b) == set(spec.required) | set(spec.optional) for b in demo.buildings)
    schema = BuildingIn()
    for b in demo.buildings:  # what seed-demo loads: the row without its empty values
        loaded = schema.load({k: v for k, v in b.items() if v is not None})
        assert loaded["code"] == b["code"] and loaded["aliases"] == b["aliases"]
