"""Address resolution: what residents type → the building of the register and its grid.

Unit tests of :func:`normalise` and of each kind of noise on a small hand-written register, then the
accuracy on the demo register's held-out noisy addresses (``benchmarks/noisy_addresses.py``).
Timings are measured in ``benchmarks/bench_addresses.py``, never here.
"""
from __future__ import annotations

from collections import Counter

import pytest

from benchmarks.noisy_addresses import FORMS, KINDS, VARIANTS, chinese_number, make_queries, tuning_and_evaluation
from demo.data import DEFAULT_SEED, build_demo
from matching.addresses import (
    ACCEPT_SCORE,
    AddressCandidate,
    AddressIndex,
    BuildingRecord,
    normalise,
    parse,
    pinyin_key,
    split_building,
)

PREFIX = "广东省深圳市宝安区新安街道"


def register() -> list[BuildingRecord]:
    rows: list[tuple[str, str, tuple[str, ...], str]] = []  # name, address, aliases, grid
    for i in range(1, 9):  # an estate over two grids
        rows.append((f"金碧花园{i}栋", f"{PREFIX}翻身社区翻身路18号金碧花园{i}栋", (), "G01" if i <= 4 else "G02"))
    rows.append(("金碧湾花园9栋", f"{PREFIX}翻身社区翻身路20号金碧湾花园9栋", (), "G12"))
    for i in range(1, 4):  # two estates of one sound
        rows.append((f"嘉华新村{i}栋", f"{PREFIX}上合社区上川路5号嘉华新村{i}栋", (), "G03"))
        rows.append((f"佳华新村{i}栋", f"{PREFIX}海滨社区海秀路9号佳华新村{i}栋", (), "G04"))
    for place, number, grid in (("三坊", 12, "G05"), ("三坊", 15, "G05"), ("五坊", 12, "G06")):  # a village
        name = f"宝安新村{place}{number}号"
        rows.append((name, f"{PREFIX}上合社区{name}", (), grid))
    for i in range(1, 4):  # an estate known by the old village's name
        rows.append((f"翻身花园{i}栋", f"{PREFIX}上合社区宝民一路7号翻身花园{i}栋", ("上合村",), "G07"))
    for letter, number, old in (("A", 1, 57), ("B", 2, 58)):  # letters, once numbers; an old house number
        rows.append((f"海雅华庭{letter}座", f"{PREFIX}新安社区新安二路3号海雅华庭{letter}座",
                     (f"海雅华庭{number}栋", f"固戍村{old}号"), "G08"))
    rows.append(("宝安大厦", f"{PREFIX}新安社区新安一路1号宝安大厦", (), "G09"))
    rows.append(("华丰科技园1号厂房", f"{PREFIX}海滨社区创业一路2号华丰科技园1号厂房", ("华丰工业区1号厂房",), "G10"))
    rows.append(("华丰科技园2号厂房", f"{PREFIX}海滨社区创业一路2号华丰科技园2号厂房", ("华丰工业区2号厂房",), "G10"))
    rows.append(("华丰科技园宿舍1栋", f"{PREFIX}海滨社区创业一路2号华丰科技园宿舍1栋", ("华丰工业区宿舍1栋",), "G10"))
    for community, grid in (("新安社区", "G11"), ("海滨社区", "G13")):  # one name in two communities
        for i in (1, 2):
            rows.append((f"幸福花园{i}栋", f"{PREFIX}{community}幸福花园{i}栋", (), grid))
    for number in (18, 20):
        rows.append((f"建安商业街{number}号", f"{PREFIX}新安社区建安商业街{number}号", (), "G14"))
    return [BuildingRecord(i, f"B{i:05d}", name, address, aliases, grid)
            for i, (name, address, aliases, grid) in enumerate(rows, 1)]


@pytest.fixture(scope="module")
def index() -> AddressIndex:
    return AddressIndex.build(register())


def best(index: AddressIndex, text: str) -> AddressCandidate:
    found = index.resolve(text)
    assert found, text
    return found[0]


def assert_sure(index: AddressIndex, text: str, name: str) -> AddressCandidate:
    top = best(index, text)
    assert (top.name, top.score >= ACCEPT_SCORE) == (name, True), (text, index.resolve(text))
    return top


