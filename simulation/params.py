"""Every parameter of the simulated month, named, with where its value comes from, and the scenarios.

A scenario is a set of overrides of :class:`Params`; a scenario file (JSON or TOML: ``{"name": ...,
"base": "normal", "accept_base": 0.7, ...}``) overrides any of them. The issue's rule holds: to reach a
target, improve the matcher or the workflow, never these values.

Sources named below:
- [BA]  Bao'an district government reports on grid governance (网格化治理, 2023–2024): ~1,200 cases a
        month for a subdistrict of this size, 99.89% closed, labour and money disputes settled in 2.5 days.
- [CVS] China Volunteer Service Federation, 中国志愿服务发展报告 (2022): volunteers' response to a
        request within a day, the share who answer at all, and no-shows as about one task in twenty.
- [12345] Shenzhen 12345 hotline open data (hour-of-day and weekday profile of calls).
- [OFF] the subdistrict's office hours (demo/data.py OFFICE_HOURS: Mon–Fri 09:00–12:00, 14:00–18:00).
- [WF]  the workflow's own settings (core/config.py: AUTO_CLOSE_DAYS, SLA tables).
- [ASSUME] an assumption of this model, stated so that a scenario file can change it.
"""
from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Relative call volume by local hour, 0–23 [12345]: little at night, peaks mid-morning and after dinner.
HOURLY_PROFILE: tuple[float, ...] = (
    0.15, 0.08, 0.05, 0.05, 0.05, 0.10, 0.30, 0.70, 1.30, 1.80, 1.90, 1.70,
    1.20, 1.30, 1.60, 1.60, 1.50, 1.30, 1.10, 1.20, 1.20, 0.90, 0.50, 0.30)
# Relative volume by weekday, Monday first [12345]: fewer needs on the weekend.
WEEKLY_PROFILE: tuple[float, ...] = (1.15, 1.05, 1.0, 1.0, 1.05, 0.85, 0.75)


