"""Address resolution: the free text a resident types → ranked buildings of the register and their grid.

Residents write addresses every way but the register's: without the community or the street, the
estate alone with a building number, 座/幢/号楼 for 栋, full-width digits, Chinese numerals (三栋), a
wrong character of the same sound (金壁花园), a room number (3栋502, 3-502), an old village name.

How a text is read (:func:`parse`, the same for the register and for a query):

1. :func:`normalise`: full-width → half-width, Chinese numerals → digits, every building unit → 栋,
   room numbers dropped, province/city/district/street prefixes stripped, spaces and punctuation gone;
2. the building number is split off the end (``金碧花园3栋`` → ``金碧花园``, ``3``);
3. what names the place around the estate is set aside: the community (``…社区``), a road and
   its number (``翻身路18号``), and any district or street name the register uses; what is left is
   the estate's **core**.

:class:`AddressIndex` keeps every estate core once (from the building names, the addresses when
they name the estate otherwise, and the aliases) with its pinyin, and for each the buildings by
number. A query's core is compared with every core by rapidfuzz ``WRatio``, in characters and in
toneless pinyin (a homophone typo matches in pinyin); the building is then looked up by number.

Scores are in [0, 1] and calibrated (``benchmarks/bench_addresses.py`` on a tuning set of noisy
addresses) so that at or above :data:`ACCEPT_SCORE` the best candidate decides the grid. A score is
lowered when the building is not pinned down: a number the estate does not have, no number for an
estate of several buildings (a person chooses), or another candidate in a different grid scoring
nearly as well (two estates of one name in two communities, and the query names neither).
"""
from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process

# At or above: the best candidate decides the grid; below: a person must choose. Chosen on the tuning
# sets of benchmarks/noisy_addresses.py (benchmarks/README.md, bench_addresses.py): the first step of
# 0.05 above the best wrong-grid answer there (0.74) and above what a tie with another grid (0.76), an
# estate named without a number (0.75) or a number the estate lacks (0.70) can score.
ACCEPT_SCORE = 0.8

# A match in pinyin only counts a little less than the same match in characters.
PINYIN_WEIGHT = 0.95
# Of two names matching alike, the closer in characters goes first: this share of the character score is added.
CHARACTER_TIEBREAK = 0.01
# The query names a community or a road and number (翻身路18号) that is not the estate's: penalty;
# that is the estate's (a typo allowed: same pinyin, or characters this alike): a small bonus, which
# tells apart estates of one sound (佳华新村 / 嘉华新村 for 颊华新村).
PLACE_MISMATCH_PENALTY = 0.15
PLACE_MATCH_BONUS = 0.03
COMMUNITY_LEAST_RATIO = 50.0
ROAD_LEAST_RATIO = 60.0
# A former name counts a little less than a present one: when an alias reads like another building's
# name (金碧新村3栋), the building of that name comes first (the two stay below ACCEPT_SCORE together).
ALIAS_WEIGHT = 0.99
# Factors for a building that is not pinned down: the estate lacks the number asked for, or the
# query gives no number and the estate has several buildings. Both keep a perfect match under
# ACCEPT_SCORE.
MISSING_NUMBER_FACTOR = 0.7
NO_NUMBER_FACTOR = 0.75
# An estate named as well as the candidate's but without the number asked for (in any estate of its
# name) is a rival at this share of its score: a wrong number is less likely than a wrong character.
WRONG_NUMBER_RIVAL = 0.9
# A building whose estate (as a reading of the query) is within AMBIGUITY_MARGIN of another reading
# with a building in another grid loses AMBIGUITY_SLOPE times the shortfall from its score cut to 1:
# a tie costs 0.24, enough to keep a perfect match under ACCEPT_SCORE. (Bonuses may lift a score above
# 1 before; they widen the gap to a rival, never the score.)
AMBIGUITY_MARGIN = 0.12
AMBIGUITY_SLOPE = 2.0
# The query's core holds numbers the estate's name does not (上合村3坊 / 上合村5坊, 汇潮1工业园 /
# 汇潮工业园): numbers are exact once normalised, so this is another place, however alike the words.
NUMBER_MISMATCH_PENALTY = 0.25
# The estate's name holds a number the query leaves out (金碧花园 for 金碧花园2期): a smaller penalty.
OMITTED_NUMBER_PENALTY = 0.1
# The least score of an estate named as it is (exactly, or in the same sound): only then does the
# estate's one building need no number.
NAMED_AS_IT_IS = 0.95
# A number of 3 or more digits asked of an estate of one building without a number (金碧大厦1203) is a room.
ROOM_DIGITS = 3
# A query is read up to this many characters (an address is far shorter; a pasted letter is cut).
MAX_QUERY_CHARS = 200
# Estate names considered per query after the first pass; and the least WRatio (0-100) that counts.
SHORTLIST = 24
MIN_CORE_SCORE = 50.0