# --- normalise ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    (f"{PREFIX}翻身社区金碧花园3栋", "翻身社区金碧花园3栋"),
    ("深圳市宝安区金碧花园3栋", "金碧花园3栋"),
    ("宝安区新安街道金碧花园3栋", "金碧花园3栋"),
    ("中国广东省深圳市金碧花园3栋", "金碧花园3栋"),
    # full-width
    ("金碧花园３栋", "金碧花园3栋"),
    ("海雅华庭Ａ座", "海雅华庭a栋"),
    # Chinese numerals
    ("金碧花园三栋", "金碧花园3栋"),
    ("金碧花园十二栋", "金碧花园12栋"),
    ("金碧花园二十栋", "金碧花园20栋"),
    ("金碧花园第二十三栋", "金碧花园23栋"),
    ("宝安新村三坊一百零五号", "宝安新村3坊105栋"),
    # units
    ("金碧花园3座", "金碧花园3栋"),
    ("金碧花园3幢", "金碧花园3栋"),
    ("金碧花园3号楼", "金碧花园3栋"),
    ("金碧花园3栋号", "金碧花园3栋"),
    ("金碧花园3#", "金碧花园3栋"),
    ("金碧花园3号", "金碧花园3栋"),
    ("金碧花园3", "金碧花园3栋"),
    ("华丰科技园2号厂房", "华丰科技园厂房2栋"),
    # rooms
    ("金碧花园3栋502", "金碧花园3栋"),
    ("金碧花园3栋502室", "金碧花园3栋"),
    ("金碧花园3栋2单元502", "金碧花园3栋"),
    ("金碧花园3-502", "金碧花园3栋"),
    ("金碧花园3-2-502", "金碧花园3栋"),
    ("金碧花园3号502", "金碧花园3栋"),
    ("海雅华庭A-1203", "海雅华庭a栋"),
    ("宝安新村三坊12号502房", "宝安新村3坊12栋"),
    ("宝安大厦1203室", "宝安大厦"),
    # spaces and punctuation
    ("金碧花园 3 栋，", "金碧花园3栋"),
    ("（翻身社区）金碧花园—3栋", "翻身社区金碧花园3栋"),
    # words that only look like prefixes stay
    ("金碧小区3栋", "金碧小区3栋"),
    ("海滨市场3栋", "海滨市场3栋"),
])
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_the_building_number_is_split_off_and_the_place_around_the_estate_set_aside() -> None:
    assert split_building("金碧花园03栋") == ("金碧花园", "3")
    assert split_building("宝安大厦") == ("宝安大厦", None)
    said = parse(f"{PREFIX}翻身社区翻身路18号金碧花园3栋502")
    assert (said.community, said.road, said.core, said.number) == ("翻身", "翻身路18号", "金碧花园", "3")


def test_pinyin_hears_a_homophone_and_tells_syllables_apart() -> None:
    assert pinyin_key("金壁花园") == pinyin_key("金碧花园")
    assert pinyin_key("三坊") == pinyin_key("3坊")
    assert pinyin_key("南航新工业园") != pinyin_key("南航西工业园")
    assert len(pinyin_key("新")) == len(pinyin_key("西")) == 1  # one character a syllable


# --- each kind of noise --------------------------------------------------------------------------

def test_the_full_address_finds_its_building(index: AddressIndex) -> None:
    top = assert_sure(index, f"{PREFIX}翻身社区翻身路18号金碧花园6栋", "金碧花园6栋")
    assert (top.grid, top.matched, top.score) == ("G02", "name", 1.0)


@pytest.mark.parametrize("text", [
    "新安街道翻身路18号金碧花园6栋",  # no community
    f"{PREFIX}翻身路18号金碧花园6栋",
    "翻身社区金碧花园6栋",  # no street, no road
    "宝安区翻身社区金碧花园6栋",
    "金碧花园6栋",  # the estate alone and the number
])
def test_a_missing_community_or_street(index: AddressIndex, text: str) -> None:
    assert assert_sure(index, text, "金碧花园6栋").grid == "G02"


@pytest.mark.parametrize("text", ["金碧花园6座", "金碧花园6幢", "金碧花园6号楼", "金碧花园6#", "金碧花园第6栋"])
def test_unit_variants(index: AddressIndex, text: str) -> None:
    assert_sure(index, text, "金碧花园6栋")


@pytest.mark.parametrize("text, name", [
    ("金碧花园６栋", "金碧花园6栋"), ("海雅华庭Ｂ座", "海雅华庭B座"), ("宝安新村三坊１２号", "宝安新村三坊12号"),
])
def test_full_width_digits_and_letters(index: AddressIndex, text: str, name: str) -> None:
    assert_sure(index, text, name)


