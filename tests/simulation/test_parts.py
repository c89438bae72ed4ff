"""The simulation's parts that need no database: parameters and scenario files, the arrival rates, the
people's answers, the measures' arithmetic and the report's files."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

from core.database import make_engine
from simulation import people, report
from simulation.arrivals import hourly_rates
from simulation.measures import gini, is_dispute
from simulation.params import SENSITIVITY, Params, scenario, varied
from simulation.runner import scratch

MONDAY = datetime(2026, 12, 7)


def test_a_scenario_file_overrides_any_parameter_and_names_its_base(tmp_path):
    toml = tmp_path / "slow.toml"
    toml.write_text('base = "tight"\nname = "tight-slow"\nanswer_median_hours = 1.5\naccept_tier_factor = [1, 0.5, 0.2]\n',
                    encoding="utf-8")
    label, params = scenario("normal", toml)
    assert label == "tight-slow"
    assert params.active_volunteer_share == 0.5 and params.answer_median_hours == 1.5
    assert params.accept_tier_factor == (1, 0.5, 0.2)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"accept_rate": 0.3}), encoding="utf-8")
    with pytest.raises(ValueError, match="accept_rate"):
        scenario("normal", bad)
    with pytest.raises(ValueError, match="unknown scenario"):
        scenario("typhoon")


def test_the_sensitivity_variants_multiply_the_scenario_values():
    _label, params = scenario("tight")
    assert varied(params, SENSITIVITY["volunteers×0.5"]).active_volunteer_share == 0.25
    assert varied(params, SENSITIVITY["acceptance×0.7"]).accept_base == pytest.approx(params.accept_base * 0.7)
    assert varied(params, SENSITIVITY["volume×2"]).volume_factor == 2.0


def test_arrivals_keep_the_monthly_volume_with_a_daily_and_weekly_rhythm_and_the_surge_week():
    normal = hourly_rates(Params(), 28, MONDAY)
    assert normal.sum() == pytest.approx(1200 * 28 / 30, rel=0.02)
    assert normal[10] > 10 * normal[3]  # 10:00 against 03:00 on the first Monday
    assert normal[:24].sum() > normal[6 * 24:7 * 24].sum()  # Monday busier than Sunday
    surge = hourly_rates(Params(surge_factor=3.0), 28, MONDAY)
    week = slice(10 * 24, 17 * 24)
    assert surge[week].sum() == pytest.approx(3 * normal[week].sum())
    assert surge[:10 * 24].sum() == pytest.approx(normal[:10 * 24].sum())


def test_volunteers_say_yes_less_far_away_loaded_late_or_without_the_skill():
    p = Params()
    base = people.accept_probability(p, tier=1, load=0, local=MONDAY.replace(hour=10), skill=0.9, wrong_service=False)
    assert base == pytest.approx(p.accept_base)
    for change in ({"tier": 3}, {"load": 2}, {"local": MONDAY.replace(hour=23)}, {"skill": 0.1},
                   {"wrong_service": True}):
        args = {"tier": 1, "load": 0, "local": MONDAY.replace(hour=10), "skill": 0.9, "wrong_service": False, **change}
        assert people.accept_probability(p, **args) < base, change


def test_desks_answer_in_office_hours_only():
    rng = people.draw(1, "desk")
    friday_evening = datetime(2026, 12, 11, 19, 0)
    hours = people.office_delay(friday_evening, 0.5, rng)
    assert hours >= (datetime(2026, 12, 14, 9, 0) - friday_evening).total_seconds() / 3600  # Monday 09:00
    assert people.office_delay(MONDAY.replace(hour=10), 0.0, rng) == 0.0
    assert people.hours_until_hour(MONDAY.replace(hour=18), 19, weekday=2) == 49.0  # Wednesday 19:00


def test_the_same_step_of_the_same_need_draws_the_same_coin_in_every_policy():
    assert people.draw(3, 17, "answer", 2).random() == people.draw(3, 17, "answer", 2).random()
    assert people.draw(3, 17, "answer", 2).random() != people.draw(3, 17, "answer", 3).random()


def test_gini_and_disputes():
    assert gini([2, 2, 2, 2]) == 0.0
    assert gini([0, 0, 0, 8]) == pytest.approx(0.75)
    assert is_dispute("公司拖欠工资三个月了，想找人调解") and not is_dispute("家里水管漏水")


def test_the_report_writes_the_summary_the_page_and_the_plots(tmp_path):
    def result(closure: float, match: float) -> dict:
        return {"closure_rate": closure, "median_hours_to_match": match, "needs": 3, "dispute_mean_days": 2.0,
                "urgent_matched_within_1h": 1.0,
                "unclosed": [{"ref": "N1", "grid": "G001", "service": "public", "urgency": "normal",
                              "status": "escalated", "reason": "本街道暂无可服务本网格的公共服务力量", "text": "路灯坏了"}],
                "series": {"daily": [(1, 0), (3, 2)], "hours_to_match": [0.2, 0.5, 3.0],
                           "open_at_month_end": {"G001": 1}}}
    square = {"type": "Polygon", "coordinates": [[[113.0, 22.0], [113.1, 22.0], [113.1, 22.1], [113.0, 22.0]]]}
    data = report.write(tmp_path, {"sanku": result(0.999, 0.3), "nearest": result(0.9, 1.5)}, scenario="normal",
                        seed=5, days=2, boundaries={"G001": square, "G002": None})

    saved = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(data))
    assert set(report.SUMMARY_KEYS) <= set(saved["policies"]["sanku"])
    assert saved["scenario"] == "normal" and saved["seed"] == 5 and saved["needs"] == 3
    assert saved["comparison"]["nearest"] == {"closure_points": 9.9, "match_hours_saved": 1.2}
    assert saved["targets"]["closure_rate"]["met"] is True
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "办结率" in page and "本街道暂无可服务本网格的公共服务力量" in page
    for image in ("closure.png", "time_to_match.png", "open_by_grid.png"):
        assert (tmp_path / image).read_bytes()[:4] == b"\x89PNG" and image in page


def test_the_months_scratch_database_does_not_wait_for_the_disk_and_keeps_its_other_settings(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'month.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() != 0
    scratch(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 0  # OFF
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
