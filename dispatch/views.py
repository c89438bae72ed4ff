"""The pools as the engine sees them: plain views of needs, providers and the grid map, read from
the database. Capacity in use (a provider's ``load``) counts every need its live proposals hold
(``core.vocab.HOLDING_CAPACITY``), so two batches never promise the same slot twice."""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session, selectinload

from core.vocab import COMPLETED, HOLDING_CAPACITY, LIVE_PROPOSAL, SET_ASIDE, NeedStatus, ProposalStatus, ProviderKind
from matching.slots import parse_slots
from matching.types import GridMap, NeedView, ProviderView
from models import Grid, Need, Proposal, RecurrenceOccurrence, Resource, Volunteer, grid_neighbors

# Reliability is only trusted after this many finished assignments.
MIN_HISTORY_FOR_RELIABILITY = 3

ProviderKey = tuple[ProviderKind, int]


def provider_key(resource_id: int | None, volunteer_id: int | None) -> ProviderKey:
    """How the engine names the provider of a proposal row: exactly one of the ids is set."""
    if resource_id is not None:
        return ProviderKind.RESOURCE, resource_id
    assert volunteer_id is not None  # the proposals' one_provider constraint
    return ProviderKind.VOLUNTEER, volunteer_id


# Refs of the needs a recurring need makes (intake.recurring.occurrence_ref): only these are looked up
# for a previous provider, so a batch of ordinary needs costs no query more.
OCCURRENCE_REF_PREFIX = "RC"


def need_view(need: Need) -> NeedView:
    window = (need.window_start, need.window_end) if need.window_start and need.window_end else None
    return NeedView(id=need.id, ref=need.ref, text=need.text, grid=need.grid.code, service=need.service or "",
                    urgency=need.urgency, window=window, tentative=need.status == NeedStatus.TRIAGE,
                    previous_provider=previous_provider(need))


def previous_provider(need: Need) -> ProviderKey | None:
    """Who served the occurrence before this one of a recurring need (the provider whose proposal was
    accepted there), or None: not an occurrence, the first one, or nobody accepted the one before."""
    session = object_session(need)
    if session is None or not need.ref.startswith(OCCURRENCE_REF_PREFIX):
        return None
    this = session.execute(select(RecurrenceOccurrence.recurrence_id, RecurrenceOccurrence.at)
                           .where(RecurrenceOccurrence.need_id == need.id)).first()
    if this is None:
        return None
    row = session.execute(
        select(Proposal.resource_id, Proposal.volunteer_id)
        .join(RecurrenceOccurrence, RecurrenceOccurrence.need_id == Proposal.need_id)
        .where(RecurrenceOccurrence.recurrence_id == this.recurrence_id, RecurrenceOccurrence.at < this.at,
               Proposal.status == ProposalStatus.ACCEPTED)
        .order_by(RecurrenceOccurrence.at.desc(), Proposal.id.desc()).limit(1)).first()
    return None if row is None else provider_key(row.resource_id, row.volunteer_id)


def _loads(session: Session, except_need: int | None = None) -> tuple[Counter[ProviderKey], dict[ProviderKey, float]]:
    """Capacity in use and completion rate per provider, from the proposals (leaving out those of
    ``except_need``, whose own proposal must not count against it)."""
    load: Counter[ProviderKey] = Counter()
    done: Counter[ProviderKey] = Counter()
    ended: Counter[ProviderKey] = Counter()
    rows = session.execute(
        select(Proposal.resource_id, Proposal.volunteer_id, Proposal.status, Need.status, func.count())
        .join(Need, Need.id == Proposal.need_id)
        .where(Proposal.need_id != (except_need or -1))
        .group_by(Proposal.resource_id, Proposal.volunteer_id, Proposal.status, Need.status))
    for resource_id, volunteer_id, p_status, n_status, count in rows:
        key = provider_key(resource_id, volunteer_id)
        if p_status in LIVE_PROPOSAL and n_status in HOLDING_CAPACITY:
            load[key] += count
        if p_status == ProposalStatus.ACCEPTED and n_status in COMPLETED:
            done[key] += count
            ended[key] += count
        elif p_status in SET_ASIDE:
            ended[key] += count
    reliability = {k: done[k] / n for k, n in ended.items() if n >= MIN_HISTORY_FOR_RELIABILITY}
    return load, reliability


