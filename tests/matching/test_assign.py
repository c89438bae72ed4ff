"""The exact assignment solver against brute force, the scipy oracle and the greedy yardstick."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from matching.assign import (
    NO_EDGE,
    SCIPY_ORACLE_MAX_CELLS,
    WEIGHT_SCALE,
    greedy_assignment,
    solve_assignment,
    solve_assignment_scipy,
    solve_cost_matrix,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
N_RANDOM_INSTANCES = 300
MAX_NEEDS, MAX_PROVIDERS, MAX_CAPACITY = 6, 4, 3
# Rounding to WEIGHT_SCALE units may cost up to 1 / WEIGHT_SCALE per matched need.
TOTAL_TOLERANCE = MAX_NEEDS / WEIGHT_SCALE


def random_instance(rng: np.random.Generator):
    """A small sparse instance; half use coarse weights so that ties and duplicates are common."""
    n_needs = int(rng.integers(1, MAX_NEEDS + 1))
    n_providers = int(rng.integers(1, MAX_PROVIDERS + 1))
    density = rng.uniform(0.2, 0.8)
    pairs = [(n, p) for n in range(n_needs) for p in range(n_providers) if rng.random() < density]
    if pairs and rng.random() < 0.3:
        pairs += [pairs[int(i)] for i in rng.integers(0, len(pairs), size=2)]  # duplicate edges
    rng.shuffle(pairs)
    need_idx = np.array([n for n, _ in pairs], dtype=np.int64)
    provider_idx = np.array([p for _, p in pairs], dtype=np.int64)
    if rng.random() < 0.5:
        weight = rng.integers(-1, 5, size=len(pairs)) / 4.0  # ties, zero and negative weights
    else:
        weight = rng.uniform(0.01, 1.0, size=len(pairs))
    capacity = rng.integers(0, MAX_CAPACITY + 1, size=n_providers)
    return need_idx, provider_idx, weight, capacity, n_needs


def brute_force_best_total(need_idx, provider_idx, weight, capacity, n_needs) -> float:
    """Enumerate every choice of one edge or none per need, pruning only on capacity."""
    edges_of_need = [[e for e in range(len(need_idx)) if need_idx[e] == n] for n in range(n_needs)]
    remaining = list(capacity)

    def best_from(need: int) -> float:
        if need == n_needs:
            return 0.0
        best = best_from(need + 1)
        for e in edges_of_need[need]:
            provider = provider_idx[e]
            if remaining[provider] > 0:
                remaining[provider] -= 1
                best = max(best, weight[e] + best_from(need + 1))
                remaining[provider] += 1
        return best

    return best_from(0)


def total_weight(chosen, weight) -> float:
    return float(weight[chosen[chosen != NO_EDGE]].sum())


def assert_feasible(chosen, need_idx, provider_idx, weight, capacity, n_needs):
    assert chosen.shape == (n_needs,)
    taken = chosen[chosen != NO_EDGE]
    # Each need's chosen edge is one of its own edges, so no need holds two.
    assert np.array_equal(need_idx[chosen[chosen != NO_EDGE]], np.flatnonzero(chosen != NO_EDGE))
    assert np.all(weight[taken] > 0)
    used = np.bincount(provider_idx[taken], minlength=len(capacity))
    assert np.all(used <= capacity)


@pytest.fixture(scope="module")
def random_instances():
    rng = np.random.default_rng(20240601)
    return [random_instance(rng) for _ in range(N_RANDOM_INSTANCES)]


def test_exact_total_equals_brute_force_on_small_random_instances(random_instances):
    for instance in random_instances:
        chosen = solve_assignment(*instance)
        assert total_weight(chosen, instance[2]) == pytest.approx(
            brute_force_best_total(*instance), abs=TOTAL_TOLERANCE)


def test_exact_total_equals_scipy_oracle_on_small_random_instances(random_instances):
    for instance in random_instances:
        ours = total_weight(solve_assignment(*instance), instance[2])
        oracle = total_weight(solve_assignment_scipy(*instance), instance[2])
        assert ours == pytest.approx(oracle, abs=TOTAL_TOLERANCE)


def test_scipy_oracle_equals_brute_force_so_it_can_be_trusted(random_instances):
    for instance in random_instances[:100]:
        oracle = total_weight(solve_assignment_scipy(*instance), instance[2])
        assert oracle == pytest.approx(brute_force_best_total(*instance), abs=1e-9)


@pytest.mark.parametrize("solver", [solve_assignment, greedy_assignment, solve_assignment_scipy])
def test_every_solver_respects_capacities_and_gives_each_need_at_most_one_edge(
        random_instances, solver):
    for instance in random_instances:
        assert_feasible(solver(*instance), *instance)


def test_exact_solver_matches_scipy_on_medium_instances_beyond_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(5):
        n_needs, n_providers = 60, 25
        need_idx = np.repeat(np.arange(n_needs), 5)
        provider_idx = rng.integers(0, n_providers, size=need_idx.size)
        weight = rng.random(need_idx.size)
        capacity = rng.integers(0, 4, size=n_providers)
        instance = (need_idx, provider_idx, weight, capacity, n_needs)
        ours = solve_assignment(*instance)
        assert_feasible(ours, *instance)
        assert total_weight(ours, weight) == pytest.approx(
            total_weight(solve_assignment_scipy(*instance), weight), abs=n_needs / WEIGHT_SCALE)


def test_greedy_is_never_better_than_exact(random_instances):
    for instance in random_instances:
        greedy = total_weight(greedy_assignment(*instance), instance[2])
        exact = total_weight(solve_assignment(*instance), instance[2])
        assert greedy <= exact + TOTAL_TOLERANCE


def test_greedy_is_strictly_worse_when_the_best_edge_takes_a_provider_another_need_relies_on():
    # Need 0 likes provider 0 best but can fall back on provider 1; need 1 only has provider 0.
    need_idx = np.array([0, 0, 1])
    provider_idx = np.array([0, 1, 0])
    weight = np.array([1.0, 0.9, 0.8])
    capacity = np.array([1, 1])
    greedy = greedy_assignment(need_idx, provider_idx, weight, capacity, 2)
    exact = solve_assignment(need_idx, provider_idx, weight, capacity, 2)
    assert greedy.tolist() == [0, NO_EDGE]
    assert exact.tolist() == [1, 2]
    assert total_weight(exact, weight) == pytest.approx(1.7)


def test_greedy_breaks_weight_ties_by_edge_order():
    need_idx = np.array([0, 1])
    provider_idx = np.array([0, 0])
    weight = np.array([0.5, 0.5])
    chosen = greedy_assignment(need_idx, provider_idx, weight, np.array([1]), 2)
    assert chosen.tolist() == [0, NO_EDGE]


def test_exact_solver_is_deterministic(random_instances):
    for instance in random_instances[:50]:
        assert np.array_equal(solve_assignment(*instance), solve_assignment(*instance))


def test_exact_total_does_not_depend_on_the_order_of_the_edges(random_instances):
    rng = np.random.default_rng(11)
    for need_idx, provider_idx, weight, capacity, n_needs in random_instances[:100]:
        order = rng.permutation(need_idx.size)
        shuffled = solve_assignment(need_idx[order], provider_idx[order], weight[order],
                                    capacity, n_needs)
        original = solve_assignment(need_idx, provider_idx, weight, capacity, n_needs)
        assert total_weight(shuffled, weight[order]) == pytest.approx(
            total_weight(original, weight), abs=TOTAL_TOLERANCE)


def test_exact_solver_gives_the_same_answer_for_int32_and_list_inputs(random_instances):
    for need_idx, provider_idx, weight, capacity, n_needs in random_instances[:50]:
        as_int64 = solve_assignment(need_idx, provider_idx, weight, capacity, n_needs)
        as_int32 = solve_assignment(need_idx.astype(np.int32), provider_idx.astype(np.int32),
                                    weight, capacity.astype(np.int32), n_needs)
        as_lists = solve_assignment(need_idx.tolist(), provider_idx.tolist(), weight.tolist(),
                                    capacity.tolist(), n_needs)
        assert np.array_equal(as_int64, as_int32)
        assert np.array_equal(as_int64, as_lists)


@pytest.mark.parametrize("solver", [solve_assignment, greedy_assignment, solve_assignment_scipy])
def test_empty_input_leaves_every_need_unmatched(solver):
    empty = np.zeros(0, dtype=np.int64)
    assert solver(empty, empty, np.zeros(0), np.zeros(0, dtype=np.int64), 3).tolist() == [-1] * 3
    assert solver(empty, empty, np.zeros(0), np.array([2]), 0).shape == (0,)


@pytest.mark.parametrize("solver", [solve_assignment, greedy_assignment, solve_assignment_scipy])
def test_needs_without_edges_stay_unmatched(solver):
    chosen = solver(np.array([1, 3]), np.array([0, 1]), np.array([0.4, 0.6]), np.array([1, 1]), 5)
    assert chosen.tolist() == [-1, 0, -1, 1, -1]


@pytest.mark.parametrize("solver", [solve_assignment, greedy_assignment, solve_assignment_scipy])
def test_providers_with_zero_capacity_are_never_used(solver):
    chosen = solver(np.array([0, 1]), np.array([0, 1]), np.array([0.9, 0.5]), np.array([0, 1]), 2)
    assert chosen.tolist() == [-1, 1]


@pytest.mark.parametrize("solver", [solve_assignment, greedy_assignment, solve_assignment_scipy])
def test_duplicate_edges_count_once_with_their_best_weight(solver):
    # Edges 0 and 2 are both (need 0, provider 0); the heavier, edge 2, must be the one chosen.
    chosen = solver(np.array([0, 1, 0]), np.array([0, 1, 0]), np.array([0.2, 0.3, 0.7]),
                    np.array([1, 1]), 2)
    assert chosen.tolist() == [2, 1]


@pytest.mark.parametrize("solver", [solve_assignment, greedy_assignment, solve_assignment_scipy])
def test_edges_without_positive_weight_are_never_chosen(solver):
    chosen = solver(np.array([0, 1]), np.array([0, 1]), np.array([0.0, -0.5]), np.array([1, 1]), 2)
    assert chosen.tolist() == [-1, -1]


def test_a_tiny_positive_weight_still_beats_leaving_the_need_unmatched():
    chosen = solve_assignment(np.array([0]), np.array([0]), np.array([1e-9]), np.array([1]), 1)
    assert chosen.tolist() == [0]


def test_a_provider_serves_up_to_its_capacity_and_no_more():
    need_idx = np.arange(5)
    chosen = solve_assignment(need_idx, np.zeros(5, dtype=np.int64), np.linspace(0.1, 0.5, 5),
                              np.array([3]), 5)
    assert sorted(chosen[chosen != NO_EDGE].tolist()) == [2, 3, 4]


def test_sparse_provider_ids_far_apart_are_handled():
    capacity = np.zeros(1_000_000, dtype=np.int64)
    capacity[[17, 999_999]] = 1
    chosen = solve_assignment(np.array([0, 1]), np.array([999_999, 17]), np.array([0.5, 0.5]),
                              capacity, 2)
    assert chosen.tolist() == [0, 1]


@pytest.mark.parametrize("bad, message", [
    ((np.array([0, 1]), np.array([0]), np.array([0.5]), np.array([1]), 2), "length"),
    ((np.array([2]), np.array([0]), np.array([0.5]), np.array([1]), 2), "need_idx"),
    ((np.array([0]), np.array([1]), np.array([0.5]), np.array([1]), 2), "provider_idx"),
    ((np.array([0]), np.array([0]), np.array([np.nan]), np.array([1]), 2), "finite"),
    ((np.array([0]), np.array([0]), np.array([0.5]), np.array([-1]), 2), "capacity"),
    ((np.array([0.0]), np.array([0]), np.array([0.5]), np.array([1]), 2), "integers"),
])
def test_malformed_input_is_refused_with_a_value_error(bad, message):
    with pytest.raises(ValueError, match=message):
        solve_assignment(*bad)


def test_weights_too_large_for_integer_costs_are_refused():
    with pytest.raises(ValueError, match="too large|overflow"):
        solve_assignment(np.array([0]), np.array([0]), np.array([1e15]), np.array([1]), 1)


def test_scipy_oracle_refuses_instances_beyond_its_size_limit():
    n_needs = int(np.sqrt(SCIPY_ORACLE_MAX_CELLS)) + 1
    need_idx = np.arange(n_needs)
    with pytest.raises(ValueError, match="too large"):
        solve_assignment_scipy(need_idx, np.zeros(n_needs, dtype=np.int64), np.ones(n_needs),
                               np.array([n_needs]), n_needs)


def test_cost_matrix_solver_matches_scipy_on_random_square_matrices():
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(3)
    for n in (1, 2, 5, 17, 40):
        cost = rng.integers(0, 100, size=(n, n))
        rows, cols, total = solve_cost_matrix(cost)
        assert sorted(rows.tolist()) == list(range(n))
        assert sorted(cols.tolist()) == list(range(n))
        assert total == int(cost[rows, cols].sum())
        oracle_rows, oracle_cols = linear_sum_assignment(cost)
        assert total == int(cost[oracle_rows, oracle_cols].sum())


def test_cost_matrix_solver_finds_the_obvious_assignment():
    cost = np.array([[9, 1, 9], [9, 9, 1], [1, 9, 9]])
    rows, cols, total = solve_cost_matrix(cost)
    assert dict(zip(rows.tolist(), cols.tolist())) == {0: 1, 1: 2, 2: 0}
    assert total == 3


def test_cost_matrix_solver_accepts_an_empty_matrix():
    rows, cols, total = solve_cost_matrix(np.zeros((0, 0), dtype=np.int64))
    assert rows.size == cols.size == 0 and total == 0


@pytest.mark.parametrize("cost", [
    np.zeros((2, 3), dtype=np.int64), np.array([[1, -1], [0, 0]]), np.array([[0.5, 1], [1, 0]]),
])
def test_cost_matrix_solver_refuses_non_square_negative_or_fractional_costs(cost):
    with pytest.raises(ValueError):
        solve_cost_matrix(cost)


def test_importing_the_solver_pulls_in_neither_flask_nor_sqlalchemy():
    code = ("import sys, matching.assign; "
            "sys.exit(any(m in sys.modules for m in ('flask', 'sqlalchemy')))")
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT).returncode == 0
