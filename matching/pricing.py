"""Dual prices of an optimal assignment, to tell which pruned pairs could still improve it.

The assignment maximises ``sum w[e] x[e]`` with at most one edge per need and ``capacity[p]`` per
provider. Its dual gives every need a utility ``u[i] >= 0`` and every provider a price
``pi[p] >= 0`` with ``u[i] + pi[p] >= w[i, p]`` on every edge. Given optimal duals of the solution
on the pruned graph, a pair left out can raise the total only if its *reduced weight*
``w[i, p] - u[i] - pi[p]`` is positive; when no pair left out has one, the pruned optimum is the
optimum of the whole graph (linear-programming duality; the assignment polytope is integral).

The duals come from the solution itself (complementary slackness): a provider with room left
prices 0; an unmatched need has utility 0, so it sets a floor ``pi[q] >= w[i, q]`` on each provider
it could use; and a need assigned to ``p`` that could use ``q`` instead propagates
``pi[q] >= pi[p] + w[i, q] - w[i, p]``. The least prices meeting these floors are longest paths,
found by Bellman-Ford rounds over all edges at once. Weights are the solver's integer units, so the
arithmetic is exact and an optimal solution has no positive cycle to loop on.
"""
from __future__ import annotations

import numpy as np

from .assign import WEIGHT_SCALE

# Bellman-Ford rounds before giving up; each round lengthens the alternating paths by one edge.
MAX_PRICE_ROUNDS = 1_000


def weight_units(weight: np.ndarray) -> np.ndarray:
    """Weights in the solver's integer units (as :func:`matching.assign.solve_assignment`)."""
    return np.maximum(np.rint(np.asarray(weight, dtype=np.float64) * WEIGHT_SCALE), 1).astype(np.int64)


def assignment_duals(need_idx: np.ndarray, provider_idx: np.ndarray, units: np.ndarray,
                     capacity: np.ndarray, chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(u, pi)`` in weight units for an optimal ``chosen`` (per need: edge index or -1), or None
    when the prices do not settle within MAX_PRICE_ROUNDS (then ``chosen`` was not optimal)."""
    n_providers = capacity.size
    matched = np.flatnonzero(chosen >= 0)
    used = np.bincount(provider_idx[chosen[matched]], minlength=n_providers)
    has_room = used < capacity

    pi = np.zeros(n_providers, dtype=np.int64)
    unmatched_need = chosen[need_idx] < 0
    np.maximum.at(pi, provider_idx[unmatched_need], units[unmatched_need])

    own = chosen[need_idx]  # each edge's need's chosen edge
    alt = np.flatnonzero((own >= 0) & (own != np.arange(need_idx.size)))
    alt_to = provider_idx[alt]
    alt_from = provider_idx[own[alt]]
    alt_gain = units[alt] - units[own[alt]]
    for _ in range(MAX_PRICE_ROUNDS):
        pi[has_room] = 0
        relaxed = pi.copy()
        np.maximum.at(relaxed, alt_to, pi[alt_from] + alt_gain)
        relaxed[has_room] = 0
        if np.array_equal(relaxed, pi):
            break
        pi = relaxed
    else:
        return None
    u = np.zeros(chosen.size, dtype=np.int64)
    u[matched] = units[chosen[matched]] - pi[provider_idx[chosen[matched]]]
    slack = u[need_idx] + pi[provider_idx] - units
    if u.min(initial=0) < 0 or slack.min(initial=0) < 0:
        return None  # not dual feasible: chosen was not optimal on these edges
    return u, pi
