"""When needs arrive, where, of what, how urgent: a Poisson process with a daily and a weekly rhythm.

The rate is constant within each hour (piecewise-constant, so the hour's count is exactly Poisson):
``needs_per_month / 30 days`` spread over the day by ``hourly_profile`` and over the week by
``weekly_profile`` (both normalised to mean 1), times the surge in the surge week and the
sensitivity's ``volume_factor``. Grids are drawn by their households in the building register.
The text comes from the demo's generator of residents' needs (``demo.data.need_text``: templates in
residents' words, with their slips), so the classifier classifies each one for real, mistakes
included; urgency and time windows are drawn as in the demo data. The same seed gives the same month.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from demo.data import (
    FLEXIBLE_NEED_SHARE,
    NEED_SHARE_BY_SERVICE,
    WINDOW_SHAPES,
    need_text,
    need_urgency,
    weighted_choice,
)

from .params import Params

HOURS_PER_DAY = 24


@dataclass(frozen=True)
class Arrival:
    hour: float  # hours since the start of the month (the simulation's clock)
    grid: str
    text: str
    service: str  # the service it truly is (the template's label): the classifier does not see it
    urgency: str
    window: str  # ISO interval in local wall-clock time, or "" (flexible)


@dataclass(frozen=True)
class Place:
    grid: str
    community: str  # the community's name, for the texts
    weight: float  # households


def hourly_rates(params: Params, days: int, start: datetime) -> np.ndarray:
    """Expected needs in each hour of the month."""
    hourly = np.asarray(params.hourly_profile, dtype=float)
    weekly = np.asarray(params.weekly_profile, dtype=float)
    hourly, weekly = hourly / hourly.mean(), weekly / weekly.mean()
    per_hour = params.needs_per_month / 30.0 / HOURS_PER_DAY * params.volume_factor
    rates = np.empty(days * HOURS_PER_DAY)
    for h in range(rates.size):
        moment = start + timedelta(hours=h)
        day = h // HOURS_PER_DAY
        surge = params.surge_factor if params.surge_start_day <= day < params.surge_start_day + params.surge_days else 1.0
        rates[h] = per_hour * hourly[moment.hour] * weekly[moment.weekday()] * surge
    return rates


def generate(params: Params, places: list[Place], *, days: int, seed: int, start: datetime) -> list[Arrival]:
    """The month's arrivals in time order; ``start`` is local wall-clock time."""
    counts = np.random.default_rng(seed).poisson(hourly_rates(params, days, start))
    rng = random.Random(f"arrivals-{seed}")
    weights = {p.grid: p.weight for p in places}
    community = {p.grid: p.community for p in places}
    seen: set[str] = set()
    out: list[Arrival] = []
    for h, count in enumerate(counts.tolist()):
        for at in sorted(h + rng.random() for _ in range(count)):
            service = weighted_choice(rng, NEED_SHARE_BY_SERVICE)
            grid = weighted_choice(rng, weights)
            text, hint = need_text(rng, service, community[grid], seen)
            urgency = need_urgency(rng, hint)
            window = _window(rng, start + timedelta(hours=at), urgency)
            out.append(Arrival(hour=at, grid=grid, text=text, service=service, urgency=urgency, window=window))
    return out


def _window(rng: random.Random, local: datetime, urgency: str) -> str:
    """A window as the demo draws them, on one of the next days (an urgent need is for now: flexible)."""
    if urgency == "urgent" or rng.random() < FLEXIBLE_NEED_SHARE:
        return ""
    start, end = rng.choice(WINDOW_SHAPES)
    day: date = local.date() + timedelta(days=rng.randint(1, 4))
    return f"{day.isoformat()}T{start}/{day.isoformat()}T{end}"
