"""Optimal assignment of providers to needs within capacity (最优分派).

Input is a sparse list of candidate edges: edge ``e`` links need ``need_idx[e]`` to provider
``provider_idx[e]`` with score ``weight[e]``. Every solver here returns ``chosen``, an int array of
length ``n_needs`` holding, for each need, the index of its chosen EDGE, or -1 when it gets none.

- :func:`solve_assignment` is exact: a min-cost flow with OR-Tools, built with the numpy bulk API
  so a million edges cost a few seconds and never a Python loop over arcs.
- :func:`greedy_assignment` is the yardstick the exact solver must beat or equal.
- :func:`solve_assignment_scipy` is an independent oracle for tests on small instances.
- :func:`solve_cost_matrix` solves a square min-cost perfect assignment (OR-Library benchmarks).

Rules shared by all three edge solvers, so they can be compared edge for edge:

- an edge with ``weight <= 0`` is never chosen (taking it cannot raise the total);
- a provider with ``capacity == 0`` is never used;
- of duplicate (need, provider) edges only the heaviest counts, the earliest among equals.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

# Integer cost units per unit of weight. OR-Tools needs integer costs, so an edge costs
# ``-round(weight * WEIGHT_SCALE)``: weights closer than 1 / WEIGHT_SCALE look equal to the solver,
# A positive weight that would round to 0 costs -1 instead, so taking it still beats leaving the
# need unmatched. Each edge is thus off by at most 1 / WEIGHT_SCALE, and the chosen total falls
# short of the true real-valued optimum by at most ``n_needs / WEIGHT_SCALE``.
WEIGHT_SCALE = 1_000_000

# OR-Tools' cost-scaling algorithm multiplies every cost by (num_nodes + 1) and fails with
# BAD_COST_RANGE when that overflows int64; keep a further factor of headroom for its potentials.
_INT64_MAX = np.iinfo(np.int64).max
_INT32_MAX = np.iinfo(np.int32).max
_COST_HEADROOM = 4

# Dense matrix cells the scipy oracle accepts (rows x columns) before it refuses: 4M float64 cells
# are 32 MB and still a fraction of a second, anything larger is not what an oracle is for.
SCIPY_ORACLE_MAX_CELLS = 4_000_000

NO_EDGE = -1

# The signature the edge solvers share, so callers can take any of them:
# (need_idx, provider_idx, weight, capacity, n_needs) -> chosen.
Solver: TypeAlias = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]


def solve_assignment(need_idx: np.ndarray, provider_idx: np.ndarray, weight: np.ndarray,
                     capacity: np.ndarray, n_needs: int) -> np.ndarray:
    """Choose edges maximising the total weight, with at most one edge per need and at most
    ``capacity[p]`` edges per provider. Returns, per need, the chosen edge index or -1.

    The flow network, where every unit of flow is one need::

        source --(cap 1, cost 0)--> need --(cap 1, cost -w)--> provider --(cap c_p, cost 0)--> sink
                                     need --(cap 1, cost 0, "stay unmatched")----------------> sink

    The bypass arc makes a full flow always feasible, so the minimum cost is minus the maximum
    weight rather than the cost of a maximum matching. Only needs with at least one usable edge and
    providers used by one get a node. Deterministic: arcs go in in edge order and the OR-Tools
    solver is deterministic, so the same input always yields the same output; among equally good
    assignments the one returned is whichever the solver reaches for that arc order.
    """
    need_idx, provider_idx, weight, capacity = _validated_edges(
        need_idx, provider_idx, weight, capacity, n_needs)
    chosen = np.full(n_needs, NO_EDGE, dtype=np.int64)
    edges = _usable_edges(need_idx, provider_idx, weight, capacity)
    if edges.size == 0:
        return chosen

    needs_used, need_node = np.unique(need_idx[edges], return_inverse=True)
    providers_used, provider_local = np.unique(provider_idx[edges], return_inverse=True)
    n_need_nodes, n_provider_nodes = needs_used.size, providers_used.size
    provider_node = n_need_nodes + provider_local
    source = n_need_nodes + n_provider_nodes
    sink = source + 1
    n_nodes = sink + 1

    edge_cost = -_scaled_weights(weight[edges])
    _check_cost_range(int(-edge_cost.min()), n_nodes)
    # A provider can never use more slots than it has edges; capping keeps capacities small.
    degree = np.bincount(provider_local, minlength=n_provider_nodes)
    slots = np.minimum(capacity[providers_used], degree)

    need_nodes = np.arange(n_need_nodes, dtype=np.int64)
    provider_nodes = np.arange(n_need_nodes, n_need_nodes + n_provider_nodes, dtype=np.int64)
    n_edges = edges.size
    tails = np.concatenate([need_node, provider_nodes, need_nodes,
                            np.full(n_need_nodes, source)])
    heads = np.concatenate([provider_node, np.full(n_provider_nodes, sink),
                            np.full(n_need_nodes, sink), need_nodes])
    capacities = np.concatenate([np.ones(n_edges, dtype=np.int64), slots,
                                 np.ones(2 * n_need_nodes, dtype=np.int64)])
    costs = np.concatenate([edge_cost, np.zeros(n_provider_nodes + 2 * n_need_nodes,
                                                dtype=np.int64)])
    supplies = np.zeros(n_nodes, dtype=np.int64)
    supplies[source] = n_need_nodes
    supplies[sink] = -n_need_nodes

    flows = _min_cost_flows(tails, heads, capacities, costs, supplies, n_flows=n_edges)
    taken = edges[flows > 0]
    chosen[need_idx[taken]] = taken
    return chosen


def greedy_assignment(need_idx: np.ndarray, provider_idx: np.ndarray, weight: np.ndarray,
                      capacity: np.ndarray, n_needs: int) -> np.ndarray:
    """Take edges by descending weight (ties: edge order) while need and provider are free.

    The yardstick for :func:`solve_assignment`: it is what a dispatcher does by hand, and it can
    lose up to half of the optimum when a need takes the provider another need depended on.
    """
    need_idx, provider_idx, weight, capacity = _validated_edges(
        need_idx, provider_idx, weight, capacity, n_needs)
    chosen = np.full(n_needs, NO_EDGE, dtype=np.int64)
    edges = _usable_edges(need_idx, provider_idx, weight, capacity)
    if edges.size == 0:
        return chosen
    # lexsort is stable and sorts by the last key first: heaviest first, then earliest edge.
    order = edges[np.lexsort((edges, -weight[edges]))]
    remaining = capacity.tolist()
    chosen_list = chosen.tolist()
    # Plain lists: a Python loop over numpy scalars is several times slower.
    for edge, need, provider in zip(order.tolist(), need_idx[order].tolist(),
                                    provider_idx[order].tolist()):
        if chosen_list[need] == NO_EDGE and remaining[provider] > 0:
            chosen_list[need] = edge
            remaining[provider] -= 1
    return np.asarray(chosen_list, dtype=np.int64)


def solve_assignment_scipy(need_idx: np.ndarray, provider_idx: np.ndarray, weight: np.ndarray,
                           capacity: np.ndarray, n_needs: int) -> np.ndarray:
    """The test oracle: the same problem as :func:`solve_assignment`, solved independently with
    ``scipy.optimize.linear_sum_assignment`` on a dense matrix and real-valued weights.

    Columns are one per capacity slot of every provider plus one "unmatched" column per need, so
    every need can always be assigned somewhere. Raises ValueError when the matrix would exceed
    :data:`SCIPY_ORACLE_MAX_CELLS`.
    """
    from scipy.optimize import linear_sum_assignment

    need_idx, provider_idx, weight, capacity = _validated_edges(
        need_idx, provider_idx, weight, capacity, n_needs)
    chosen = np.full(n_needs, NO_EDGE, dtype=np.int64)
    edges = _usable_edges(need_idx, provider_idx, weight, capacity)
    if edges.size == 0:
        return chosen

    providers_used = np.unique(provider_idx[edges])
    slot_counts = capacity[providers_used]
    slot_provider = np.repeat(providers_used, slot_counts)
    n_slots = slot_provider.size
    n_cells = n_needs * (n_slots + n_needs)
    if n_cells > SCIPY_ORACLE_MAX_CELLS:
        raise ValueError(f"instance too large for the scipy oracle: {n_cells} cells "
                         f"> {SCIPY_ORACLE_MAX_CELLS}")

    # Absent edges get 0, the same value as an "unmatched" column; a 0 cell picked by the solver
    # is read back as unmatched, so it never needs a forbidding -inf.
    gain = np.zeros((n_needs, n_slots + n_needs))
    edge_of_cell = np.full((n_needs, n_slots), NO_EDGE, dtype=np.int64)
    first_slot = np.concatenate([[0], np.cumsum(slot_counts)[:-1]])
    provider_rank = np.searchsorted(providers_used, provider_idx[edges])
    for offset in range(int(slot_counts.max())):
        has_slot = slot_counts[provider_rank] > offset
        rows = need_idx[edges[has_slot]]
        cols = first_slot[provider_rank[has_slot]] + offset
        gain[rows, cols] = weight[edges[has_slot]]
        edge_of_cell[rows, cols] = edges[has_slot]

    rows, cols = linear_sum_assignment(gain, maximize=True)
    real = (cols < n_slots)
    rows, cols = rows[real], cols[real]
    picked = edge_of_cell[rows, cols]
    chosen[rows] = picked
    return chosen


def solve_cost_matrix(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Minimum-cost perfect assignment of a square matrix of non-negative integer costs.

    Returns ``(rows, cols, total)``: row ``rows[i]`` goes to column ``cols[i]`` and ``total`` is the
    sum of those costs. Uses the same OR-Tools min-cost flow as :func:`solve_assignment`, with each
    row a supply of 1 and each column a demand of 1.
    """
    matrix = np.asarray(cost)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"cost must be a square matrix, got shape {matrix.shape}")
    if matrix.dtype.kind == "f":
        if not np.all(np.isfinite(matrix)) or not np.array_equal(matrix, np.round(matrix)):
            raise ValueError("cost must hold integers")
    elif matrix.dtype.kind not in "iub":
        raise ValueError(f"cost must hold integers, got dtype {matrix.dtype}")
    n = matrix.shape[0]
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), 0
    if matrix.min() < 0:
        raise ValueError("cost must be non-negative")
    if matrix.max() > _INT64_MAX // _COST_HEADROOM:
        raise ValueError("cost values are too large for int64 arithmetic")
    costs = matrix.astype(np.int64).ravel()
    _check_cost_range(int(costs.max()), 2 * n)

    rows_of_arc = np.repeat(np.arange(n, dtype=np.int64), n)
    cols_of_arc = np.tile(np.arange(n, dtype=np.int64), n)
    supplies = np.concatenate([np.ones(n, dtype=np.int64), -np.ones(n, dtype=np.int64)])
    flows = _min_cost_flows(rows_of_arc, n + cols_of_arc, np.ones(n * n, dtype=np.int64), costs,
                            supplies, n_flows=n * n)
    used = flows > 0
    rows, cols = rows_of_arc[used], cols_of_arc[used]
    return rows, cols, int(matrix[rows, cols].astype(np.int64).sum())


