"""Parsers for the cells of the import files: text in, a typed value out, or a reason in Chinese.

Every parser takes the cell text (already stripped by :mod:`pools.tabular`, though surrounding
spaces are tolerated) and raises :class:`CellValueError` with a reason fit to show the user, to be
wrapped by the caller into a ``tabular.CellError`` naming the row and column. Full-width digits,
letters and punctuation typed with a Chinese input method are read as their ASCII forms.

Empty cells: scalar parsers return ``None`` so the caller decides whether the column is required
and what its default is; list parsers return an empty list (or tuple); :func:`parse_grid_list` is
the exception and refuses an empty cell, because its ``None`` means "every grid".

Public API
----------
``split_multi(text) -> list[str]``                items separated by ``;`` ``；`` ``、`` or a line break
                                                   (never by ``,``), stripped, in order, without repeats
``parse_text(text, *, max_length=None) -> str | None``
``parse_code(text) -> str | None``                 one identifier: a grid code, a ref
``parse_codes(text) -> list[str]``                 several codes (a grid's neighbours)
``parse_grid_list(text) -> list[str] | None``      covered grids; ``*`` or ``全部`` gives None (all grids)
``parse_bool(text) -> bool | None``                yes/no, true/false, y/n, 1/0, 是/否
``parse_int(text, *, minimum=None, maximum=None) -> int | None``
``parse_float(text) -> float | None``              a finite decimal number (a building's longitude, latitude)
``parse_service(text) -> str | None``             a code of ``core.vocab.Service`` or its Chinese label
``parse_services(text) -> list[str]``
``parse_choice(text, choices, labels_zh=None, *, aliases=None) -> str | None``
``parse_kind / parse_force / parse_urgency (text) -> str | None``   parse_choice with the taxonomy's words
``parse_phone(text) -> str | None``                mobiles as 11 digits, landlines as ``0755-12345678``,
                                                   400/800 numbers as ``400-123-4567``
``parse_slots_cell(text) -> tuple[WeeklySlot, ...]``   empty: any time; ``周一至周五 9:00-17:00`` accepted
``parse_window_cell(text) -> tuple[datetime, datetime] | None``   empty: flexible
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Mapping
from datetime import datetime

from core import phones
from core.config import zone
from core.vocab import (
    CHANNEL_LABELS_ZH,
    FORCE_LABELS_ZH,
    SERVICE_LABELS_ZH,
    URGENCY_LABELS_ZH,
    VOLUNTEER_KIND_LABELS_ZH,
    Channel,
    Force,
    Service,
    Urgency,
    VolunteerKind,
)
from matching.slots import WeeklySlot, parse_slots, parse_window
from matching.taxonomy import normalise_service

from .tabular import show_value


class CellValueError(ValueError):
    """A cell's text is not a valid value; ``str()`` is the reason in Chinese."""

    @property
    def reason(self) -> str:
        return str(self)


# A line break counts too: Alt+Enter in Excel is how people put one item per line.
_MULTI_SEPARATORS_RE = re.compile(r"[;；、\n]")

_TRUE_WORDS = frozenset({"yes", "y", "true", "1", "是"})
_FALSE_WORDS = frozenset({"no", "n", "false", "0", "否"})

_INT_RE = re.compile(r"[+-]?\d+(?:\.0+)?")

ALL_GRIDS_WORDS = frozenset({"*", "全部"})
CODE_MAX_CHARS = 64
_CODE_RE = re.compile(r"[^\s;,，；、*/\\]+")

KIND_ALIASES: dict[str, str] = {"机构": "organization", "organisation": "organization"}
# People drop the 力量 suffix when they type: 专业 for 专业力量.
FORCE_ALIASES: dict[str, str] = {label.removesuffix("力量"): code for code, label in FORCE_LABELS_ZH.items()}

CHANNEL_ALIASES: dict[str, str] = {"电话": "phone", "来电": "phone", "热线": "hotline", "12345": "hotline", "走访": "visit",
                                   "楼栋长": "building_head", "随手拍": "snapshot", "来访": "walk_in", "窗口": "walk_in",
                                   "居民": "app", "自助": "app", "导入": "import"}


