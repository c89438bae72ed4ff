"""Labelled noisy addresses made from a building register, as residents type them.

Each query starts from one building of the register (its code and grid are the label) and one
**form** of its address:

``full``          the register's address as it stands (广东省深圳市宝安区新安街道上合社区翻身路18号金碧花园5栋)
``no_community``  the community left out (its road and number kept; the province, city and district half the time)
``no_street``     the subdistrict (街道) and the road with its number left out, the community kept
``estate_only``   the building's name alone: estate and building number (金碧花园5栋)

then **variants**, each drawn on its own for every query (so a query may carry none, one or several):

``unit``              another way to write the building unit: 栋 → 座/幢/号楼/#, 座 → 栋/幢, 号 → 号楼/栋
``fullwidth``         full-width digits and letters (５栋, Ａ座)
``chinese_numeral``   the building number in Chinese numerals (三栋, 十二号); and 三坊 → 3坊 half the time
``homophone``         one character of the estate (now and then of the community) replaced by a common
                      character of the same toneless pinyin (金碧 → 金壁)
``room``              a room after the building (5栋502, 5-502, 5栋2单元502, 12号502房, 金碧大厦1203室)
``alias``             one of the building's aliases (an old village name, the estate's former name) in
                      place of its name, without the road

A space or a comma between the parts now and then is background noise, not a variant.

Nothing here reads :mod:`matching.addresses`: the forms and variants come from how the register
writes its addresses, not from how the resolver reads them. The tuning set (on which ACCEPT_SCORE
is chosen) and the evaluation set come from different seeds and from disjoint buildings
(:func:`tuning_and_evaluation`), so the evaluation set is held out in buildings and in draws.
"""
from __future__ import annotations

import random
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pypinyin import lazy_pinyin

TUNING_SEED = "addresses-tuning-1"
EVALUATION_SEED = "addresses-evaluation-1"

FORM_WEIGHTS: dict[str, float] = {"full": 0.15, "no_community": 0.2, "no_street": 0.25, "estate_only": 0.4}
VARIANT_PROBABILITY: dict[str, float] = {
    "unit": 0.3, "fullwidth": 0.25, "chinese_numeral": 0.3, "homophone": 0.35, "room": 0.35, "alias": 0.5,
}
FORMS = tuple(FORM_WEIGHTS)
VARIANTS = tuple(VARIANT_PROBABILITY)
KINDS = FORMS + VARIANTS
# A homophone lands in the community instead of the estate this often (when the query names one).
COMMUNITY_TYPO_SHARE = 0.2
SEPARATOR_SHARE = 0.2
SEPARATORS = (" ", " ", "，", ",", "　")
ADMIN_KEPT_SHARE = 0.5  # no_community and no_street keep the province, city and district this often

UNIT_VARIANTS: dict[str, tuple[str, ...]] = {
    "栋": ("座", "幢", "号楼", "#"),
    "幢": ("栋", "座", "号楼"),
    "座": ("栋", "幢"),
    "号": ("号楼", "栋"),
}
CN_DIGITS = "零一二三四五六七八九"
CN_NUMERAL_RE = re.compile("[一二三四五六七八九十]+")
# The building at the end of a name: (宿舍)5栋, 5幢, A座, 2号厂房, 12号.
LABEL_RE = re.compile(r"(?P<number>\d+|[A-Z])(?P<unit>栋|幢|座|号厂房|号)$")
HEAD_RE = re.compile(r"^(?P<admin>(?:.+?省)?(?:.+?市)?(?:.+?[区县])?)(?P<street>.+?(?:街道|镇))?"
                     r"(?P<community>.+?社区)?(?P<gate>.*)$")
# Characters a typo never brings in: numerals and building units change what the text says.
NO_TYPO_CHARACTERS = frozenset("零〇一二两三四五六七八九十百千万栋座幢号楼室房坊巷社区")


@dataclass(frozen=True)
class NoisyQuery:
    text: str
    code: str  # the building meant
    grid: str  # its grid
    kinds: tuple[str, ...]  # the form first, then the variants applied