def _validated_edges(need_idx: np.ndarray, provider_idx: np.ndarray, weight: np.ndarray,
                     capacity: np.ndarray, n_needs: int
                     ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64],
                                npt.NDArray[np.int64]]:
    """Arrays of the right dtype and shape, or ValueError naming what is wrong."""
    need_idx = np.asarray(need_idx)
    provider_idx = np.asarray(provider_idx)
    weight = np.asarray(weight, dtype=np.float64)
    capacity = np.asarray(capacity)
    n_needs = int(n_needs)
    if not (need_idx.ndim == provider_idx.ndim == weight.ndim == capacity.ndim == 1):
        raise ValueError("need_idx, provider_idx, weight and capacity must be 1-D")
    if not (need_idx.size == provider_idx.size == weight.size):
        raise ValueError(f"edge arrays differ in length: {need_idx.size}, {provider_idx.size}, "
                         f"{weight.size}")
    for name, arr in (("need_idx", need_idx), ("provider_idx", provider_idx),
                      ("capacity", capacity)):
        if arr.size and arr.dtype.kind not in "iu":
            raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    need_idx = need_idx.astype(np.int64, copy=False)
    provider_idx = provider_idx.astype(np.int64, copy=False)
    capacity = capacity.astype(np.int64, copy=False)
    if n_needs < 0:
        raise ValueError("n_needs must be non-negative")
    if need_idx.size:
        if need_idx.min() < 0 or need_idx.max() >= n_needs:
            raise ValueError("need_idx out of range [0, n_needs)")
        if provider_idx.min() < 0 or provider_idx.max() >= capacity.size:
            raise ValueError("provider_idx out of range [0, len(capacity))")
        if not np.all(np.isfinite(weight)):
            raise ValueError("weight must be finite")
    if capacity.size and capacity.min() < 0:
        raise ValueError("capacity must be non-negative")
    return need_idx, provider_idx, weight, capacity