@pytest.mark.parametrize("text, name", [
    ("金碧花园六栋", "金碧花园6栋"), ("宝安新村三坊十二号", "宝安新村三坊12号"), ("宝安新村3坊12号", "宝安新村三坊12号"),
    ("宝安新村五坊十二号", "宝安新村五坊12号"), ("建安商业街二十号", "建安商业街20号"),
])
def test_chinese_numerals(index: AddressIndex, text: str, name: str) -> None:
    assert_sure(index, text, name)


@pytest.mark.parametrize("text, name", [
    ("金壁花园6栋", "金碧花园6栋"), ("宝按新村三坊15号", "宝安新村三坊15号"), ("华峰科技园宿舍1栋", "华丰科技园宿舍1栋"),
])
def test_a_wrong_character_of_the_same_sound(index: AddressIndex, text: str, name: str) -> None:
    assert assert_sure(index, text, name).matched == "pinyin"


@pytest.mark.parametrize("text, name", [
    ("金碧花园6栋502", "金碧花园6栋"), ("金碧花园6-502", "金碧花园6栋"), ("金碧花园6栋2单元1203室", "金碧花园6栋"),
    ("宝安新村三坊12号502", "宝安新村三坊12号"), ("海雅华庭A座1203", "海雅华庭A座"), ("宝安大厦1203室", "宝安大厦"),
    ("宝安大厦1203", "宝安大厦"),
])
def test_room_numbers_are_dropped(index: AddressIndex, text: str, name: str) -> None:
    assert_sure(index, text, name)


@pytest.mark.parametrize("text, name", [
    ("上合村2栋", "翻身花园2栋"),  # the old village's name for the estate, the building's own number
    ("固戍村57号", "海雅华庭A座"),  # an old house number
    ("海雅华庭1栋", "海雅华庭A座"),  # counted by numbers before the letters
    ("华丰工业区2号厂房", "华丰科技园2号厂房"),  # the park's former name
])
def test_aliases(index: AddressIndex, text: str, name: str) -> None:
    assert assert_sure(index, text, name).matched == "alias"


def test_a_number_in_the_estates_name_is_exact(index: AddressIndex) -> None:
    assert_sure(index, "宝安新村五坊12号", "宝安新村五坊12号")
    assert best(index, "宝安新村三坊12号").grid == "G05"


# --- when a person must choose -------------------------------------------------------------------

def test_an_estate_without_a_number_lists_its_buildings_below_the_line(index: AddressIndex) -> None:
    found = index.resolve("翻身社区金碧花园", limit=10)
    assert [c.name for c in found[:8]] == [f"金碧花园{i}栋" for i in range(1, 9)]  # first, by number
    # 金碧湾花园 has one building, so it would need no number, but the estate named is 金碧花园.
    assert all(c.score < ACCEPT_SCORE for c in found)


def test_an_estate_of_one_building_needs_no_number(index: AddressIndex) -> None:
    assert_sure(index, "新安社区宝安大厦", "宝安大厦")
    assert_sure(index, "宝按大厦", "宝安大厦")
    assert_sure(index, "华丰科技园宿舍", "华丰科技园宿舍1栋")


def test_a_park_named_without_its_building_is_not_sure(index: AddressIndex) -> None:
    found = index.resolve("华丰科技园")
    assert {c.name for c in found} == {"华丰科技园1号厂房", "华丰科技园2号厂房", "华丰科技园宿舍1栋"}
    assert all(c.score < ACCEPT_SCORE for c in found)


def test_a_number_the_estate_lacks_is_never_sure(index: AddressIndex) -> None:
    found = index.resolve("金碧花园12栋", limit=10)
    assert found and all(c.score < ACCEPT_SCORE for c in found)
    # 金碧湾花园9栋 exists, but 金碧花园9栋 reads as well as 金碧花园 with a wrong number.
    assert best(index, "金碧花园9栋").score < ACCEPT_SCORE


def test_one_name_in_two_communities_needs_the_community(index: AddressIndex) -> None:
    found = index.resolve("幸福花园1栋")
    assert {c.grid for c in found[:2]} == {"G11", "G13"}
    assert all(c.score < ACCEPT_SCORE for c in found)
    assert assert_sure(index, "海滨社区幸福花园1栋", "幸福花园1栋").grid == "G13"
    assert assert_sure(index, "海宾社区幸福花园1栋", "幸福花园1栋").grid == "G13"  # a typo in the community


