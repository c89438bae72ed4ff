"""Batch matching (批量匹配): the best set of (need, provider) pairs for a grid, a Party grid or the
whole subdistrict (or several: see ``GridMap.subdistricts``).

1. Candidates and scores (:func:`matching.scoring.score_candidates`): tiers 1-2 for every need,
   tier 3 for the needs with fewer than ``top_k`` eligible candidates there (or whose best there
   could be beaten from tier 3). Pairs below ``min_score`` are dropped: they are never made.
2. Pruning: per need, the ``top_k`` best candidates (ties: the smaller provider key).
3. Assignment: :func:`matching.assign.solve_assignment` maximises the total of
   ``URGENCY_PRIORITY[urgency] x score`` with at most one provider per need and no provider over
   its free capacity, exactly, on the pruned graph. Needs that :func:`fix_uncontested` can settle
   are settled first; the solver gets the rest.
4. Pricing (:mod:`matching.pricing`): the dual prices of that optimum give every pair left out
   a reduced weight; the pairs that could raise the total (widening needs to tier 3 where it
   could) join the graph and it is solved again, until none can, or until LP duality proves the
   total within ``GAP_TOLERANCE`` (0.01%) of the optimum over every eligible pair
   (``stats.optimality_gap``; 0 and ``stats.proven_optimal`` when nothing could improve it).
   Pruning thus loses at most that. On the benchmarks this takes one or two extra solves.
5. Across services (:func:`across_services`): a need that nobody of its service could serve, and
   a need whose service the classifier was unsure of (``NeedView.tentative``), may go to a provider
   of any service whose skill matches it strongly (``STRONG_SKILL``), with the capacity the first
   assignment left; so may a need its service serves only from tier 3, or had no room for, but only
   to such a provider in tiers 1-2. Such a proposal is marked for a coordinator to confirm. A far
   provider so freed serves, in a second round, the needs still waiting for it.
6. At another time (:func:`another_time`): a need whose window kept every fit desk out goes to its
   own service's best government resource at another time, for a coordinator to agree the time.
7. Every need left without a provider gets a reason and is flagged for escalation (上报).

Pure and deterministic: needs are taken in id order and providers in key order, so the same
needs and providers give the same result whatever order they come in.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from core.vocab import SERVICE_LABELS_ZH

from .assign import WEIGHT_SCALE, Solver, greedy_assignment, solve_assignment
from .candidates import TIER_ELSEWHERE, TIER_NEIGHBOUR, NeedBatch, expand, overlap_minutes, wide_visits
from .index import NO_CELL, SERVICE_CODES, SERVICES, ProviderIndex, paused_gc
from .pricing import assignment_duals, weight_units
from .scoring import (
    MIN_SCORE,
    STRONG_SKILL,
    TOP_K,
    Match,
    PairScorer,
    ScoredPairs,
    alternatives,
    at_another_time,
    confirmed,
    make_matches,
    priorities,
    score_candidates,
    strong_tags,
)
from .textvec import concat_ranges
from .types import GridMap, NeedView, ProviderView

NO_ELIGIBLE_PROVIDER = "no_eligible_provider"
BELOW_MIN_SCORE = "below_min_score"
CAPACITY_EXHAUSTED = "capacity_exhausted"
REASON_CODES: tuple[str, ...] = (NO_ELIGIBLE_PROVIDER, BELOW_MIN_SCORE, CAPACITY_EXHAUSTED)


@dataclass(frozen=True)
class Unmatched:
    """Why a need got no provider. Every unmatched need is flagged for escalation."""

    reason_code: str  # one of REASON_CODES
    reason_zh: str
    escalate: bool = True


@dataclass(frozen=True)
class BatchStats:
    needs: int = 0
    providers: int = 0
    pairs_scored: int = 0  # eligible (need, provider) pairs that got a score
    widened: int = 0  # needs whose candidates were widened to tier 3
    edges_kept: int = 0  # pairs in the pruned graph handed to the solver
    matched: int = 0
    total_weight: float = 0.0  # sum of priority x score over the assignment: what is maximised
    total_score: float = 0.0
    proven_optimal: bool = False  # pricing showed no eligible pair left out could do better
    confirm: int = 0  # needs proposed across services or unsure of their service: a coordinator confirms
    # A proven bound on what the best assignment over every eligible pair could add to
    # total_weight (0 with proven_optimal; infinite when it could not be priced).
    optimality_gap: float = float("inf")

    def as_dict(self) -> dict[str, int | float | None]:
        """Plain JSON values: an unknown gap (infinite) becomes None."""
        return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class BatchResult:
    assignments: dict[int, Match]  # need id -> the provider assigned
    unmatched: dict[int, Unmatched]  # need id -> why not
    stats: BatchStats = field(default_factory=BatchStats)


@dataclass(frozen=True)
class CandidateGraph:
    """The pruned graph of a batch: ``edges`` index ``scored``; ``weight`` is priority x score."""

    scorer: PairScorer
    scored: ScoredPairs
    edges: np.ndarray
    weight: np.ndarray
    top_k: int
    min_score: float

    @property
    def index(self) -> ProviderIndex:
        return self.scorer.index

    @property
    def batch(self) -> NeedBatch:
        return self.scored.batch

    def solve(self, solver: Solver = solve_assignment, *, reduce: bool | None = None,
              capacity: np.ndarray | None = None) -> np.ndarray:
        """Per need row, the chosen edge (an index into ``edges``) or -1.

        With ``reduce`` (the default for the exact solver), needs that :func:`fix_uncontested`
        can settle are settled first and the solver gets the rest. ``capacity``: each provider's
        free places, when not those of the index.
        """
        need = self.scored.need[self.edges]
        provider = self.scored.provider[self.edges]
        n_needs = len(self.batch)
        free = self.index.free if capacity is None else capacity
        if not (solver is solve_assignment if reduce is None else reduce):
            return solver(need, provider, self.weight, free, n_needs)
        fixed, rest, capacity = fix_uncontested(need, provider, free, n_needs)
        chosen = fixed.copy()
        picked = solver(need[rest], provider[rest], self.weight[rest], capacity, n_needs)
        solved = picked >= 0
        chosen[solved] = rest[picked[solved]]
        return chosen

    def with_edges(self, scored: ScoredPairs, keep: np.ndarray) -> CandidateGraph:
        edges = np.flatnonzero(keep)
        weight = priorities(scored.batch.needs)[scored.need[edges]] * scored.score[edges]
        return CandidateGraph(scorer=self.scorer, scored=scored, edges=edges, weight=weight,
                              top_k=self.top_k, min_score=self.min_score)

    def priced(self, chosen: np.ndarray) -> tuple[CandidateGraph | bool, float]:
        """This graph plus every pair that could raise the total above ``chosen``; or True when no
        pair can (``chosen`` is then optimal over every eligible pair, not just the pruned ones);
        or False when ``chosen`` cannot be priced (it was not optimal on this graph). Second, a
        bound on what the best assignment over every eligible pair could add to ``chosen``'s total
        (0 when True, infinite when False).

        Dual prices of ``chosen`` (:mod:`matching.pricing`) give each pair left out a reduced
        weight; pairs with a positive one come in. A need not yet widened is widened to tier 3
        when its best conceivable tier 3 weight (:meth:`PairScorer.tier3_bound`) beats its
        utility, since only then can a tier 3 pair have a positive reduced weight. Raising each
        need's utility by its best positive reduced weight makes the prices feasible for every
        eligible pair, so by LP duality the sum of those raises bounds the gain.
        """
        scored, index = self.scored, self.index
        units = weight_units(self.weight)
        duals = assignment_duals(scored.need[self.edges], scored.provider[self.edges], units,
                                 index.free, chosen)
        if duals is None:
            return False, float("inf")
        utility, price = duals
        priority = priorities(scored.batch.needs)
        bound = self.scorer.tier3_bound()
        could_gain = (bound >= self.min_score) & (weight_units(priority * bound) > utility)
        to_widen = np.setdiff1d(np.flatnonzero(could_gain), scored.widened)
        kept = np.zeros(len(scored), dtype=bool)
        kept[self.edges] = True
        if to_widen.size:
            scored, where = scored.merged(self.scorer.wide(to_widen))
            kept = np.zeros(len(scored), dtype=bool)
            kept[where[self.edges]] = True
        reduced = (weight_units(priority[scored.need] * scored.score)
                   - utility[scored.need] - price[scored.provider])
        gain = (reduced > 0) & ~kept
        if not gain.any():
            return True, 0.0
        best_raise = np.zeros(len(scored.batch), dtype=np.int64)
        np.maximum.at(best_raise, scored.need[gain], reduced[gain])
        return self.with_edges(scored, kept | gain), float(best_raise.sum()) / WEIGHT_SCALE


# Pricing rounds of :func:`solve_graph`; on the benchmarks the optimum is proven in one or two.
PRICING_ROUNDS = 10


def candidate_graph(needs: Sequence[NeedView], providers: Sequence[ProviderView] | ProviderIndex,
                    grid_map: GridMap, *, top_k: int = TOP_K, min_score: float = MIN_SCORE,
                    near_only: frozenset[int] = frozenset(), min_skill: float = 0.0) -> CandidateGraph:
    """Score the candidates of a batch and keep the ``top_k`` best of each need; the needs whose
    ids are in ``near_only`` are never widened to tier 3, and pairs of a skill value below
    ``min_skill`` are left out."""
    if top_k < 1:
        raise ValueError("top_k must be at least 1")
    index = providers if isinstance(providers, ProviderIndex) else ProviderIndex.build(providers)
    batch = NeedBatch.of(sorted(needs, key=lambda n: n.id))
    scorer = PairScorer(batch, index, grid_map, min_score=min_score, min_skill=min_skill)
    may_widen = (np.fromiter((n.id not in near_only for n in batch.needs), dtype=bool, count=len(batch))
                 if near_only else None)
    scored = score_candidates(batch, index, grid_map, widen_below=top_k, min_score=min_score,
                              scorer=scorer, may_widen=may_widen)
    graph = CandidateGraph(scorer=scorer, scored=scored, edges=np.zeros(0, dtype=np.int64),
                           weight=np.zeros(0), top_k=top_k, min_score=min_score)
    rank = np.arange(len(scored)) - scored.need_bounds()[scored.need]
    return graph.with_edges(scored, rank < top_k)


# Pricing stops once it proves the total within this share of the optimum over every eligible
# pair: the last rounds of a city batch re-solve half a million edges to gain a few millionths.
GAP_TOLERANCE = 1e-4


def solve_graph(graph: CandidateGraph, solver: Solver = solve_assignment,
                rounds: int = PRICING_ROUNDS, tolerance: float = GAP_TOLERANCE
                ) -> tuple[CandidateGraph, np.ndarray, float]:
    """Solve the pruned graph, then price the pairs left out and solve again with those that
    could improve it, until none can or what they could add is within ``tolerance`` of the total,
    or ``rounds`` are spent. The third value bounds what an exact solve over every eligible pair
    could still add: 0 when the optimum is proven, infinite when it could not be priced."""
    chosen = graph.solve(solver)
    gap = float("inf")
    for _ in range(rounds):
        grown, gap = graph.priced(chosen)
        if isinstance(grown, bool):
            return graph, chosen, gap
        total = float(graph.weight[chosen[chosen >= 0]].sum())
        if gap <= tolerance * total:
            return graph, chosen, gap
        graph, chosen = grown, grown.solve(solver)
    return graph, chosen, float("inf")


def assemble(graph: CandidateGraph, chosen: np.ndarray, *, gap: float = float("inf")) -> BatchResult:
    """The result of a solved graph: proposals for the matched needs, reasons for the others."""
    scored, index, batch = graph.scored, graph.index, graph.batch
    rows = np.flatnonzero(chosen >= 0)
    pairs = graph.edges[chosen[rows]]
    matched = [batch.needs[i] for i in rows.tolist()]
    proposals = make_matches(matched, scored.provider[pairs], scored.tier[pairs],
                               scored.features[pairs], scored.score[pairs], index,
                               graph.scorer.skills, rows)
    assignments = {need.id: p for need, p in zip(matched, proposals)}
    unmatched = {batch.needs[i].id: _why_unmatched(i, graph) for i in np.flatnonzero(chosen < 0).tolist()}
    stats = BatchStats(needs=len(batch), providers=index.size, pairs_scored=int(scored.eligible.sum()),
                       widened=int(scored.widened.size), edges_kept=int(graph.edges.size),
                       matched=len(assignments), total_weight=float(graph.weight[chosen[rows]].sum()),
                       total_score=float(scored.score[pairs].sum()), proven_optimal=gap == 0.0,
                       optimality_gap=gap)
    return BatchResult(assignments=assignments, unmatched=unmatched, stats=stats)


def match_batch(needs: Sequence[NeedView], providers: Sequence[ProviderView] | ProviderIndex,
                grid_map: GridMap, *, top_k: int = TOP_K, min_score: float = MIN_SCORE,
                gap_tolerance: float = GAP_TOLERANCE) -> BatchResult:
    """Assign providers to a batch of needs, optimally within capacity (see the module doc).

    ``providers`` may be a prebuilt :class:`ProviderIndex`, to share it with instant proposals.
    """
    with paused_gc():
        index = providers if isinstance(providers, ProviderIndex) else ProviderIndex.build(providers)
        sure = [n for n in needs if not n.tentative]
        graph = candidate_graph(sure, index, grid_map, top_k=top_k, min_score=min_score)
        graph, chosen, gap = solve_graph(graph, solve_assignment, tolerance=gap_tolerance)
        result = across_services(assemble(graph, chosen, gap=gap), needs, index, grid_map, top_k=top_k,
                                 min_score=min_score)
        return another_time(result, needs, index, grid_map, top_k=top_k, min_score=min_score)


UNSURE_REASON_ZH = "分类把握不足，也没有技能明确对口的服务方，待人工分类"


def across_services(result: BatchResult, needs: Sequence[NeedView], index: ProviderIndex, grid_map: GridMap, *,
                    top_k: int = TOP_K, min_score: float = MIN_SCORE) -> BatchResult:
    """``result`` plus proposals across services, marked for a coordinator's confirmation.

    Each need nobody of its service could serve, and each tentative need: the providers of any
    service matching its skill strongly compete for the capacity ``result`` left, and each need goes
    to its best such service. A need its service serves only from across the subdistrict (tier 3),
    or could not serve for want of room, goes to such a provider in or next to its grid if one has
    room: the nearest capable hand first. A far provider so left is free again, in another round,
    for the needs still waiting, of its own service too.
    """
    assignments = dict(result.assignments)
    left = index.free.copy()
    for match in assignments.values():
        left[index.row_of[match.provider_key]] -= 1
    options: dict[int, list[tuple[NeedView, int]]] = {}  # need id -> (the need as a service, tier limit)
    again: dict[int, tuple[NeedView, int]] = {}  # its own service, once far providers are freed
    for n in needs:
        why = result.unmatched.get(n.id)
        if n.tentative or (why is not None and why.reason_code != CAPACITY_EXHAUSTED):
            options[n.id] = [(alt, TIER_ELSEWHERE) for alt in alternatives(n)]
        elif why is not None or assignments[n.id].tier == TIER_ELSEWHERE:  # crowded out, or served far
            options[n.id] = [(alt, TIER_NEIGHBOUR) for alt in alternatives(n)]
            again[n.id] = (n, TIER_ELSEWHERE if why is not None else TIER_NEIGHBOUR)
    waiting = [n for n in needs if n.id in options]
    tags = dict(zip((n.id for n in waiting), strong_tags(waiting, index)))
    for n in waiting:  # score only what can be chosen: services offered with a strong tag
        offered = {SERVICES[k] for k in np.flatnonzero(index.tag_services[tags[n.id]].any(axis=0))}
        options[n.id] = [(view, lim) for view, lim in options[n.id] if view.service in offered]
        if n.service not in offered:
            again.pop(n.id, None)
    waiting = [n for n in waiting if options[n.id] or n.id in again]
    crossed: set[int] = set()
    for _ in range(ACROSS_ROUNDS):
        picked = _best_across([(n, *o) for n in waiting for o in options[n.id]], index, grid_map,
                              np.maximum(left, 0), top_k=top_k, min_score=min_score)
        released: list[int] = []
        for need, match in picked:
            before = assignments.get(need.id)
            if before is not None:
                released.append(index.row_of[before.provider_key])
                left[released[-1]] += 1
            left[index.row_of[match.provider_key]] -= 1
            if match.service == need.service and not need.tentative:
                assignments[need.id] = replace(match, need_id=need.id)
                crossed.discard(need.id)
            else:
                assignments[need.id] = confirmed(match, need)
                crossed.add(need.id)
        if not released:
            break
        moved = {need.id for need, _ in picked}
        freed = np.zeros(len(index.tags), dtype=bool)  # the tags the freed providers hold
        freed[np.concatenate([index.tag_ids[index.tag_ptr[r]:index.tag_ptr[r + 1]] for r in released])] = True
        # Only a need holding a strong tag of a freed provider can gain from another round.
        waiting = [n for n in waiting if n.id not in moved and freed[tags[n.id]].any()]
        for n in waiting:
            if n.id in again:
                options[n.id].append(again.pop(n.id))
    unmatched = {nid: why for nid, why in result.unmatched.items() if nid not in assignments}
    for need in needs:
        if need.tentative and need.id not in crossed:
            unmatched[need.id] = Unmatched(BELOW_MIN_SCORE, UNSURE_REASON_ZH, escalate=False)
    stats = replace(result.stats, needs=len(needs), matched=len(assignments), confirm=len(crossed))
    return BatchResult(assignments=assignments, unmatched=unmatched, stats=stats)


def another_time(result: BatchResult, needs: Sequence[NeedView], index: ProviderIndex, grid_map: GridMap, *,
                 top_k: int = TOP_K, min_score: float = MIN_SCORE) -> BatchResult:
    """``result`` plus, for each need still without a provider whose window kept the fit desks out
    (a government desk open in office hours, the resident free on Saturday evening), the best fit
    government resource of its own service at another time, within the capacity left, marked for a
    coordinator to agree the time with the resident. A desk keeps its hours: the resident comes in
    them, or it acts without him (a street lamp is mended whether or not he is in). Escalating the
    need instead leaves it to a council that meets weekly and, bound by the same window, finds
    nobody either. Volunteers are not offered so: their window is often an appointment (a hospital
    visit on Friday morning) that another time would miss."""
    waiting = [n for n in needs if n.id in result.unmatched and n.window is not None and not n.tentative]
    if not waiting:
        return result
    left = index.free.copy()
    for match in result.assignments.values():
        left[index.row_of[match.provider_key]] -= 1
    graph = candidate_graph([replace(n, window=None) for n in waiting], index, grid_map, top_k=top_k,
                            min_score=min_score)
    scored = graph.scored
    desk = index.is_resource[scored.provider]
    before = np.cumsum(desk) - desk  # desks ahead of each pair; its rank among its need's desks
    rank = before - before[scored.need_bounds()[scored.need]]
    graph = graph.with_edges(scored, desk & (rank < top_k))
    chosen = graph.solve(capacity=np.maximum(left, 0))
    rows = np.flatnonzero(chosen >= 0)
    if rows.size == 0:
        return result
    pairs = graph.edges[chosen[rows]]
    batch = graph.batch.needs
    matches = make_matches([batch[r] for r in rows.tolist()], graph.scored.provider[pairs],
                           graph.scored.tier[pairs], graph.scored.features[pairs], graph.scored.score[pairs],
                           index, graph.scorer.skills, rows)
    by_id = {n.id: n for n in waiting}
    assignments = dict(result.assignments)
    for match in matches:
        assignments[match.need_id] = at_another_time(match, by_id[match.need_id])
    unmatched = {nid: why for nid, why in result.unmatched.items() if nid not in assignments}
    stats = replace(result.stats, matched=len(assignments), confirm=result.stats.confirm + len(matches))
    return BatchResult(assignments=assignments, unmatched=unmatched, stats=stats)


# Rounds of :func:`across_services`: a round can free far providers for the needs still waiting.
ACROSS_ROUNDS = 2


def _best_across(options: Sequence[tuple[NeedView, NeedView, int]], index: ProviderIndex, grid_map: GridMap,
                 capacity: np.ndarray, *, top_k: int, min_score: float) -> list[tuple[NeedView, Match]]:
    """The optimal assignment, within ``capacity``, of needs to providers matching their skill
    strongly. ``options`` holds (need, the need as one service, the farthest tier allowed there);
    each need keeps its best service only."""
    origin = [need for need, _, _ in options]
    views = [replace(view, id=k + 1) for k, (_, view, _) in enumerate(options)]
    if not views:
        return []
    near_only = frozenset(v.id for v, (_, _, lim) in zip(views, options) if lim < TIER_ELSEWHERE)
    graph = candidate_graph(views, index, grid_map, top_k=top_k, min_score=min_score, near_only=near_only,
                            min_skill=STRONG_SKILL)
    scored = graph.scored
    limit = np.array([lim for _, _, lim in options])
    usable = scored.tier <= limit[scored.need]
    row_best = np.full(len(views), -1.0)
    np.maximum.at(row_best, scored.need[usable], scored.score[usable])
    first_row: dict[int, int] = {}
    for row, need in enumerate(origin):
        best = first_row.setdefault(need.id, row)
        if row_best[row] > row_best[best]:
            first_row[need.id] = row
    chosen_row = np.zeros(len(views), dtype=bool)
    chosen_row[[r for r in first_row.values() if row_best[r] >= 0]] = True
    usable &= chosen_row[scored.need]
    before = np.cumsum(usable) - usable  # usable pairs ahead of each pair; rank among its need's
    rank = before - before[scored.need_bounds()[scored.need]]
    graph = graph.with_edges(scored, usable & (rank < top_k))
    picked = graph.solve(capacity=capacity)
    rows = np.flatnonzero(picked >= 0)
    pairs = graph.edges[picked[rows]]
    matches = make_matches([views[r] for r in rows.tolist()], scored.provider[pairs], scored.tier[pairs],
                           scored.features[pairs], scored.score[pairs], index, graph.scorer.skills, rows)
    return [(origin[r], m) for r, m in zip(rows.tolist(), matches)]


def match_batch_greedy(needs: Sequence[NeedView], providers: Sequence[ProviderView] | ProviderIndex,
                       grid_map: GridMap, *, top_k: int = TOP_K,
                       min_score: float = MIN_SCORE) -> BatchResult:
    """The yardstick: the top ``top_k`` graph taken by descending weight (greedy has no prices
    to grow the graph by)."""
    with paused_gc():
        graph = candidate_graph(needs, providers, grid_map, top_k=top_k, min_score=min_score)
        return assemble(graph, graph.solve(greedy_assignment))


def fix_uncontested(need: np.ndarray, provider: np.ndarray, capacity: np.ndarray,
                    n_needs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Settle, exactly, the needs whose best edge goes to a provider nobody can crowd out.

    Edges come need by need, best first. A provider with no more edges than free places can
    never turn anyone away, so a need whose best edge leads there can take it in some optimal
    assignment: if an optimum gave it another provider, or none, moving it there loses nothing.
    Settling it uses one place and removes its other edges, which may free further providers;
    repeat until nothing changes. Returns per need the settled edge or -1, the edges left for the
    solver, and the places left.
    """
    fixed = np.full(n_needs, -1, dtype=np.int64)
    capacity = capacity.copy()
    alive = np.arange(need.size)
    while alive.size:
        degree = np.bincount(provider[alive], minlength=capacity.size)
        first = np.r_[True, need[alive][1:] != need[alive][:-1]]
        best = alive[first]
        take = best[degree[provider[best]] <= capacity[provider[best]]]
        if take.size == 0:
            break
        fixed[need[take]] = take
        np.subtract.at(capacity, provider[take], 1)
        alive = alive[fixed[need[alive]] < 0]
    return fixed, alive, capacity


