"""A deterministic demo subdistrict (演示街道): communities, grids, the three pools — pure data.

:func:`build_demo` returns plain dicts whose keys are exactly the import columns of the service
(see ``pools.tabular.IMPORT_COLUMNS``), with values already parsed to Python types, so a caller can
feed them to the same upsert code as a CSV import. Nothing here touches a database or the network.

Everything is drawn from one ``random.Random(seed)``: the same seed gives the same subdistrict in
every process (no set is ever iterated unsorted, since string hashing differs between processes).
"""
from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from math import ceil, cos, radians
from typing import Any

from .buildings import build_buildings

DEFAULT_SEED = 2026

# --- sizes (the figures the subdistrict reports, see domain.md) --------------------------------
COMMUNITY_COUNT = 13
GRID_COUNT = 158
PARTY_GRID_COUNT = 34
MIN_GRIDS_PER_COMMUNITY = 8
MAX_GRIDS_PER_COMMUNITY = 16
MIN_GRIDS_PER_PARTY_GRID = 3
MAX_GRIDS_PER_PARTY_GRID = 7
PERSON_COUNT = 2700
ORGANIZATION_COUNT = 300
NEED_COUNT = 400
# Shares of the needs by true service; they sum to 1.
NEED_SHARE_BY_SERVICE: dict[str, float] = {"public": 0.30, "volunteer": 0.30, "market": 0.20, "social": 0.20}

# --- the map -------------------------------------------------------------------------------------
# Communities are laid out in horizontal bands of cells; inside a band each community takes a run
# of cells in snake order, so every community is one connected block.
MAP_BANDS = 3
MAP_BAND_ROWS = 4  # cells
MIN_NEIGHBOURS = 2
MAX_NEIGHBOURS = 6
# Border roads and rivers cut most links between communities; a few crossings stay.
CROSS_BORDER_KEEP_PROBABILITY = 0.3
# Real grids are not square cells: some touch diagonally as well.
DIAGONAL_LINK_PROBABILITY = 0.2
# Grid boundaries: the cell lattice placed around Bao'an, Shenzhen, a cell about 350 m across. Each
# lattice vertex moves once (cells meeting there keep meeting), each edge bends at a shifted midpoint,
# so the grids tile the subdistrict with irregular shapes, no gaps and no overlaps.
MAP_CENTRE = (113.88, 22.58)  # lng, lat
CELL_METRES = 350.0
METRES_PER_DEGREE_LAT = 110_574.0
METRES_PER_DEGREE_LNG_AT_EQUATOR = 111_320.0
VERTEX_JITTER = 0.18  # of a cell, each axis
EDGE_BEND = 0.1  # of the edge's length, across it
COORDINATE_DECIMALS = 6  # about 0.1 m
# How unevenly grids, residents and volunteers are spread (relative weight range).
COMMUNITY_WEIGHT_RANGE = (0.3, 1.7)
GRID_POPULATION_RANGE = (0.4, 1.6)

# --- time ----------------------------------------------------------------------------------------
DEMO_WEEK_START = date(2026, 12, 7)  # a Monday
NEED_WINDOW_HORIZON_DAYS = 14  # windows fall in the two weeks after DEMO_WEEK_START
FLEXIBLE_NEED_SHARE = 0.5
ANY_TIME_AVAILABILITY_SHARE = 0.15

# --- the volunteer pool --------------------------------------------------------------------------
PLANTED_DUPLICATE_COUNT = 5
# Given-name characters that sound alike: the usual slip when a name is typed a second time.
VARIANT_CHARACTERS: dict[str, str] = {
    "晓": "小", "小": "晓", "明": "铭", "伟": "玮", "丽": "莉", "芳": "方", "华": "桦", "军": "君",
    "峰": "锋", "静": "晶", "英": "瑛", "玲": "琳", "红": "虹", "燕": "艳", "涛": "滔", "斌": "彬",
    "娟": "鹃", "兰": "岚", "平": "萍",
}
PERSON_CAPACITY_WEIGHTS: dict[int, float] = {1: 0.55, 2: 0.30, 3: 0.15}
# Draws of a plain organisation name before a branch name (名称（社区）) is tried, and of both in all.
PLAIN_NAME_ATTEMPTS = 5
MAX_NAME_ATTEMPTS = 40

# Tags added to the taxonomy's for services that residents name this way.
EXTRA_SKILLS: tuple[str, ...] = ("家庭医生", "慢病随访", "疫苗接种", "占道经营", "就业推荐", "退役军人")

# Mobile prefixes in use on the mainland (1[3-9]x).
PHONE_PREFIXES: tuple[str, ...] = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "147", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182", "183",
    "184", "185", "186", "187", "188", "189", "191", "198", "199",
)

# ================================================================================================
# The result
# ================================================================================================

Record = dict[str, Any]


@dataclass(frozen=True)
class DemoData:
    """The demo subdistrict. Every list holds import rows; ``planted_duplicates`` pairs volunteer refs."""

    communities: list[Record]
    party_grids: list[Record]
    grids: list[Record]
    resources: list[Record]
    volunteers: list[Record]
    needs: list[Record]
    planted_duplicates: list[tuple[str, str]] = field(default_factory=list)
    buildings: list[Record] = field(default_factory=list)  # the building register (demo.buildings)

    def counts(self) -> dict[str, int]:
        return {
            "communities": len(self.communities),
            "party_grids": len(self.party_grids),
            "grids": len(self.grids),
            "resources": len(self.resources),
            "volunteers": len(self.volunteers),
            "needs": len(self.needs),
            "buildings": len(self.buildings),
        }


def build_demo(seed: int = DEFAULT_SEED) -> DemoData:
    """The whole demo subdistrict for ``seed``; the same seed always gives the same data."""
    rng = random.Random(seed)
    communities = build_communities()
    grid_map = build_grid_map(rng, communities)
    # Shapes draw from a generator of their own, so they leave every other draw of the seed as it was.
    outlines = grid_boundaries(random.Random(f"boundaries:{seed}"), grid_map.cells)
    for grid in grid_map.grids:
        grid["boundary"] = outlines[grid["code"]]
    population = {g["code"]: rng.uniform(*GRID_POPULATION_RANGE) for g in grid_map.grids}
    resources = build_resources(rng, communities, grid_map.grids)
    volunteers, duplicates = build_volunteers(rng, communities, grid_map.grids, population)
    needs = build_needs(rng, communities, grid_map.grids, population)
    # Buildings draw from a generator of their own too: adding them moved no other draw of the seed.
    buildings = build_buildings(random.Random(f"buildings-{seed}"), communities, grid_map.grids,
                                volunteers=volunteers)
    return DemoData(
        communities=communities,
        party_grids=grid_map.party_grids,
        grids=grid_map.grids,
        resources=resources,
        volunteers=volunteers,
        needs=needs,
        planted_duplicates=duplicates,
        buildings=buildings,
    )


# ================================================================================================
# Text filling: "{pool}" picks from a pool, "{a|b|c}" picks one of the alternatives
# ================================================================================================

Pool = Sequence[str] | Callable[[random.Random], str]
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")


def fill(rng: random.Random, template: str, pools: dict[str, Pool]) -> str:
    def pick(match: re.Match[str]) -> str:
        body = match[1]
        if "|" in body:
            return rng.choice(body.split("|"))
        pool = pools[body]
        return pool(rng) if callable(pool) else rng.choice(pool)

    return _PLACEHOLDER_RE.sub(pick, template)


def weighted_choice(rng: random.Random, weights: dict[Any, float]) -> Any:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


# ================================================================================================
# Communities and the grid map
# ================================================================================================

COMMUNITY_NAMES: tuple[str, ...] = (
    "新安", "海滨", "上川", "翻身", "灵芝", "宝民", "洪浦", "上合", "文雅", "海裕", "安乐", "兴东", "布心",
)


def build_communities() -> list[Record]:
    return [{"code": f"C{i:02d}", "name": f"{name}社区"} for i, name in enumerate(COMMUNITY_NAMES, 1)]


@dataclass(frozen=True)
class GridMapData:
    party_grids: list[Record]
    grids: list[Record]
    cells: dict[str, tuple[int, int]] = field(default_factory=dict)  # grid code → (x, y) of layout_cells


def build_grid_map(rng: random.Random, communities: list[Record]) -> GridMapData:
    sizes = community_sizes(rng)
    party_counts = party_grid_counts(rng, sizes)
    positions = layout_cells(sizes)

    grids: list[Record] = []
    party_grids: list[Record] = []
    community_of: dict[str, str] = {}
    cell_of: dict[str, tuple[int, int]] = {}
    for community, size, n_party, cells in zip(communities, sizes, party_counts, positions):
        chunks = split_evenly(rng, size, n_party, MIN_GRIDS_PER_PARTY_GRID, MAX_GRIDS_PER_PARTY_GRID)
        numbers = iter(range(1, size + 1))
        for party_number, chunk in enumerate(chunks, 1):
            party_code = f"PG{len(party_grids) + 1:02d}"
            party_grids.append({
                "code": party_code,
                "name": f"{community['name']}第{party_number}党建网格",
                "branch": f"{community['name']}第{party_number}网格党支部",
                "community": community["code"],
            })
            for _ in range(chunk):
                number = next(numbers)
                code = f"G{len(grids) + 1:03d}"
                grids.append({
                    "code": code,
                    "name": f"{community['name']}第{number}网格",
                    "community": community["code"],
                    "party_grid": party_code,
                    "neighbors": [],
                    "boundary": None,
                })
                community_of[code] = community["code"]
                cell_of[code] = cells[number - 1]

    links = link_grids(rng, cell_of, community_of)
    for grid in grids:
        grid["neighbors"] = sorted(links[grid["code"]])
    return GridMapData(party_grids=party_grids, grids=grids, cells=cell_of)


def community_sizes(rng: random.Random) -> list[int]:
    """Grids per community: uneven, within bounds, summing to GRID_COUNT."""
    weights = [rng.uniform(*COMMUNITY_WEIGHT_RANGE) for _ in range(COMMUNITY_COUNT)]
    sizes = [MIN_GRIDS_PER_COMMUNITY] * COMMUNITY_COUNT
    spare = GRID_COUNT - sum(sizes)
    while spare:
        i = rng.choices(range(COMMUNITY_COUNT), weights=weights)[0]
        if sizes[i] < MAX_GRIDS_PER_COMMUNITY:
            sizes[i] += 1
            spare -= 1
    return sizes


