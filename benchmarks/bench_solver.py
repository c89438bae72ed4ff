"""How fast and how good is the exact assignment solver? Prints tables; never asserts timing.

(a) OR-Library assign100 (J.E. Beasley), read from ../shared/data relative to the repository root
    when present: our min-cost flow against the published optimum, with scipy's
    ``linear_sum_assignment`` as the baseline (a dense square problem is what it is made for).
(b) Random sparse instances shaped like the matcher's output, top-10 candidate providers per need
    and capacities 1-3: wall time and peak memory of the exact solver and the greedy yardstick,
    and how much weight greedy leaves on the table.

Each solver run of (b) happens in a fresh process that builds its instance, resets the kernel's
resident-memory high-water mark and then solves, so "peak MiB" (the rise of resident memory,
OR-Tools' C++ allocations included) belongs to the solver alone.

    python benchmarks/bench_solver.py            # everything
    python benchmarks/bench_solver.py --quick    # only the 10k-need instances
"""
from __future__ import annotations

import argparse
import gc
import multiprocessing
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from matching.assign import (  # noqa: E402  (needs the repository root on sys.path)
    NO_EDGE,
    greedy_assignment,
    solve_assignment,
    solve_cost_matrix,
)

DATA_DIR = REPO_ROOT.parent / "shared" / "data"
ASSIGN100_PATH = DATA_DIR / "orlib_assign100.txt"
ASSIGN100_OPTIMUM = 305  # published by OR-Library

EDGES_PER_NEED = 10
CAPACITY_RANGE = (1, 3)  # inclusive
# Popularity skew of providers: probability of the provider of rank r is proportional to
# (r + 1) ** -ZIPF_EXPONENT. 0 is uniform; with skew, popular providers are contested and the
# choice of who gets them starts to matter.
ZIPF_EXPONENT = 0.8
SIZES = ((10_000, 30_000), (100_000, 300_000))  # (needs, providers)
SEED = 0
KIB_PER_MIB = 1024
SCIPY_REPEATS = 5


@dataclass(frozen=True)
class InstanceSpec:
    n_needs: int
    n_providers: int
    zipf_exponent: float

    @property
    def label(self) -> str:
        shape = "uniform" if self.zipf_exponent == 0 else f"zipf {self.zipf_exponent:g}"
        return f"{self.n_needs // 1000}k x {self.n_providers // 1000}k {shape}"


def make_instance(spec: InstanceSpec, seed: int = SEED):
    """Edges of ``EDGES_PER_NEED`` distinct providers per need, each need's edges listed by
    descending weight as a candidate generator would emit its top-k."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(spec.n_providers, dtype=np.float64)
    popularity = (ranks + 1.0) ** -spec.zipf_exponent
    popularity /= popularity.sum()
    # Shuffle ids so that popularity is not the same as a low provider index.
    provider_of_rank = rng.permutation(spec.n_providers)

    shape = (spec.n_needs, EDGES_PER_NEED)
    picks = rng.choice(spec.n_providers, size=shape, p=popularity)
    while True:  # redraw repeated providers of a need until its k are distinct
        ordered = np.sort(picks, axis=1)
        repeated_sorted = np.zeros(shape, dtype=bool)
        repeated_sorted[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
        if not repeated_sorted.any():
            break
        picks = ordered
        picks[repeated_sorted] = rng.choice(spec.n_providers, size=int(repeated_sorted.sum()),
                                            p=popularity)
    weight = -np.sort(-rng.random(shape), axis=1)
    need_idx = np.repeat(np.arange(spec.n_needs, dtype=np.int64), EDGES_PER_NEED)
    provider_idx = provider_of_rank[picks.ravel()].astype(np.int64)
    capacity = rng.integers(CAPACITY_RANGE[0], CAPACITY_RANGE[1] + 1, size=spec.n_providers)
    return need_idx, provider_idx, weight.ravel(), capacity, spec.n_needs


def _proc_status_mib(field: str) -> float | None:
    """A memory line of /proc/self/status (VmRSS, VmHWM) in MiB, or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / KIB_PER_MIB
    except OSError:
        pass
    return None


def _max_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_MIB