_WEEKDAY_CODES_BY_ZH = dict(zip("一二三四五六日天", ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "sun")))
# 星期X before 周X, so that 星期一 is not read as 星期 + 周一 leftovers.
_WEEKDAY_WORDS_ZH: tuple[tuple[str, str], ...] = tuple(
    (prefix + zh, code) for prefix in ("星期", "周") for zh, code in _WEEKDAY_CODES_BY_ZH.items()
)
_DAY_RANGE_WORDS_RE = re.compile(r"\s*(?:至|到|~|—|–)\s*")
_DAY_THEN_TIME_RE = re.compile(r"([a-z]{3})(\d)")


def _ascii_forms(text: str) -> str:
    """Full-width forms as ASCII (１２ -> 12, ： -> :), so Chinese input-method typing parses."""
    return unicodedata.normalize("NFKC", text).strip()


# ------------------------------------------------------------------------------------ lists, text


def split_multi(text: str) -> list[str]:
    """Items of a multi-value cell, in order and without repeats; commas never separate."""
    items: list[str] = []
    for part in _MULTI_SEPARATORS_RE.split(text or ""):
        item = part.strip()
        if item and item not in items:
            items.append(item)
    return items


def parse_text(text: str, *, max_length: int | None = None) -> str | None:
    text = (text or "").strip()
    if not text:
        return None
    if max_length is not None and len(text) > max_length:
        raise CellValueError(f"内容过长：最多 {max_length} 个字，实际 {len(text)} 个字")
    return text


def parse_code(text: str) -> str | None:
    """One identifier (grid code, ref): no spaces or separators inside, at most CODE_MAX_CHARS."""
    code = _ascii_forms(text or "")
    if not code:
        return None
    if len(code) > CODE_MAX_CHARS:
        raise CellValueError(f"编码过长：最多 {CODE_MAX_CHARS} 个字符：{show_value(code)}")
    if not _CODE_RE.fullmatch(code):
        raise CellValueError(f"编码中不能有空格、逗号、斜杠或“*”（多个编码请用分号分隔）：{show_value(code)}")
    return code


def parse_codes(text: str) -> list[str]:
    codes: list[str] = []
    for item in split_multi(_ascii_forms(text or "")):
        code = parse_code(item)
        if code is not None and code not in codes:
            codes.append(code)
    return codes


def parse_grid_list(text: str) -> list[str] | None:
    """Grids a resource covers: a list of codes, or None for ``*`` (every grid of the subdistrict)."""
    items = split_multi(_ascii_forms(text or ""))
    if not items:
        raise CellValueError("请填写覆盖的网格编码（多个用分号分隔），或填 * 表示全部网格")
    if any(item in ALL_GRIDS_WORDS for item in items):
        if len(items) > 1:
            raise CellValueError("“*”表示全部网格，不能与具体网格编码同时填写")
        return None
    return parse_codes(text)


# --------------------------------------------------------------------------------- scalar values


def parse_bool(text: str) -> bool | None:
    word = _ascii_forms(text or "").lower()
    if not word:
        return None
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise CellValueError(f"应填 是/否（或 yes/no、true/false、1/0）：{show_value(word)}")


