"""The matcher's side in the database: load the pools as plain views, run the pure engine in
matching/, and store what it proposes.

Capacity in use (a provider's ``load``) counts every need the provider holds: proposed and not yet
answered, accepted, approved or in service. So two batches never promise the same slot twice.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from errors import NotFound
from matching.engine import BatchResult, match_batch
from matching.index import ProviderIndex
from matching.scoring import propose
from matching.slots import parse_slots
from matching.types import GridMap, NeedView, ProviderView
from models import Grid, MatchRun, Need, PartyGrid, Proposal, Resource, Volunteer

from .grids import neighbor_map

# Need statuses in which a proposal holds its provider's capacity.
HOLDING_NEED_STATUSES = ("proposed", "accepted", "approved", "in_service")
# Need statuses the batch matcher picks up.
MATCHABLE_NEED_STATUSES = ("submitted", "unmatched")
# Reliability is only trusted after this many finished assignments.
MIN_HISTORY_FOR_RELIABILITY = 3


def need_view(need: Need) -> NeedView:
    window = (need.window_start, need.window_end) if need.window_start and need.window_end else None
    return NeedView(id=need.id, ref=need.ref, text=need.text, grid=need.grid.code, service=need.service or "",
                    urgency=need.urgency, window=window)


def _loads(session: Session, except_need: int | None = None
           ) -> tuple[Counter[tuple[str, int]], dict[tuple[str, int], float]]:
    """Capacity in use and completion rate per provider, from the proposals (leaving out those of
    ``except_need``, whose own proposal must not count against it)."""
    load: Counter[tuple[str, int]] = Counter()
    done: Counter[tuple[str, int]] = Counter()
    ended: Counter[tuple[str, int]] = Counter()
    rows = session.execute(
        select(Proposal.resource_id, Proposal.volunteer_id, Proposal.status, Need.status, func.count())
        .join(Need, Need.id == Proposal.need_id)
        .where(Proposal.need_id != (except_need or -1))
        .group_by(Proposal.resource_id, Proposal.volunteer_id, Proposal.status, Need.status))
    for resource_id, volunteer_id, p_status, n_status, count in rows:
        key = ("resource", resource_id) if resource_id is not None else ("volunteer", volunteer_id)
        if p_status in ("proposed", "accepted") and n_status in HOLDING_NEED_STATUSES:
            load[key] += count
        if p_status == "accepted" and n_status in ("done", "closed"):
            done[key] += count
            ended[key] += count
        elif p_status in ("declined", "withdrawn"):
            ended[key] += count
    reliability = {k: done[k] / n for k, n in ended.items() if n >= MIN_HISTORY_FOR_RELIABILITY}
    return load, reliability


def load_providers(session: Session, except_need: int | None = None) -> list[ProviderView]:
    load, reliability = _loads(session, except_need)
    views: list[ProviderView] = []
    for r in session.scalars(select(Resource).options(selectinload(Resource.grids))
                             .where(Resource.active.is_(True)).order_by(Resource.id)):
        key = ("resource", r.id)
        views.append(ProviderView(
            kind="resource", id=r.id, ref=r.ref, name=r.name, services=frozenset([r.service]),
            skills=tuple(r.skills), description=r.description, home_grid=None,
            grids_covered=None if r.covers_all else frozenset(g.code for g in r.grids),
            slots=parse_slots(r.hours), capacity=r.capacity, load=load[key], reliability=reliability.get(key)))
    grid_codes = dict(session.execute(select(Grid.id, Grid.code)).all())
    for v in session.scalars(select(Volunteer).where(Volunteer.active.is_(True)).order_by(Volunteer.id)):
        key = ("volunteer", v.id)
        views.append(ProviderView(
            kind="volunteer", id=v.id, ref=v.ref, name=v.name, services=frozenset(v.services),
            skills=tuple(v.skills), description=v.description,
            home_grid=grid_codes.get(v.grid_id) if v.grid_id else None,
            slots=parse_slots(v.availability), capacity=v.capacity, load=load[key],
            reliability=reliability.get(key)))
    return views


def grid_map(session: Session) -> GridMap:
    return GridMap(neighbours=neighbor_map(session))


def needs_in_scope(session: Session, *, grid: str | None = None, party_grid: str | None = None,
                   statuses: Iterable[str] = MATCHABLE_NEED_STATUSES) -> list[Need]:
    query = (select(Need).options(selectinload(Need.grid))
             .where(Need.active.is_(True), Need.status.in_(tuple(statuses)), Need.service.is_not(None))
             .order_by(Need.id))
    if grid is not None:
        row = session.scalar(select(Grid).where(Grid.code == grid))
        if row is None:
            raise NotFound(f"未知网格 {grid}")
        query = query.where(Need.grid_id == row.id)
    if party_grid is not None:
        pg = session.scalar(select(PartyGrid).where(PartyGrid.code == party_grid))
        if pg is None:
            raise NotFound(f"未知党建网格 {party_grid}")
        query = query.join(Need.grid).where(Grid.party_grid_id == pg.id)
    return list(session.scalars(query))


def proposal_row(need: Need, p: Any, rank: int, run: MatchRun | None) -> Proposal:
    return Proposal(
        need=need, resource_id=p.provider_id if p.provider_kind == "resource" else None,
        volunteer_id=p.provider_id if p.provider_kind == "volunteer" else None,
        match_run=run, rank=rank, score=round(float(p.score), 6), tier=int(p.tier),
        features={"features": _round(p.features), "contributions": _round(p.contributions)},
        explanation=p.explanation, status="proposed")


def _round(values: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in values.items()}


def run_batch(session: Session, record_outcome: Callable[[Need, str, str], None], *, grid: str | None = None,
              party_grid: str | None = None) -> tuple[MatchRun, BatchResult]:
    """Match the open needs of a scope (a grid, a Party grid or everything) and store the proposals.

    ``record_outcome(need, "proposed" | "unmatched", reason)`` moves each need through the
    workflow's state machine (workflow.service.record_match_outcome); the matcher never writes a
    status itself.
    """
    scope = f"grid:{grid}" if grid else f"party_grid:{party_grid}" if party_grid else "all"
    needs = needs_in_scope(session, grid=grid, party_grid=party_grid)
    result = match_batch([need_view(n) for n in needs], load_providers(session), grid_map(session))
    run = MatchRun(scope=scope, stats={**result.stats.as_dict(), "unmatched": len(result.unmatched)})
    session.add(run)
    for need in needs:
        proposal = result.assignments.get(need.id)
        if proposal is not None:
            session.add(proposal_row(need, proposal, 1, run))
            record_outcome(need, "proposed", f"推荐 {proposal.provider_name}：{proposal.explanation}")
        else:
            record_outcome(need, "unmatched", result.unmatched[need.id].reason_zh)
    session.flush()
    return run, result


def pool_fingerprint(session: Session) -> tuple[Any, ...]:
    """Changes whenever a provider, its capacity in use or its history may have changed: any edit
    of the pools bumps an updated_at, and every change of a proposal's or need's state writes a
    proposal or an audit entry."""
    from models import AuditEntry
    return tuple(session.execute(select(
        select(func.count(Resource.id)).scalar_subquery(), select(func.max(Resource.updated_at)).scalar_subquery(),
        select(func.count(Volunteer.id)).scalar_subquery(), select(func.max(Volunteer.updated_at)).scalar_subquery(),
        select(func.max(Proposal.id)).scalar_subquery(), select(func.max(AuditEntry.id)).scalar_subquery(),
    )).one())


def provider_index(session: Session) -> ProviderIndex:
    """The index of every active provider, rebuilt only when the pools changed (one per app)."""
    if not has_app_context():
        return ProviderIndex.build(load_providers(session))
    cache = current_app.extensions.setdefault("sanku_provider_index", {})
    key = pool_fingerprint(session)
    if cache.get("key") != key:
        cache["index"], cache["key"] = ProviderIndex.build(load_providers(session)), key
    return cache["index"]


def instant_proposals(session: Session, need: Need, limit: int = 10,
                      exclude: Iterable[tuple[str, int]] = ()) -> list[Any]:
    """Ranked proposals for one need, computed now and not stored."""
    if not need.service:
        return []
    excluded = set(exclude)
    if any(p.status in ("proposed", "accepted") for p in need.proposals):
        # The need's own proposal must not count against its provider: a load of its own.
        providers = [p for p in load_providers(session, except_need=need.id) if p.key not in excluded]
        return propose(need_view(need), ProviderIndex.build(providers), grid_map(session), limit=limit)
    ranked = propose(need_view(need), provider_index(session), grid_map(session), limit=limit + len(excluded))
    return [p for p in ranked if p.provider_key not in excluded][:limit]


def declined_providers(need: Need) -> set[tuple[str, int]]:
    return {("resource", p.resource_id) if p.resource_id else ("volunteer", p.volunteer_id)  # type: ignore[misc]
            for p in need.proposals if p.status in ("declined", "withdrawn")}


def assignments(session: Session) -> list[Proposal]:
    """The current choice for every matched need (one row per need), for the export."""
    latest = (select(Proposal.need_id, func.max(Proposal.id).label("id"))
              .where(Proposal.rank == 1, or_(Proposal.status == "proposed", Proposal.status == "accepted"))
              .group_by(Proposal.need_id).subquery())
    return list(session.scalars(
        select(Proposal).join(latest, latest.c.id == Proposal.id)
        .options(selectinload(Proposal.need), selectinload(Proposal.resource), selectinload(Proposal.volunteer))
        .order_by(Proposal.need_id)))
