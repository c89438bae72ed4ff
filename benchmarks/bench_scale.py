"""How fast and how big is a batch? Prints a table; never asserts timing.

Sizes (needs x providers): a subdistrict 1k x 3k, a district 10k x 30k, a city 100k x 300k, on
synthetic maps of 20 providers per grid, cut into subdistricts of 156 grids (see
benchmarks/synthetic.py). Each size runs in a fresh process that first builds its input, then:

- ``index``: :class:`matching.index.ProviderIndex` from the providers (TF-IDF fit, cells); built
  once and shared by a batch and any number of instant proposals, so it is reported apart;
- ``scoring``: candidates and scores, pruned to the top K per need;
- ``solving``: the exact assignment, the dual pricing of the pairs left out and any re-solve;
- ``results``: proposals with their explanations, reasons for the unmatched;
- ``across``: the second pass across services for needs nobody of their service could serve and
  needs the classifier was unsure of (:func:`matching.engine.across_services`);
- ``total`` = scoring + solving + results + across (the targets: 2 s for 10k x 30k, 15 s for 100k x 300k);
- ``peak MiB``: the process's peak resident memory, input included; ``input MiB`` is what the
  input alone took before matching started.

The ``x sort`` column divides ``total`` by the time the same process takes to sort a million
floats (best of five), so runs on different machines can be compared.

    python benchmarks/bench_scale.py            # all three sizes
    python benchmarks/bench_scale.py --quick    # skip 100k x 300k
"""
from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

SIZES = ((1_000, 3_000), (10_000, 30_000), (100_000, 300_000))
TARGET_SECONDS = {(10_000, 30_000): 2.0, (100_000, 300_000): 15.0}
SEED = 0
KIB_PER_MIB = 1024
YARDSTICK_FLOATS = 1_000_000
YARDSTICK_REPEATS = 5


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_MIB


def yardstick_seconds() -> float:
    import numpy as np

    values = np.random.default_rng(SEED).random(YARDSTICK_FLOATS)
    best = float("inf")
    for _ in range(YARDSTICK_REPEATS):
        start = time.perf_counter()
        np.sort(values)
        best = min(best, time.perf_counter() - start)
    return best


def gap_text(gap: float) -> str:
    """The proven bound on what an exact solve over every pair could add, as a share of the total."""
    return "0 (opt)" if gap == 0 else ("-" if gap == float("inf") else f"{100 * gap:.4f}%")


def measure(size: tuple[int, int], queue) -> None:  # type: ignore[no-untyped-def]
    from benchmarks.synthetic import make_subdistrict
    from matching.engine import across_services, assemble, candidate_graph, solve_graph
    from matching.index import ProviderIndex, paused_gc

    n_needs, n_providers = size
    yardstick = yardstick_seconds()
    sub = make_subdistrict(n_needs, n_providers, seed=SEED)
    input_mib = peak_mib()
    with paused_gc():
        t0 = time.perf_counter()
        index = ProviderIndex.build(sub.providers)
        t1 = time.perf_counter()
        sure = [n for n in sub.needs if not n.tentative]
        graph = candidate_graph(sure, index, sub.grid_map)
        t2 = time.perf_counter()
        solved, chosen, gap = solve_graph(graph)
        t3 = time.perf_counter()
        result = assemble(solved, chosen, gap=gap)
        t4 = time.perf_counter()
        result = across_services(result, sub.needs, index, sub.grid_map)
        t5 = time.perf_counter()
    s = result.stats
    queue.put(dict(size=size, index=t1 - t0, scoring=t2 - t1, solving=t3 - t2, results=t4 - t3,
                   across=t5 - t4, total=t5 - t1, yardstick=yardstick, input_mib=input_mib, peak_mib=peak_mib(),
                   pairs=s.pairs_scored, edges=s.edges_kept, widened=s.widened,
                   matched=s.matched, gap=(0.0 if s.proven_optimal else s.optimality_gap / max(s.total_weight, 1e-9)), grids=len(sub.grid_map.neighbors)))


def run(size: tuple[int, int]) -> dict:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=measure, args=(size, queue))
    proc.start()
    row = queue.get()
    proc.join()
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 100k x 300k city batch")
    args = parser.parse_args(argv)
    sizes = SIZES[:-1] if args.quick else SIZES
    header = (f"{'needs x providers':>18} {'grids':>6} {'index s':>8} {'scoring s':>9} {'solving s':>9} "
              f"{'results s':>9} {'across s':>8} {'total s':>8} {'target':>7} {'x sort':>7} {'input MiB':>9} "
              f"{'peak MiB':>9} {'pairs':>9} {'edges':>8} {'widened':>7} {'matched':>8} {'gap ≤':>9}")
    print(header)
    print("-" * len(header))
    for size in sizes:
        r = run(size)
        target = TARGET_SECONDS.get(size)
        print(f"{f'{size[0]:,} x {size[1]:,}':>18} {r['grids']:>6} {r['index']:>8.2f} {r['scoring']:>9.2f} "
              f"{r['solving']:>9.2f} {r['results']:>9.2f} {r['across']:>8.2f} {r['total']:>8.2f} "
              f"{(f'{target:.0f} s' if target else '-'):>7} {r['total'] / r['yardstick']:>7.1f} "
              f"{r['input_mib']:>9.0f} {r['peak_mib']:>9.0f} {r['pairs']:>9} {r['edges']:>8} "
              f"{r['widened']:>7} {r['matched']:>8} {gap_text(r['gap']):>9}", flush=True)


if __name__ == "__main__":
    main()