# While a caller holds the registries still (registries_unchanged), the providers and the grid map are read
# once; only loads and reliability, which every move changes, are read again. Off unless asked for.
_still: ContextVar[dict[str, Any] | None] = ContextVar("registries_still", default=None)


@contextmanager
def registries_unchanged() -> Iterator[None]:
    """Within the block nobody edits the grids, resources or volunteers (a simulated month, a bulk job
    that only moves needs): their views are read from the database once instead of at every batch."""
    token = _still.set({})
    try:
        yield
    finally:
        _still.reset(token)


def load_providers(session: Session, except_need: int | None = None) -> list[ProviderView]:
    """Every active provider of both pools, with its capacity in use and its reliability."""
    still = _still.get()
    if still is None:
        return _read_providers(session, except_need)
    if "providers" not in still:
        still["providers"] = _read_providers(session)
    load, reliability = _loads(session, except_need)
    return [dataclasses.replace(p, load=load[p.key], reliability=reliability.get(p.key)) for p in still["providers"]]


def _read_providers(session: Session, except_need: int | None = None) -> list[ProviderView]:
    load, reliability = _loads(session, except_need)
    views: list[ProviderView] = []
    for r in session.scalars(select(Resource).options(selectinload(Resource.grids))
                             .where(Resource.active.is_(True)).order_by(Resource.id)):
        key = (ProviderKind.RESOURCE, r.id)
        views.append(ProviderView(
            kind=ProviderKind.RESOURCE, id=r.id, ref=r.ref, name=r.name, services=frozenset([r.service]),
            skills=tuple(r.skills), description=r.description, home_grid=None,
            grids_covered=None if r.covers_all else frozenset(g.code for g in r.grids),
            slots=parse_slots(r.hours), capacity=r.capacity, load=load[key], reliability=reliability.get(key)))
    grid_codes: dict[int, str] = {i: c for i, c in session.execute(select(Grid.id, Grid.code))}
    for v in session.scalars(select(Volunteer).where(Volunteer.active.is_(True)).order_by(Volunteer.id)):
        key = (ProviderKind.VOLUNTEER, v.id)
        views.append(ProviderView(
            kind=ProviderKind.VOLUNTEER, id=v.id, ref=v.ref, name=v.name, services=frozenset(v.services),
            skills=tuple(v.skills), description=v.description,
            home_grid=grid_codes.get(v.grid_id) if v.grid_id else None,
            slots=parse_slots(v.availability), capacity=v.capacity, load=load[key],
            reliability=reliability.get(key)))
    return views


def neighbor_map(session: Session) -> dict[str, frozenset[str]]:
    """Grid code → codes of its neighbours."""
    a, b = Grid.__table__.alias("a"), Grid.__table__.alias("b")
    rows = session.execute(
        select(a.c.code, b.c.code)
        .select_from(grid_neighbors.join(a, a.c.id == grid_neighbors.c.grid_id)
                     .join(b, b.c.id == grid_neighbors.c.neighbor_id))
    )
    out: dict[str, set[str]] = {code: set() for code in session.scalars(select(Grid.code))}
    for code, neighbor in rows:
        out[code].add(neighbor)
    return {k: frozenset(v) for k, v in out.items()}


def grid_map(session: Session) -> GridMap:
    still = _still.get()
    if still is None:
        return GridMap(neighbors=neighbor_map(session))
    if "grid_map" not in still:
        still["grid_map"] = GridMap(neighbors=neighbor_map(session))
    grids: GridMap = still["grid_map"]
    return grids