@dataclass(frozen=True)
class _Parts:
    admin: str  # 广东省深圳市宝安区
    street: str  # 新安街道
    community: str  # 上合社区
    gate: str  # 翻身路18号
    site: str  # 金碧花园, 文雅村二坊, 凯达工业园宿舍
    number: str  # 5, A, 18; "" for a building without a number
    unit: str  # 栋, 座, 幢, 号, 号厂房; ""


def _split_name(name: str) -> tuple[str, str, str]:
    m = LABEL_RE.search(name)
    if m is None:
        return name, "", ""
    return name[:m.start()], m["number"], m["unit"]


def _parts(record: Mapping[str, Any]) -> _Parts:
    name: str = record["name"]
    address: str = record.get("address") or name
    head = address[:-len(name)] if address.endswith(name) else ""
    m = HEAD_RE.match(head)
    assert m is not None  # every part is optional
    site, number, unit = _split_name(name)
    return _Parts(m["admin"] or "", m["street"] or "", m["community"] or "", m["gate"] or "", site, number, unit)


# --- homophones ---------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _common_by_sound() -> dict[str, tuple[str, ...]]:
    """Toneless pinyin → the common characters (GB 2312 level 1, 3,755) read that way."""
    out: dict[str, list[str]] = {}
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            if high == 0xD7 and low > 0xF9:
                break
            char = bytes((high, low)).decode("gb2312")
            if char not in NO_TYPO_CHARACTERS:
                out.setdefault(lazy_pinyin(char)[0], []).append(char)
    return {k: tuple(v) for k, v in out.items()}


def _homophone(rng: random.Random, text: str) -> str | None:
    """``text`` with one Chinese character replaced by another of the same sound; None if none has one."""
    by_sound = _common_by_sound()
    positions = [i for i, c in enumerate(text) if "\u4e00" <= c <= "\u9fff" and c not in NO_TYPO_CHARACTERS]
    rng.shuffle(positions)
    for i in positions:
        sound = lazy_pinyin(text[i])[0]
        others = [c for c in by_sound.get(sound, ()) if c != text[i]]
        if others:
            return text[:i] + rng.choice(others) + text[i + 1:]
    return None


# --- numbers --------------------------------------------------------------------------------------

