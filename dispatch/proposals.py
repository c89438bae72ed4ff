"""Proposals for one need, computed now: the ranked providers the engine would propose, the best
one left after declines, and the row that stores a proposal.

The provider index (``matching.index``) costs about 0.3 s to build for the demo's 3,000
providers, so one is kept per app and rebuilt only when the pools change (:func:`pool_fingerprint`).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core.vocab import HOLDING_CAPACITY, LIVE_PROPOSAL, SET_ASIDE, ProposalStatus, ProviderKind
from matching.index import ProviderIndex
from matching.scoring import MIN_SCORE, Match, propose
from models import AuditEntry, MatchRun, Need, Proposal, Resource, Volunteer

from .views import ProviderKey, grid_map, load_providers, need_view

CACHE_KEY = "sanku_provider_index"
# How many ranked providers to search for one named by a person (reassign, propose by hand).
NAMED_PROVIDER_SEARCH = 200
FEATURE_DECIMALS = 4


def proposal_row(need: Need, match: Match, *, rank: int = 1, run: MatchRun | None = None) -> Proposal:
    """The row storing ``match`` as a proposal for ``need`` (not yet added to the session)."""
    return Proposal(
        need=need, resource_id=match.provider_id if match.provider_kind == ProviderKind.RESOURCE else None,
        volunteer_id=match.provider_id if match.provider_kind == ProviderKind.VOLUNTEER else None,
        match_run=run, rank=rank, score=round(float(match.score), 6), tier=int(match.tier),
        features={"features": _rounded(match.features), "contributions": _rounded(match.contributions)},
        explanation=match.explanation, status=ProposalStatus.PROPOSED, review_required=match.confirm,
        service=match.service or None)


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), FEATURE_DECIMALS) for k, v in values.items()}


def pool_fingerprint(session: Session) -> tuple[Any, ...]:
    """Changes whenever a provider, its capacity in use or its history may have changed: any edit
    of the pools bumps an updated_at, and every change of a proposal's or need's state writes a
    proposal or an audit entry."""
    return tuple(session.execute(select(
        select(func.count(Resource.id)).scalar_subquery(), select(func.max(Resource.updated_at)).scalar_subquery(),
        select(func.count(Volunteer.id)).scalar_subquery(), select(func.max(Volunteer.updated_at)).scalar_subquery(),
        select(func.max(Proposal.id)).scalar_subquery(), select(func.max(AuditEntry.id)).scalar_subquery(),
    )).one())


def provider_index(session: Session) -> ProviderIndex:
    """The index of every active provider, rebuilt only when the pools changed (one per app)."""
    if not has_app_context():
        return ProviderIndex.build(load_providers(session))
    cache = current_app.extensions.setdefault(CACHE_KEY, {})
    key = pool_fingerprint(session)
    if cache.get("key") != key:
        cache["index"], cache["key"] = ProviderIndex.build(load_providers(session)), key
    index: ProviderIndex = cache["index"]
    return index


def set_aside(need: Need) -> set[ProviderKey]:
    """Providers not to propose again for this need: they declined, or were replaced."""
    return {p.provider_key for p in need.proposals if p.status in SET_ASIDE}


def instant_proposals(session: Session, need: Need, limit: int = 10,
                      exclude: Iterable[ProviderKey] = ()) -> list[Match]:
    """Ranked proposals for one need, computed now and not stored."""
    if not need.service:
        return []
    excluded = set(exclude)
    own = {p.provider_key for p in need.proposals if p.status in LIVE_PROPOSAL}
    if not own:
        ranked = propose(need_view(need), provider_index(session), grid_map(session), limit=limit + len(excluded))
        return [p for p in ranked if p.provider_key not in excluded][:limit]
    # The need's own proposal must not count against its provider: an index without it. While the need
    # holds capacity, that is the cached index's providers with one less load on its own, and no
    # trip to the database; once served, its proposal also counts in its provider's record: reload.
    if need.status in HOLDING_CAPACITY:
        views = [dataclasses.replace(p, load=max(p.load - 1, 0)) if p.key in own else p
                 for p in provider_index(session).providers if p.key not in excluded]
    else:
        views = [p for p in load_providers(session, except_need=need.id) if p.key not in excluded]
    return propose(need_view(need), ProviderIndex.build(views), grid_map(session), limit=limit)


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
