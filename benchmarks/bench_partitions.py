"""How does a city batch grow: one big solve, or one solve per independent partition (subdistrict)?
Prints a table; never asserts timing.

Issue 11: one 100k x 300k batch in one process grows faster than linearly. Here a city of ``k``
partitions, each 5,000 needs x 15,000 providers on a map of its own (``benchmarks/synthetic.py``,
seed = the partition's number; maps disjoint, so no pair crosses a partition and both ways solve the
very same problem), for k = 1, 2, 5, 10, 20 (20 is the issue's 100,000 x 300,000):

- ``one solve``: every partition's needs, providers and grids relabelled into one map and matched
  by one :func:`matching.engine.match_batch`, after one :class:`ProviderIndex` of all providers;
- ``partitioned``: each partition's index and batch in turn, in the same process (the time a single
  worker would take; workers in parallel divide it).

Each (k, way) runs in a fresh process, so ``peak MiB`` is that run's peak resident memory (input
included). ``µs / need`` is total time per need: flat means linear growth. The two ways solve the
same pairs, but not with the very same scores: the text feature's idf is fitted on the index's own
providers, so ``Δ weight`` (partitioned minus one solve, relative) is small but not zero.

    python benchmarks/bench_partitions.py            # k = 1, 2, 5, 10, 20
    python benchmarks/bench_partitions.py --quick    # k = 1, 2, 5
"""
from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

PARTITION = (5_000, 15_000)  # needs, providers of one partition (a subdistrict of the city)
COUNTS = (1, 2, 5, 10, 20)
ID_STRIDE = 1_000_000  # ids of partition i start at i * ID_STRIDE
KIB_PER_MIB = 1024


def partition(i: int) -> Any:
    """Partition ``i``: a synthetic map of its own, its codes and ids moved out of the others' way."""
    from benchmarks.synthetic import make_subdistrict
    from matching.types import GridMap

    sub = make_subdistrict(*PARTITION, seed=i)
    prefix, offset = f"P{i:02d}-", i * ID_STRIDE

    def code(c: str | None) -> str | None:
        return None if c is None else prefix + c
    needs = [replace(n, id=n.id + offset, grid=prefix + n.grid) for n in sub.needs]
    providers = [replace(p, id=p.id + offset, home_grid=code(p.home_grid),
                         grids_covered=None if p.grids_covered is None else frozenset(prefix + g for g in p.grids_covered))
                 for p in sub.providers]
    # Every grid belongs to a subdistrict of its partition, so tier 3 never leaves it.
    grid_map = GridMap(neighbors={prefix + g: frozenset(prefix + h for h in near) for g, near in sub.grid_map.neighbors.items()},
                       subdistricts={prefix + g: prefix + sub.grid_map.subdistricts.get(g, "") for g in sub.grid_map.neighbors})
    assert all(p.grids_covered is not None for p in providers if p.kind == "resource"), "a resource covers every grid"
    return needs, providers, grid_map


def measure(k: int, way: str, queue: Any) -> None:
    from matching.engine import match_batch
    from matching.index import ProviderIndex, paused_gc
    from matching.types import GridMap

    warm, warm_providers, warm_map = partition(99)  # load the segmenter and the tables before timing
    match_batch(warm[:50], ProviderIndex.build(warm_providers[:150]), warm_map)
    del warm, warm_providers, warm_map
    parts = [partition(i) for i in range(k)]
    input_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_MIB
    with paused_gc():
        start = time.perf_counter()
        if way == "one solve":
            needs = [n for p in parts for n in p[0]]
            providers = [v for p in parts for v in p[1]]
            grid_map = GridMap(neighbors={g: n for p in parts for g, n in p[2].neighbors.items()},
                               subdistricts={g: s for p in parts for g, s in p[2].subdistricts.items()})
            t0 = time.perf_counter()
            index = ProviderIndex.build(providers)
            t1 = time.perf_counter()
            result = match_batch(needs, index, grid_map)
            results = [result]
            index_s, match_s = t1 - t0, time.perf_counter() - t1
        else:
            results, index_s, match_s = [], 0.0, 0.0
            for needs, providers, grid_map in parts:
                t0 = time.perf_counter()
                index = ProviderIndex.build(providers)
                t1 = time.perf_counter()
                results.append(match_batch(needs, index, grid_map))
                index_s += t1 - t0
                match_s += time.perf_counter() - t1
        total = time.perf_counter() - start
    queue.put(dict(k=k, way=way, needs=sum(len(p[0]) for p in parts), index=index_s, match=match_s, total=total,
                   input_mib=input_mib, peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / KIB_PER_MIB,
                   matched=sum(r.stats.matched for r in results),
                   weight=sum(r.stats.total_weight for r in results)))


def run(k: int, way: str) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=measure, args=(k, way, queue))
    proc.start()
    row: dict[str, Any] = queue.get()
    proc.join()
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="k = 1, 2, 5 only")
    parser.add_argument("--counts", type=int, nargs="+", help="partition counts")
    args = parser.parse_args(argv)
    counts = args.counts or (COUNTS[:3] if args.quick else COUNTS)
    header = (f"{'partitions':>10} {'needs x providers':>19} {'way':<12} {'index s':>8} {'match s':>8} "
              f"{'total s':>8} {'µs / need':>9} {'peak MiB':>9} {'matched':>8} {'weight':>11} {'Δ weight':>9}")
    print(f"# partitions of {PARTITION[0]:,} needs x {PARTITION[1]:,} providers, each on a map of its own")
    print(header)
    print("-" * len(header))
    for k in counts:
        rows = [run(k, way) for way in ("one solve", "partitioned")]
        delta = (rows[1]["weight"] - rows[0]["weight"]) / max(rows[0]["weight"], 1e-9)
        for r in rows:
            size = f"{r['needs']:,} x {k * PARTITION[1]:,}"
            print(f"{k:>10} {size:>19} {r['way']:<12} {r['index']:>8.2f} {r['match']:>8.2f} {r['total']:>8.2f} "
                  f"{1e6 * r['total'] / r['needs']:>9.1f} {r['peak_mib']:>9.0f} {r['matched']:>8} "
                  f"{r['weight']:>11.2f} {(f'{100 * delta:+.3f}%' if r['way'] == 'partitioned' else ''):>9}",
                  flush=True)


if __name__ == "__main__":
    main()
