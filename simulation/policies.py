"""The four ways of dispatching compared on the same month.

- ``sanku``: the project's matcher as the app runs it (``dispatch.batch.run_batch``: optimal assignment
  within capacity, the pass across services; then escalation to the grid council).
- ``greedy``: best score first over the same candidates (``matching.engine.match_batch_greedy``).
- ``nearest``: today's paper dispatch: the first free provider on the list of the need's own grid who
  offers its service and is free in its window, skills unread; nobody in the grid: it waits for the council.
- ``random``: any eligible provider (service, coverage, capacity, window), uniformly.

Every policy stores its choices as proposals and the workflow records them as after the app's own
batch (``workflow.service.record_batch``);
after that the month goes on through the same services for all of them: a decline brings the
workflow's next best (``workflow.effects.decline``), whatever the policy. A person choosing a provider
by hand (the branch after a no-show, the council) picks by the policy's rule from the ranked list the
app shows (``dispatch.proposals.instant_proposals``).
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from dispatch.batch import Outcome, needs_in_scope, run_batch, store_batch
from dispatch.index_cache import provider_index
from dispatch.proposals import instant_proposals, set_aside
from dispatch.views import grid_map, need_view
from matching.candidates import TIER_NEIGHBOUR
from matching.engine import assemble, candidate_graph, match_batch_greedy
from matching.scoring import MIN_SCORE, Match
from models import Need

# Candidates a policy that does not rank by score looks at per need (the engine keeps 5).
WIDE_K = 60
OWN_GRID = 1


@dataclass
class Policy:
    name: str
    label_zh: str
    batch: Callable[[Session, random.Random], list[Outcome]]
    pick: Callable[[list[Match], random.Random], Match | None]  # a person's choice from the ranked list


def _sanku(session: Session, _rng: random.Random) -> list[Outcome]:
    _run, _result, outcomes = run_batch(session)
    return outcomes


def _greedy(session: Session, _rng: random.Random) -> list[Outcome]:
    needs = needs_in_scope(session)
    # The app's provider index, brought up to date in place, as run_batch uses it: every policy
    # sees the same providers and loads, and none pays for building the index at every batch.
    result = match_batch_greedy([need_view(n) for n in needs if n.status != "triage"],
                                provider_index(session), grid_map(session))
    return store_batch(session, needs, result, "greedy")[1]


def _by_rule(rule: str) -> Callable[[Session, random.Random], list[Outcome]]:
    def batch(session: Session, rng: random.Random) -> list[Outcome]:
        needs = [n for n in needs_in_scope(session) if n.status != "triage"]
        index = provider_index(session)
        views = [need_view(n) for n in needs]
        # Paper dispatch reads the grid's own list: the rest of the subdistrict is never scored for it.
        near = frozenset(v.id for v in views) if rule == "nearest" else frozenset()
        graph = candidate_graph(views, index, grid_map(session), top_k=WIDE_K, min_score=0.0, near_only=near)
        tier = graph.scored.tier[graph.edges]
        provider = graph.scored.provider[graph.edges]
        need_of = graph.scored.need[graph.edges]
        free = index.free.copy()
        chosen = np.full(len(graph.batch), -1, dtype=np.int64)
        for row in range(len(graph.batch)):  # first come, first served (needs in id order)
            edges = np.flatnonzero((need_of == row) & (free[provider] > 0))
            if rule == "nearest":
                edges = edges[tier[edges] == OWN_GRID]
                edges = edges[np.argsort(provider[edges], kind="stable")]  # the grid's list, in order
                pick = edges[0] if edges.size else -1
            else:
                pick = edges[rng.randrange(edges.size)] if edges.size else -1
            if pick >= 0:
                chosen[row] = pick
                free[provider[pick]] -= 1
        return store_batch(session, needs, assemble(graph, chosen), rule)[1]
    return batch


def _best(ranked: list[Match], _rng: random.Random) -> Match | None:
    return next((m for m in ranked if m.score >= MIN_SCORE), None)


def _nearest(ranked: list[Match], _rng: random.Random) -> Match | None:
    own = sorted((m for m in ranked if m.tier == OWN_GRID), key=lambda m: m.provider_key)
    return own[0] if own else None


def _any(ranked: list[Match], rng: random.Random) -> Match | None:
    near = [m for m in ranked if m.tier <= TIER_NEIGHBOUR] or ranked
    return rng.choice(near) if near else None


POLICIES: dict[str, Policy] = {p.name: p for p in (
    Policy("sanku", "三库匹配（最优分配+上报）", _sanku, _best),
    Policy("greedy", "贪心（得分最高者先得）", _greedy, _best),
    Policy("nearest", "就近派单（本网格名单第一位有空者）", _by_rule("nearest"), _nearest),
    Policy("random", "随机（任一符合条件者）", _by_rule("random"), _any),
)}


def hand_pick(session: Session, need: Need, policy: Policy, rng: random.Random) -> Match | None:
    """The provider a person would name for ``need`` by the policy's rule (none: nobody fits)."""
    ranked = instant_proposals(session, need, limit=20, exclude=set_aside(need))
    return policy.pick(ranked, rng)