def _usable_edges(need_idx: np.ndarray, provider_idx: np.ndarray, weight: np.ndarray,
                  capacity: np.ndarray) -> np.ndarray:
    """Indices, ascending, of the edges worth considering: positive weight, a provider with
    capacity, and the heaviest (then earliest) of each duplicated (need, provider) pair."""
    edges = np.flatnonzero((weight > 0) & (capacity[provider_idx] > 0))
    if edges.size == 0:
        return edges
    n_providers = capacity.size
    if int(need_idx[edges].max()) >= _INT64_MAX // max(n_providers, 1):
        return _best_of_each_pair(edges, need_idx, provider_idx, weight)
    # One int64 key per pair: a single sort finds the (usually few) repeated pairs, and only those
    # go through the costlier multi-key sort.
    keys = need_idx[edges] * n_providers + provider_idx[edges]
    sorted_keys = np.sort(keys)
    repeated_keys = sorted_keys[1:][sorted_keys[1:] == sorted_keys[:-1]]
    if repeated_keys.size == 0:
        return edges
    repeated = np.isin(keys, repeated_keys)
    best = _best_of_each_pair(edges[repeated], need_idx, provider_idx, weight)
    return np.sort(np.concatenate([edges[~repeated], best]))


def _best_of_each_pair(edges: np.ndarray, need_idx: np.ndarray, provider_idx: np.ndarray,
                       weight: np.ndarray) -> np.ndarray:
    """Of ``edges``, the heaviest (then earliest) per (need, provider) pair, ascending."""
    order = np.lexsort((edges, -weight[edges], provider_idx[edges], need_idx[edges]))
    ranked = edges[order]
    needs, providers = need_idx[ranked], provider_idx[ranked]
    first = np.ones(ranked.size, dtype=bool)
    first[1:] = (needs[1:] != needs[:-1]) | (providers[1:] != providers[:-1])
    return np.sort(ranked[first])


