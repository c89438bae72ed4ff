"""A month in the subdistrict (issue 12): the simulation for every scenario and policy, one table.

    python benchmarks/bench_month.py                 # 30 days, normal, surge and tight (long: see the README)
    python benchmarks/bench_month.py --quick         # 3 days, normal only
    python benchmarks/bench_month.py --days 7 --scenario surge

Every policy meets the same arrivals and the same random draws (``simulation``); the baseline rows are
the ways needs are dispatched without Sanku's matcher: greedy best-score-first, the nearest free
provider of the grid (paper dispatch) and a random eligible one. Ratios are against greedy, the
strongest simple thing, measured in the same run.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from simulation.params import scenario  # noqa: E402
from simulation.policies import POLICIES  # noqa: E402
from simulation.runner import AppRecipe, run_policies  # noqa: E402

COLUMNS = (("closure_rate", "closure"), ("closed_within_sla", "in SLA"), ("median_hours_to_match", "match p50 h"),
           ("p90_hours_to_match", "match p90 h"), ("median_hours_to_close", "close p50 h"),
           ("p90_hours_to_close", "close p90 h"), ("urgent_matched_within_1h", "urgent<1h"),
           ("escalated_share", "escalated"), ("dispute_mean_days", "dispute d"),
           ("dispute_mean_days_to_done", "settled d"), ("load_gini", "gini"),
           ("declines_per_closed", "decl/closed"), ("no_shows_per_closed", "noshow/closed"), ("needs", "needs"),
           ("cpu_seconds", "cpu s"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--scenario", action="append", choices=["normal", "surge", "tight"])
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()
    days = args.days or (3 if args.quick else 30)
    scenarios = args.scenario or (["normal"] if args.quick else ["normal", "surge", "tight"])
    config = AppRecipe(create_app, {"SECRET_KEY": "bench", "LOG_LEVEL": "WARNING", "CLASSIFIER_PATH": os.environ.get(
        "SANKU_CLASSIFIER_PATH", str(Path("instance/classifier.joblib")))})
    print(f"# {days} days, seed {args.seed}, {args.jobs} policies at a time; "
          f"{time.strftime('%Y-%m-%d %H:%M %z')}")
    header = f"{'scenario':<8} {'policy':<8} " + " ".join(f"{title:>11}" for _, title in COLUMNS)
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="sanku-bench-month-") as work:
        for name in scenarios:
            label, params = scenario(name)
            started = time.perf_counter()
            results = run_policies(list(POLICIES), params, seed=args.seed, days=days, workdir=Path(work) / name,
                                   recipe=config, jobs=args.jobs)
            for policy, row in results.items():
                cells = " ".join(f"{_fmt(row.get(key)):>11}" for key, _ in COLUMNS)
                print(f"{label:<8} {policy:<8} {cells}", flush=True)
            ours, greedy = results["sanku"], results["greedy"]
            print(f"# {label}: all four policies in {time.perf_counter() - started:.0f} s wall; sanku vs greedy: "
                  f"closure {_delta(ours, greedy, 'closure_rate', 100)} points, median match "
                  f"{_delta(greedy, ours, 'median_hours_to_match', 1)} h sooner", flush=True)
    return 0


def _fmt(value: object) -> str:
    return "—" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _delta(a: dict[str, object], b: dict[str, object], key: str, scale: float) -> str:
    x, y = a.get(key), b.get(key)
    if not isinstance(x, (int, float)) or not isinstance(y, (int, float)):
        return "—"
    return f"{(x - y) * scale:+.2f}"


if __name__ == "__main__":
    sys.exit(main())