def parse_int(text: str, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
    """A whole number; ``3.0`` is 3 (how a number cell may arrive), ``3.5`` is refused."""
    word = _ascii_forms(text or "")
    if not word:
        return None
    if not _INT_RE.fullmatch(word):
        raise CellValueError(f"应为整数：{show_value(word)}")
    value = int(word.split(".", 1)[0])
    if minimum is not None and value < minimum:
        raise CellValueError(f"不能小于 {minimum}：{value}")
    if maximum is not None and value > maximum:
        raise CellValueError(f"不能大于 {maximum}：{value}")
    return value


_FLOAT_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def parse_float(text: str) -> float | None:
    """A finite decimal number (``113.88``, ``-0.5``, ``1e-3``); ``nan``, ``inf`` and ``1,5`` are refused."""
    word = _ascii_forms(text or "")
    if not word:
        return None
    if not _FLOAT_RE.fullmatch(word):
        raise CellValueError(f"应为数字：{show_value(word)}")
    value = float(word)
    if not math.isfinite(value):
        raise CellValueError(f"数字超出范围：{show_value(word)}")
    return value


def _choices_hint(choices: Collection[str], labels_zh: Mapping[str, str] | None) -> str:
    hint = "/".join(choices)
    if labels_zh:
        hint += " 或 " + "/".join(labels_zh[c] for c in choices if c in labels_zh)
    return hint


_SERVICES_HINT = _choices_hint(tuple(Service), SERVICE_LABELS_ZH)


def parse_service(text: str) -> str | None:
    word = _ascii_forms(text or "")
    if not word:
        return None
    code = normalise_service(word)
    if code is None:
        raise CellValueError(f"未知的服务类型 {show_value(word)}，应为 {_SERVICES_HINT}")
    return code


def parse_services(text: str) -> list[str]:
    codes: list[str] = []
    for item in split_multi(text):
        code = parse_service(item)
        if code is not None and code not in codes:
            codes.append(code)
    return codes


def parse_choice(
    text: str,
    choices: Collection[str],
    labels_zh: Mapping[str, str] | None = None,
    *,
    aliases: Mapping[str, str] | None = None,
) -> str | None:
    """One of ``choices``, given as the code (any case), its Chinese label, or an alias."""
    word = _ascii_forms(text or "")
    if not word:
        return None
    lowered = word.lower()
    by_lowered = {c.lower(): c for c in choices}
    if lowered in by_lowered:
        return by_lowered[lowered]
    for code, label in (labels_zh or {}).items():
        if word == label and code in choices:
            return code
    for alias, code in (aliases or {}).items():
        if lowered == alias.lower() and code in choices:
            return code
    raise CellValueError(f"应为 {_choices_hint(choices, labels_zh)}：{show_value(word)}")


def parse_kind(text: str) -> str | None:
    """A volunteer entry's kind: ``person`` (个人) or ``organization`` (组织/机构)."""
    return parse_choice(text, tuple(VolunteerKind), VOLUNTEER_KIND_LABELS_ZH, aliases=KIND_ALIASES)


def parse_force(text: str) -> str | None:
    """One of the five forces (五大力量), by code, label (专业力量) or short label (专业)."""
    return parse_choice(text, tuple(Force), FORCE_LABELS_ZH, aliases=FORCE_ALIASES)


def parse_urgency(text: str) -> str | None:
    return parse_choice(text, tuple(Urgency), URGENCY_LABELS_ZH)


def parse_channel(text: str) -> str | None:
    """How a need came in (需求来源), by code or label (电话/12345 热线…) or a short word (热线, 走访)."""
    return parse_choice(text, tuple(Channel), CHANNEL_LABELS_ZH, aliases=CHANNEL_ALIASES)


# ---------------------------------------------------------------------------------------- phones


def parse_phone(text: str) -> str | None:
    """A phone cell in its canonical form (``core.phones``), None when empty."""
    try:
        return phones.parse_phone(text)
    except phones.PhoneError as exc:
        raise CellValueError(str(exc)) from None


# ----------------------------------------------------------------------------------- time slots


def _slot_in_english(item: str) -> str:
    """``周一至周五 9:00-17:00`` -> ``mon-fri 9:00-17:00``, what matching.slots reads."""
    item = _ascii_forms(item)
    for word, code in _WEEKDAY_WORDS_ZH:
        item = item.replace(word, code)
    item = _DAY_RANGE_WORDS_RE.sub("-", item)
    return _DAY_THEN_TIME_RE.sub(r"\1 \2", item.lower(), count=1)


def parse_slots_cell(text: str) -> tuple[WeeklySlot, ...]:
    """Weekly availability or opening hours; empty means any time (an empty tuple)."""
    slots: list[WeeklySlot] = []
    for item in split_multi(text):
        try:
            slots.extend(parse_slots([_slot_in_english(item)]))
        except ValueError as exc:
            raise CellValueError(f"{exc}（原文{show_value(item)}，也可写“周一至周五 09:00-17:00”）") from None
    return tuple(sorted(set(slots)))


def parse_window_cell(text: str) -> tuple[datetime, datetime] | None:
    """A need's time window ``2026-12-09T09:00/2026-12-09T12:00``; empty means flexible (None)."""
    try:
        return parse_window(_ascii_forms(text or ""), zone())
    except ValueError as exc:
        raise CellValueError(str(exc)) from None


__all__ = [
    "ALL_GRIDS_WORDS",
    "FORCE_ALIASES",
    "KIND_ALIASES",
    "CellValueError",
    "parse_bool",
    "parse_channel",
    "parse_choice",
    "parse_code",
    "parse_codes",
    "parse_float",
    "parse_force",
    "parse_grid_list",
    "parse_int",
    "parse_kind",
    "parse_phone",
    "parse_service",
    "parse_services",
    "parse_slots_cell",
    "parse_text",
    "parse_urgency",
    "parse_window_cell",
    "split_multi",
]
