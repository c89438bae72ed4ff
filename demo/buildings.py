"""The demo subdistrict's building register (楼栋): estates, urban villages, industrial parks and shop streets.

:func:`build_buildings` returns plain dicts whose keys are the ``buildings`` import columns
(``code,name,address,aliases,grid,head,households,lng,lat``), values already parsed to Python types.
Pure data: nothing here touches a database or the network, and every draw comes from the generator
passed in, so the same seed gives the same register in every process (no set is iterated unsorted).

Buildings come in *sites* as a Bao'an subdistrict names them: residential estates (金碧花园5栋, 海雅华庭A座,
翠湖苑3幢), urban villages (上合村三坊12号, 甲岸村东二巷7号), industrial parks (华丰科技园2号厂房, 华丰科技园宿舍1栋)
and shop streets (建安商业街18号). A site lies in one grid or in two neighbouring grids of one community; each
building's position is a point inside its grid's boundary (None when the grid has none).
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

Record = dict[str, Any]

DEFAULT_BUILDING_COUNT = 3000
MAX_BUILDING_COUNT = 99_999
PROVINCE_CITY_DISTRICT = "广东省深圳市宝安区"
SUBDISTRICT_NAME = "新安街道"
HEAD_SHARE = 0.6  # buildings with a building head (楼栋长) drawn from the grid's person volunteers
TWO_GRID_SHARE = 0.25  # sites spread over two neighbouring grids of their community
HOUSEHOLDS_RANGE = (20, 400)
COORDINATE_DECIMALS = 6
POSITION_ATTEMPTS = 30

# Kinds of site and how often each is drawn.
SITE_WEIGHTS: dict[str, float] = {"estate": 0.55, "village": 0.25, "park": 0.1, "street": 0.1}

# --- names ---------------------------------------------------------------------------------------
ESTATE_WORDS: tuple[str, ...] = (
    "金碧", "海雅", "幸福", "名门", "碧海", "翠湖", "锦绣", "华丰", "富盈", "裕安", "兴华", "宝城", "泰华", "鸿荣",
    "中洲", "星海", "御景", "龙珠", "桃源", "丽景", "雅豪", "海语", "天骄", "新湖", "宝安", "富通", "金海", "恒丰",
    "华联", "蓝天", "碧水", "海滨", "海岸", "尚都", "西城", "宝华", "嘉华", "怡景", "锦华", "龙湾", "半岛", "水岸",
    "东方", "紫荆", "翠竹", "桂园", "兰亭", "枫叶", "阳光", "明珠", "君逸", "汇港", "海韵", "海逸", "愉景", "名仕",
    "福园", "康达", "佳华", "安华", "宏发", "鼎太", "泰和", "中熙", "宝立", "天悦", "湾畔", "缤纷", "凯旋", "骏逸",
    "灏景", "华盛", "万丰", "金泓", "景湖", "悦海", "椰林", "文华",
)
ESTATE_TAILS: tuple[str, ...] = ("湾", "园", "峰", "轩", "阁", "居", "庭", "台")
# Suffixes with their weight and how the buildings of such an estate are counted: (min, max).
ESTATE_SUFFIXES: dict[str, tuple[float, tuple[int, int]]] = {
    "花园": (10, (3, 24)), "苑": (5, (2, 12)), "新村": (4, (4, 30)), "公寓": (3, (1, 4)), "大厦": (3, (1, 4)),
    "华庭": (3, (2, 10)), "雅居": (2, (2, 8)), "御府": (2, (3, 12)), "城": (2, (6, 30)), "名苑": (2, (2, 10)),
    "家园": (2, (3, 16)), "豪庭": (1, (2, 8)),
}
# Urban villages of the area (城中村); a community's own village carries its name.
VILLAGE_STEMS: tuple[str, ...] = (
    "甲岸", "固戍", "臣田", "黄田", "铁仔", "河东", "河西", "坪洲", "草围", "后瑞", "钟屋", "南昌", "麻布", "流塘",
    "洲石", "罗田", "龙井", "塘尾", "共乐", "大围", "新围", "老围", "旧围", "鹤洲", "黄麻布", "九围", "料坑", "劳屋",
    "三围", "凤凰岗", "上屋", "下屋", "水库", "桥头", "渔业", "蚝业", "石围", "田心", "白石厦", "涌下",
)
VILLAGE_VARIANTS: tuple[str, ...] = ("东", "西", "南", "北", "新", "老", "上", "下")
LANE_DIRECTIONS: tuple[str, ...] = ("东", "西", "南", "北", "")
PARK_WORDS: tuple[str, ...] = (
    "华丰", "恒丰", "富源", "宏发", "创业", "智谷", "立新", "鸿荣", "宝源", "新和", "福永", "南航", "凯达", "联合",
    "泰丰", "金凯", "安通", "益田", "民治", "国兴", "宝运达", "汇潮", "兴业", "龙骏", "粤宝", "信义", "华美", "嘉达",
)
PARK_SUFFIXES: tuple[str, ...] = ("工业园", "科技园", "工业园", "创意园")
STREET_SUFFIXES: tuple[str, ...] = ("商业街", "步行街", "美食街")
ROADS: tuple[str, ...] = (
    "新安一路", "新安二路", "新安三路", "新安四路", "新安五路", "新安六路", "建安一路", "建安二路", "宝民一路", "宝民二路",
    "前进一路", "前进二路", "创业一路", "创业二路", "新湖路", "海秀路", "裕安一路", "裕安二路", "兴华一路", "兴华二路",
    "上川路", "洪浪北路", "新城大道", "宝安大道", "公园路", "翻身路", "罗田路", "甲岸路", "布心路", "隆昌路", "安乐路",
    "宝城路", "海城路", "大宝路", "金城路", "新圳路", "流塘路", "文雅路", "灵芝路", "海裕路", "宝兴路", "湖滨路",
)
ROADS_PER_COMMUNITY = (4, 7)
CHINESE_NUMBERS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四", "十五")
LETTERS = "ABCDEFGH"

# Shares of buildings or sites that carry a former name (旧名).
ESTATE_ON_VILLAGE_SHARE = 0.12  # an estate built where village houses stood (旧改): each building keeps the old number
ESTATE_RENAMED_SHARE = 0.08  # an estate that changed its name: the old name with the same number
VILLAGE_OLD_NUMBER_SHARE = 0.2  # a village house known by its number before the 坊 were counted
PARK_RENAMED_SHARE = 0.3  # a 科技园 that was a 工业区
MAX_NAME_ATTEMPTS = 60


@dataclass
class Site:
    kind: str
    name: str
    community: str  # community name, e.g. 上合社区
    grids: list[str]
    road: str
    number: int
    former: str = ""  # the site's former name, or a village it replaced
    buildings: list[Record] = field(default_factory=list)
    anchors: dict[str, tuple[float, float] | None] = field(default_factory=dict)  # grid → the site's centre there


def build_buildings(
    rng: random.Random,
    communities: list[Record],
    grids: list[Record],
    count: int = DEFAULT_BUILDING_COUNT,
    *,
    volunteers: Sequence[Record] | None = None,
) -> list[Record]:
    """``count`` buildings over ``grids`` (demo grid rows: code, community, neighbors, boundary).

    ``volunteers`` (demo volunteer rows): about 60% of buildings get a person of their grid as building
    head (``head`` is that volunteer's ref); without them every ``head`` is None.
    """
    if count > MAX_BUILDING_COUNT:
        raise ValueError(f"at most {MAX_BUILDING_COUNT} buildings (codes B00001…B99999)")
    if count <= 0 or not grids:
        return []
    community_name = {c["code"]: c["name"] for c in communities}
    grid_by_code = {g["code"]: g for g in grids}
    roads = {code: sorted(rng.sample(ROADS, rng.randint(*ROADS_PER_COMMUNITY))) for code in sorted(community_name)}
    heads: dict[str, list[str]] = {}
    for v in volunteers or ():
        if v.get("kind") == "person" and v.get("ref"):
            heads.setdefault(v["grid"], []).append(v["ref"])
    for refs in heads.values():
        refs.sort()
    rings = {code: _outer_rings(g.get("boundary")) for code, g in grid_by_code.items()}

    site_names: set[str] = set()
    building_names: set[str] = set()
    aliases_taken: set[str] = set()
    # Every grid gets a site first (in a drawn order), then grids are drawn at random.
    order = [g["code"] for g in grids]
    rng.shuffle(order)
    out: list[Record] = []
    turn = stalled = 0
    while len(out) < count:
        primary = order[turn] if turn < len(order) else rng.choice(order)
        turn += 1
        grid = grid_by_code[primary]
        community: str = grid["community"]
        site_grids = [primary]
        partners = sorted(n for n in grid.get("neighbors") or ()
                          if n in grid_by_code and grid_by_code[n]["community"] == community)
        if partners and rng.random() < TWO_GRID_SHARE:
            site_grids.append(rng.choice(partners))
        kind = _weighted(rng, SITE_WEIGHTS)
        name_of_community: str = community_name.get(community, community)
        site_roads: list[str] = roads.get(community) or list(ROADS)
        site = _new_site(rng, kind, name_of_community, site_grids, site_roads, site_names)
        made = _site_buildings(rng, site, building_names, aliases_taken) if site is not None else []
        stalled = 0 if made else stalled + 1
        if stalled > MAX_NAME_ATTEMPTS * 10:  # pragma: no cover - names run out far beyond 99,999 buildings
            raise RuntimeError(f"no free site names after {len(out)} buildings")
        if site is None:
            continue
        for building in made:
            if len(out) >= count:
                break
            # The first building is in the site's first grid, so that grid surely has one.
            grid_code = site.grids[0] if not site.buildings else rng.choice(site.grids)
            site.buildings.append(building)
            lng_lat = _position(rng, rings[grid_code], site, grid_code)
            refs = heads.get(grid_code, [])
            head = rng.choice(refs) if refs and rng.random() < HEAD_SHARE else None
            out.append({
                "code": f"B{len(out) + 1:05d}",
                "name": building["name"],
                "address": building["address"],
                "aliases": building["aliases"],
                "grid": grid_code,
                "head": head,
                "households": building["households"],
                "lng": lng_lat[0] if lng_lat else None,
                "lat": lng_lat[1] if lng_lat else None,
            })
    return out


# ================================================================================================
# Sites
# ================================================================================================


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _new_site(rng: random.Random, kind: str, community: str, grids: list[str], roads: list[str],
              taken: set[str]) -> Site | None:
    stem = community.removesuffix("社区")
    for attempt in range(MAX_NAME_ATTEMPTS):
        if kind == "estate":
            name = _estate_core(rng, attempt) + _weighted(rng, {k: w for k, (w, _) in ESTATE_SUFFIXES.items()})
        elif kind == "village":
            # The community's own village first, then the area's, then their quarters (上合东村).
            stems = [stem] if attempt == 0 else [rng.choice(VILLAGE_STEMS + (stem,))]
            name = stems[0] + ("" if attempt < 20 else rng.choice(VILLAGE_VARIANTS)) + "村"
        elif kind == "park":
            core = rng.choice(PARK_WORDS + (stem,))
            if attempt >= 10:
                core += rng.choice(("一", "二", "三", "新", "东", "西"))
            name = core + rng.choice(PARK_SUFFIXES)
        else:
            core = rng.choice((stem, _road_stem(rng.choice(roads)), rng.choice(ESTATE_WORDS)))
            name = core + rng.choice(STREET_SUFFIXES)
        if name in taken:
            continue
        taken.add(name)
        site = Site(kind=kind, name=name, community=community, grids=grids, road=rng.choice(roads),
                    number=rng.randint(1, 400))
        if kind == "estate" and rng.random() < ESTATE_ON_VILLAGE_SHARE:
            site.former = rng.choice(VILLAGE_STEMS + (stem,)) + "村"
        elif kind == "estate" and rng.random() < ESTATE_RENAMED_SHARE:
            site.former = _estate_core(rng, 0) + rng.choice(("新村", "花园", "宿舍区"))
        elif kind == "park" and name.endswith("科技园") and rng.random() < PARK_RENAMED_SHARE:
            site.former = name.removesuffix("科技园") + "工业区"
        return site
    return None


def _road_stem(road: str) -> str:
    """新安二路 → 新安, 新城大道 → 新城, 洪浪北路 → 洪浪北."""
    stem = road.removesuffix("大道").removesuffix("路")
    return stem.rstrip("一二三四五六七八九十") or stem


def _estate_core(rng: random.Random, attempt: int) -> str:
    """2–4 characters: one word mostly; two words or a word and a tail when names run short."""
    roll = rng.random()
    if attempt < 3 and roll < 0.7:
        return rng.choice(ESTATE_WORDS)
    if roll < 0.85:
        first, second = rng.sample(ESTATE_WORDS, 2)
        return first + second
    return rng.choice(ESTATE_WORDS) + rng.choice(ESTATE_TAILS)


def _site_buildings(rng: random.Random, site: Site, names: set[str], aliases: set[str]) -> list[Record]:
    """The buildings of a site: name, address, aliases, households (grid and position come later)."""
    prefix = f"{PROVINCE_CITY_DISTRICT}{SUBDISTRICT_NAME}{site.community}"
    gate = f"{site.road}{site.number}号"
    rows: list[tuple[str, str, list[str], int]] = []  # name, address, aliases, households
    if site.kind == "estate":
        suffix = next(s for s in ESTATE_SUFFIXES if site.name.endswith(s))
        low, high = ESTATE_SUFFIXES[suffix][1]
        n = rng.randint(low, high)
        style = "座" if suffix == "大厦" else _weighted(rng, {"栋": 0.8, "座": 0.1 if n <= len(LETTERS) else 0, "幢": 0.1})
        old_numbers = sorted(rng.sample(range(1, 120), n)) if site.former.endswith("村") else []
        for i in range(1, n + 1):
            if n == 1 and suffix in ("大厦", "公寓"):
                label = ""
            elif style == "座":
                label = f"{LETTERS[i - 1]}座"
            else:
                label = f"{i}{style}"
            name = site.name + label
            former: list[str] = []
            if old_numbers:
                former.append(f"{site.former}{old_numbers[i - 1]}号")
            elif site.former:
                former.append(f"{site.former}{i}栋")
            elif style == "座" and suffix != "大厦" and rng.random() < 0.5:
                former.append(f"{site.name}{i}栋")  # counted by number before the letters
            households = rng.randint(80, 400) if suffix in ("大厦", "城", "御府") else rng.randint(40, 320)
            rows.append((name, f"{prefix}{gate}{name}", former, households))
    elif site.kind == "village":
        lanes = rng.random() < 0.4
        n = rng.randint(10, 60)
        seen: set[str] = set()
        while len(rows) < n and len(seen) < 4 * n:
            if lanes:
                place = f"{rng.choice(LANE_DIRECTIONS)}{rng.choice(CHINESE_NUMBERS[:8])}巷"
            else:
                place = f"{rng.choice(CHINESE_NUMBERS[:10])}坊"
            name = f"{site.name}{place}{rng.randint(1, 40)}号"
            if name in seen:
                continue
            seen.add(name)
            former = [f"{site.name}{rng.randint(1, 300)}号"] if rng.random() < VILLAGE_OLD_NUMBER_SHARE else []
            rows.append((name, f"{prefix}{name}", former, rng.randint(20, 80)))
        rows.sort(key=lambda r: r[0])
    elif site.kind == "park":
        plants, dorms = rng.randint(1, 6), rng.randint(1, 5)
        for i in range(1, plants + 1):
            rows.append((f"{site.name}{i}号厂房", "", [], rng.randint(20, 60)))
        for i in range(1, dorms + 1):
            rows.append((f"{site.name}宿舍{i}栋", "", [], rng.randint(120, 400)))
        rows = [(name, f"{prefix}{gate}{name}",
                 [site.former + name.removeprefix(site.name)] if site.former else [], h)
                for name, _, _, h in rows]
    else:
        numbers = sorted(rng.sample(range(1, 200), rng.randint(5, 20)))
        for number in numbers:
            name = f"{site.name}{number}号"
            rows.append((name, f"{prefix}{name}", [], rng.randint(20, 60)))
    out: list[Record] = []
    for name, address, former, households in rows:
        if name in names:
            continue
        names.add(name)
        kept = [a for a in former if a not in aliases and a not in names]
        aliases.update(kept)
        out.append({"name": name, "address": address, "aliases": kept,
                    "households": min(max(households, HOUSEHOLDS_RANGE[0]), HOUSEHOLDS_RANGE[1])})
    return out


# ================================================================================================
# Positions
# ================================================================================================

Ring = list[tuple[float, float]]


def _outer_rings(boundary: Any) -> list[list[Ring]]:
    """Each polygon of a GeoJSON Polygon or MultiPolygon as its rings (exterior first); [] without one."""
    if not isinstance(boundary, dict):
        return []
    coordinates = boundary.get("coordinates") or []
    polygons = [coordinates] if boundary.get("type") == "Polygon" else coordinates
    return [[[(float(p[0]), float(p[1])) for p in ring] for ring in polygon] for polygon in polygons if polygon]


def point_in_polygon(point: tuple[float, float], polygon: Sequence[Ring]) -> bool:
    """Even-odd ray casting over all rings of one polygon (holes excluded)."""
    x, y = point
    inside = False
    for ring in polygon:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
    return inside


def _inside(point: tuple[float, float], polygons: list[list[Ring]]) -> bool:
    return any(point_in_polygon(point, polygon) for polygon in polygons)


def _position(rng: random.Random, polygons: list[list[Ring]], site: Site,
              grid: str) -> tuple[float, float] | None:
    """A point inside the grid near the site's centre there: the site's buildings stand together."""
    if not polygons:
        return None
    if grid not in site.anchors:
        site.anchors[grid] = _random_point(rng, polygons)
    anchor = site.anchors[grid]
    if anchor is None:
        return None
    ring = polygons[0][0]
    span_x = (max(p[0] for p in ring) - min(p[0] for p in ring)) * 0.12
    span_y = (max(p[1] for p in ring) - min(p[1] for p in ring)) * 0.12
    for _ in range(POSITION_ATTEMPTS):
        point = (round(anchor[0] + rng.uniform(-span_x, span_x), COORDINATE_DECIMALS),
                 round(anchor[1] + rng.uniform(-span_y, span_y), COORDINATE_DECIMALS))
        if _inside(point, polygons):
            return point
    return anchor


def _random_point(rng: random.Random, polygons: list[list[Ring]]) -> tuple[float, float] | None:
    """A point inside the polygons: near the centroid of the first exterior ring, by rejection."""
    ring = polygons[0][0]
    xs, ys = [p[0] for p in ring[:-1]], [p[1] for p in ring[:-1]]
    cx, cy = sum(xs) / len(xs), sum(ys) / len(ys)
    west, east, south, north = min(xs), max(xs), min(ys), max(ys)
    for attempt in range(POSITION_ATTEMPTS):
        # Half the box around the centroid first, then the whole box.
        scale = 0.5 if attempt < POSITION_ATTEMPTS // 2 else 1.0
        point = (round(cx + rng.uniform(west - cx, east - cx) * scale, COORDINATE_DECIMALS),
                 round(cy + rng.uniform(south - cy, north - cy) * scale, COORDINATE_DECIMALS))
        if _inside(point, polygons):
            return point
    centre = (round(cx, COORDINATE_DECIMALS), round(cy, COORDINATE_DECIMALS))
    return centre if _inside(centre, polygons) else None


__all__ = ["DEFAULT_BUILDING_COUNT", "build_buildings", "point_in_polygon"]
