"""How good are the matcher's assignments? Prints a table; never asserts.

On synthetic subdistricts (158 grids, like the real one) with planted best providers, once with
supply ample and once tight (less free capacity than needs), side by side:

- ``exact``: :func:`matching.engine.match_batch` as shipped: top-K pruning, exact solve, pricing
  of the pairs left out until none can improve the total;
- ``top-K only``: the same pruned graph solved exactly once, without pricing (what pruning alone
  would lose);
- ``greedy``: every eligible pair (the unpruned graph) taken by descending weight, the
  yardstick a dispatcher would write;
- ``unpruned``: every eligible pair (all tiers, no top-K), solved exactly: the optimum.

Columns: total weight (sum of urgency priority x score, what is maximised) and its gap to the
unpruned optimum, total score, coverage (needs matched), hit rate (planted best provider chosen),
edges handed to the solver, and wall time. Ratios are against the unpruned run of the same process.

    python benchmarks/bench_quality.py            # seeds 0-2
    python benchmarks/bench_quality.py --quick    # seed 0 only
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.synthetic import Subdistrict, make_subdistrict  # noqa: E402
from matching.assign import greedy_assignment, solve_assignment  # noqa: E402
from matching.engine import BatchResult, assemble, candidate_graph, solve_graph  # noqa: E402
from matching.index import ProviderIndex, paused_gc  # noqa: E402

GRIDS = 158  # the real subdistrict's
PLANTED_SHARE = 0.2
UNPRUNED_TOP_K = 1_000_000  # more than any need's candidates: nothing is pruned
SCENARIOS = {  # name -> (needs, providers, supply)
    "ample": (2_000, 6_000, "ample"),
    "tight": (2_000, 1_800, "tight"),
}


@dataclass(frozen=True)
class Row:
    scenario: str
    seed: int
    method: str
    result: BatchResult
    seconds: float
    planted: dict[int, tuple[str, int]]

    @property
    def hit_rate(self) -> float:
        if not self.planted:
            return float("nan")
        a = self.result.assignments
        return sum(n in a and a[n].provider_key == key for n, key in self.planted.items()) / len(self.planted)


def run(sub: Subdistrict, scenario: str, seed: int) -> list[Row]:
    index = ProviderIndex.build(sub.providers)
    rows = []

    def timed(method: str, make) -> None:  # type: ignore[no-untyped-def]
        with paused_gc():
            start = time.perf_counter()
            result = make()
            rows.append(Row(scenario, seed, method, result, time.perf_counter() - start, sub.planted))

    def exact() -> BatchResult:
        graph, chosen, gap = solve_graph(candidate_graph(sub.needs, index, sub.grid_map))
        return assemble(graph, chosen, gap=gap)

    def pruned_once() -> BatchResult:
        graph = candidate_graph(sub.needs, index, sub.grid_map)
        return assemble(graph, graph.solve(solve_assignment))

    def greedy() -> BatchResult:
        # Every eligible pair, as the unpruned optimum sees them: the yardstick must not be
        # handicapped by our pruning.
        graph = candidate_graph(sub.needs, index, sub.grid_map, top_k=UNPRUNED_TOP_K)
        return assemble(graph, graph.solve(greedy_assignment))

    def unpruned() -> BatchResult:
        graph = candidate_graph(sub.needs, index, sub.grid_map, top_k=UNPRUNED_TOP_K)
        return assemble(graph, graph.solve(solve_assignment))

    timed("unpruned", unpruned)
    timed("exact", exact)
    timed("top-K only", pruned_once)
    timed("greedy", greedy)
    return rows


def print_table(rows: list[Row]) -> None:
    header = (f"{'scenario':<8} {'seed':>4} {'method':<11} {'weight':>9} {'vs opt':>8} {'score':>9} "
              f"{'coverage':>9} {'hit rate':>8} {'edges':>8} {'gap ≤':>9} {'seconds':>8}")
    print(header)
    print("-" * len(header))
    optimum = {(r.scenario, r.seed): r.result.stats.total_weight for r in rows if r.method == "unpruned"}
    for r in rows:
        s = r.result.stats
        gap = s.total_weight / optimum[(r.scenario, r.seed)] - 1.0
        print(f"{r.scenario:<8} {r.seed:>4} {r.method:<11} {s.total_weight:>9.2f} {100 * gap:>7.3f}% "
              f"{s.total_score:>9.2f} {100 * s.matched / s.needs:>8.1f}% {100 * r.hit_rate:>7.1f}% "
              f"{s.edges_kept:>8} {gap_text(s):>9} {r.seconds:>8.2f}")


def gap_text(stats) -> str:  # type: ignore[no-untyped-def]
    """The proven bound on what an exact solve over every pair could add, as a share of the total."""
    gap = stats.optimality_gap
    if gap is None or gap == float("inf"):
        return "-"
    return "0 (opt)" if gap == 0 else f"{100 * gap / stats.total_weight:.4f}%"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one seed only")
    args = parser.parse_args(argv)
    seeds = [0] if args.quick else [0, 1, 2]
    rows: list[Row] = []
    for scenario, (n_needs, n_providers, supply) in SCENARIOS.items():
        for seed in seeds:
            sub = make_subdistrict(n_needs, n_providers, seed=seed, n_grids=GRIDS, supply=supply,
                                   plant=PLANTED_SHARE)
            print(f"# {scenario}, seed {seed}: {n_needs} needs, {len(sub.providers)} providers "
                  f"({len(sub.planted)} planted), free capacity {sub.free_capacity}", file=sys.stderr)
            rows.extend(run(sub, scenario, seed))
    print_table(rows)


if __name__ == "__main__":
    main()
