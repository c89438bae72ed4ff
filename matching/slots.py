"""Weekly availability slots (``mon-fri 09:00-17:00``) and time windows.

A provider's opening hours or availability is a tuple of :class:`WeeklySlot`; an empty tuple means
any time. A need's window is a pair of datetimes or None for flexible.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from .taxonomy import WEEKDAY_LABELS_ZH, WEEKDAYS

MINUTES_PER_DAY = 24 * 60

_SLOT_RE = re.compile(
    r"^\s*(?P<d1>[a-z]{3})(?:\s*-\s*(?P<d2>[a-z]{3}))?\s+"
    r"(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*-\s*(?P<h2>\d{1,2}):(?P<m2>\d{2})\s*$"
)


@dataclass(frozen=True, order=True)
class WeeklySlot:
    """One day of the week (0 = Monday) from ``start`` to ``end`` minutes after midnight."""

    day: int
    start: int
    end: int

    def label_zh(self) -> str:
        part = "上午" if self.end <= 12 * 60 else "下午" if self.start >= 12 * 60 else ""
        if part:
            return f"{WEEKDAY_LABELS_ZH[self.day]}{part}"
        return f"{WEEKDAY_LABELS_ZH[self.day]}{_hhmm(self.start)}-{_hhmm(self.end)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_slot(text: str) -> list[WeeklySlot]:
    """Parse ``DAYS HH:MM-HH:MM`` where DAYS is ``mon`` or a range ``mon-fri``.

    Raises ValueError with a message in Chinese that names what is wrong.
    """
    m = _SLOT_RE.match(text.strip().lower())
    if not m:
        raise ValueError(f"时段格式应为“mon-fri 09:00-17:00”：{text!r}")
    d1 = m["d1"]
    d2 = m["d2"] or d1
    if d1 not in WEEKDAYS or d2 not in WEEKDAYS:
        raise ValueError(f"星期应为 {'/'.join(WEEKDAYS)}：{text!r}")
    h1, m1, h2, m2 = int(m["h1"]), int(m["m1"]), int(m["h2"]), int(m["m2"])
    if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
        raise ValueError(f"时间无效：{text!r}")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if not 0 <= start < end <= MINUTES_PER_DAY:
        raise ValueError(f"开始时间须早于结束时间：{text!r}")
    i1, i2 = WEEKDAYS.index(d1), WEEKDAYS.index(d2)
    days = range(i1, i2 + 1) if i1 <= i2 else [*range(i1, 7), *range(0, i2 + 1)]
    return [WeeklySlot(d, start, end) for d in days]


def parse_slots(items: list[str]) -> tuple[WeeklySlot, ...]:
    return _parse_slots(tuple(items))


# Every batch reads the slots of every provider again, and most providers share a handful of
# schedules: parsed once each (a bad one raises every time, as lru_cache keeps no exceptions).
@functools.lru_cache(maxsize=4096)
def _parse_slots(items: tuple[str, ...]) -> tuple[WeeklySlot, ...]:
    slots: list[WeeklySlot] = []
    for item in items:
        slots.extend(parse_slot(item))
    return tuple(sorted(set(slots)))


def format_slot_text(slots: tuple[WeeklySlot, ...]) -> list[str]:
    """The inverse of :func:`parse_slots`, one item per slot."""
    return [f"{WEEKDAYS[s.day]} {_hhmm(s.start)}-{_hhmm(s.end)}" for s in slots]


def parse_window(text: str, zone: tzinfo | None = None) -> tuple[datetime, datetime] | None:
    """An ISO 8601 interval ``start/end``; empty text means flexible (None). Windows are wall-clock
    times of the subdistrict: a time given with an offset is turned into ``zone``'s wall clock
    (without ``zone``, its offset is dropped)."""
    text = text.strip()
    if not text:
        return None
    if "/" not in text:
        raise ValueError(f"时间窗应为“开始/结束”，如 2026-12-09T09:00/2026-12-09T12:00：{text!r}")
    a, b = text.split("/", 1)
    try:
        start, end = datetime.fromisoformat(a.strip()), datetime.fromisoformat(b.strip())
    except ValueError:
        raise ValueError(f"时间窗中的日期时间无效：{text!r}") from None
    start, end = _wall_clock(start, zone), _wall_clock(end, zone)
    if end <= start:
        raise ValueError(f"时间窗的结束须晚于开始：{text!r}")
    return start, end


def _wall_clock(moment: datetime, zone: tzinfo | None) -> datetime:
    if moment.tzinfo is None:
        return moment
    return (moment.astimezone(zone) if zone is not None else moment).replace(tzinfo=None)


def window_minutes_by_day(start: datetime, end: datetime) -> list[tuple[int, int, int]]:
    """Split a window into (weekday, start minute, end minute) pieces, one per calendar day."""
    pieces: list[tuple[int, int, int]] = []
    cursor = start
    while cursor < end:
        day_end = datetime(cursor.year, cursor.month, cursor.day) + timedelta(days=1)
        stop = min(end, day_end)
        s = cursor.hour * 60 + cursor.minute
        e = MINUTES_PER_DAY if stop == day_end else stop.hour * 60 + stop.minute
        if e > s:
            pieces.append((cursor.weekday(), s, e))
        cursor = stop
        if len(pieces) > 14:  # a window of more than two weeks covers every weekday anyway
            break
    return pieces


def overlap_minutes(slots: tuple[WeeklySlot, ...], window: tuple[datetime, datetime] | None) -> int | None:
    """Minutes in which a provider with ``slots`` is available inside ``window``.

    None means "no constraint" (flexible need or provider available any time).
    """
    if window is None or not slots:
        return None
    total = 0
    for day, s, e in window_minutes_by_day(*window):
        for slot in slots:
            if slot.day == day:
                total += max(0, min(e, slot.end) - max(s, slot.start))
    return total


def overlapping_slots(slots: tuple[WeeklySlot, ...], window: tuple[datetime, datetime]) -> list[WeeklySlot]:
    """The provider's slots that touch the window, for the explanation."""
    hits = []
    for day, s, e in window_minutes_by_day(*window):
        for slot in slots:
            if slot.day == day and min(e, slot.end) > max(s, slot.start):
                hits.append(slot)
    return hits
