"""Proposals for one need, computed now: the ranked providers the engine would propose, the best
one left after declines, and the row that stores a proposal.

The provider index comes from the process's cache (:mod:`dispatch.index_cache`), kept current
in place as needs move and providers change.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core.vocab import LIVE_PROPOSAL, SET_ASIDE, ProposalStatus, ProviderKind
from matching.scoring import MIN_SCORE, Match, propose
from models import MatchRun, Need, Proposal

from .index_cache import current_entry
from .views import ProviderKey, need_view

# How many ranked providers to search for one named by a person (reassign, propose by hand).
NAMED_PROVIDER_SEARCH = 200
FEATURE_DECIMALS = 4


def proposal_fields(match: Match, *, rank: int = 1) -> dict[str, Any]:
    """The columns storing ``match`` as a proposal (the need and the run apart): the one home of what a
    proposal row holds, for one row (:func:`proposal_row`) and a batch's rows written at once."""
    return {
        "resource_id": match.provider_id if match.provider_kind == ProviderKind.RESOURCE else None,
        "volunteer_id": match.provider_id if match.provider_kind == ProviderKind.VOLUNTEER else None,
        "rank": rank, "score": round(float(match.score), 6), "tier": int(match.tier),
        "features": {"features": _rounded(match.features), "contributions": _rounded(match.contributions)},
        "explanation": match.explanation, "status": ProposalStatus.PROPOSED, "review_required": match.confirm,
        "service": match.service or None}


def proposal_row(need: Need, match: Match, *, rank: int = 1, run: MatchRun | None = None) -> Proposal:
    """The row storing ``match`` as a proposal for ``need`` (not yet added to the session)."""
    return Proposal(need=need, match_run=run, **proposal_fields(match, rank=rank))


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), FEATURE_DECIMALS) for k, v in values.items()}


def set_aside(need: Need) -> set[ProviderKey]:
    """Providers not to propose again for this need: they declined, or were replaced."""
    return {p.provider_key for p in need.proposals if p.status in SET_ASIDE}


def instant_proposals(session: Session, need: Need, limit: int = 10,
                      exclude: Iterable[ProviderKey] = ()) -> list[Match]:
    """Ranked proposals for one need, computed now and not stored."""
    if not need.service:
        return []
    excluded = set(exclude)
    entry = current_entry(session, need.grid.subdistrict_id)  # a need is served by its subdistrict
    index = entry.index
    if any(p.status in LIVE_PROPOSAL for p in need.proposals):
        # The need's own proposal must not count against its provider (nor, once served, in its
        # record): the cached index with this need's proposals left out of the history, in place.
        index = entry.with_history(entry.history.without(need))
    ranked = propose(need_view(need), index, entry.grid_map, limit=limit + len(excluded))
    return [p for p in ranked if p.provider_key not in excluded][:limit]


def best_left(session: Session, need: Need) -> Match | None:
    """The best provider not yet set aside for ``need``, if any scores high enough to propose."""
    ranked = instant_proposals(session, need, limit=5, exclude=set_aside(need))
    return next((m for m in ranked if m.score >= MIN_SCORE), None)


def eligible(session: Session, need: Need, provider: ProviderKey) -> Match | None:
    """``provider`` scored for ``need``, if it is eligible at all (service, coverage, capacity, time)."""
    ranked = instant_proposals(session, need, limit=NAMED_PROVIDER_SEARCH, exclude=set_aside(need))
    return next((m for m in ranked if m.provider_key == provider), None)


def current_assignments(session: Session) -> list[Proposal]:
    """The current choice for every matched need (one row per need), for the export."""
    latest = (select(Proposal.need_id, func.max(Proposal.id).label("id"))
              .where(Proposal.rank == 1, Proposal.status.in_(LIVE_PROPOSAL))
              .group_by(Proposal.need_id).subquery())
    return list(session.scalars(
        select(Proposal).join(latest, latest.c.id == Proposal.id)
        .options(selectinload(Proposal.need), selectinload(Proposal.resource), selectinload(Proposal.volunteer))
        .order_by(Proposal.need_id)))