def chinese_number(n: int) -> str:
    """3 → 三, 12 → 十二, 20 → 二十, 105 → 一百零五, 230 → 二百三十."""
    if n < 10:
        return CN_DIGITS[n]
    if n < 20:
        return "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return CN_DIGITS[n // 10] + "十" + (CN_DIGITS[n % 10] if n % 10 else "")
    rest = n % 100
    head = CN_DIGITS[n // 100] + "百"
    if rest == 0:
        return head
    if rest < 10:
        return head + "零" + CN_DIGITS[rest]
    return head + CN_DIGITS[rest // 10] + "十" + (CN_DIGITS[rest % 10] if rest % 10 else "")


def _arabic(numeral: str) -> str:
    """三 → 3, 十二 → 12 (the register's numerals go up to 十五)."""
    values = {c: i for i, c in enumerate(CN_DIGITS)}
    if "十" not in numeral:
        return "".join(str(values[c]) for c in numeral)
    tens, _, ones = numeral.partition("十")
    return str((values[tens] if tens else 1) * 10 + (values[ones] if ones else 0))


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and (c.isalnum() or c in "-#") else c for c in text)


def _room(rng: random.Random) -> str:
    return f"{rng.randint(1, 33)}{rng.randint(1, 8):02d}"


# --- one query ------------------------------------------------------------------------------------

def _query(rng: random.Random, record: Mapping[str, Any]) -> NoisyQuery:
    parts = _parts(record)
    form = rng.choices(FORMS, weights=[FORM_WEIGHTS[f] for f in FORMS])[0]
    drawn = [v for v in VARIANTS if rng.random() < VARIANT_PROBABILITY[v]]
    applied: list[str] = []

    site, number, unit, gate = parts.site, parts.number, parts.unit, parts.gate
    aliases = [a for a in record.get("aliases") or () if a]
    if "alias" in drawn and aliases:
        site, number, unit = _split_name(rng.choice(aliases))
        gate = ""  # the road belongs to the estate's present name
        applied.append("alias")

    community = parts.community
    if "homophone" in drawn:
        if community and form in ("full", "no_street") and rng.random() < COMMUNITY_TYPO_SHARE:
            typo = _homophone(rng, community.removesuffix("社区"))
            if typo is not None:
                community, applied = typo + "社区", applied + ["homophone"]
        else:
            typo = _homophone(rng, site)
            if typo is not None:
                site, applied = typo, applied + ["homophone"]

    if "unit" in drawn and unit in UNIT_VARIANTS:
        unit = rng.choice(UNIT_VARIANTS[unit])
        applied.append("unit")

    numeral = False
    if "chinese_numeral" in drawn:
        if number.isdigit():
            number, numeral = chinese_number(int(number)), True
        if CN_NUMERAL_RE.search(site) and (not numeral or rng.random() < 0.5):
            site, numeral = CN_NUMERAL_RE.sub(lambda m: _arabic(m[0]), site), True
        if numeral:
            applied.append("chinese_numeral")

    sep = (lambda: rng.choice(SEPARATORS)) if rng.random() < SEPARATOR_SHARE else (lambda: "")
    label = f"{number}{unit}"
    if "room" in drawn and unit != "号厂房":
        room = _room(rng)
        if not number:  # a building of its own: 金碧大厦1203室
            label = rng.choice((f"{room}室", room, f"{room}房"))
        else:
            styles = [f"{label}{room}", f"{label}{room}室", f"{label}{room}房"]
            if unit != "号":
                styles.append(f"{label}{rng.randint(1, 4)}单元{room}")
            if number.isascii():
                styles.append(f"{number}-{room}")  # 5-502, A-1203
            label = rng.choice(styles)
        applied.append("room")

    name = f"{site}{sep()}{label}"
    admin_street = parts.admin + parts.street
    if form == "full":
        text = f"{admin_street}{community}{sep()}{gate}{sep()}{name}"
    elif form == "no_community":
        head = admin_street if rng.random() < ADMIN_KEPT_SHARE else parts.street
        text = f"{head}{gate}{sep()}{name}"
    elif form == "no_street":
        head = parts.admin if rng.random() < ADMIN_KEPT_SHARE else ""
        text = f"{head}{community}{sep()}{name}"
    else:
        text = name
    if "fullwidth" in drawn and re.search("[0-9A-Za-z]", text):
        text = _fullwidth(text)
        applied.append("fullwidth")
    kinds = (form,) + tuple(v for v in VARIANTS if v in applied)
    return NoisyQuery(text.strip(), record["code"], record["grid"], kinds)


def make_queries(buildings: Sequence[Mapping[str, Any]], count: int, seed: int | str,
                 exclude: Collection[str] = ()) -> list[NoisyQuery]:
    """``count`` noisy queries of distinct buildings (not in ``exclude``), drawn with ``seed``."""
    rng = random.Random(seed)
    pool = [b for b in buildings if b["code"] not in exclude]
    chosen = rng.sample(pool, min(count, len(pool)))
    return [_query(rng, b) for b in chosen]


def tuning_and_evaluation(buildings: Sequence[Mapping[str, Any]], tuning: int = 600, evaluation: int = 600,
                          tuning_seed: int | str = TUNING_SEED,
                          evaluation_seed: int | str = EVALUATION_SEED) -> tuple[list[NoisyQuery], list[NoisyQuery]]:
    """A tuning set and an evaluation set of different seeds over disjoint buildings."""
    tune = make_queries(buildings, tuning, tuning_seed)
    held_out = make_queries(buildings, evaluation, evaluation_seed, exclude={q.code for q in tune})
    return tune, held_out


__all__ = ["EVALUATION_SEED", "FORMS", "KINDS", "TUNING_SEED", "VARIANTS", "NoisyQuery", "chinese_number",
           "make_queries", "tuning_and_evaluation"]
