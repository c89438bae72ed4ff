"""The pools as the engine sees them: plain views of needs, providers and the grid map, read from
the database. Capacity in use (a provider's ``load``) counts every need its live proposals hold
(``core.vocab.HOLDING_CAPACITY``), so two batches never promise the same slot twice."""
from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from core.vocab import COMPLETED, HOLDING_CAPACITY, LIVE_PROPOSAL, SET_ASIDE, NeedStatus, ProposalStatus, ProviderKind
from matching.slots import WeeklySlot, parse_slots
from matching.types import GridMap, NeedView, ProviderView
from models import Grid, Need, Proposal, RecurrenceOccurrence, Resource, Volunteer, grid_neighbors, resource_grids

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


@dataclass(frozen=True)
class ProviderHistory:
    """What the proposals say of each provider: needs it holds now (its ``load``), and of its ended
    assignments how many it completed, for its reliability. Counted in one grouped query."""

    load: Counter[ProviderKey] = field(default_factory=Counter)
    done: Counter[ProviderKey] = field(default_factory=Counter)
    ended: Counter[ProviderKey] = field(default_factory=Counter)

    def reliability(self, key: ProviderKey) -> float | None:
        ended = self.ended[key]
        return self.done[key] / ended if ended >= MIN_HISTORY_FOR_RELIABILITY else None

    def without(self, need: Need) -> ProviderHistory:
        """This history less what ``need``'s own proposals count (as :func:`provider_history` with
        ``except_need``): the need's provider must not be counted as busy with it."""
        load, done, ended = Counter(self.load), Counter(self.done), Counter(self.ended)
        for proposal in need.proposals:
            _count(load, done, ended, proposal.provider_key, proposal.status, need.status, -1)
        return ProviderHistory(+load, +done, +ended)

    def changed(self, other: ProviderHistory) -> set[ProviderKey]:
        """Providers whose load or reliability differ between the two."""
        keys = set(self.load) | set(other.load) | set(self.ended) | set(other.ended)
        return {k for k in keys if self.load[k] != other.load[k] or self.reliability(k) != other.reliability(k)}


def _count(load: Counter[ProviderKey], done: Counter[ProviderKey], ended: Counter[ProviderKey], key: ProviderKey,
           p_status: str, n_status: str, count: int) -> None:
    if p_status in LIVE_PROPOSAL and n_status in HOLDING_CAPACITY:
        load[key] += count
    if p_status == ProposalStatus.ACCEPTED and n_status in COMPLETED:
        done[key] += count
        ended[key] += count
    elif p_status in SET_ASIDE:
        ended[key] += count


def provider_history(session: Session, except_need: int | None = None,
                     subdistrict_id: int | None = None) -> ProviderHistory:
    """Capacity in use and completion counts per provider, from the proposals (leaving out those of
    ``except_need``, whose own proposal must not count against it); of one subdistrict's needs (its
    providers serve no other), or of all."""
    load: Counter[ProviderKey] = Counter()
    done: Counter[ProviderKey] = Counter()
    ended: Counter[ProviderKey] = Counter()
    rows = session.execute(
        select(Proposal.resource_id, Proposal.volunteer_id, Proposal.status, Need.status, func.count())
        .join(Need, Need.id == Proposal.need_id)
        .where(Proposal.need_id != (except_need or -1),
               *([Need.grid_id.in_(select(Grid.id).where(Grid.subdistrict_id == subdistrict_id))]
                 if subdistrict_id is not None else []))
        .group_by(Proposal.resource_id, Proposal.volunteer_id, Proposal.status, Need.status))
    for resource_id, volunteer_id, p_status, n_status, count in rows:
        _count(load, done, ended, provider_key(resource_id, volunteer_id), p_status, n_status, count)
    return ProviderHistory(load, done, ended)


@functools.lru_cache(maxsize=4096)
def _slots(items: tuple[str, ...]) -> tuple[WeeklySlot, ...]:
    # Few distinct weekly schedules are written (mon-fri 09:00-17:00 ...): parse each once.
    return parse_slots(list(items))


# While a caller holds the registries still (registries_unchanged), the providers and the grid map are read
# once; only loads and reliability, which every move changes, are read again. Off unless asked for.
_still: ContextVar[dict[str, Any] | None] = ContextVar("registries_still", default=None)


@contextmanager
def registries_unchanged() -> Iterator[None]:
    """Within the block nobody edits the grids, resources, volunteers or staff accounts (a simulated
    month, a bulk job that only moves needs): their views are read from the database once instead of
    at every batch (and the staff to notify once per session, not per transaction)."""
    token = _still.set({})
    try:
        yield
    finally:
        _still.reset(token)


def registries_still() -> bool:
    """Whether the caller holds the registries still (:func:`registries_unchanged`)."""
    return _still.get() is not None