def test_two_estates_of_one_sound(index: AddressIndex) -> None:
    assert assert_sure(index, "嘉华新村2栋", "嘉华新村2栋").grid == "G03"  # the characters decide
    assert assert_sure(index, "佳华新村2栋", "佳华新村2栋").grid == "G04"
    assert best(index, "颊华新村2栋").score < ACCEPT_SCORE  # sounds like both
    assert assert_sure(index, "上合社区颊华新村2栋", "嘉华新村2栋").grid == "G03"  # the community decides
    assert assert_sure(index, "海秀路9号颊华新村2栋", "佳华新村2栋").grid == "G04"  # or the road


@pytest.mark.parametrize("text", ["", "   ", "3栋502", "翻身社区", "，。"])
def test_nothing_to_find(index: AddressIndex, text: str) -> None:
    assert index.resolve(text) == []


def test_answers_are_ranked_limited_and_scored_in_0_1(index: AddressIndex) -> None:
    found = index.resolve("金碧花园", limit=3)
    assert len(found) == 3
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)
    assert index.resolve("金碧花园6栋", limit=0) == []
    for text in ("金碧花园6栋", "金壁花园", "上合村9栋", "随便写点什么", "a" * 5000):
        assert all(0.0 <= c.score <= 1.0 for c in index.resolve(text, limit=20))


def test_the_order_of_the_register_changes_no_answer() -> None:
    forwards, backwards = AddressIndex.build(register()), AddressIndex.build(register()[::-1])
    for text in ("金碧花园", "幸福花园1栋", "颊华新村2栋", "金壁花园6栋502", "上合村3栋"):
        assert forwards.resolve(text, limit=10) == backwards.resolve(text, limit=10)


def test_an_empty_register_finds_nothing() -> None:
    assert AddressIndex.build([]).resolve("金碧花园6栋") == []


# --- the noisy-address generator -----------------------------------------------------------------

@pytest.mark.parametrize("n, text", [(3, "三"), (10, "十"), (12, "十二"), (20, "二十"), (37, "三十七"), (105, "一百零五"),
                                     (230, "二百三十"), (119, "一百一十九")])
def test_chinese_number(n: int, text: str) -> None:
    assert chinese_number(n) == text
    assert normalise(f"金碧花园{text}栋") == f"金碧花园{n}栋"


@pytest.fixture(scope="module")
def demo_buildings() -> list[dict]:
    return build_demo(DEFAULT_SEED).buildings


def test_the_generator_is_deterministic_and_keeps_the_sets_apart(demo_buildings: list[dict]) -> None:
    tune, held_out = tuning_and_evaluation(demo_buildings, 600, 600)
    assert (tune, held_out) == tuning_and_evaluation(demo_buildings, 600, 600)
    assert not {q.code for q in tune} & {q.code for q in held_out}
    assert make_queries(demo_buildings, 50, "a") != make_queries(demo_buildings, 50, "b")
    grid_of = {b["code"]: b["grid"] for b in demo_buildings}
    assert all(grid_of[q.code] == q.grid for q in tune + held_out)
    kinds = Counter(k for q in held_out for k in q.kinds)
    assert set(kinds) == set(KINDS)
    assert all(q.kinds[0] in FORMS and set(q.kinds[1:]) <= set(VARIANTS) for q in held_out)


# --- accuracy on the demo register ---------------------------------------------------------------

def test_held_out_noisy_addresses_of_the_demo_register(demo_buildings: list[dict]) -> None:
    records = [BuildingRecord(i, b["code"], b["name"], b["address"], tuple(b["aliases"]), b["grid"])
               for i, b in enumerate(demo_buildings, 1)]
    index = AddressIndex.build(records)
    _, held_out = tuning_and_evaluation(demo_buildings, 600, 600)
    right: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    accepted = wrong_grid = 0
    for query in held_out:
        found = index.resolve(query.text)
        top = found[0] if found else None
        for kind in ("all", *query.kinds):
            seen[kind] += 1
            right[kind] += top is not None and top.code == query.code
        if top is not None and top.score >= ACCEPT_SCORE:
            accepted += 1
            wrong_grid += top.grid != query.grid

    assert right["all"] / seen["all"] >= 0.95
    assert wrong_grid <= 0.005 * accepted
    assert accepted >= 0.9 * len(held_out)  # sure of most, not safe by deciding nothing
    for kind in KINDS:
        assert seen[kind] >= 20 and right[kind] / seen[kind] >= 0.9, (kind, right[kind], seen[kind])