def _scaled_weights(weight: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Positive weights as positive integer cost units (see :data:`WEIGHT_SCALE`)."""
    scaled = np.rint(weight * WEIGHT_SCALE)
    if scaled.max() > _INT64_MAX // _COST_HEADROOM:
        raise ValueError("weights are too large for WEIGHT_SCALE; rescale them")
    return np.maximum(scaled.astype(np.int64), 1)


def _check_cost_range(max_abs_cost: int, n_nodes: int) -> None:
    """Refuse costs OR-Tools would overflow on, with a message instead of BAD_COST_RANGE."""
    if max_abs_cost * (n_nodes + 1) * _COST_HEADROOM > _INT64_MAX:
        raise ValueError(f"costs up to {max_abs_cost} on {n_nodes} nodes overflow int64 inside "
                         f"the min-cost flow; scale the weights down")


def _min_cost_flows(tails: np.ndarray, heads: np.ndarray, capacities: np.ndarray, costs: np.ndarray,
                    supplies: np.ndarray, n_flows: int) -> npt.NDArray[np.int64]:
    """Solve with OR-Tools and return the flow on the first ``n_flows`` arcs."""
    if supplies.size > _INT32_MAX or len(tails) > _INT32_MAX:
        raise ValueError("the flow network exceeds OR-Tools' int32 node and arc indices")
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        np.asarray(tails, dtype=np.int32), np.asarray(heads, dtype=np.int32),
        np.asarray(capacities, dtype=np.int64), np.asarray(costs, dtype=np.int64))
    solver.set_nodes_supplies(np.arange(supplies.size, dtype=np.int32),
                              np.asarray(supplies, dtype=np.int64))
    status = solver.solve()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow did not reach an optimum: status {status}")
    return np.asarray(solver.flows(np.arange(n_flows, dtype=np.int32)))
