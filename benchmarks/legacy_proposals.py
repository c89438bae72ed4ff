"""The instant-proposal path as it was before issue 11, kept here only as the benchmarks' baseline
(run in the same process as the current one): one index per app keyed by a fingerprint of the pools,
built again from ORM objects after any transition anywhere, and for a need with an open proposal an
index built again for every request (from the cached providers, or reloaded from the database once
the need no longer holds capacity). Copied from dispatch/proposals.py and dispatch/views.py at
commit 7a71767; nothing in the app imports it."""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from core.vocab import HOLDING_CAPACITY, LIVE_PROPOSAL, ProviderKind
from dispatch.views import ProviderKey, grid_map, need_view, provider_history
from matching.index import ProviderIndex
from matching.scoring import Match, propose
from matching.slots import parse_slots
from matching.types import ProviderView
from models import AuditEntry, Grid, Need, Proposal, Resource, Volunteer

CACHE_KEY = "sanku_legacy_provider_index"


def load_providers_orm(session: Session, except_need: int | None = None) -> list[ProviderView]:
    """Every active provider through ORM objects (about 54 µs each on this machine)."""
    history = provider_history(session, except_need)
    load: Counter[ProviderKey] = history.load
    views: list[ProviderView] = []
    for r in session.scalars(select(Resource).options(selectinload(Resource.grids))
                             .where(Resource.active.is_(True)).order_by(Resource.id)):
        key = (ProviderKind.RESOURCE, r.id)
        views.append(ProviderView(
            kind=ProviderKind.RESOURCE, id=r.id, ref=r.ref, name=r.name, services=frozenset([r.service]),
            skills=tuple(r.skills), description=r.description, home_grid=None,
            grids_covered=None if r.covers_all else frozenset(g.code for g in r.grids),
            slots=parse_slots(r.hours), capacity=r.capacity, load=load[key], reliability=history.reliability(key)))
    grid_codes: dict[int, str] = {i: c for i, c in session.execute(select(Grid.id, Grid.code))}
    for v in session.scalars(select(Volunteer).where(Volunteer.active.is_(True)).order_by(Volunteer.id)):
        key = (ProviderKind.VOLUNTEER, v.id)
        views.append(ProviderView(
            kind=ProviderKind.VOLUNTEER, id=v.id, ref=v.ref, name=v.name, services=frozenset(v.services),
            skills=tuple(v.skills), description=v.description,
            home_grid=grid_codes.get(v.grid_id) if v.grid_id else None,
            slots=parse_slots(v.availability), capacity=v.capacity, load=load[key],
            reliability=history.reliability(key)))
    return views


def pool_fingerprint(session: Session) -> tuple[Any, ...]:
    return tuple(session.execute(select(
        select(func.count(Resource.id)).scalar_subquery(), select(func.max(Resource.updated_at)).scalar_subquery(),
        select(func.count(Volunteer.id)).scalar_subquery(), select(func.max(Volunteer.updated_at)).scalar_subquery(),
        select(func.max(Proposal.id)).scalar_subquery(), select(func.max(AuditEntry.id)).scalar_subquery(),
    )).one())


def provider_index(session: Session) -> ProviderIndex:
    if not has_app_context():
        return ProviderIndex.build(load_providers_orm(session))
    cache = current_app.extensions.setdefault(CACHE_KEY, {})
    key = pool_fingerprint(session)
    if cache.get("key") != key:
        cache["index"], cache["key"] = ProviderIndex.build(load_providers_orm(session)), key
    index: ProviderIndex = cache["index"]
    return index


def instant_proposals(session: Session, need: Need, limit: int = 10,
                      exclude: Iterable[ProviderKey] = ()) -> list[Match]:
    if not need.service:
        return []
    excluded = set(exclude)
    own = {p.provider_key for p in need.proposals if p.status in LIVE_PROPOSAL}
    if not own:
        ranked = propose(need_view(need), provider_index(session), grid_map(session), limit=limit + len(excluded))
        return [p for p in ranked if p.provider_key not in excluded][:limit]
    if need.status in HOLDING_CAPACITY:
        views = [dataclasses.replace(p, load=max(p.load - 1, 0)) if p.key in own else p
                 for p in provider_index(session).providers if p.key not in excluded]
    else:
        views = [p for p in load_providers_orm(session, except_need=need.id) if p.key not in excluded]
    return propose(need_view(need), ProviderIndex.build(views), grid_map(session), limit=limit)