@dataclass(frozen=True)
class Params:
    # --- arrivals
    needs_per_month: float = 1200.0  # [BA] cases a month in a subdistrict of ~158 grids
    hourly_profile: tuple[float, ...] = HOURLY_PROFILE  # [12345]
    weekly_profile: tuple[float, ...] = WEEKLY_PROFILE  # [12345]
    surge_factor: float = 1.0  # volume × this during the surge week (scenario surge: ×3, a typhoon)
    surge_start_day: int = 10  # [ASSUME] the typhoon's week starts on day 10
    surge_days: int = 7
    # --- volunteers (people) [CVS]
    active_volunteer_share: float = 1.0  # share of volunteers active this month (tight: 0.5)
    accept_base: float = 0.85  # [CVS] a volunteer asked in their own grid in daytime, with nothing on, says yes
    accept_tier_factor: tuple[float, float, float] = (1.0, 0.85, 0.6)  # [ASSUME] × by tier: own grid, next door, far
    accept_load_factor: float = 0.8  # [ASSUME] × per task they already carry
    accept_late_factor: float = 0.6  # [ASSUME] × when asked late (after 21:00 or before 07:00)
    accept_no_skill_factor: float = 0.35  # [ASSUME] × when the proposal's skill feature is below 0.5
    accept_wrong_service_factor: float = 0.5  # [ASSUME] × when the classifier put the need in the wrong service
    answer_median_hours: float = 0.4  # [CVS] half of volunteers answer within ~25 minutes in daytime
    answer_sigma: float = 0.9  # lognormal spread of the answer delay
    no_show: float = 0.04  # [CVS] about one accepted task in twenty-five is not turned up for
    # --- organisations and government resources answer in office hours [OFF]
    office_answer_hours: float = 1.0  # [ASSUME] within an hour of office time
    office_accept: float = 0.92  # [ASSUME] a desk accepts what is in its remit
    # --- coordinators [OFF]
    coordinator_delay_hours: float = 0.5  # [ASSUME] triage and confirmations within half an hour of office time
    coordinator_confirm: float = 0.9  # [ASSUME] a coordinator confirms a proposal across services
    # --- branches review daily [WF]
    review_hour: int = 17  # [ASSUME] the branch reviews the accepted needs at 17:00 every day
    urgent_review_hours: float = 0.5  # [ASSUME] an urgent need is approved on the spot by the branch on duty
    # --- service
    start_delay_hours: float = 3.0  # [ASSUME] a flexible need is served within ~3 h of approval (mean)
    urgent_start_hours: float = 0.5  # [ASSUME] urgent ones within half an hour
    service_hours: tuple[float, float] = (0.5, 3.0)  # [ASSUME] how long the service takes (uniform)
    # --- residents [WF]
    confirm_share: float = 0.85  # [ASSUME] residents who confirm and rate; the rest close after AUTO_CLOSE_DAYS
    confirm_hours: float = 6.0  # [ASSUME] mean hours to confirm (exponential)
    # [ASSUME] the chance that a call of the return visit (回访) reaches the resident of a need still unconfirmed
    # RETURN_VISIT_HOURS after it was done [WF]; one not reached is called again the next office day, until
    # the need closes itself after AUTO_CLOSE_DAYS
    return_visit_reach: float = 0.8
    cancel_share: float = 0.02  # [ASSUME] residents who cancel a need (sorted it out themselves)
    cancel_after_hours: float = 12.0  # [ASSUME] mean hours after submitting, if it is not yet being served
    # --- the system's schedule
    match_every_minutes: float = 60.0  # [ASSUME] the batch matcher runs hourly when something new waits
    urgent_match_minutes: float = 5.0  # [ASSUME] an urgent need: the coordinator on duty runs the batch at once
    escalate_every_hours: float = 1.0  # `escalate` on a schedule [WF]
    council_weekday: int = 2  # [ASSUME] grid councils meet on Wednesdays (0 = Monday)
    council_hour: int = 19
    drain_days: int = 10  # days after the month with no new needs, so the month's needs can finish
    # --- time and place
    start: str = "2026-12-07T00:00"  # a Monday, local time [ASSUME]
    volume_factor: float = 1.0  # sensitivity: volume × this
    extra: dict[str, Any] = field(default_factory=dict)

    def replace(self, **changes: Any) -> Params:
        return dataclasses.replace(self, **changes)


SCENARIOS: dict[str, dict[str, Any]] = {
    "normal": {},
    "surge": {"surge_factor": 3.0},  # a typhoon week: three times the needs for seven days
    "tight": {"active_volunteer_share": 0.5},  # half of the volunteers inactive
}

# The sensitivity table: the same month with one thing changed (per policy).
SENSITIVITY: dict[str, dict[str, float]] = {
    "acceptance×0.7": {"accept_base": 0.7},  # multiplied into the scenario's value
    "volunteers×0.5": {"active_volunteer_share": 0.5},
    "volume×2": {"volume_factor": 2.0},
}


def scenario(name: str = "normal", file: str | Path | None = None) -> tuple[str, Params]:
    """The parameters of a named scenario, then the overrides of ``file`` (its ``base`` names the
    scenario it starts from; its ``name`` names the result)."""
    overrides: dict[str, Any] = {}
    if file is not None:
        path = Path(file)
        text = path.read_text(encoding="utf-8")
        overrides = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        name = str(overrides.pop("base", name))
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}: one of {', '.join(SCENARIOS)}")
    params = Params(**SCENARIOS[name])
    label = str(overrides.pop("name", name))
    known = {f.name for f in dataclasses.fields(Params)}
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"unknown parameters: {', '.join(sorted(unknown))}")
    for key, value in overrides.items():
        if isinstance(value, list):
            overrides[key] = tuple(value)
    return label, params.replace(**overrides)


def varied(params: Params, change: dict[str, float]) -> Params:
    """``params`` with each named value multiplied by the change's factor (the sensitivity table)."""
    return params.replace(**{k: getattr(params, k) * v for k, v in change.items()})
