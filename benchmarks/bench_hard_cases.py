"""How often does the matcher pick what a careful coordinator would, on hard cases? Prints tables;
never asserts (tests/dispatch/test_hard_cases.py holds the line at 95%).

The set is tests/data/hard_cases/ (see its README): 126 needs in residents' words, in 12 contended
grids with 102 providers, and an answer key written from the taxonomy, not from the matcher. It goes
through the service as a user's data would: the four CSVs imported with ``flask import`` into a
fresh SQLite database (the classifier picks each need's service; there is no service column),
``flask match``, ``flask export assignments``; the export is read against ``expected.csv``.

Two baselines run in the same process on the same imported needs and providers:

- ``greedy, every pair``: Sanku's own scores over every eligible pair (no top-K), taken by
  descending weight within each need's service; no assignment solve, no pass across services;
- ``keyword``: what one would write with rapidfuzz alone: each need, most urgent first, goes to the
  free provider of its service whose best tag matches its text best (partial_ratio >= 60), the
  nearer one first on ties (same grid or a covering resource, then next door).

A need counts as right when its provider is the key's (or it has none and the key says ``none``).

    python benchmarks/bench_hard_cases.py
"""
from __future__ import annotations

import csv
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

CASES = REPO_ROOT / "tests" / "data" / "hard_cases"
KINDS = ("grids", "resources", "volunteers", "needs")  # import order: grids first
NONE = "none"
KEYWORD_MIN_RATIO = 60
URGENCY_ORDER = {"urgent": 0, "high": 1, "normal": 2, "low": 3}


@dataclass
class Score:
    """Right answers against the key, by kind of case, and the needs it got wrong."""
    right: Counter[str] = field(default_factory=Counter)
    cases: Counter[str] = field(default_factory=Counter)
    misses: list[tuple[str, str, str, str]] = field(default_factory=list)  # ref, kind, expected, got

    @property
    def accuracy(self) -> float:
        return sum(self.right.values()) / max(sum(self.cases.values()), 1)


def read_key(path: Path = CASES / "expected.csv") -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {row["need_ref"]: row for row in csv.DictReader(fh)}


def score(chosen: dict[str, str], key: dict[str, dict[str, str]] | None = None) -> Score:
    """``chosen``: need ref -> provider ref (needs left out got none)."""
    key = key or read_key()
    out = Score()
    for ref, row in key.items():
        got, want = chosen.get(ref, NONE), row["expected_provider_ref"]
        out.cases[row["kind"]] += 1
        if got == want:
            out.right[row["kind"]] += 1
        else:
            out.misses.append((ref, row["kind"], want, got))
    return out


def read_export(path: Path, column: str = "provider_ref") -> dict[str, str]:
    """need ref -> provider ref (or another column), from ``flask export assignments``."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {row["need_ref"]: row[column] for row in csv.DictReader(fh)}


def run_cli(runner, *args: str) -> str:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=list(args))
    if result.exit_code != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.output}")
    return str(result.output)


def import_cases(runner) -> None:  # type: ignore[no-untyped-def]
    for kind in KINDS:
        output = run_cli(runner, "import", kind, str(CASES / f"{kind}.csv"))
        if "有误 0 行" not in output:
            raise RuntimeError(f"import of {kind} reported errors:\n{output}")


def match_and_export(runner, out_dir: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """``flask match`` then ``flask export assignments`` into ``out_dir``/assignments.csv."""
    run_cli(runner, "match")
    export = out_dir / "assignments.csv"
    run_cli(runner, "export", "assignments", str(export))
    return read_export(export)


def keyword_baseline(needs, providers, grid_map) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from rapidfuzz import fuzz

    left = {p.key: p.free for p in providers}

    def rank(need, p):  # type: ignore[no-untyped-def]
        ratio = max((fuzz.partial_ratio(tag, need.text) for tag in p.skills), default=0)
        if p.kind == "resource":
            near = 0 if p.grids_covered is None or need.grid in p.grids_covered else 2
        else:
            near = 0 if p.home_grid == need.grid else 1 if p.home_grid in grid_map.neighbors.get(need.grid, ()) else 2
        return ratio, -near

    chosen: dict[str, str] = {}
    for need in sorted(needs, key=lambda n: (URGENCY_ORDER.get(n.urgency, 2), n.id)):
        options = [(rank(need, p), p) for p in providers if need.service in p.services and left[p.key] > 0]
        options = [(r, p) for r, p in options if r[0] >= KEYWORD_MIN_RATIO]
        if options:
            best = max(options, key=lambda rp: (rp[0], -rp[1].id))[1]
            left[best.key] -= 1
            chosen[need.ref] = best.ref
    return chosen


def greedy_baseline(needs, providers, grid_map) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from matching.engine import match_batch_greedy

    result = match_batch_greedy(needs, providers, grid_map, top_k=1_000_000)
    refs = {n.id: n.ref for n in needs}
    return {refs[need_id]: m.provider_ref for need_id, m in result.assignments.items()}


def run(work: Path) -> dict[str, Score]:
    """Import the set into a fresh database under ``work``, run both baselines and Sanku's batch."""
    from app import create_app
    from dispatch.views import grid_map, load_providers, need_view
    from migrations.runner import migrate
    from models import Need

    app = create_app({"DATABASE_URL": f"sqlite:///{work / 'hard_cases.db'}", "SECRET_KEY": "bench",
                      "CLASSIFIER_PATH": str(work / "classifier.joblib")})
    migrate(app.extensions["sanku_db"].engine)
    runner = app.test_cli_runner()
    import_cases(runner)
    with app.app_context(), app.extensions["sanku_db"].unit_of_work() as session:
        from sqlalchemy import select
        needs = [need_view(n) for n in session.scalars(select(Need).order_by(Need.id))]
        providers, grids = load_providers(session), grid_map(session)
    return {
        "keyword": score(keyword_baseline(needs, providers, grids)),
        "greedy, every pair": score(greedy_baseline(needs, providers, grids)),
        "Sanku": score(match_and_export(runner, work)),
    }


def print_tables(results: dict[str, Score], explanations: dict[str, str]) -> None:
    names = list(results)
    sanku = results["Sanku"]
    kinds = list(sanku.cases)
    header = f"{'kind':<24} {'cases':>5} " + " ".join(f"{n:>18}" for n in names)
    print(header)
    print("-" * len(header))
    for kind in kinds:
        print(f"{kind:<24} {sanku.cases[kind]:>5} "
              + " ".join(f"{results[n].right[kind]:>18}" for n in names))
    total = sum(sanku.cases.values())
    print(f"{'right':<24} {total:>5} " + " ".join(f"{sum(results[n].right.values()):>18}" for n in names))
    print(f"{'accuracy':<24} {'':>5} " + " ".join(f"{results[n].accuracy:>18.3f}" for n in names))
    print(f"{'Sanku / this':<24} {'':>5} "
          + " ".join(f"{sanku.accuracy / max(results[n].accuracy, 1e-9):>17.2f}x" for n in names))
    key = read_key()
    print(f"\nSanku's misses ({len(sanku.misses)}):")
    for ref, kind, want, got in sanku.misses:
        print(f"  {ref} {kind}: key {want}, got {got}" + (f" ({explanations[ref]})" if ref in explanations else "")
              + f"\n      key's reason: {key[ref]['why']}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results = run(Path(tmp))
        print_tables(results, read_export(Path(tmp) / "assignments.csv", "explanation"))


if __name__ == "__main__":
    main()