# ================================================================================================
# The register and the answer
# ================================================================================================

@dataclass(frozen=True)
class BuildingRecord:
    id: int
    code: str
    name: str
    address: str
    aliases: tuple[str, ...]
    grid: str


@dataclass(frozen=True)
class AddressCandidate:
    building_id: int
    code: str
    name: str
    grid: str
    score: float  # 0..1, calibrated so that ACCEPT_SCORE means "sure"
    matched: str  # what matched: "name", "address", "alias", "pinyin"


# ================================================================================================
# Normalising a text
# ================================================================================================

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}
_CN_NUMERAL_RE = re.compile("[零〇一二三四五六七八九十百]+")
_DASHES_RE = re.compile("[—–―‐‑~～]")
_NOISE_RE = re.compile(r"[^\w\-#]|_")
# 两 is a numeral only before a unit (两栋); elsewhere it is a word.
_LIANG_RE = re.compile("两(?=[栋座幢号#])")
_ORDINAL_RE = re.compile(r"第(?=\d)")
# Every way of writing the building unit after its number; longest first.
_UNIT_RE = re.compile(r"(?<!\d)(\d+[a-z]?|[a-z])(?:号楼|号栋|栋号|楼栋|#楼|栋|座|幢|#)")
# What may follow the building: unit, floor, room (3栋2单元502室, 3栋5楼502, 3栋502).
_ROOM_AFTER_BUILDING_RE = re.compile(r"((?<!\d)\d+[a-z]?栋|(?<![\da-z])[a-z]栋)[\da-z\-#单元楼层室房号]*$")
# 3-502, 3-2-502, 3-502室 at the end: building 3.
_DASHED_ROOM_RE = re.compile(r"(?<![\da-z\-])(\d+[a-z]?|[a-z])-\d+(?:-\d+)*[室房号]?$")
# 3号502, 3号502室 at the end: building 3.
_NUMBER_ROOM_RE = re.compile(r"(?<!\d)(\d+[a-z]?)号\d{3,4}[室房]?$")
# A plant of an industrial park (2号厂房) is numbered among the plants: 厂房2栋.
_PLANT_RE = re.compile(r"(?<!\d)(\d+[a-z]?)号?厂房")
# A room number alone at the end (1203室) after a name without a building number.
_BARE_ROOM_RE = re.compile(r"(?<![\d\-])\d{3,4}[室房]$")
# A building number at the very end, with 号 or bare (上合村3坊12号, 金碧花园3): 栋. A road's own
# number (翻身路18号) only ends a text that names no building, and is read the same way.
_TRAILING_NUMBER_RE = re.compile(r"(?<![\d\-])(\d+[a-z]?)号?$")
# Administrative prefixes, outermost first; each is stripped once from the start.
_PREFIX_RES = (
    re.compile("^(?:中华人民共和国|中国)"),
    re.compile(r"^[^\W\d_]{2,7}?(?:省|自治区)"),
    re.compile(r"^[^\W\d_]{2,4}?市(?!场|民|政|中心)"),
    re.compile(r"^[^\W\d_]{2,3}?(?<![小社园校景厂])(?:新区|区|县)(?=[^\W\d_]{2,5}?(?:街道|镇))"),
    re.compile(r"^[^\W\d_]{2,5}?(?:街道办事处|街道办|街道|镇)"),
)
# A district straight after a stripped city (深圳市宝安区金碧花园): stripped too.
_DISTRICT_AFTER_CITY_RE = re.compile(r"^[^\W\d_]{2,3}?(?<![小社园校景厂])(?:新区|区|县)")


