"""Time: stored as naive UTC, shown and reasoned about in the subdistrict's time zone.

Timestamps (created, decided, done...) are naive UTC in the database, the same on SQLite and
PostgreSQL. Days belong to the subdistrict's zone (Asia/Shanghai by default): a report of
"3 March" counts what happened on 3 March in Shenzhen, not in Greenwich. A need's time window is
the resident's wall-clock time in that zone, stored naive as given, because it is compared with
weekly slots such as "wed 08:00-12:00" that are wall-clock times too.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone, tzinfo

# A controlled clock (the simulation's), when one is set: every "now" of the services reads it.
_clock: list[Callable[[], datetime]] = []


def utcnow() -> datetime:
    """Now, as stored: naive UTC (the controlled clock's time while one is set)."""
    if _clock:
        return _clock[-1]()
    return datetime.now(timezone.utc).replace(tzinfo=None)


@contextmanager
def controlled_clock(now: Callable[[], datetime]) -> Iterator[None]:
    """Within the block, ``utcnow()`` (and so every default timestamp and every service's "now") is
    ``now()``, naive UTC: a discrete-event simulation plays a month in minutes on it."""
    _clock.append(now)
    try:
        yield
    finally:
        _clock.pop()


def to_utc(moment: datetime, zone: tzinfo) -> datetime:
    """``moment`` as stored (naive UTC); a naive ``moment`` is a wall-clock time in ``zone``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def to_local(stored: datetime, zone: tzinfo) -> datetime:
    """A stored (naive UTC) timestamp as an aware time in ``zone``."""
    return stored.replace(tzinfo=timezone.utc).astimezone(zone)


def local_iso(stored: datetime, zone: tzinfo, timespec: str = "seconds") -> str:
    """A stored timestamp as the API and exports show it: ISO 8601 in ``zone``, with its offset."""
    return to_local(stored, zone).isoformat(timespec=timespec)


def wall_clock_iso(moment: datetime, zone: tzinfo, timespec: str = "minutes") -> str:
    """A wall-clock time in ``zone`` (a need's window) in ISO 8601, with the zone's offset that day."""
    return moment.replace(tzinfo=zone).isoformat(timespec=timespec)


def wall_clock(moment: datetime, zone: tzinfo) -> datetime:
    """A naive wall-clock time in ``zone`` (how windows are stored); aware input is converted."""
    return moment if moment.tzinfo is None else moment.astimezone(zone).replace(tzinfo=None)


def local_today(zone: tzinfo, now: datetime | None = None) -> date:
    return to_local(now or utcnow(), zone).date()


def day_bounds(start: date, end: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in ``zone``, as stored (naive UTC): both days included."""
    since = datetime.combine(start, time.min, tzinfo=zone)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    return to_utc(since, zone), to_utc(until, zone)
