"""Batch matching in the database: the open needs of a scope (a grid, a Party grid or the whole
subdistrict) matched at once by the engine, and the chosen proposals stored with their run.

A batch never crosses subdistricts: the needs of one are matched to its own providers only, with its own
index, so a city's batch is one per subdistrict (``jobs`` fans them out) and its cost grows with the
number of subdistricts, not with the square of the city.

It computes and stores proposals; it never moves a need. The workflow records each outcome
(``workflow.service.match_scope``), so every status change goes through the state machine.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, insert, inspect, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from core.errors import NotFound
from core.vocab import MATCHABLE
from matching.engine import BatchResult, match_batch
from models import Grid, MatchRun, Need, PartyGrid, Proposal
from pools.subdistricts import resolve_id

from .index_cache import current_entry, note_write
from .proposals import proposal_fields
from .views import need_view


@dataclass(frozen=True)
class Outcome:
    """What the batch found for one need: a provider proposed, or why none."""
    need: Need
    proposed: bool
    reason: str  # the line for the audit trail


def batch_subdistrict(session: Session, *, grid: str | None = None, party_grid: str | None = None,
                      subdistrict_id: int | None = None) -> int:
    """The subdistrict a batch matches in: the grid's or the Party grid's; otherwise the one given, or the only
    one (with several, it must be given: 422)."""
    if grid is not None:
        found = session.scalar(select(Grid.subdistrict_id).where(Grid.code == grid))
        if found is None:
            raise NotFound(f"未知网格 {grid}")
        return found
    if party_grid is not None:
        found = session.scalar(select(PartyGrid.subdistrict_id).where(PartyGrid.code == party_grid))
        if found is None:
            raise NotFound(f"未知党建网格 {party_grid}")
        return found
    return resolve_id(session, subdistrict_id)


def needs_in_scope(session: Session, *, grid: str | None = None, party_grid: str | None = None,
                   subdistrict_id: int | None = None) -> list[Need]:
    """The classified needs waiting for a provider (or for triage) in a grid, a Party grid, a subdistrict,
    or everywhere."""
    # Needs another request is moving right now are left for the next batch (PostgreSQL; SQLite
    # serialises writers anyway), so a batch never proposes for a need that was just cancelled.
    # Their proposals come along: recording the outcomes reads them (whom to tell), for every need.
    query = (select(Need).options(selectinload(Need.grid), selectinload(Need.proposals))
             .where(Need.active.is_(True), Need.status.in_(MATCHABLE), Need.service.is_not(None),
                    Need.place_unsure.is_(False))  # where an unsure address is, a person decides first
             .order_by(Need.id).with_for_update(of=Need, skip_locked=True))
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
    if subdistrict_id is not None:
        query = query.where(Need.grid_id.in_(select(Grid.id).where(Grid.subdistrict_id == subdistrict_id)))
    return list(session.scalars(query))


def run_batch(session: Session, *, grid: str | None = None, party_grid: str | None = None,
              subdistrict_id: int | None = None) -> tuple[MatchRun, BatchResult, list[Outcome]]:
    """Match the open needs of a scope (in one subdistrict: :func:`batch_subdistrict`) and store the
    proposals; returns the run, the engine's result and one outcome per need, for the workflow to record."""
    scope = f"grid:{grid}" if grid else f"party_grid:{party_grid}" if party_grid else "all"
    sid = batch_subdistrict(session, grid=grid, party_grid=party_grid, subdistrict_id=subdistrict_id)
    needs = needs_in_scope(session, grid=grid, party_grid=party_grid, subdistrict_id=sid)
    # The process's provider index of the subdistrict, brought up to date (not built again for every batch).
    entry = current_entry(session, sid)
    result = match_batch([need_view(n) for n in needs], entry.index, entry.grid_map)
    run, outcomes = store_batch(session, needs, result, scope, sid)
    return run, result, outcomes


def store_batch(session: Session, needs: list[Need], result: BatchResult, scope: str,
                subdistrict_id: int | None = None) -> tuple[MatchRun, list[Outcome]]:
    """A batch's result stored: one run with its figures, one proposal per matched need; one outcome per need.

    The proposals are written with one statement of many rows, not one ORM object each (a subdistrict's batch
    has thousands: the unit of work cost half a millisecond a row), then read back into the session: each one
    in its need's ``proposals``, so ``need.current_proposal`` and whoever is told next see it."""
    run = MatchRun(scope=scope, subdistrict_id=subdistrict_id,
                   stats={**result.stats.as_dict(), "unmatched": len(result.unmatched)})
    session.add(run)
    session.flush()  # the run's id, for its proposals
    rows, outcomes = [], []
    for need in needs:
        match = result.assignments.get(need.id)
        if match is not None:
            rows.append({"need_id": need.id, "match_run_id": run.id, **proposal_fields(match)})
            outcomes.append(Outcome(need, True, f"推荐 {match.provider_name}：{match.explanation}"))
        else:
            why = result.unmatched.get(need.id)
            outcomes.append(Outcome(need, False, why.reason_zh if why else "暂无合适服务方"))
    if rows:
        # Into the table (SQLAlchemy Core), not through the ORM's bulk insert: no ORM work per row, and every row
        # with the same columns (a resource's and a volunteer's), so one executemany sends them all.
        session.execute(insert(cast(Table, Proposal.__table__)), rows)
        _attach(session, needs, run)
    note_write(session)
    return run, outcomes


def _attach(session: Session, needs: list[Need], run: MatchRun) -> None:
    """The run's proposals, just written in bulk, loaded and put where the ORM would have put them: at the
    end of their need's loaded ``proposals`` (an unloaded collection loads them itself when read)."""
    by_id = {need.id: need for need in needs}
    for proposal in session.scalars(select(Proposal).where(Proposal.match_run_id == run.id).order_by(Proposal.id)):
        need = by_id[proposal.need_id]
        set_committed_value(proposal, "need", need)
        set_committed_value(proposal, "match_run", run)
        if "proposals" not in inspect(need).unloaded:
            set_committed_value(need, "proposals", [*need.proposals, proposal])