def _cn_to_number(text: str) -> str:
    """三 → 3, 十二 → 12, 二十 → 20, 一百零五 → 105, 五零二 → 502 (digit by digit when no 十 or 百)."""
    if "十" not in text and "百" not in text:
        return "".join(str(_CN_DIGITS[c]) for c in text)
    total, digit = 0, 0
    for c in text:
        if c == "百":
            total += (digit or 1) * 100
            digit = 0
        elif c == "十":
            total += (digit or 1) * 10
            digit = 0
        else:
            digit = _CN_DIGITS[c]
    return str(total + digit)


def _numerals(text: str) -> str:
    text = _LIANG_RE.sub("2", text)
    return _CN_NUMERAL_RE.sub(lambda m: _cn_to_number(m[0]), text)


def _prefix_parts(text: str) -> tuple[list[str], str]:
    """The administrative prefixes at the start of ``text`` (中国, 广东省, 深圳市, 宝安区, 新安街道) and the rest."""
    parts: list[str] = []
    for i, pattern in enumerate(_PREFIX_RES):
        m = pattern.match(text)
        if m and m.end() < len(text):
            parts.append(m[0])
            text = text[m.end():]
            if i == 2:  # a city: a district may follow without a street after it
                d = _DISTRICT_AFTER_CITY_RE.match(text)
                if d and d.end() < len(text):
                    parts.append(d[0])
                    text = text[d.end():]
    return parts, text


@lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    """The canonical form of an address text, for the register and for queries alike.

    Full-width → half-width, Chinese numerals → digits (三栋 → 3栋, 十二 → 12), 座/幢/号楼/栋号/# → 栋,
    province/city/district/street prefixes stripped, room numbers dropped (3栋502, 3-502 → 3栋),
    spaces and punctuation gone. The community, road and estate stay.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = _DASHES_RE.sub("-", text)
    text = _NOISE_RE.sub("", text)
    text = _numerals(text)
    text = _ORDINAL_RE.sub("", text)
    text = _UNIT_RE.sub(r"\1栋", text)
    text = _PLANT_RE.sub(r"厂房\1栋", text)
    text = _ROOM_AFTER_BUILDING_RE.sub(r"\1", text)
    text = _DASHED_ROOM_RE.sub(r"\1栋", text)
    text = _NUMBER_ROOM_RE.sub(r"\1栋", text)
    text = _BARE_ROOM_RE.sub("", text)
    if not text.endswith("栋"):
        text = _TRAILING_NUMBER_RE.sub(r"\1栋", text)
    text = _prefix_parts(text)[1]
    return text.replace("-", "").replace("#", "")


# ================================================================================================
# Reading a normalised text: community, road, estate core, building number
# ================================================================================================

_BUILDING_RE = re.compile(r"((?<!\d)\d+[a-z]?|(?<![\da-z])[a-z])栋$")
_COMMUNITY_RE = re.compile("社区|居委会|村委会")
_ROAD_RE = re.compile(r"^[^\W_]{1,8}?(?:大道|大街|路|街|巷|道)\d+(?:号之\d+|号)(?:[东西南北]侧)?")
_DIGITS_RE = re.compile(r"\d+")
_HAN_RUN_RE = re.compile("[\u4e00-\u9fff]+|[^\u4e00-\u9fff]+")
_DIGIT_SOUNDS = ("ling", "yi", "er", "san", "si", "wu", "liu", "qi", "ba", "jiu")


@dataclass(frozen=True)
class ParsedAddress:
    community: str  # the community's name before 社区, "" when not named
    road: str  # a road with its number before the estate (翻身路18号), "" when not named
    core: str  # the estate as named: what is left once the place around it and the number are gone
    number: str | None  # the building number (3, 12a, a), None when not given


def split_building(text: str) -> tuple[str, str | None]:
    """``金碧花园3栋`` → (``金碧花园``, ``3``); a text not ending in a building → (text, None)."""
    m = _BUILDING_RE.search(text)
    if m is None:
        return text, None
    return text[:m.start()], m[1].lstrip("0") or "0"


def parse(text: str, context_words: Iterable[str] = ()) -> ParsedAddress:
    """Split an address into community, road, estate core and building number.

    ``context_words`` are place names known to stand around estates (the register's districts and
    streets): removed wherever they appear.
    """
    rest, number = split_building(normalise(text))
    community = ""
    m = None
    for m in _COMMUNITY_RE.finditer(rest):
        pass
    if m is not None:
        community, rest = rest[:m.start()], rest[m.end():]
    for word in context_words:
        if word in rest:
            rest = rest.replace(word, "")
    road = ""
    found = _ROAD_RE.match(rest)
    if found and found.end() < len(rest):
        road, rest = found[0], rest[found.end():]
    return ParsedAddress(community, road, rest, number)


# Each toneless syllable (and each ASCII letter) gets one character of a private-use plane, so that
# rapidfuzz compares pinyin syllable by syllable: a homophone typo differs in none, 新 against 西
# (xin / xi) in one whole syllable, not in one letter. Only ASCII items get codes (a few hundred
# syllables and letters); any other character stands for itself, so the table stays small whatever
# is typed.
_SYLLABLE_BASE = 0xF0000
_syllables: dict[str, str] = {}
_syllables_lock = threading.Lock()


def _syllable_code(syllable: str) -> str:
    code = _syllables.get(syllable)
    if code is None:
        with _syllables_lock:
            code = _syllables.setdefault(syllable, chr(_SYLLABLE_BASE + len(_syllables)))
    return code


def pinyin_syllables(text: str) -> list[str]:
    """Toneless pinyin, one item a syllable; digits are read out (5 → wu), so 五和 and 午和 sound alike;
    other letters (a栋) one item each."""
    out: list[str] = []
    for run in _HAN_RUN_RE.findall(text):
        if "\u4e00" <= run[0] <= "\u9fff":
            out.extend(lazy_pinyin(run))
        else:
            out.extend(_DIGIT_SOUNDS[int(c)] if c.isdigit() else c for c in run)
    return out


@lru_cache(maxsize=65536)
def pinyin_key(text: str) -> str:
    """The pinyin of ``text`` as a string of one character per syllable (see :func:`pinyin_syllables`)."""
    return "".join(_syllable_code(s) if s.isascii() else s for s in pinyin_syllables(text))


def _same_place(said: str, known: str, least_ratio: float) -> bool | None:
    """Whether a community or road the query names is the estate's (a typo allowed, numbers exact);
    None when either is not named."""
    if not said or not known:
        return None
    if said == known:
        return True
    if _DIGITS_RE.findall(said) != _DIGITS_RE.findall(known):
        return False
    return pinyin_key(said) == pinyin_key(known) or fuzz.ratio(said, known) >= least_ratio


# ================================================================================================
# The index
# ================================================================================================

@dataclass
class _Estate:
    """One way of naming an estate (its name, its address, an alias) and the buildings under it."""

    core: str
    kind: str  # "name", "address" or "alias"
    community: str
    road: str
    buildings: dict[str | None, list[int]] = field(default_factory=dict)  # number → record positions

    def all_positions(self) -> list[int]:
        seen: dict[int, None] = {}
        for positions in self.buildings.values():
            for p in positions:
                seen[p] = None
        return list(seen)


@dataclass(frozen=True)
class _Reading:
    """One estate as what the query means: its buildings (with their factors) and how plausible it is.

    ``plausible`` is the estate's score, or a share of it when the number asked for is not among its
    buildings: WRONG_NUMBER_RIVAL when no estate of its name has it (a wrong number is possible),
    MISSING_NUMBER_FACTOR when another estate of that name has it (that one is meant).
    """

    plausible: float
    score: float
    matched: str
    buildings: list[tuple[int, float]]
    grids: frozenset[str]


def _number_key(number: str | None) -> tuple[int, str]:
    if number is None:
        return (-1, "")
    digits = re.match(r"\d+", number)
    return (int(digits[0]) if digits else 10**9, number)


class AddressIndex:
    """Every estate of the register once, with its pinyin, and its buildings by number."""

    def __init__(self, records: Sequence[BuildingRecord], estates: list[_Estate],
                 context_words: tuple[str, ...]) -> None:
        self._records = list(records)
        self._order = [_number_key(split_building(normalise(r.name))[1]) for r in self._records]
        self._estates = estates
        self._context_words = context_words
        cores = sorted({e.core for e in estates})
        self._cores = cores
        self._core_pinyin = [pinyin_key(c) for c in cores]
        self._core_numbers = [tuple(_DIGITS_RE.findall(c)) for c in cores]
        self._core_index = {c: i for i, c in enumerate(cores)}
        self._estates_of_core: list[list[int]] = [[] for _ in cores]
        for i, estate in enumerate(estates):
            self._estates_of_core[self._core_index[estate.core]].append(i)

    @classmethod
    def build(cls, records: Sequence[BuildingRecord]) -> AddressIndex:
        context = _context_words(records)
        estates: dict[tuple[str, str, str], _Estate] = {}

        def add(kind: str, parsed: ParsedAddress, community: str, road: str, number: str | None,
                position: int) -> None:
            if not parsed.core:
                return
            key = (kind, parsed.core, community)
            estate = estates.get(key)
            if estate is None:
                estate = estates[key] = _Estate(parsed.core, kind, community, road)
            elif estate.road != road:
                estate.road = ""  # one name over several gates: the road tells nothing
            estate.buildings.setdefault(number, []).append(position)

        for position, record in enumerate(records):
            at = parse(record.address, context)
            named = parse(record.name, context)
            community = named.community or at.community
            road = named.road or at.road
            number = named.number if named.number is not None else at.number
            add("name", named, community, road, number, position)
            if at.core and at.core != named.core:
                add("address", at, community, road, number, position)
            for alias in record.aliases:
                said = parse(alias, context)
                # An alias naming the estate alone keeps the building's number; one with its own
                # number (上合村12号) is looked up by that number. The road is the present estate's.
                add("alias", said, said.community or community, said.road,
                    said.number if said.number is not None else number, position)
        return cls(records, list(estates.values()), context)

    def __len__(self) -> int:
        return len(self._records)

    # --- a query ------------------------------------------------------------------------------

    def resolve(self, text: str, limit: int = 5) -> list[AddressCandidate]:
        """The buildings ``text`` may mean, best first (at most ``limit``)."""
        if limit <= 0 or not self._cores:
            return []
        query = parse(text[:MAX_QUERY_CHARS], self._context_words)
        if not query.core:
            return []
        readings = self._readings(query)
        best: dict[int, tuple[float, str]] = {}
        for reading in readings:
            # The strongest other reading with a building in another grid: the grid is only sure
            # when this reading beats it by AMBIGUITY_MARGIN.
            for position, factor in reading.buildings:
                grid = self._records[position].grid
                rival = next((o.plausible for o in readings
                              if o is not reading and (len(o.grids) > 1 or grid not in o.grids)), None)
                score = min(reading.score, 1.0) * factor
                if rival is not None:
                    score -= AMBIGUITY_SLOPE * max(0.0, AMBIGUITY_MARGIN - (reading.plausible - rival))
                score = round(min(1.0, max(0.0, score)), 4)
                if score > best.get(position, (-1.0, ""))[0]:
                    best[position] = (score, reading.matched)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][0], self._order[kv[0]], self._records[kv[0]].code))
        out: list[AddressCandidate] = []
        for position, (score, matched) in ranked[:limit]:
            record = self._records[position]
            out.append(AddressCandidate(record.id, record.code, record.name, record.grid, score, matched))
        return out

    def _readings(self, query: ParsedAddress) -> list[_Reading]:
        """Every shortlisted estate as a reading of the query, most plausible first."""
        readings: list[_Reading] = []
        for estate_i, (score, matched) in self._score_estates(query).items():
            estate = self._estates[estate_i]
            buildings = self._buildings_for(estate, query.number, score)
            if query.number is None or buildings[0][1] == 1.0:
                plausible = score
            elif self._has_number(estate.core, query.number):
                plausible = score * MISSING_NUMBER_FACTOR  # another estate of this name has it
            else:
                plausible = score * WRONG_NUMBER_RIVAL
            grids = frozenset(self._records[p].grid for p, _ in buildings)
            readings.append(_Reading(plausible, score, matched, buildings, grids))
        readings.sort(key=lambda r: -r.plausible)
        return readings

    def _score_estates(self, query: ParsedAddress) -> dict[int, tuple[float, str]]:
        """Estate position → (similarity 0..1, what matched), for the shortlisted estates."""
        core_py = pinyin_key(query.core)
        # A fast first pass (plain ratio, bit-parallel in rapidfuzz) over every core, in characters
        # and in pinyin; WRatio, which also aligns a short core inside a longer text, only on the shortlist.
        by_chars = process.cdist([query.core], self._cores, scorer=fuzz.ratio, dtype=np.float32)[0]
        by_sound = process.cdist([core_py], self._core_pinyin, scorer=fuzz.ratio, dtype=np.float32)[0]
        first = np.maximum(by_chars, by_sound * PINYIN_WEIGHT)
        if len(first) > SHORTLIST:
            shortlist = np.argpartition(-first, SHORTLIST)[:SHORTLIST].tolist()
        else:
            shortlist = list(range(len(first)))
        query_numbers = tuple(_DIGITS_RE.findall(query.core))
        out: dict[int, tuple[float, str]] = {}
        for core_i in shortlist:
            chars = fuzz.WRatio(query.core, self._cores[core_i])
            sound = fuzz.WRatio(core_py, self._core_pinyin[core_i]) * PINYIN_WEIGHT
            if max(chars, sound) < MIN_CORE_SCORE:
                continue
            # Equal in sound (骏逸 / 君逸 for 君逸媒食街): the name closer in characters first.
            similarity = (max(chars, sound) + CHARACTER_TIEBREAK * chars) / 100.0
            if query_numbers != self._core_numbers[core_i]:
                similarity -= NUMBER_MISMATCH_PENALTY if query_numbers else OMITTED_NUMBER_PENALTY
            for estate_i in self._estates_of_core[core_i]:
                estate = self._estates[estate_i]
                matched = estate.kind if chars >= sound else "pinyin"
                s = similarity * (ALIAS_WEIGHT if estate.kind == "alias" else 1.0)
                for same in (_same_place(query.community, estate.community, COMMUNITY_LEAST_RATIO),
                             _same_place(query.road, estate.road, ROAD_LEAST_RATIO)):
                    if same is True:
                        s += PLACE_MATCH_BONUS  # above 1 widens the gap to a rival, then is cut
                    elif same is False:
                        s -= PLACE_MISMATCH_PENALTY
                if s > out.get(estate_i, (-1.0, ""))[0]:
                    out[estate_i] = (s, matched)
        return out

    def _has_number(self, core: str, number: str | None) -> bool:
        """Whether an estate of this name (in any community, as name or alias) has that building."""
        return any(number in self._estates[i].buildings for i in self._estates_of_core[self._core_index[core]])

    def _buildings_for(self, estate: _Estate, number: str | None, score: float) -> list[tuple[int, float]]:
        """(record position, factor) for the buildings of ``estate`` a query with ``number`` may mean,
        the estate matching at ``score``."""
        everyone = estate.all_positions()
        # A building needs no number only when the estate is named as it is (宝安大厦, or 宝按大厦):
        # 华丰科技园 half names 华丰科技园宿舍, whose one building is not thereby meant.
        named = score >= NAMED_AS_IT_IS
        if number is not None:
            exact = estate.buildings.get(number)
            if exact:
                return [(p, 1.0) for p in exact]
            if named and len(everyone) == 1 and None in estate.buildings and len(number) >= ROOM_DIGITS:
                return [(everyone[0], 1.0)]
            return [(p, MISSING_NUMBER_FACTOR) for p in everyone]
        if not named:
            return [(p, NO_NUMBER_FACTOR) for p in everyone]
        if len(everyone) == 1:
            return [(everyone[0], 1.0)]
        unnumbered = estate.buildings.get(None)
        if unnumbered and len(unnumbered) == 1:
            # The estate's own building without a number (宝安大厦) beside numbered ones.
            return [(unnumbered[0], 1.0)] + [(p, NO_NUMBER_FACTOR) for p in everyone if p != unnumbered[0]]
        return [(p, NO_NUMBER_FACTOR) for p in everyone]


def _context_words(records: Sequence[BuildingRecord]) -> tuple[str, ...]:
    """District and street names of the register's addresses (宝安区, 新安街道): context, not estate."""
    words: set[str] = set()
    for record in records:
        text = _NOISE_RE.sub("", unicodedata.normalize("NFKC", record.address).lower())
        parts, _ = _prefix_parts(text)
        words.update(w for w in parts if re.search("(?:区|县|街道办事处|街道办|街道|镇)$", w))
    # Longest first, so that 新安街道 goes before a shorter word inside it.
    return tuple(sorted(words, key=lambda w: (-len(w), w)))