def _why_unmatched(row: int, graph: CandidateGraph) -> Unmatched:
    scored = graph.scored
    need = scored.batch.needs[row]
    if scored.eligible[row] == 0 and not _eligible_elsewhere(row, graph):
        return Unmatched(NO_ELIGIBLE_PROVIDER, _no_eligible_reason(need, graph))
    if scored.eligible[row] == 0 or scored.best_fit[row] < graph.min_score:
        if scored.best[row] >= graph.min_score:
            label = SERVICE_LABELS_ZH.get(need.service, need.service)
            return Unmatched(BELOW_MIN_SCORE, f"有可用的{label}力量，但没有技能对口的，需人工协调")
        best = max(float(scored.best[row]), 0.0)
        return Unmatched(BELOW_MIN_SCORE,
                         f"最合适的候选匹配度 {best:.2f}，低于最低要求 {graph.min_score:.2f}，需人工协调")
    return Unmatched(CAPACITY_EXHAUSTED, "合适的候选已被更紧急或更匹配的需求占满，需人工协调")


def _eligible_elsewhere(row: int, graph: CandidateGraph) -> bool:
    """Whether some volunteer of the subdistrict is eligible (service, room, window) for the
    need, however weak: tier 3 only scores those holding a matching tag, so it may not have
    counted them."""
    scorer = graph.scorer
    pairs = expand(wide_visits(scorer.batch, scorer.index, scorer.grid_map, np.array([row])))
    room = scorer.index.free[pairs.provider] > 0  # cells hold busy providers too
    return bool(((overlap_minutes(scorer.batch, scorer.index, pairs) != 0) & room).any())