def party_grid_counts(rng: random.Random, sizes: list[int]) -> list[int]:
    """Party grids per community so that each can hold 3-7 grids and the total is PARTY_GRID_COUNT.

    Starting from the fewest each community needs always leaves room: with 158 grids over 13
    communities the minimum sums to at most 33 and the maximum to at least 44.
    """
    counts = [ceil(n / MAX_GRIDS_PER_PARTY_GRID) for n in sizes]
    while sum(counts) < PARTY_GRID_COUNT:
        room = [i for i, n in enumerate(sizes) if counts[i] < n // MIN_GRIDS_PER_PARTY_GRID]
        # Split where Party grids are largest, as a subdistrict would.
        i = rng.choices(room, weights=[(sizes[i] / counts[i]) ** 2 for i in room])[0]
        counts[i] += 1
    return counts


def split_evenly(rng: random.Random, total: int, parts: int, low: int, high: int) -> list[int]:
    sizes = [low] * parts
    spare = total - low * parts
    while spare:
        j = rng.randrange(parts)
        if sizes[j] < high:
            sizes[j] += 1
            spare -= 1
    return sizes


def layout_cells(sizes: list[int]) -> list[list[tuple[int, int]]]:
    """(x, y) cells of each community's grids, in the order the grids are numbered.

    Bands run left to right and right to left in turn, so communities that follow each other in
    code order always share a border, across a band change too (areas of the map are such runs).
    """
    per_band = sum(sizes) / MAP_BANDS
    bands, before = [], 0
    for size in sizes:
        bands.append(min(MAP_BANDS - 1, int((before + size / 2) / per_band)))
        before += size
    width = {b: ceil(sum(n for n, nb in zip(sizes, bands) if nb == b) / MAP_BAND_ROWS) for b in set(bands)}
    positions: list[list[tuple[int, int]]] = []
    index_in_band: dict[int, int] = {}
    for size, band in zip(sizes, bands):
        cells = []
        for _ in range(size):
            i = index_in_band.get(band, 0)
            index_in_band[band] = i + 1
            col, pos = divmod(i, MAP_BAND_ROWS)
            row = pos if col % 2 == 0 else MAP_BAND_ROWS - 1 - pos
            x = col if band % 2 == 0 else width[band] - 1 - col
            cells.append((x, band * MAP_BAND_ROWS + row))
        positions.append(cells)
    return positions


Point = tuple[float, float]


def grid_boundaries(rng: random.Random, cell_of: dict[str, tuple[int, int]]) -> dict[str, Record]:
    """A GeoJSON Polygon (lng/lat, exterior ring counter-clockwise) for each grid's cell.

    Cell (x, y) has corners at lattice vertices (x, y) … (x + 1, y + 1), y growing southwards. Each vertex
    is moved once and each edge bends at one point, both drawn in sorted order, so cells that share a
    vertex or an edge share its coordinates exactly: the polygons tile the map without gap or overlap.
    """
    if not cell_of:
        return {}
    width = max(x for x, _ in cell_of.values()) + 1
    height = max(y for _, y in cell_of.values()) + 1
    vertices = sorted({(x + dx, y + dy) for x, y in cell_of.values() for dx in (0, 1) for dy in (0, 1)})
    moved: dict[tuple[int, int], Point] = {
        (vx, vy): (vx + rng.uniform(-VERTEX_JITTER, VERTEX_JITTER), vy + rng.uniform(-VERTEX_JITTER, VERTEX_JITTER))
        for vx, vy in vertices
    }
    edges = sorted({edge for x, y in cell_of.values() for edge in _cell_edges(x, y)})
    bends: dict[tuple[tuple[int, int], tuple[int, int]], Point] = {}
    for a, b in edges:
        (ax, ay), (bx, by) = moved[a], moved[b]
        shift = rng.uniform(-EDGE_BEND, EDGE_BEND)  # across the edge: (-dy, dx) is perpendicular to it
        bends[(a, b)] = ((ax + bx) / 2 - (by - ay) * shift, (ay + by) / 2 + (bx - ax) * shift)

    lat_step = CELL_METRES / METRES_PER_DEGREE_LAT
    lng_step = CELL_METRES / (METRES_PER_DEGREE_LNG_AT_EQUATOR * cos(radians(MAP_CENTRE[1])))
    west = MAP_CENTRE[0] - width / 2 * lng_step
    north = MAP_CENTRE[1] + height / 2 * lat_step

    def lnglat(point: Point) -> list[float]:
        return [round(west + point[0] * lng_step, COORDINATE_DECIMALS),
                round(north - point[1] * lat_step, COORDINATE_DECIMALS)]

    out: dict[str, Record] = {}
    for code in sorted(cell_of):
        x, y = cell_of[code]
        # South, east, north, west: counter-clockwise on the map (north up).
        corners = [(x, y), (x, y + 1), (x + 1, y + 1), (x + 1, y)]
        ring: list[list[float]] = []
        for a, b in zip(corners, corners[1:] + corners[:1]):
            ring.append(lnglat(moved[a]))
            ring.append(lnglat(bends[(min(a, b), max(a, b))]))
        ring.append(ring[0])
        out[code] = {"type": "Polygon", "coordinates": [ring]}
    return out


def _cell_edges(x: int, y: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The four lattice edges of cell (x, y), each as its (smaller, larger) pair of vertices."""
    return [((x, y), (x + 1, y)), ((x + 1, y), (x + 1, y + 1)), ((x, y + 1), (x + 1, y + 1)), ((x, y), (x, y + 1))]


def link_grids(
    rng: random.Random, cell_of: dict[str, tuple[int, int]], community_of: dict[str, str]
) -> dict[str, set[str]]:
    """Symmetric neighbour sets: adjacent cells, a few border crossings, some diagonals."""
    at = {cell: code for code, cell in cell_of.items()}
    codes = sorted(cell_of)
    links: dict[str, set[str]] = {code: set() for code in codes}

    def connect(a: str, b: str) -> None:
        links[a].add(b)
        links[b].add(a)

    crossings: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for code in codes:
        x, y = cell_of[code]
        for other in (at.get((x + 1, y)), at.get((x, y + 1))):
            if other is None:
                continue
            if community_of[code] == community_of[other]:
                connect(code, other)
            else:
                a, b = community_of[code], community_of[other]
                crossings.setdefault((min(a, b), max(a, b)), []).append((code, other))
    for pair in sorted(crossings):
        candidates = crossings[pair]
        kept = [c for c in candidates if rng.random() < CROSS_BORDER_KEEP_PROBABILITY]
        for a, b in kept or [rng.choice(candidates)]:
            connect(a, b)

    for code in codes:
        x, y = cell_of[code]
        for other in (at.get((x + 1, y + 1)), at.get((x + 1, y - 1))):
            if (
                other is not None
                and community_of[code] == community_of[other]
                and len(links[code]) < MAX_NEIGHBOURS
                and len(links[other]) < MAX_NEIGHBOURS
                and rng.random() < DIAGONAL_LINK_PROBABILITY
            ):
                connect(code, other)

    for code in codes:
        if len(links[code]) >= MIN_NEIGHBOURS:
            continue
        x, y = cell_of[code]
        nearby = sorted(
            (c for c in codes
             if c != code and c not in links[code] and community_of[c] == community_of[code]),
            key=lambda c: ((cell_of[c][0] - x) ** 2 + (cell_of[c][1] - y) ** 2, c),
        )
        for other in nearby:
            if len(links[code]) >= MIN_NEIGHBOURS:
                break
            if len(links[other]) < MAX_NEIGHBOURS:
                connect(code, other)
    return links


# ================================================================================================
# Government resource pool (政府资源库)
# ================================================================================================

OFFICE_HOURS = ("mon-fri 09:00-12:00", "mon-fri 14:00-18:00")
OFFICE_HOURS_WITH_SATURDAY = (*OFFICE_HOURS, "sat 09:00-12:00")
FIELD_TEAM_HOURS = ("mon-sun 08:00-12:00", "mon-sun 14:00-20:00")
HEALTH_STATION_HOURS = ("mon-sun 08:00-12:00", "mon-sun 14:00-20:30")
STREET_CLEANING_HOURS = ("mon-sun 06:00-22:00",)


@dataclass(frozen=True)
class ResourceSpec:
    """A service a department delivers.

    ``coverage``: "all" covers every grid; "community" gives ``instances`` copies, each for one
    community; "area" splits the communities into ``instances`` runs of neighbours (片区).
    """

    name: str
    department: str
    service: str
    skills: tuple[str, ...]
    capacity: tuple[int, int]
    hours: tuple[str, ...]
    description: str
    coverage: str = "all"
    instances: int = 1


SUBDISTRICT = "街道"

RESOURCE_SPECS: tuple[ResourceSpec, ...] = (
    ResourceSpec("社保业务窗口", "街道社区事务受理服务中心", "public", ("社保", "养老金", "政策咨询"), (15, 30),
                 OFFICE_HOURS_WITH_SATURDAY, "办理社保参保、缴费基数调整、养老金资格认证等业务。"),
    ResourceSpec("医保业务窗口", "宝安区医保局街道医保服务站", "public", ("医保", "政策咨询"), (10, 25),
                 OFFICE_HOURS_WITH_SATURDAY, "办理医保参保登记、医保卡补换、异地就医备案。"),
    ResourceSpec("户籍业务窗口", "街道派出所户政室", "public", ("户籍", "身份证"), (8, 20),
                 OFFICE_HOURS_WITH_SATURDAY, "办理新生儿入户、迁移、身份证申领和补办。"),
    ResourceSpec("居住证受理点", "街道派出所", "public", ("居住证", "身份证"), (10, 25),
                 OFFICE_HOURS, "受理居住证申领、签注和信息变更。"),
    ResourceSpec("法律援助工作站", "宝安区法律援助处", "public", ("法律援助", "劳动纠纷", "欠薪"), (5, 12),
                 OFFICE_HOURS, "为符合条件的困难群众和农民工提供免费法律援助。"),
    ResourceSpec("劳动争议调解中心", "宝安区人力资源局街道劳动办", "public", ("劳动纠纷", "欠薪", "调解"), (6, 15),
                 OFFICE_HOURS_WITH_SATURDAY, "调处欠薪、工伤、解除劳动合同等劳动争议，平均2.5天办结。"),
    ResourceSpec("人民调解委员会", "街道司法所", "public", ("调解", "政策咨询"), (6, 15),
                 OFFICE_HOURS, "调解邻里、物业、消费等矛盾纠纷，免费出具调解协议。"),
    ResourceSpec("消防安全检查组", "街道消防监督站", "public", ("消防", "电线"), (5, 15),
                 FIELD_TEAM_HOURS, "检查消防通道、电动车充电和出租屋消防隐患并督促整改。"),
    ResourceSpec("城管执法巡查队", "街道城管执法队", "public", ("违建", "占道经营", "环境卫生"), (8, 20),
                 FIELD_TEAM_HOURS, "查处占道经营、乱搭建和乱堆放，维护市容秩序。"),
    ResourceSpec("市政路灯维护班", "宝安区城管局路灯管理所", "public", ("路灯", "电线"), (5, 12),
                 ("mon-sun 08:00-18:00",), "维修市政道路和公共区域的路灯、线路。"),
    ResourceSpec("道路设施养护组", "街道市政设施管理所", "public", ("道路", "下水道"), (4, 10),
                 ("mon-sat 08:00-17:30",), "修补破损路面、井盖、人行道和护栏。"),
    ResourceSpec("排水管网疏通队", "宝安区水务局街道水务所", "public", ("下水道", "道路"), (4, 10),
                 ("mon-sun 08:00-18:00",), "疏通市政排水管网，处理路面积水和污水外溢。"),
    ResourceSpec("环卫清扫保洁队", "街道环卫所", "public", ("环境卫生", "公厕"), (10, 30),
                 STREET_CLEANING_HOURS, "负责公共道路清扫、垃圾清运和公厕保洁。"),
    ResourceSpec("公园管理处", "宝安区城管局公园管理中心", "public", ("公园", "环境卫生"), (3, 8),
                 ("mon-sun 07:00-19:00",), "维护社区公园设施、绿化和健身器材。"),
    ResourceSpec("民政救助窗口", "街道民政办", "public", ("低保", "救助", "补贴申请"), (6, 15),
                 OFFICE_HOURS, "受理低保、特困供养、临时救助和高龄津贴申请。"),
    ResourceSpec("残疾人服务窗口", "街道残联", "public", ("残疾证", "补贴申请"), (3, 8),
                 OFFICE_HOURS, "办理残疾证申领换领和残疾人各项补贴。"),
    ResourceSpec("卫生健康服务窗口", "街道卫生健康办", "public", ("计生", "政策咨询"), (3, 8),
                 OFFICE_HOURS, "办理生育登记、计生奖励扶助和卫生健康政策咨询。"),
    ResourceSpec("退役军人服务站", "街道退役军人服务站", "public", ("退役军人", "政策咨询", "补贴申请"), (3, 8),
                 OFFICE_HOURS, "为退役军人和优抚对象提供政策咨询、帮扶和优待证办理。"),
    ResourceSpec("就业服务窗口", "宝安区人力资源局街道劳动保障事务所", "public", ("就业推荐", "社保", "政策咨询"),
                 (5, 15), OFFICE_HOURS, "提供岗位推荐、失业登记和就业补贴申请。"),
    ResourceSpec("规划土地监察队", "街道规划土地监察队", "public", ("违建",), (3, 10),
                 FIELD_TEAM_HOURS, "巡查和查处违法建筑、违规加建。"),
    ResourceSpec("安全生产检查组", "街道应急管理办", "public", ("消防", "电线"), (3, 10),
                 OFFICE_HOURS, "检查小作坊、出租屋和工地的安全隐患。"),
    ResourceSpec("心理服务站", "街道综治中心", "social", ("心理咨询", "家庭调解"), (3, 8),
                 ("mon-fri 09:00-12:00", "mon-fri 14:00-17:30", "sat 14:00-17:00"),
                 "由持证心理咨询师值班，提供免费心理疏导，政府购买服务。"),
    ResourceSpec("街道社工总站", "街道民政办（政府购买社工服务）", "social",
                 ("社工", "家庭调解", "邻里调解", "青少年服务", "禁毒"), (8, 20), OFFICE_HOURS_WITH_SATURDAY,
                 "社工站驻点服务，开展个案帮扶、家庭和邻里调解。"),
    ResourceSpec("长者日间照料中心", "街道民政办", "social", ("日间照料", "长者服务", "康复训练"), (10, 25),
                 ("mon-fri 08:30-17:30",), "为失能半失能老人提供日托、助餐和康复活动，政府补贴。"),
    ResourceSpec("残疾人职业康复中心", "街道残联", "social", ("康复训练", "职业培训"), (5, 15),
                 ("mon-fri 09:00-16:30",), "为智力和精神残疾人提供职业康复训练和日间照料。"),
    ResourceSpec("新时代文明实践所", "街道党工委宣传办", "volunteer", ("社区活动", "助老", "智能手机", "文艺"),
                 (10, 30), ("mon-fri 09:00-18:00", "sat-sun 09:00-17:00"), "统筹志愿服务项目，组织助老、文艺和宣传活动。"),
    ResourceSpec("青年志愿服务站", "街道团工委", "volunteer", ("辅导作业", "智能手机", "社区活动"), (8, 20),
                 ("sat-sun 09:00-17:00", "mon-fri 19:00-21:00"), "组织青年志愿者开展课业辅导和数字助老。"),
    # Per community: health stations, Party-mass centres, grid-worker teams, community legal advisers.
    ResourceSpec("{community}家庭医生团队", "{community}健康服务中心", "public",
                 ("家庭医生", "慢病随访", "疫苗接种", "医保"), (8, 20), HEALTH_STATION_HOURS,
                 "社区健康服务中心签约家庭医生，提供慢病随访和上门巡诊。", coverage="area", instances=5),
    ResourceSpec("{community}党群服务中心", "{community}党委", "public", ("政策咨询", "补贴申请", "社区活动"), (5, 15),
                 ("tue-sun 09:00-12:00", "tue-sun 14:00-21:00"), "提供政策咨询和便民服务，开展党员活动和居民议事。",
                 coverage="community", instances=5),
    ResourceSpec("{area}片区网格员队伍", "街道网格管理中心", "public", ("政策咨询", "居住证", "消防", "环境卫生"),
                 (10, 30), OFFICE_HOURS_WITH_SATURDAY, "网格员入户巡查、采集民情，受理和流转居民诉求。",
                 coverage="area", instances=5),
    ResourceSpec("{area}片区社区法律顾问", "街道司法所", "social", ("法律咨询", "调解"), (3, 8),
                 ("wed 14:00-17:00", "sat 09:00-12:00"), "“一社区一法律顾问”，律师轮流到各社区驻点免费解答法律问题。",
                 coverage="area", instances=3),
)


def build_resources(rng: random.Random, communities: list[Record], grids: list[Record]) -> list[Record]:
    grids_of = {c["code"]: [g["code"] for g in grids if g["community"] == c["code"]] for c in communities}
    resources: list[Record] = []
    for spec in RESOURCE_SPECS:
        for group in coverage_groups(rng, spec, communities):
            head = group[0]["name"] if group else SUBDISTRICT
            names = {"community": head, "area": head.removesuffix("社区")}
            covered = ["*"] if not group else [code for c in group for code in grids_of[c["code"]]]
            resources.append({
                "ref": f"R{len(resources) + 1:04d}",
                "name": spec.name.format(**names),
                "department": spec.department.format(**names),
                "service": spec.service,
                "grids": covered,
                "capacity": rng.randint(*spec.capacity),
                "skills": list(spec.skills),
                "description": resource_description(spec, group),
                "hours": list(spec.hours),
            })
    return resources


def coverage_groups(rng: random.Random, spec: ResourceSpec, communities: list[Record]) -> list[list[Record]]:
    """The communities each copy of ``spec`` serves; an empty group means the whole subdistrict."""
    if spec.coverage == "all":
        return [[]]
    if spec.coverage == "community":
        return [[c] for c in sorted(rng.sample(communities, spec.instances), key=lambda c: c["code"])]
    # Areas are runs of communities in map order, so each area is a patch of neighbours.
    sizes = [len(communities) // spec.instances] * spec.instances
    for i in rng.sample(range(spec.instances), len(communities) % spec.instances):
        sizes[i] += 1
    groups, start = [], 0
    for size in sizes:
        groups.append(communities[start:start + size])
        start += size
    return groups


def resource_description(spec: ResourceSpec, group: list[Record]) -> str:
    if len(group) <= 1:
        return spec.description
    served = "、".join(c["name"].removesuffix("社区") for c in group)
    return f"{spec.description.removesuffix('。')}，服务{served}社区。"


# ================================================================================================
# Names
# ================================================================================================

# Surnames with their share of the population in per mille, roughly the national figures with the
# Cantonese surnames (陈, 黄, 林, 梁, 钟, 曾...) lifted as in Shenzhen.
SURNAME_WEIGHTS: dict[str, float] = {
    "王": 62, "李": 68, "张": 58, "刘": 48, "陈": 70, "杨": 30, "黄": 40, "赵": 20, "吴": 22, "周": 19,
    "徐": 14, "孙": 13, "马": 11, "朱": 12, "胡": 11, "郭": 11, "何": 13, "林": 20, "罗": 12, "高": 9,
    "郑": 12, "梁": 14, "谢": 10, "宋": 6, "唐": 7, "许": 7, "韩": 5, "冯": 6, "邓": 10, "曹": 5,
    "彭": 6, "曾": 9, "肖": 6, "田": 4, "董": 4, "袁": 4, "潘": 5, "于": 3, "蒋": 4, "蔡": 6,
    "余": 5, "杜": 4, "叶": 7, "程": 3, "苏": 4, "魏": 3, "吕": 3, "丁": 3, "任": 3, "沈": 3,
    "钟": 7, "卢": 4, "姚": 3, "廖": 6, "方": 3, "石": 3, "邱": 4, "文": 3, "温": 3, "赖": 3,
}

GIVEN_NAMES: dict[tuple[str, str], tuple[str, ...]] = {
    ("old", "m"): ("建国", "国华", "志强", "德明", "国庆", "建华", "永福", "振华", "卫东", "家明", "炳坤",
                   "锦荣", "伟", "军", "强", "明", "平", "勇", "海", "福生", "金水", "树林", "长生", "文斌"),
    ("old", "f"): ("秀英", "桂兰", "淑芬", "玉兰", "秀珍", "凤英", "丽华", "美玲", "桂芳", "月娥", "少芬",
                   "惠娟", "敏", "华", "英", "芳", "红", "霞", "玉梅", "素珍", "金凤", "亚娣", "瑞英", "丽娟"),
    ("mid", "m"): ("伟", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "鹏", "晓明", "志明", "建军", "海涛",
                   "小龙", "国栋", "文杰", "俊杰", "家豪", "伟强", "志华", "晓峰", "永强", "振宇", "剑锋"),
    ("mid", "f"): ("丽", "静", "敏", "燕", "艳", "娟", "婷", "晓燕", "晓红", "丽娟", "秀梅", "海燕", "春梅",
                   "小燕", "惠玲", "慧", "玲", "芳", "倩", "晓丽", "美华", "雪梅", "丽萍", "静怡"),
    ("young", "m"): ("浩然", "子轩", "宇航", "梓豪", "俊熙", "一鸣", "思远", "博文", "天佑", "泽宇", "浩",
                     "宇", "昊", "晨", "嘉俊", "子豪", "铭轩", "皓轩", "俊宇", "志鹏", "晓峰", "家乐"),
    ("young", "f"): ("欣怡", "子涵", "诗琪", "雨桐", "梓萱", "佳怡", "思彤", "可欣", "若曦", "悦", "琳",
                     "萱", "彤", "嘉欣", "晓彤", "雅婷", "紫琳", "晓雯", "佩琪", "心怡", "婉婷"),
}


def person_name(rng: random.Random, generation: str, gender: str | None = None) -> str:
    sex = gender or rng.choice("mf")
    return weighted_choice(rng, SURNAME_WEIGHTS) + rng.choice(GIVEN_NAMES[(generation, sex)])


def surname(rng: random.Random) -> str:
    return weighted_choice(rng, SURNAME_WEIGHTS)


# ================================================================================================
# Social volunteer pool (社会志愿库)
# ================================================================================================

# Weekly schedules (one is drawn per entry) by the kind of provider.
Schedules = tuple[tuple[str, ...], ...]
RETIREE_SCHEDULES: Schedules = (
    ("mon-fri 08:30-11:30",), ("mon-fri 15:00-17:30",), ("mon-fri 08:30-11:30", "mon-fri 15:00-17:30"),
    ("mon-wed 09:00-11:30",), ("tue-thu 14:30-17:00",),
    ("mon 09:00-11:00", "wed 09:00-11:00", "fri 09:00-11:00"),
    ("tue 14:30-17:00", "thu 14:30-17:00"), ("mon-sat 09:00-11:00",),
)
OFFICE_WORKER_SCHEDULES: Schedules = (
    ("mon-fri 19:00-21:00",), ("sat 09:00-12:00",), ("sat 14:00-18:00", "sun 14:00-18:00"),
    ("sat-sun 09:00-17:00",), ("wed 19:30-21:30", "sat 09:00-12:00"), ("sun 09:00-12:00",),
    ("mon-fri 19:00-21:00", "sat 09:00-12:00"),
)
STUDENT_SCHEDULES: Schedules = (
    ("sat-sun 09:00-17:00",), ("fri 18:00-21:00", "sat 14:00-18:00"), ("sun 09:00-12:00",),
    ("mon-fri 19:00-21:00",), ("sat 09:00-12:00", "sun 14:00-17:00"),
)
HOMEMAKER_SCHEDULES: Schedules = (
    ("mon-fri 09:00-11:00",), ("mon-fri 14:00-16:30",), ("tue-thu 09:30-11:30",),
    ("mon-fri 09:00-11:00", "sat 09:00-11:00"),
)
STAFF_SCHEDULES: Schedules = (
    ("mon-fri 09:00-12:00", "mon-fri 14:00-18:00"),
    ("mon-fri 09:00-12:00", "mon-fri 14:00-18:00", "sat 09:00-12:00"),
    ("mon-fri 14:00-18:00",), ("tue-sat 09:00-12:00", "tue-sat 14:00-18:00"),
)
TRADE_SCHEDULES: Schedules = (
    ("mon-sun 08:00-20:00",), ("mon-sat 09:00-19:00",), ("mon-fri 18:00-21:00", "sat-sun 08:00-18:00"),
    ("mon-sun 08:00-12:00", "mon-sun 14:00-21:00"),
)
SHOP_SCHEDULES: Schedules = (
    ("mon-sun 08:00-21:00",), ("mon-sat 09:00-20:00",), ("mon-sun 10:00-22:00",), ("mon-sun 07:00-19:00",),
)
AGENCY_SCHEDULES: Schedules = (
    ("mon-fri 09:00-12:00", "mon-fri 14:00-18:00"), ("mon-fri 09:00-18:00",),
    ("mon-fri 09:00-12:00", "mon-fri 14:00-18:00", "sat 09:00-12:00"), ("tue-sat 09:00-17:30",),
)

# Name stems by trade, so a law firm and a grocery do not share a brand.
CARE_BRANDS = ("春雨", "彩虹", "同心", "启明", "阳光", "温馨", "和谐", "众和", "博爱", "齐心", "繁星", "新航道",
               "暖阳", "春晖", "心晴", "向阳", "知心", "暖心", "心语", "静心", "仁康", "益康", "安康", "福寿",
               "乐龄", "颐年", "善缘", "恒爱")
LAW_BRANDS = ("宝城", "鹏诚", "恒安", "国晟", "德和", "诚公", "卓信", "海晟", "正衡", "信远", "明法", "君正", "华法",
              "中衡", "立诚", "金鹏")
COMPANY_BRANDS = ("华信", "宏达", "鹏基", "安居", "金域", "海骏", "鸿业", "好帮手", "贴心", "巧手", "福满家", "绿盾",
                  "洁安", "顺心", "大众", "快捷", "万家", "乐邦", "美邻", "惠民", "金辉", "永顺", "创新", "信和",
                  "宝华", "兴业", "嘉宏", "粤海", "新宝", "安泰")
SHOP_BRANDS = ("利民", "兴旺", "好又多", "佳美", "新潮", "名剪", "丽人", "粤味", "顺德", "客家", "东兴", "海岸",
               "便民", "街坊", "老地方", "万福", "百佳", "旺角", "金牌", "一品", "家乡", "诚信", "快修", "永安")
VOLUNTEER_TEAMS: tuple[str, ...] = ("红马甲", "党员先锋", "巾帼", "银发", "青年", "邻里守望", "爱心", "夕阳红")


@dataclass(frozen=True)
class Profile:
    """A kind of entry in the volunteer pool.

    ``skills`` maps a service to the tags this kind of provider carries for it; every service in
    ``services`` (and the optional one when drawn) gets at least one of its tags, the other keys
    are side skills that do not make the provider offer that service.
    """

    key: str
    weight: float
    kind: str
    force: str
    services: tuple[str, ...]
    skills: dict[str, tuple[str, ...]]
    availability: Schedules
    descriptions: tuple[str, ...]
    party_rate: float = 0.0
    generation: str = "mid"
    gender: str | None = None
    optional_service: str | None = None
    optional_rate: float = 0.0
    names: tuple[str, ...] = ()  # organisations: name templates
    brands: tuple[str, ...] = ()  # organisations: stems for {brand}
    capacity: tuple[int, int] = (3, 15)


V = "volunteer"
PERSON_PROFILES: tuple[Profile, ...] = (
    Profile("retiree", 24, "person", "selfgov", (V,),
            {V: ("陪伴聊天", "探访", "读报", "助老", "买菜", "送餐", "文艺", "社区活动")}, RETIREE_SCHEDULES,
            ("退休{years}年，身体硬朗，愿意帮帮楼里的老邻居。", "退休后一直在社区做义工，{hobby}。",
             "老住户了，对{community}一带很熟，{hobby}。", "子女在外地，自己闲不住，想多做点好事。"),
            party_rate=0.25, generation="old"),
    Profile("retired_teacher", 6, "person", "selfgov", (V,), {V: ("辅导作业", "读报", "陪伴聊天", "社区活动")},
            RETIREE_SCHEDULES, ("退休{subject}老师，可以给孩子辅导作业。", "教了三十多年书，退休后想发挥余热。"),
            party_rate=0.4, generation="old"),
    Profile("retired_medic", 4, "person", "selfgov", (V,), {V: ("陪诊", "助老", "探访", "陪伴聊天")},
            RETIREE_SCHEDULES, ("退休护士，熟悉医院就诊流程，可以陪老人看病。", "原来在{hospital}工作，退休后做助老志愿者。"),
            party_rate=0.35, generation="old"),
    Profile("student", 12, "person", "selfgov", (V,),
            {V: ("智能手机", "辅导作业", "网上办事", "翻译", "社区活动")}, STUDENT_SCHEDULES,
            ("在读大学生，周末有空，可以教老人用智能手机。", "{school}学生，假期回家想参加志愿服务。",
             "大学生志愿者，英语还可以，能辅导中小学作业。"),
            party_rate=0.08, generation="young"),
    Profile("office_worker", 14, "person", "selfgov", (V,),
            {V: ("代跑腿", "社区活动", "智能手机", "翻译", "买菜", "辅导作业", "网上办事")}, OFFICE_WORKER_SCHEDULES,
            ("在附近上班，下班后和周末可以帮忙。", "做{job}工作，晚上和周末有时间参加社区活动。",
             "住在{community}好几年了，想为邻居做点事。"),
            party_rate=0.15, generation="mid"),
    Profile("homemaker", 6, "person", "selfgov", (V,), {V: ("买菜", "送餐", "社区活动", "陪伴聊天")},
            HOMEMAKER_SCHEDULES, ("全职妈妈，白天送完孩子有空。", "在家带孙子，上午可以顺便帮老人买菜。"),
            party_rate=0.1, generation="mid", gender="f"),
    Profile("building_leader", 5, "person", "selfgov", (V,), {V: ("探访", "社区活动", "代跑腿", "助老")},
            RETIREE_SCHEDULES, ("楼栋长，熟悉楼里每一户的情况。", "担任楼长多年，谁家有事都会来找我。"),
            party_rate=0.5, generation="old"),
    Profile("veteran", 3, "person", "selfgov", (V,), {V: ("代跑腿", "助老", "社区活动", "探访")},
            RETIREE_SCHEDULES + OFFICE_WORKER_SCHEDULES, ("退役军人，有力气，搬搬抬抬的活都可以找我。",),
            party_rate=0.6, generation="mid", gender="m"),
    Profile("party_volunteer", 6, "person", "selfgov", (V,),
            {V: ("探访", "助老", "代跑腿", "网上办事", "社区活动"), "public": ("政策咨询",)},
            RETIREE_SCHEDULES + OFFICE_WORKER_SCHEDULES,
            ("在职党员，到{community}报到，认领了网格责任田。", "老党员，定期走访独居老人、收集民情。"),
            party_rate=1.0, generation="mid", optional_service="public", optional_rate=0.15),
    Profile("grid_worker", 4, "person", "governance", ("public", V),
            {"public": ("政策咨询", "居住证", "消防", "环境卫生"), V: ("网上办事", "探访", "代跑腿")}, STAFF_SCHEDULES,
            ("专职网格员，负责{grid}的巡查和民情采集。", "网格员，每天入户走访，熟悉辖区情况。"),
            party_rate=0.6, generation="mid"),
    Profile("community_worker", 3, "person", "governance", ("public", V),
            {"public": ("政策咨询", "补贴申请", "低保"), V: ("探访", "网上办事")}, STAFF_SCHEDULES,
            ("社区工作站工作人员，熟悉民政和社保政策。", "社区专职工作者，主要跟进困难家庭帮扶。"),
            party_rate=0.7, generation="mid"),
    Profile("cadre", 2, "person", "governance", ("public", V), {"public": ("政策咨询",), V: ("探访", "陪伴聊天")},
            STAFF_SCHEDULES, ("区直机关下沉干部，挂点{community}。", "街道下沉干部，每周到网格值班。"),
            party_rate=0.95, generation="mid"),
    Profile("deputy", 1, "person", "liaison", ("public", V), {"public": ("政策咨询",), V: ("探访", "陪伴聊天")},
            OFFICE_WORKER_SCHEDULES, ("区人大代表，定期进站接待选民。", "政协委员，联系{community}，收集居民意见。"),
            party_rate=0.7, generation="mid"),
    Profile("lawyer", 2, "person", "professional", ("social",),
            {"social": ("法律咨询", "家庭调解"), "public": ("劳动纠纷", "调解")}, OFFICE_WORKER_SCHEDULES,
            ("执业律师，擅长劳动和婚姻家事纠纷。", "律师，愿意每月抽时间为居民免费答疑。"),
            party_rate=0.3, generation="mid"),
    Profile("counsellor", 1.5, "person", "professional", ("social",),
            {"social": ("心理咨询", "亲子教育", "青少年服务", "家庭调解")}, OFFICE_WORKER_SCHEDULES,
            ("国家二级心理咨询师，擅长青少年和家庭关系辅导。", "心理咨询师，做过多年学校心理老师。"),
            party_rate=0.2, generation="mid"),
    Profile("social_worker", 2, "person", "professional", ("social",),
            {"social": ("社工", "长者服务", "邻里调解", "家庭调解", "四点半课堂", "禁毒", "青少年服务")},
            STAFF_SCHEDULES, ("持证社工，主要做长者和困境家庭个案。", "中级社工师，在{community}驻点多年。"),
            party_rate=0.3, generation="young"),
    Profile("therapist", 1, "person", "professional", ("social",), {"social": ("康复训练", "居家照护")},
            OFFICE_WORKER_SCHEDULES, ("康复治疗师，可以上门指导中风和骨折后的康复训练。",),
            party_rate=0.2, generation="mid"),
    Profile("handyman", 3, "person", "cobuilding", ("market",),
            {"market": ("水管维修", "电路维修", "漏水", "开锁"), V: ("助老",)}, TRADE_SCHEDULES,
            ("做水电维修十几年，就住在附近，随叫随到。", "水电师傅，给老人修东西只收材料费。"),
            party_rate=0.1, generation="mid", gender="m", optional_service=V, optional_rate=0.25),
    Profile("appliance_tech", 2, "person", "cobuilding", ("market",), {"market": ("家电维修", "空调清洗", "电路维修")},
            TRADE_SCHEDULES, ("家电维修师傅，空调、洗衣机、热水器都能修。",),
            party_rate=0.1, generation="mid", gender="m"),
    Profile("domestic_worker", 3, "person", "cobuilding", ("market",),
            {"market": ("保洁", "家政", "育儿嫂", "月嫂", "护工")}, TRADE_SCHEDULES,
            ("做家政八年，有健康证，干活细致。", "持证育婴师，带过好几个宝宝。", "做过医院护工，会照顾卧床老人。"),
            party_rate=0.05, generation="mid", gender="f"),
    Profile("barber", 1, "person", "selfgov", (V,), {V: ("理发", "助老")}, SHOP_SCHEDULES,
            ("开理发店的，每月给社区老人义剪一次。", "理发师，可以上门给行动不便的老人理发。"),
            party_rate=0.1, generation="mid"),
    Profile("translator", 1, "person", "selfgov", (V,), {V: ("翻译", "辅导作业", "网上办事")}, OFFICE_WORKER_SCHEDULES,
            ("在外贸公司上班，会英语和{language}，可以帮忙翻译。",), party_rate=0.2, generation="young"),
    Profile("performer", 2, "person", "selfgov", (V,), {V: ("文艺", "社区活动", "陪伴聊天")},
            RETIREE_SCHEDULES + OFFICE_WORKER_SCHEDULES, ("社区{troupe}骨干，逢年过节组织演出。",),
            party_rate=0.3, generation="old"),
    Profile("nurse", 1.5, "person", "selfgov", (V,), {V: ("陪诊", "助老", "探访")}, OFFICE_WORKER_SCHEDULES,
            ("在{hospital}当护士，休息日可以陪老人看病。",), party_rate=0.3, generation="young", gender="f"),
)

ORGANIZATION_PROFILES: tuple[Profile, ...] = (
    Profile("social_work_agency", 5, "organization", "cobuilding", ("social",),
            {"social": ("社工", "长者服务", "四点半课堂", "家庭调解", "邻里调解", "青少年服务", "禁毒", "日间照料")},
            AGENCY_SCHEDULES, ("承接街道社工站项目，有持证社工{staff}名。", "专业社工机构，长期服务{community}长者和困境儿童。"),
            names=("深圳市{brand}社会工作服务中心", "宝安区{brand}社工服务中心"), brands=CARE_BRANDS, capacity=(8, 15)),
    Profile("law_firm", 3, "organization", "professional", ("social",),
            {"social": ("法律咨询",), "public": ("劳动纠纷", "调解")}, AGENCY_SCHEDULES,
            ("律师事务所，安排律师轮流到社区提供公益法律咨询。", "擅长劳动争议和合同纠纷，参与“一社区一法律顾问”。"),
            names=("广东{brand}律师事务所", "广东{brand}（宝安）律师事务所"), brands=LAW_BRANDS, capacity=(3, 8)),
    Profile("counselling_studio", 2, "organization", "professional", ("social",),
            {"social": ("心理咨询", "亲子教育", "青少年服务", "家庭调解")}, AGENCY_SCHEDULES,
            ("心理咨询工作室，有{staff}名持证咨询师，可提供公益咨询。",),
            names=("{brand}心理咨询工作室", "深圳市{brand}心理咨询有限公司"), brands=CARE_BRANDS, capacity=(3, 8)),
    Profile("rehab_centre", 1, "organization", "professional", ("social",),
            {"social": ("康复训练", "居家照护", "长者服务")}, AGENCY_SCHEDULES,
            ("康复机构，提供中风、骨折后康复和儿童康复训练。",),
            names=("{brand}康复中心", "宝安{brand}康复医学中心"), brands=CARE_BRANDS, capacity=(4, 12)),
    Profile("property_company", 4, "organization", "cobuilding", ("market",),
            {"market": ("物业", "电梯", "水管维修", "电路维修", "保洁")}, SHOP_SCHEDULES,
            ("负责{community}多个小区的物业管理，有维修班组。", "物业公司，24小时受理报修。"),
            names=("深圳市{brand}物业管理有限公司", "{brand}物业服务（深圳）有限公司"), brands=COMPANY_BRANDS, capacity=(6, 15)),
    Profile("housekeeping_company", 3, "organization", "cobuilding", ("market",),
            {"market": ("家政", "保洁", "月嫂", "育儿嫂", "护工", "搬家")}, SHOP_SCHEDULES,
            ("家政公司，阿姨持证上岗，可上门保洁和照护。",),
            names=("{brand}家政服务有限公司", "深圳市{brand}家政服务部"), brands=COMPANY_BRANDS, capacity=(5, 15)),
    Profile("repair_shop", 5, "organization", "cobuilding", ("market",),
            {"market": ("家电维修", "水管维修", "漏水", "开锁", "电路维修", "空调清洗")}, SHOP_SCHEDULES,
            ("街边维修店，做了十多年，附近居民都认识。", "维修店，上门服务，小修不收上门费。"),
            names=("{surname}记家电维修", "{brand}水电维修部", "{brand}开锁换锁", "{surname}师傅五金水电"),
            brands=SHOP_BRANDS, capacity=(3, 6)),
    Profile("pest_control", 1, "organization", "cobuilding", ("market",), {"market": ("除虫",)},
            AGENCY_SCHEDULES,
            ("专业消杀公司，灭蟑螂、白蚁和老鼠。",),
            names=("深圳市{brand}有害生物防治有限公司",), brands=COMPANY_BRANDS, capacity=(3, 8)),
    Profile("moving_company", 1, "organization", "cobuilding", ("market",), {"market": ("搬家", "保洁")},
            SHOP_SCHEDULES, ("搬家公司，有厢式货车，可搬家和清运旧家具。",),
            names=("{brand}搬家服务部", "深圳市{brand}搬家有限公司"), brands=COMPANY_BRANDS, capacity=(3, 8)),
    Profile("elder_care_company", 1, "organization", "cobuilding", ("market",),
            {"market": ("护工", "家政"), "social": ("长者服务",)}, SHOP_SCHEDULES,
            ("居家养老服务公司，提供上门护理和陪护。",),
            names=("深圳市{brand}居家养老服务有限公司",), brands=CARE_BRANDS, capacity=(4, 12)),
    Profile("volunteer_team", 4, "organization", "selfgov", (V,),
            {V: ("社区活动", "助老", "探访", "陪诊", "代跑腿", "文艺")}, RETIREE_SCHEDULES + OFFICE_WORKER_SCHEDULES,
            ("社区志愿服务队，现有队员{members}人。", "{community}居民自发组织的志愿队伍，常年开展助老服务。"),
            names=("{community}{team}志愿服务队", "{community}{team}义工队"), capacity=(5, 15)),
    Profile("barber_shop", 1.5, "organization", "cobuilding", (V,), {V: ("理发", "助老")}, SHOP_SCHEDULES,
            ("爱心商户，每月为社区老人免费理发。",), names=("{brand}理发店", "{brand}发艺"), brands=SHOP_BRANDS, capacity=(3, 5)),
    Profile("grocery", 2, "organization", "cobuilding", (V,), {V: ("买菜", "送餐", "代跑腿")}, SHOP_SCHEDULES,
            ("爱心商户，可为独居老人免费送货上门。", "社区小超市，老人打个电话就送菜上门。"),
            names=("{brand}便利店", "{brand}生鲜超市", "{surname}记粮油店"), brands=SHOP_BRANDS, capacity=(3, 6)),
    Profile("canteen", 1.5, "organization", "cobuilding", (V,), {V: ("送餐",)}, SHOP_SCHEDULES,
            ("长者助餐点合作餐厅，可为行动不便的老人送餐。",),
            names=("{brand}餐厅", "{surname}记快餐", "{brand}饭堂"), brands=SHOP_BRANDS, capacity=(3, 10)),
    Profile("training_school", 1, "organization", "cobuilding", ("social",), {"social": ("职业培训",)},
            AGENCY_SCHEDULES, ("职业技能培训学校，开设育婴、电工、电商等公益培训班。",),
            names=("宝安区{brand}职业技能培训学校",), brands=COMPANY_BRANDS, capacity=(5, 15)),
    Profile("partner_company", 1.5, "organization", "cobuilding", (V,), {V: ("社区活动", "翻译", "助老")},
            OFFICE_WORKER_SCHEDULES, ("辖区共建单位，党支部定期组织员工参加社区志愿活动。",),
            names=("深圳市{brand}科技有限公司", "{brand}电子（深圳）有限公司"), brands=COMPANY_BRANDS, capacity=(5, 15)),
)

DESCRIPTION_POOLS: dict[str, Pool] = {
    "years": lambda r: str(r.randint(2, 15)),
    "staff": lambda r: str(r.randint(4, 30)),
    "members": lambda r: str(r.randint(12, 80)),
    "hobby": ("喜欢唱粤剧", "常去看望独居老人", "爱下象棋", "会做手工", "每天在公园打太极", "喜欢写毛笔字"),
    "subject": ("语文", "数学", "英语", "物理", "音乐", "小学"),
    "hospital": ("宝安区人民医院", "宝安区中医院", "社康中心", "区妇幼保健院"),
    "school": ("深圳大学", "深圳职业技术大学", "南方科技大学", "宝安中学", "暨南大学"),
    "job": ("会计", "程序员", "设计", "销售", "行政", "外贸"),
    "language": ("日语", "韩语", "西班牙语", "法语", "粤语"),
    "troupe": ("粤剧队", "舞蹈队", "合唱团", "腰鼓队", "书画社"),
}


def build_volunteers(
    rng: random.Random, communities: list[Record], grids: list[Record], population: dict[str, float]
) -> tuple[list[Record], list[tuple[str, str]]]:
    community_name = {c["code"]: c["name"] for c in communities}
    grid_by_code = {g["code"]: g for g in grids}
    phones: set[str] = set()
    org_names: set[str] = set()
    entries: list[Record] = []
    for _ in range(PERSON_COUNT + ORGANIZATION_COUNT):
        is_person = len(entries) < PERSON_COUNT
        profiles = PERSON_PROFILES if is_person else ORGANIZATION_PROFILES
        profile = rng.choices(profiles, weights=[p.weight for p in profiles])[0]
        grid = grid_by_code[weighted_choice(rng, population)]
        place = {"community": community_name[grid["community"]], "grid": grid["name"]}
        name = person_name(rng, profile.generation, profile.gender) if is_person else \
            organisation_name(rng, profile, place["community"], org_names)
        entries.append(volunteer_entry(rng, profile, name, grid["code"], unique_phone(rng, phones), place))
    rng.shuffle(entries)
    entries, pairs = plant_duplicates(rng, entries, phones)
    for i, entry in enumerate(entries, 1):
        entry["ref"] = f"V{i:05d}"
    return entries, [(a["ref"], b["ref"]) for a, b in pairs]


def volunteer_entry(
    rng: random.Random, profile: Profile, name: str, grid: str, phone: str, place: dict[str, str]
) -> Record:
    services = list(profile.services)
    if profile.optional_service and rng.random() < profile.optional_rate:
        services.append(profile.optional_service)
    is_person = profile.kind == "person"
    capacity = weighted_choice(rng, PERSON_CAPACITY_WEIGHTS) if is_person else rng.randint(*profile.capacity)
    pools = {**DESCRIPTION_POOLS, "community": (place["community"],), "grid": (place["grid"],)}
    return {
        "ref": "",
        "name": name,
        "kind": profile.kind,
        "phone": phone,
        "grid": grid,
        "skills": pick_skills(rng, profile, services),
        "services": services,
        "availability": pick_slots(rng, profile.availability),
        "capacity": capacity,
        "force": profile.force,
        "party_member": is_person and rng.random() < profile.party_rate,
        "description": fill(rng, rng.choice(profile.descriptions), pools),
    }


def pick_skills(rng: random.Random, profile: Profile, services: list[str]) -> list[str]:
    """1-4 tags: one for each service offered first, then others this kind of provider has."""
    chosen = [rng.choice(profile.skills[s]) for s in services]
    every = [tag for tags in profile.skills.values() for tag in tags if tag not in chosen]
    wanted = max(len(chosen), rng.randint(1, 4))
    extra = rng.sample(every, min(len(every), wanted - len(chosen)))
    return chosen + extra


def pick_slots(rng: random.Random, schedules: Schedules) -> list[str]:
    if rng.random() < ANY_TIME_AVAILABILITY_SHARE:
        return []
    return list(rng.choice(schedules))


def unique_phone(rng: random.Random, taken: set[str]) -> str:
    while True:
        phone = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10 ** 8):08d}"
        if phone not in taken:
            taken.add(phone)
            return phone


def organisation_name(rng: random.Random, profile: Profile, community: str, taken: set[str]) -> str:
    """A realistic organisation name; when the plain names keep being taken, a branch in this community."""
    stem = community.removesuffix("社区")
    pools: dict[str, Pool] = {
        "brand": profile.brands, "team": VOLUNTEER_TEAMS, "community": (stem,), "surname": surname,
    }
    for attempt in range(MAX_NAME_ATTEMPTS):
        name = fill(rng, rng.choice(profile.names), pools)
        if attempt >= PLAIN_NAME_ATTEMPTS and not name.startswith(stem):
            name = f"{name}（{stem}）"
        if name not in taken:
            taken.add(name)
            return name
    raise RuntimeError(f"no free organisation name for {profile.key}")  # pragma: no cover


def plant_duplicates(
    rng: random.Random, entries: list[Record], phones: set[str]
) -> tuple[list[Record], list[tuple[Record, Record]]]:
    """The same person entered a second time, with a variant character or a phone off by one digit.

    Phones stay unique in the pool: the second entry always carries a mistyped number.
    """
    candidates = [i for i, e in enumerate(entries) if e["kind"] == "person"
                  and any(ch in VARIANT_CHARACTERS for ch in e["name"][1:])]
    sources = sorted(rng.sample(candidates, PLANTED_DUPLICATE_COUNT))
    pairs: list[tuple[Record, Record]] = []
    inserts: list[tuple[int, Record]] = []
    for n, i in enumerate(sources):
        original = entries[i]
        copy = {
            **original,
            "skills": list(reversed(original["skills"])),
            "services": list(original["services"]),
            "availability": list(original["availability"]),
            "phone": mistyped_phone(rng, original["phone"], phones),
        }
        if n % 2 == 0:  # a variant character as well; otherwise the name is the same
            copy["name"] = variant_name(original["name"])
        pairs.append((original, copy))
        inserts.append((rng.randint(i + 1, len(entries)), copy))
    for position, copy in sorted(inserts, key=lambda item: item[0], reverse=True):
        entries.insert(position, copy)
    return entries, pairs


def variant_name(name: str) -> str:
    for i in range(len(name) - 1, 0, -1):  # the surname stays; a given-name character is misheard
        if name[i] in VARIANT_CHARACTERS:
            return name[:i] + VARIANT_CHARACTERS[name[i]] + name[i + 1:]
    raise ValueError(name)  # pragma: no cover - callers pick names that have one


def mistyped_phone(rng: random.Random, phone: str, taken: set[str]) -> str:
    while True:
        position = rng.randrange(3, len(phone))
        digit = str((int(phone[position]) + rng.choice((1, 9))) % 10)
        typo = phone[:position] + digit + phone[position + 1:]
        if typo not in taken:
            taken.add(typo)
            return typo


# ================================================================================================
# Needs pool (需求库)
# ================================================================================================

# Urgent is left to the templates that are (a flood, a locked door): nobody rates a new fly screen urgent.
URGENCY_WEIGHTS: dict[str, float] = {"low": 0.1, "normal": 0.82, "high": 0.08}
# How needs reach the grid: besides the app, through the hotline, the building heads (楼栋长),
# Party members' household visits (党员责任田), street snapshots (随手拍) and the community desk.
CHANNEL_WEIGHTS: dict[str, float] = {"app": 0.35, "hotline": 0.2, "building_head": 0.15, "visit": 0.15,
                                     "snapshot": 0.08, "walk_in": 0.07}
# A template's own urgency wins this often over the usual spread.
URGENCY_HINT_RATE = 0.55
TYPO_RATE = 0.15  # share of colloquial needs carrying the usual typing slips
MAX_TEXT_ATTEMPTS = 8  # redraws before a repeated need text is accepted

# Common slips in residents' messages (homophones, the IME's first guess).
TYPOS: tuple[tuple[str, str], ...] = (
    ("水龙头", "水笼头"), ("安装", "按装"), ("已经", "以经"), ("在家", "再家"), ("登录", "登陆"),
    ("账号", "帐号"), ("的时候", "得时候"), ("做饭", "作饭"), ("一下", "一哈"), ("怎么", "咋"),
    ("什么", "啥"), ("电梯", "电题"), ("师傅", "师父"), ("辅导", "辅到"),
)

NEED_POOLS: dict[str, Pool] = {
    "addr": lambda r: f"{r.randint(1, 18)}栋{r.randint(1, 4)}单元",
    "room": lambda r: f"{r.randint(1, 18)}栋{r.randint(2, 32)}0{r.randint(1, 8)}",
    "floor": lambda r: str(r.randint(7, 33)),
    "spot": ("楼道", "小区门口", "巷子口", "公交站旁边", "菜市场后面", "篮球场边上", "学校门口", "停车场出口",
             "公园东门", "十字路口", "幼儿园对面", "农贸市场门口", "地铁站B出口"),
    "who": ("我妈", "我爸", "我奶奶", "我爷爷", "家里老人", "我外婆", "我岳母", "我婆婆", "家里八十多岁的老人"),
    "neighbour": lambda r: r.choice(("隔壁的", "楼下的", "对门的", "楼上的", "同一层的")) + surname(r)
    + r.choice(("阿姨", "伯", "奶奶", "爷爷", "大爷")),
    "kid": ("我家小孩", "孩子", "我儿子", "我女儿", "我家老大", "上初中的孩子"),
    "hospital": ("宝安人民医院", "区中医院", "社康", "妇幼保健院", "西乡人民医院", "区人民医院"),
    "appliance_fault": ("冰箱不制冷", "冰箱一直响", "洗衣机不转了", "洗衣机漏水", "热水器打不着火", "空调不制冷",
                        "空调一开就跳闸", "油烟机不转了", "电视开不了机", "燃气灶打不着火", "微波炉不热了"),
    "dur": ("好几天了", "一个多星期了", "半个月了", "快一个月了", "两三天了", "从上周开始"),
    "day": ("周三上午", "这周末", "明天下午", "下周一", "周五", "下周二上午", "后天"),
    "workers": lambda r: str(r.randint(3, 40)),
    "amount": lambda r: f"{r.randint(2, 30)}万",
    "months": lambda r: str(r.randint(2, 6)),
}

# Housing estates (小区): most are named after their community, some are commercial developments.
ESTATE_SUFFIXES = ("花园", "新村", "一村", "二村", "大厦", "名苑", "公寓")
OTHER_ESTATES = ("翠湖苑", "富盈门", "碧海名园", "兴华大厦", "裕安花园", "金海湾", "锦绣江南", "御景华庭")

NeedTemplate = tuple[str, str | None]  # text template, the urgency it implies

COLLOQUIAL_TEMPLATES: dict[str, tuple[NeedTemplate, ...]] = {
    "public": (
        ("{spot}的路灯坏了{dur}，晚上黑乎乎的{很危险|不敢走|老人摔了一跤}", None),
        ("{spot}{路灯|那盏灯}一闪一闪的，{dur}了也没人修", "low"),
        ("{xiaoqu}{spot}下水道堵了，一下雨就{积水|水漫到路上|臭得不行}", None),
        ("{spot}{污水冒出来了|下水道反水}，整条路都是臭水", "high"),
        ("{请问|}居住证到期了{怎么续签|在哪里续}？要带什么材料", "low"),
        ("想问一下灵活就业的社保{怎么交|在哪里办|可以在网上交吗}", "low"),
        ("{孩子刚出生|宝宝满月了}，户口{要去哪里上|怎么办理}", None),
        ("{who}的医保卡丢了，{怎么补办|去哪里补}", None),
        ("{who}在老家住院，异地医保{怎么报销|要备案吗}", None),
        ("{spot}有人占道摆摊，{车都过不去|人都走不了|天天吵到半夜}", None),
        ("小区消防通道被车堵死了，{dur}都没人管", "high"),
        ("{addr}楼道里{堆满了杂物|停了好多电动车在充电}，{怕着火|消防通道都堵了}", "high"),
        ("{spot}电线{裸露在外面|垂下来了|被挖断了}，小孩经常在那边玩，很危险", "high"),
        ("{xiaoqu}旁边有人在搭违章建筑，{天天敲敲打打|越搭越高|把路都占了}", None),
        ("楼顶有人{加盖|私搭}铁皮房，{dur}了", None),
        ("{spot}的公厕{太脏了没人打扫|门坏了|没水冲}，味道很大", None),
        ("老板拖欠我们{workers}个工人工资{amount}，已经{months}个月了，求帮忙讨薪", "high"),
        ("{厂里|工地上}{months}个月没发工资了，老板{电话不接|人都找不到}", "high"),
        ("在{厂里|工地}干活手受伤了老板不给赔，想申请法律援助", "high"),
        ("家里{困难|只有我一个人挣钱|老公生病没收入}，想申请低保，需要什么条件", None),
        ("{who}是残疾人，残疾证到期了要换", "low"),
        ("{请问|}养老金资格认证要去哪里办", "low"),
        ("{spot}的井盖{松了，踩上去会晃|不见了，好大一个洞}", "high"),
        ("公园里的{健身器材|秋千|长椅}坏了{dur}", "low"),
        ("{spot}路面坑坑洼洼，电动车{经常摔|一下雨就陷进去}", None),
        ("{spot}垃圾{dur}没人清运，臭死了", None),
        ("申请临时救助需要哪些材料", None),
        ("{who}满80岁了，高龄津贴{怎么申请|要去哪里办}", "low"),
        ("被公司辞退了不给补偿，想找劳动仲裁", None),
        ("身份证丢了，补办要{多久|带什么}", None),
        ("{spot}的树倒了压在路上", "urgent"),
        ("{spot}{红绿灯坏了|斑马线都看不清了}，{上学的小孩|过马路的老人}很危险", "high"),
        ("隔壁工地{晚上十二点还在施工|天天半夜打桩}，吵得睡不着", None),
        ("{who}是退伍军人，优待证{怎么办|在哪里申请}", "low"),
        ("想办个生育登记，{去哪里办|网上能办吗}", "low"),
    ),
    "volunteer": (
        ("{neighbour}一个人住，腿脚不方便，想找人帮忙买菜", None),
        ("{who}{day}要去{hospital}复查，我们上班走不开，{能不能找个|有没有}志愿者陪一下", None),
        ("{who}要去{hospital}{拿药|做检查}，一个人不认得路，{能不能|可不可以}找人陪着去", None),
        ("{kid}作业不会做，家里没人会辅导，想找个{大学生|老师}帮忙", "low"),
        ("{who}不会用智能手机，想学{微信视频|扫码付款|在手机上挂号}", "low"),
        ("想请人帮忙在网上{填一下申请表|预约挂号|交水电费|弄一下医保电子凭证}，{who}弄不来", None),
        ("{neighbour}一个人住，子女在外地，希望有人{能经常去看看|隔几天去坐坐}", None),
        ("{who}行动不便，想找人帮忙送{饭|午饭|晚饭}", None),
        ("社区{能不能|可不可以}组织一下{重阳节|中秋|元宵|端午}活动，老人们都想热闹一下", "low"),
        ("新搬来的外国邻居不会说中文，需要翻译帮忙沟通", "low"),
        ("{who}卧床在家，头发很长了，有没有志愿者上门理发", None),
        ("{who}眼睛不好，想找人来读读报纸、陪着聊聊天", "low"),
        ("{who}的药吃完了，想找人帮忙去{hospital}拿一下药", "high"),
        ("{neighbour}{dur}没出门了，敲门也没人应，能不能找人去看看", "urgent"),
        ("{who}腿摔伤了，想找人帮忙{取快递、倒垃圾|下楼拿个快递}", None),
        ("{who}想学用手机{打车|视频通话|看新闻|抢菜}，谁有空教教", "low"),
        ("周末想给{kid}找个{陪读|辅导英语|辅导数学}的志愿者", "low"),
        ("{who}一个人在家很孤单，想有人陪着说说话", "low"),
        ("{neighbour}{家里灯泡坏了|窗帘掉了|要搬个柜子}，自己弄不了，有没有热心人帮一下", None),
        ("{who}想参加社区的{合唱队|书法班|广场舞}，不知道找谁报名", "low"),
        ("{who}不识字，{收到一封信|要填个表}看不懂，想找人帮忙念一下", None),
        ("{neighbour}{住院了|回老家了}家里的猫没人喂，{能不能|有没有}人帮忙喂几天", "low"),
    ),
    "market": (
        ("家里{appliance_fault}，找个师傅上门修", None),
        ("{appliance_fault}，{不知道还在不在保修|用了好多年了}，哪里有靠谱的维修", None),
        ("厨房水龙头一直滴水，要换一个", "low"),
        ("卫生间漏水漏到楼下了，{急！|楼下都来敲门了|地上全是水}", "urgent"),
        ("{水管爆了|厨房的水管裂了}，水停不下来", "urgent"),
        ("钥匙锁家里了，{找个开锁的|谁能帮忙开锁}", "urgent"),
        ("家里跳闸了{一半房间没电|推不上去}", "high"),
        ("{插座冒火花|灯一开就跳闸}，想找个电工来看看", "high"),
        ("想找个钟点工{每周打扫两次|周末来打扫一下}卫生", "low"),
        ("{新房|刚租的房子}要开荒保洁，{多少钱|有没有推荐的}", "low"),
        ("下个月要搬家，找{搬家公司|个小货车}，东西不多", "low"),
        ("{媳妇|老婆}快生了，想找个靠谱的月嫂", None),
        ("家里{蟑螂|老鼠|白蚁}太多了，想找人来消杀", None),
        ("电梯又坏了，{who}住{floor}楼上不去", "high"),
        ("{电梯关人了|电梯卡在半空}，按警铃没人理", "urgent"),
        ("楼里停水了，物业也不说什么时候{来修|恢复}", "high"),
        ("空调{好久没洗了|有味道|滴水}，想找人清洗", "low"),
        ("想找个护工照顾住院的{who}", None),
        ("房子想简单翻新一下，{刷刷墙换换地板|卫生间重新做防水}", "low"),
        ("找个育儿嫂白天帮忙带孩子", None),
        ("热水器打不着火，洗不了澡", "high"),
        ("门锁坏了关不上，想换个{锁|智能锁}", None),
        ("{room}天花板渗水，墙皮都掉了", None),
        ("家里马桶堵了，{通不下去|用了好多办法都不行}", "high"),
        ("想{装个晾衣架|装个防盗网|换个纱窗}，找个师傅", "low"),
        ("{who}一个人在家，想请个保姆{白天做做饭|住家照顾}", None),
    ),
    "social": (
        ("{kid}最近不爱说话，老是关在房间里，想找心理老师聊聊", None),
        ("最近压力很大{睡不着|老想哭|什么都不想做}，想找人{倾诉一下|做个心理咨询}", None),
        ("和房东有{租房合同纠纷|押金纠纷}，想咨询一下律师", None),
        ("离婚{财产怎么分|孩子抚养权归谁}，想找律师问问", None),
        ("{who}中风后想做康复训练，有没有{上门的|离家近的}", None),
        ("孩子放学后没人管，社区有没有四点半课堂", "low"),
        ("婆媳关系闹得很僵，想请社工来调解一下", None),
        ("{楼上楼下|和隔壁}因为{噪音|漏水|晾衣服}吵了好多次，想请人来调解", None),
        ("{who}有点老年痴呆，白天家里没人，有没有日托的地方", None),
        ("想学个{技能|手艺|电工证}找工作，有没有免费的培训", "low"),
        ("{kid}是自闭症，想找康复机构", None),
        ("{who}刚出院，需要有人上门护理换药", "high"),
        ("青春期孩子叛逆，{不知道怎么沟通|天天顶嘴}，想参加亲子课程", "low"),
        ("借钱给朋友不还，写了借条，想咨询一下怎么起诉", None),
        ("老公喝酒后{经常|老是}动手，不知道找谁帮忙", "urgent"),
        ("{kid}沉迷手机游戏，想找专业的人帮忙", None),
        ("{who}骨折后在家，想找个康复师{上门指导|教教怎么锻炼}", None),
        ("{买的房子|装修}被坑了，合同上的事想找个律师看看", None),
        ("{kid}在学校被同学欺负，{不敢去上学|回家就哭}，想找人疏导一下", "high"),
        ("家里老人{脾气越来越怪|总说不想活了}，想找专业的人来看看", "high"),
        ("{who}失能在床，想申请{长者服务|社工上门}，有没有政府补贴的", None),
        ("刚从戒毒所出来的{亲戚|弟弟}想找工作，有没有社工能帮帮", None),
    ),
}

FORMAL_TEMPLATES: dict[str, tuple[NeedTemplate, ...]] = {
    "public": (
        ("尊敬的领导：您好！本人系{community}{xiaoqu}居民。{spot}一带路灯损坏已{dur}，夜间道路漆黑，"
         "{多名老人和儿童在此摔倒|行人和电动车经常相撞}，存在较大安全隐患。多次反映未果，恳请相关部门尽快派人核查维修，谢谢！",
         "high"),
        ("您好，我们是在{xiaoqu}附近工地务工的{workers}名工人，包工头以工程款未结为由拖欠我们{months}个月工资"
         "共计{amount}元，多次讨要无果，生活已十分困难。恳请街道劳动部门协调处理，维护我们的合法权益。", "high"),
        ("{community}{xiaoqu}{addr}旁有住户长期在公共区域违规搭建{铁皮房|雨棚}并私拉电线，既占用消防通道，"
         "又存在严重火灾隐患，周边居民多次劝阻无效，请城管和消防部门依法查处。", "high"),
        ("本人户籍在外省，现在{community}居住满{一年|两年}，想为孩子办理居住证以便明年入学。请问需要提供哪些材料，"
         "是否需要本人到窗口办理？望予以答复，谢谢。", "low"),
        ("尊敬的社区工作人员：{xiaoqu}{spot}的雨水井长期堵塞，每逢下雨路面积水深达{十几|二十多}厘米，"
         "居民出行极为不便，且污水外溢滋生蚊虫。恳请市政部门尽快安排疏通，并从根本上解决排水问题。", None),
        ("您好！本人于今年{三|五|七}月被单位无故辞退，公司至今未支付经济补偿金及最后一个月工资，"
         "本人家庭经济困难，无力聘请律师，特申请法律援助，望予以受理。", "high"),
        ("尊敬的领导：本人的{母亲|父亲}今年七十九岁，独居，每月仅靠微薄的养老金生活，近期因病住院花费较大，"
         "家庭生活陷入困境。特申请临时救助，恳请予以审核帮扶，不胜感激！", "high"),
    ),
    "volunteer": (
        ("您好，我是{xiaoqu}的居民，{neighbour}今年八十多岁，独自居住，子女均在外地工作。老人平时{买菜做饭|上下楼}"
         "较为困难，希望社区能安排志愿者定期上门探访并协助购买生活用品，不胜感激。", None),
        ("社区工作人员您好：我父亲{day}需到{hospital}进行复查，因我在外地出差无法陪同，老人视力不好且不熟悉"
         "就诊流程，恳请社区协调一名志愿者陪同就医，谢谢！", None),
        ("您好！我家是双职工家庭，孩子今年上{三|四|五}年级，放学后无人辅导功课，成绩有所下降。"
         "听说社区有大学生志愿者，希望能安排每周一到两次的课业辅导，谢谢！", "low"),
        ("社区您好：我们楼有{几位|好几位}高龄老人不会使用智能手机，看病挂号、领取补贴都很不方便。"
         "建议社区组织志愿者开展手机使用培训，手把手教老人操作，谢谢！", "low"),
    ),
    "market": (
        ("物业管理处：本人为{xiaoqu}{room}业主，近期卫生间天花板持续渗水，经查疑为楼上住户防水层破损所致，"
         "已严重影响正常使用，请尽快安排维修人员上门处理并协调楼上住户。", "high"),
        ("您好，本人家中电器已使用约{五|八|十}年，近日出现{appliance_fault}的情况，已过保修期，想找正规的维修公司"
         "上门检测维修，希望能提供报价，谢谢。", None),
        ("您好！本人所住{xiaoqu}{addr}的电梯近一个月内已停运{三|四|五}次，楼内多为老人和带小孩的家庭，"
         "出行十分不便，且存在安全隐患。请物业公司尽快安排专业维保单位彻底检修。", "high"),
        ("您好，家中老人{年事已高|术后行动不便}，子女工作繁忙无法照顾，现需聘请一名有经验的住家护工，"
         "要求有健康证、能照料卧床老人，请推荐正规的家政服务机构。", None),
    ),
    "social": (
        ("您好！本人系{community}居民，因与邻居在公共区域使用问题上发生多次争执，双方情绪较为激动。为避免矛盾"
         "进一步升级，恳请社区安排专业社工介入，协助双方沟通化解。", None),
        ("尊敬的工作人员：我的孩子今年{十三|十四|十五}岁，近半年来成绩明显下滑，不愿与家人交流，经常整夜玩手机。"
         "作为家长我们非常焦虑，希望能为孩子和家长安排专业的心理辅导，谢谢！", None),
        ("您好，本人与前夫离婚后因子女抚养费问题多次协商未果，对方长期拒绝支付。想咨询专业律师，"
         "了解如何通过法律途径维护孩子的权益，谢谢。", None),
        ("社区您好：我母亲今年{七十五|八十二}岁，患有轻度认知障碍，白天家中无人照看。希望了解社区"
         "是否有日间照料或社工上门服务，费用方面能否享受政府补贴。", None),
    ),
}
FORMAL_SHARE = 0.12
# Location a resident may put first: "我是海滨花园3栋2单元的，".
LOCATION_LEAD_SHARE = 0.2
LOCATION_LEADS = ("我是{xiaoqu}{addr}的，", "{xiaoqu}{addr}，", "我住{xiaoqu}，", "{community}{xiaoqu}的，")
PREFIXES = ("", "", "", "", "", "你好，", "您好，", "在吗？", "麻烦问下，", "社区你好，", "网格员你好，")
SUFFIXES = ("", "", "", "", "，谢谢", "，谢谢！", "。。。", "！！", "，麻烦尽快", "～", "，有没有人管啊", "，急",
            "，麻烦了")
WINDOW_SHAPES: tuple[tuple[str, str], ...] = (
    ("09:00", "12:00"), ("14:00", "18:00"), ("09:00", "18:00"), ("19:00", "21:00"), ("10:00", "11:30"),
    ("15:00", "17:00"), ("08:30", "10:30"),
)
CONTACT_TITLES = ("先生", "女士", "阿姨", "伯", "小姐")


def build_needs(
    rng: random.Random, communities: list[Record], grids: list[Record], population: dict[str, float]
) -> list[Record]:
    community_name = {c["code"]: c["name"] for c in communities}
    community_of = {g["code"]: g["community"] for g in grids}
    labels = need_labels(rng)
    seen: set[str] = set()
    needs: list[Record] = []
    phones: set[str] = set()
    for i, service in enumerate(labels, 1):
        grid = weighted_choice(rng, population)
        text, hint = need_text(rng, service, community_name[community_of[grid]], seen)
        needs.append({
            "ref": f"N{i:04d}",
            "text": text,
            "grid": grid,
            "urgency": need_urgency(rng, hint),
            "window": need_window(rng),
            "contact": need_contact(rng, phones),
            "service": service,
        })
    # Drawn after every text, so the needs themselves stay what each seed always gave.
    for need in needs:
        need["channel"] = weighted_choice(rng, CHANNEL_WEIGHTS)
    return needs


def need_labels(rng: random.Random) -> list[str]:
    labels = [s for s, share in NEED_SHARE_BY_SERVICE.items() for _ in range(round(NEED_COUNT * share))]
    rng.shuffle(labels)
    return labels


def need_text(rng: random.Random, service: str, community: str, seen: set[str]) -> tuple[str, str | None]:
    stem = community.removesuffix("社区")
    estates = (*(stem + suffix for suffix in ESTATE_SUFFIXES), *OTHER_ESTATES)
    pools = {**NEED_POOLS, "community": (community,), "xiaoqu": estates}
    for _ in range(MAX_TEXT_ATTEMPTS):
        if rng.random() < FORMAL_SHARE:
            template, hint = rng.choice(FORMAL_TEMPLATES[service])
            text = fill(rng, template, pools)
        else:
            template, hint = rng.choice(COLLOQUIAL_TEMPLATES[service])
            text = colloquial(rng, fill(rng, template, pools), pools)
        if text not in seen:
            break
    seen.add(text)
    return text, hint


def colloquial(rng: random.Random, text: str, pools: dict[str, Pool]) -> str:
    """Decorate a need the way residents type: a greeting, where they live, a slip, a plea."""
    if rng.random() < LOCATION_LEAD_SHARE:
        text = fill(rng, rng.choice(LOCATION_LEADS), pools) + text
    if rng.random() < TYPO_RATE:
        slips = [(right, wrong) for right, wrong in TYPOS if right in text]
        if slips:
            right, wrong = rng.choice(slips)
            text = text.replace(right, wrong, 1)
    suffix = rng.choice(SUFFIXES)
    if suffix and text[-1] in "？?！!":
        suffix = ""
    return rng.choice(PREFIXES) + text + suffix


def need_urgency(rng: random.Random, hint: str | None) -> str:
    if hint is not None and rng.random() < URGENCY_HINT_RATE:
        return hint
    return weighted_choice(rng, URGENCY_WEIGHTS)


def need_window(rng: random.Random) -> str:
    if rng.random() < FLEXIBLE_NEED_SHARE:
        return ""
    day = DEMO_WEEK_START + timedelta(days=rng.randint(1, NEED_WINDOW_HORIZON_DAYS))
    start, end = rng.choice(WINDOW_SHAPES)
    return f"{day.isoformat()}T{start}/{day.isoformat()}T{end}"


def need_contact(rng: random.Random, taken: set[str]) -> str:
    phone = unique_phone(rng, taken)
    masked = f"{phone[:3]}****{phone[-4:]}"
    style = rng.random()
    if style < 0.4:
        return masked
    if style < 0.85:
        return f"{surname(rng)}{rng.choice(CONTACT_TITLES)} {masked}"
    return f"{person_name(rng, 'mid')} {masked}"
