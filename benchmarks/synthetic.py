"""A synthetic subdistrict for the matcher's benchmarks: grids on a lattice, providers, needs.

Grids lie on a square lattice; each grid neighbours the (up to) eight around it. Providers are
mostly volunteers living in a grid, with one to four skill tags, weekly slots or any time, and a
capacity; a few are government resources covering a patch of grids. Needs sit in a grid, ask for
one of the four services and mention one of its skill tags in residents' words, half of them with
a time window in the week of :data:`WEEK_START`.

``plant`` adds, for that share of the needs, a provider made to be its clear best: same grid, the
need's own tag, a description that repeats the need's words, available any time, idle and
reliable. The quality benchmark checks the matcher finds them.

Everything is drawn from one seeded generator, so a size and seed always give the same subdistrict.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from core.vocab import Service
from matching.slots import parse_slots
from matching.taxonomy import SKILLS_BY_SERVICE
from matching.types import GridMap, NeedView, ProviderView

WEEK_START = datetime(2026, 12, 7)  # a Monday
PROVIDERS_PER_GRID = 20  # about a real subdistrict: a few thousand volunteers over 158 grids
RESOURCE_SHARE = 0.02  # government resources among providers: a few dozen per subdistrict
RESOURCE_PATCH_RADIUS = 2  # a resource covers the grids within 2 steps of its centre (<= 25)
EVERYWHERE_RESOURCE_SHARE = 0.1  # resources covering every grid, on maps of a subdistrict's size
SUBDISTRICT_GRIDS = 200  # maps larger than this are districts or cities: no resource covers all
SUBDISTRICT_BLOCK = (12, 13)  # lattice rows x columns of one subdistrict on larger maps (156 grids)
SECOND_SERVICE_SHARE = 0.15  # providers offering a second service
ANY_TIME_SHARE = 0.4  # volunteers without slots
WINDOW_SHARE = 0.5  # needs with a time window
TAG_IN_TEXT_SHARE = 0.85  # needs whose text names a skill tag verbatim
TIGHT_FREE_PER_NEED = 0.8  # free capacity per need when supply is tight

NEED_SERVICE_MIX = {"volunteer": 0.45, "public": 0.25, "social": 0.15, "market": 0.15}
PROVIDER_SERVICE_MIX = {"volunteer": 0.5, "social": 0.2, "market": 0.2, "public": 0.1}
URGENCY_MIX = {"low": 0.2, "normal": 0.55, "high": 0.18, "urgent": 0.07}

WHO = ("独居老人", "腿脚不便的王阿姨", "80岁的李大爷", "双职工家庭", "残疾人张先生", "新搬来的租户",
       "单亲妈妈", "外来务工人员", "刚退休的陈老师", "行动不便的老党员", "孤寡老人刘奶奶", "困难家庭")
VERB = ("需要", "想找人帮忙", "希望社区协助", "急需", "请求帮助")
DETAIL = {
    "volunteer": ("下周要去医院复查", "子女不在身边", "不会用智能手机", "每天中午需要送餐",
                  "周末想参加社区活动", "孩子作业没人辅导", "一个人在家很孤单", "看不清报纸上的字"),
    "public": ("材料不知道怎么准备", "已经跑了两次没办成", "路灯坏了好几天", "楼下下水道堵了",
               "工资被拖欠三个月", "补贴一直没到账", "消防通道被电动车占了", "想咨询最新政策"),
    "social": ("最近压力很大睡不着", "家里老人白天没人照看", "孩子放学后没人管", "和邻居因为噪音闹矛盾",
               "刚失业想学门手艺", "家庭关系紧张", "中风后需要康复", "青春期孩子不愿沟通"),
    "market": ("家里水管漏水", "空调不制冷", "门锁坏了进不去", "想找人打扫卫生", "下个月搬家",
               "厨房有蟑螂", "电梯经常停", "卫生间墙面渗水"),
}
ROLE = {
    "volunteer": ("退休教师", "社区志愿者", "党员志愿者", "大学生志愿者", "楼栋长", "热心居民"),
    "public": ("社区工作站", "街道办事处窗口", "司法所", "城管执法队", "社保服务站", "网格员"),
    "social": ("社工机构", "心理咨询师", "执业律师", "康复治疗师", "公益组织", "家庭服务中心"),
    "market": ("物业公司", "家政公司", "维修师傅", "搬家公司", "保洁公司", "装修队"),
}
EXTRA = ("热心肠，乐于助人", "周末有空", "经验丰富", "住在本社区多年", "服务过上百户居民", "耐心细致",
         "随叫随到", "有相关证书")
# The weekly slots as the pools write them (``hours``, ``availability``), and parsed as the engine reads them.
SLOT_TEXTS = (
    ("mon-fri 09:00-12:00",), ("mon-fri 14:00-17:00",), ("sat-sun 09:00-17:00",),
    ("mon-fri 18:00-21:00",), ("wed 08:00-12:00", "fri 08:00-12:00"), ("tue-thu 14:00-18:00",),
    ("mon-sun 08:00-20:00",), ("sat 09:00-12:00", "sun 14:00-18:00"),
)
OFFICE_HOURS_TEXT = ("mon-fri 09:00-12:00", "mon-fri 14:00-17:30")
SLOT_PATTERNS = tuple(parse_slots(list(p)) for p in SLOT_TEXTS)
OFFICE_HOURS = parse_slots(list(OFFICE_HOURS_TEXT))
WINDOW_START_HOURS = (8, 9, 10, 14, 15, 16, 19)


@dataclass(frozen=True)
class Subdistrict:
    needs: list[NeedView]
    providers: list[ProviderView]
    grid_map: GridMap
    planted: dict[int, tuple[str, int]] = field(default_factory=dict)  # need id -> provider key

    @property
    def free_capacity(self) -> int:
        return sum(p.free for p in self.providers)


def lattice(n_grids: int) -> tuple[list[str], GridMap]:
    """Grid codes and their eight-neighbourhoods on a near-square lattice. A map larger than a
    subdistrict is cut into blocks of SUBDISTRICT_BLOCK grids, one subdistrict each."""
    cols = max(1, math.ceil(math.sqrt(n_grids)))
    codes = [f"G{k:05d}" for k in range(n_grids)]
    neighbours: dict[str, frozenset[str]] = {}
    subdistricts: dict[str, str] = {}
    for k, code in enumerate(codes):
        r, c = divmod(k, cols)
        if n_grids > SUBDISTRICT_GRIDS:
            rows_per, cols_per = SUBDISTRICT_BLOCK
            subdistricts[code] = f"S{r // rows_per:03d}-{c // cols_per:03d}"
        near = set()
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                rr, cc = r + dr, c + dc
                kk = rr * cols + cc
                if (dr or dc) and 0 <= cc < cols and 0 <= kk < n_grids and rr >= 0:
                    near.add(codes[kk])
        neighbours[code] = frozenset(near)
    return codes, GridMap(neighbors=neighbours, subdistricts=subdistricts)


def patch(codes: list[str], centre: int, radius: int) -> frozenset[str]:
    cols = max(1, math.ceil(math.sqrt(len(codes))))
    r0, c0 = divmod(centre, cols)
    out = set()
    for r in range(r0 - radius, r0 + radius + 1):
        for c in range(c0 - radius, c0 + radius + 1):
            k = r * cols + c
            if r >= 0 and 0 <= c < cols and 0 <= k < len(codes):
                out.add(codes[k])
    return frozenset(out)


def _pick(rng: random.Random, mix: dict[str, float]) -> str:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def make_subdistrict(n_needs: int, n_providers: int, *, seed: int = 0, n_grids: int | None = None,
                     supply: str = "ample", plant: float = 0.0,
                     window_share: float = WINDOW_SHARE) -> Subdistrict:
    """A subdistrict of ``n_needs`` needs and ``n_providers`` providers (planted ones on top).

    ``supply="ample"``: capacities 1-3, a tenth of providers full. ``supply="tight"``: loads chosen
    so that the free capacity is about :data:`TIGHT_FREE_PER_NEED` per need (planted ones included).
    """
    if supply not in ("ample", "tight"):
        raise ValueError("supply is 'ample' or 'tight'")
    rng = random.Random(seed)
    n_grids = n_grids or max(9, n_providers // PROVIDERS_PER_GRID)
    codes, grid_map = lattice(n_grids)
    everywhere = EVERYWHERE_RESOURCE_SHARE if n_grids <= SUBDISTRICT_GRIDS else 0.0

    providers = [_provider(rng, k, codes, everywhere) for k in range(n_providers)]
    needs = [_need(rng, k, codes, window_share) for k in range(n_needs)]

    planted: dict[int, tuple[str, int]] = {}
    n_planted = round(plant * n_needs)
    for need in rng.sample(needs, n_planted):
        best = _planted_provider(need, n_providers + len(planted))
        providers.append(best)
        planted[need.id] = best.key

    if supply == "tight":
        providers = _tighten(rng, providers, n_needs, set(planted.values()))
    return Subdistrict(needs=needs, providers=providers, grid_map=grid_map, planted=planted)


def _provider(rng: random.Random, k: int, codes: list[str], everywhere: float) -> ProviderView:
    if rng.random() < RESOURCE_SHARE:
        service = "public" if rng.random() < 0.7 else "social"
        skills = tuple(rng.sample(SKILLS_BY_SERVICE[service], rng.randint(2, 5)))
        covered = None if rng.random() < everywhere else patch(
            codes, rng.randrange(len(codes)), RESOURCE_PATCH_RADIUS)
        role = rng.choice(ROLE[service])
        capacity = rng.randint(5, 20)
        return ProviderView(
            kind="resource", id=k + 1, ref=f"R{k + 1:06d}", name=f"{role}{k + 1}",
            services=frozenset({service}), skills=skills,
            description=f"{role}，办理{'、'.join(skills)}",
            grids_covered=covered, slots=OFFICE_HOURS if rng.random() < 0.7 else (),
            capacity=capacity, load=rng.randint(0, capacity // 2),
            reliability=None if rng.random() < 0.3 else round(rng.uniform(0.7, 1.0), 2))
    primary = _pick(rng, PROVIDER_SERVICE_MIX)
    services = {primary}
    skills = rng.sample(SKILLS_BY_SERVICE[primary], rng.randint(1, 4))
    if rng.random() < SECOND_SERVICE_SHARE:
        second = rng.choice([s for s in Service if s != primary])
        services.add(second)
        skills.append(rng.choice(SKILLS_BY_SERVICE[second]))
    capacity = rng.choices((1, 2, 3), weights=(5, 3, 2))[0]
    load = capacity if rng.random() < 0.1 else rng.randint(0, capacity - 1)
    role = rng.choice(ROLE[primary])
    return ProviderView(
        kind="volunteer", id=k + 1, ref=f"V{k + 1:06d}", name=f"{role}{k + 1}",
        services=frozenset(services), skills=tuple(skills),
        description=f"{role}，{rng.choice(EXTRA)}，{rng.choice(DETAIL[primary])}也能帮忙",
        home_grid=rng.choice(codes),
        slots=() if rng.random() < ANY_TIME_SHARE else rng.choice(SLOT_PATTERNS),
        capacity=capacity, load=load,
        reliability=None if rng.random() < 0.5 else round(rng.uniform(0.6, 1.0), 2))


def _need(rng: random.Random, k: int, codes: list[str], window_share: float) -> NeedView:
    service = _pick(rng, NEED_SERVICE_MIX)
    tag = rng.choice(SKILLS_BY_SERVICE[service])
    detail = rng.choice(DETAIL[service])
    what = f"{rng.choice(VERB)}{tag}" if rng.random() < TAG_IN_TEXT_SHARE else "需要帮助"
    window = None
    if rng.random() < window_share:
        start = WEEK_START + timedelta(days=rng.randrange(7), hours=rng.choice(WINDOW_START_HOURS))
        window = (start, start + timedelta(hours=rng.choice((2, 3))))
    return NeedView(id=k + 1, ref=f"N{k + 1:06d}", text=f"{rng.choice(WHO)}{what}，{detail}",
                    grid=rng.choice(codes), service=service, urgency=_pick(rng, URGENCY_MIX),
                    window=window)


def _planted_provider(need: NeedView, k: int) -> ProviderView:
    tag = next((t for t in SKILLS_BY_SERVICE[need.service] if t in need.text),
               SKILLS_BY_SERVICE[need.service][0])
    return ProviderView(
        kind="volunteer", id=k + 1, ref=f"P{k + 1:06d}", name=f"最佳人选{k + 1}",
        services=frozenset({need.service}), skills=(tag,), description=need.text,
        home_grid=need.grid, slots=(), capacity=1, load=0, reliability=1.0)


def _tighten(rng: random.Random, providers: list[ProviderView], n_needs: int,
             keep: set[tuple[str, int]]) -> list[ProviderView]:
    """Raise loads until free capacity is about TIGHT_FREE_PER_NEED per need; planted stay free."""
    target = round(TIGHT_FREE_PER_NEED * n_needs) - len(keep)
    others = [i for i, p in enumerate(providers) if p.key not in keep]
    rng.shuffle(others)
    out = list(providers)
    free_left = max(0, target)
    for i in others:
        p = providers[i]
        give = min(1, free_left)  # one free slot at most: the contest is over few places
        free_left -= give
        out[i] = replace(p, load=p.capacity - give)
    return out
