"""How the people of the subdistrict behave: the probabilities and delays of their answers.

Values come from :class:`simulation.params.Params` (each documented with its source there). Every
draw is made from a generator of its own, named by the need and the step (:func:`draw`), so that all
policies meet the same random draws: the third answer to need N0012 is the same coin in every policy.
"""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from .params import Params

# Office hours of the desks (organisations, government resources, coordinators): Mon–Fri, two sessions.
OFFICE_SESSIONS: tuple[tuple[int, int], ...] = ((9, 12), (14, 18))
LATE_FROM, EARLY_UNTIL = 21, 7  # asked after 21:00 or before 07:00: a late hour
SKILLED = 0.5  # a proposal whose skill feature reaches this names a skill the provider has


def draw(seed: int, *key: object) -> random.Random:
    """The generator of one decision, the same in every policy for the same need and step."""
    return random.Random("|".join([str(seed), *map(str, key)]))


def is_late(local: datetime) -> bool:
    return local.hour >= LATE_FROM or local.hour < EARLY_UNTIL


def accept_probability(params: Params, *, tier: int, load: int, local: datetime, skill: float | None,
                       wrong_service: bool) -> float:
    """A volunteer asked at ``local`` to serve at ``tier`` while carrying ``load`` tasks says yes."""
    p = params.accept_base * params.accept_tier_factor[min(max(tier, 1), 3) - 1]
    p *= params.accept_load_factor ** load
    if is_late(local):
        p *= params.accept_late_factor
    if skill is not None and skill < SKILLED:
        p *= params.accept_no_skill_factor
    if wrong_service:
        p *= params.accept_wrong_service_factor
    return min(max(p, 0.0), 1.0)


def volunteer_delay(params: Params, rng: random.Random, local: datetime) -> float:
    """Hours until a volunteer answers: lognormal around the median; asked at night, in the morning."""
    hours = rng.lognormvariate(math.log(params.answer_median_hours), params.answer_sigma)
    if is_late(local):
        hours += hours_until_hour(local, EARLY_UNTIL + 1)
    return hours


def in_office(local: datetime) -> bool:
    return local.weekday() < 5 and any(a <= local.hour < b for a, b in OFFICE_SESSIONS)


def office_delay(local: datetime, work_hours: float, rng: random.Random) -> float:
    """Hours until a desk has spent ``work_hours`` (drawn exponential) of office time on it."""
    need = rng.expovariate(1.0 / work_hours) if work_hours > 0 else 0.0
    t, waited = local, 0.0
    while True:
        if in_office(t):
            end = t.replace(hour=next(b for a, b in OFFICE_SESSIONS if a <= t.hour < b), minute=0, second=0,
                            microsecond=0)
            span = (end - t).total_seconds() / 3600
            if need <= span:
                return waited + need
            need -= span
            waited += span
            t = end
        else:
            step = _next_office_start(t)
            waited += (step - t).total_seconds() / 3600
            t = step


def _next_office_start(local: datetime) -> datetime:
    day = local.replace(minute=0, second=0, microsecond=0)
    for _ in range(24 * 8):
        day += timedelta(hours=1)
        if in_office(day):
            return day
    raise AssertionError("no office hour within a week")


def hours_until_hour(local: datetime, hour: int, weekday: int | None = None) -> float:
    """Hours from ``local`` to the next ``hour``:00 (on ``weekday``, 0 = Monday, when given)."""
    at = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    while weekday is not None and at.weekday() != weekday:
        at += timedelta(days=1)
    return (at - local).total_seconds() / 3600