def _reset_peak_rss() -> bool:
    """Reset the kernel's resident-memory high-water mark (Linux >= 4.0), so that the peak seen
    afterwards belongs to the solver and not to building the instance."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _timed_run(solver_name: str, spec: InstanceSpec, result_queue) -> None:
    """Child process: build the instance, then time the solver and measure its peak memory alone.

    Peak memory is the rise of the resident high-water mark over the resident size just before
    solving, so it counts OR-Tools' C++ allocations that tracemalloc cannot see."""
    solver = {"exact": solve_assignment, "greedy": greedy_assignment}[solver_name]
    instance = make_instance(spec)
    gc.collect()
    if _reset_peak_rss() and _proc_status_mib("VmHWM") is not None:
        baseline, peak_field = _proc_status_mib("VmRSS"), "VmHWM"
    else:  # fallback: ru_maxrss includes the instance build, so it can understate the solver
        baseline, peak_field = _max_rss_mib(), None
    start = time.perf_counter()
    chosen = solver(*instance)
    seconds = time.perf_counter() - start
    peak = _proc_status_mib(peak_field) if peak_field else _max_rss_mib()
    result_queue.put((seconds, peak - baseline, chosen))


def run_isolated(solver_name: str, spec: InstanceSpec):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_timed_run, args=(solver_name, spec, queue))
    child.start()
    seconds, rss_delta, chosen = queue.get()
    child.join()
    return seconds, rss_delta, chosen


def bench_orlib() -> None:
    print("(a) OR-Library assign100")
    if not ASSIGN100_PATH.exists():
        print(f"    skipped: {ASSIGN100_PATH} not found")
        return
    numbers = np.array(ASSIGN100_PATH.read_text().split(), dtype=np.int64)
    n = int(numbers[0])
    cost = numbers[1:1 + n * n].reshape(n, n)
    from scipy.optimize import linear_sum_assignment

    rows_out = []
    start = time.perf_counter()
    _, _, total = solve_cost_matrix(cost)
    rows_out.append(("solve_cost_matrix (OR-Tools)", total, time.perf_counter() - start))

    best = float("inf")
    for _ in range(SCIPY_REPEATS):  # sub-millisecond: the best of a few runs, not one timer tick
        start = time.perf_counter()
        rows, cols = linear_sum_assignment(cost)
        best = min(best, time.perf_counter() - start)
    rows_out.append(("scipy linear_sum_assignment", int(cost[rows, cols].sum()), best))

    # The same instance through the sparse edge solver: on a complete bipartite graph with all
    # weights positive every maximum-weight assignment is perfect, so maximising
    # (C - cost) minimises cost.
    ceiling = int(cost.max()) + 1
    need_idx = np.repeat(np.arange(n), n)
    provider_idx = np.tile(np.arange(n), n)
    start = time.perf_counter()
    chosen = solve_assignment(need_idx, provider_idx, (ceiling - cost).ravel().astype(float),
                              np.ones(n, dtype=np.int64), n)
    seconds = time.perf_counter() - start
    matched = chosen[chosen != NO_EDGE]
    total = int(cost.ravel()[matched].sum()) if matched.size == n else -1
    rows_out.append(("solve_assignment on C - cost", total, seconds))

    # A dense square problem is scipy's home ground (a Hungarian-type solver on the matrix): it is
    # the baseline here, and each solver's time is given as a multiple of its.
    baseline = min(seconds for name, _, seconds in rows_out if name.startswith("scipy"))
    print(f"    {'solver':<32}{'total':>8}{'optimum':>9}{'time ms':>10}{'x scipy':>9}")
    for name, total, seconds in rows_out:
        print(f"    {name:<32}{total:>8}{ASSIGN100_OPTIMUM:>9}{seconds * 1000:>10.2f}{seconds / baseline:>9.1f}")


def bench_random(sizes) -> None:
    print("(b) random sparse instances, top-10 edges per need, capacity 1-3")
    header = (f"    {'instance':<24}{'solver':<8}{'edges':>10}{'time s':>9}{'peak MiB':>10}"
              f"{'matched':>9}{'weight':>12}{'greedy/exact':>14}")
    print(header)
    for n_needs, n_providers in sizes:
        for exponent in (0.0, ZIPF_EXPONENT):
            spec = InstanceSpec(n_needs, n_providers, exponent)
            _, _, weight, _, _ = make_instance(spec)
            totals = {}
            for solver_name in ("exact", "greedy"):
                seconds, rss_delta, chosen = run_isolated(solver_name, spec)
                taken = chosen[chosen != NO_EDGE]
                totals[solver_name] = float(weight[taken].sum())
                ratio = (f"{totals['greedy'] / totals['exact']:.4f}"
                         if solver_name == "greedy" and totals["exact"] else "")
                print(f"    {spec.label:<24}{solver_name:<8}{weight.size:>10}{seconds:>9.2f}"
                      f"{rss_delta:>10.0f}{taken.size:>9}{totals[solver_name]:>12.1f}{ratio:>14}",
                      flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the smallest random size")
    args = parser.parse_args(argv)
    bench_orlib()
    print()
    bench_random(SIZES[:1] if args.quick else SIZES)


if __name__ == "__main__":
    main()