def load_providers(session: Session, except_need: int | None = None, history: ProviderHistory | None = None,
                   subdistrict_id: int | None = None) -> list[ProviderView]:
    """Every active provider of both pools (of ``subdistrict_id``, or all), with its capacity in use and its
    reliability."""
    if history is None:
        history = provider_history(session, except_need, subdistrict_id)
    still = _still.get()
    if still is None:
        return _read_providers(session, history, subdistrict_id)
    key = f"providers:{subdistrict_id}"
    if key not in still:
        still[key] = _read_providers(session, history, subdistrict_id)
    return [dataclasses.replace(p, load=history.load[p.key], reliability=history.reliability(p.key))
            for p in still[key]]


def _read_providers(session: Session, history: ProviderHistory, subdistrict_id: int | None) -> list[ProviderView]:
    """Plain rows (SQLAlchemy Core), not ORM objects: a subdistrict has thousands of providers, and
    building an ORM object for each cost about 54 µs, three quarters of an index rebuild."""
    r, v = Resource.__table__, Volunteer.__table__
    mine_r = [r.c.subdistrict_id == subdistrict_id] if subdistrict_id is not None else []
    mine_v = [v.c.subdistrict_id == subdistrict_id] if subdistrict_id is not None else []
    covered: dict[int, set[str]] = {}
    for resource_id, code in session.execute(
            select(resource_grids.c.resource_id, Grid.code).join(Grid, Grid.id == resource_grids.c.grid_id)
            .join(r, r.c.id == resource_grids.c.resource_id).where(r.c.active.is_(True), *mine_r)):
        covered.setdefault(resource_id, set()).add(code)
    views: list[ProviderView] = []
    for row in session.execute(select(r.c.id, r.c.ref, r.c.name, r.c.service, r.c.skills, r.c.description,
                                      r.c.covers_all, r.c.hours, r.c.capacity)
                               .where(r.c.active.is_(True), *mine_r).order_by(r.c.id)):
        key = (ProviderKind.RESOURCE, row.id)
        views.append(ProviderView(
            kind=ProviderKind.RESOURCE, id=row.id, ref=row.ref, name=row.name, services=frozenset([row.service]),
            skills=tuple(row.skills), description=row.description, home_grid=None,
            grids_covered=None if row.covers_all else frozenset(covered.get(row.id, ())),
            slots=_slots(tuple(row.hours)), capacity=row.capacity, load=history.load[key],
            reliability=history.reliability(key)))
    g = Grid.__table__
    for row in session.execute(select(v.c.id, v.c.ref, v.c.name, v.c.services, v.c.skills, v.c.description,
                                      g.c.code, v.c.availability, v.c.capacity)
                               .select_from(v.outerjoin(g, g.c.id == v.c.grid_id))
                               .where(v.c.active.is_(True), *mine_v).order_by(v.c.id)):
        key = (ProviderKind.VOLUNTEER, row.id)
        views.append(ProviderView(
            kind=ProviderKind.VOLUNTEER, id=row.id, ref=row.ref, name=row.name, services=frozenset(row.services),
            skills=tuple(row.skills), description=row.description, home_grid=row.code,
            slots=_slots(tuple(row.availability)), capacity=row.capacity, load=history.load[key],
            reliability=history.reliability(key)))
    return views


def neighbor_map(session: Session, subdistrict_id: int | None = None) -> dict[str, frozenset[str]]:
    """Grid code → codes of its neighbours (of one subdistrict's grids, or all: neighbours never cross)."""
    a, b = Grid.__table__.alias("a"), Grid.__table__.alias("b")
    mine = [a.c.subdistrict_id == subdistrict_id] if subdistrict_id is not None else []
    rows = session.execute(
        select(a.c.code, b.c.code)
        .select_from(grid_neighbors.join(a, a.c.id == grid_neighbors.c.grid_id)
                     .join(b, b.c.id == grid_neighbors.c.neighbor_id)).where(*mine)
    )
    codes = select(Grid.code).where(Grid.subdistrict_id == subdistrict_id) if subdistrict_id else select(Grid.code)
    out: dict[str, set[str]] = {code: set() for code in session.scalars(codes)}
    for code, neighbor in rows:
        out[code].add(neighbor)
    return {k: frozenset(v) for k, v in out.items()}


def grid_map(session: Session, subdistrict_id: int | None = None) -> GridMap:
    """The grid map of a subdistrict (or every grid), as the engine reads it."""
    still = _still.get()
    if still is None:
        return GridMap(neighbors=neighbor_map(session, subdistrict_id))
    key = f"grid_map:{subdistrict_id}"
    if key not in still:
        still[key] = GridMap(neighbors=neighbor_map(session, subdistrict_id))
    grids: GridMap = still[key]
    return grids