def _no_eligible_reason(need: NeedView, graph: CandidateGraph) -> str:
    """Nobody offers the service here; or all who do are full; or none is free in the window."""
    index, grid_map = graph.index, graph.scorer.grid_map
    label = SERVICE_LABELS_ZH.get(need.service, need.service)
    service = SERVICE_CODES.get(need.service)
    if service is None:
        return f"“{need.service}”不是已知的服务类别，无法匹配"
    t3 = index.tier3_cells(grid_map)
    sub = np.array([t3.subdistrict_ids.get(grid_map.subdistricts.get(need.grid, ""), 0)])
    resource_cells = [*index.resource_cells_everywhere.get(need.service, ()),
                      *index.resource_cells_by_grid.get((need.grid, need.service), ())]
    offering = (int(t3.offering[sub[0], service])
                + index.resources_offering_everywhere.get(need.service, 0)
                + index.resources_offering_by_grid.get((need.grid, need.service), 0))
    if offering == 0:
        return f"本街道暂无可服务本网格的{label}力量"
    cell = t3.lookup(sub, np.array([service]), np.array([-1]))
    volunteers = (t3.table.members[t3.table.ptr[cell[0]]:t3.table.ptr[cell[0] + 1]] if cell[0] != NO_CELL
                  else np.zeros(0, dtype=np.int64))
    cells = np.asarray(resource_cells, dtype=np.int64)
    resources = index.cells.members[concat_ranges(index.cells.ptr[cells], index.cells.size(cells))]
    free = int((index.free[volunteers] > 0).sum() + (index.free[resources] > 0).sum())  # cells hold busy ones too
    if free == 0:
        return f"提供{label}的力量均已满负荷"
    return f"提供{label}的力量在需求时间内都没有空"
