"""A batch writes its proposals, audit entries, statuses and notifications in bulk
(``dispatch.batch.store_batch``, ``workflow.service.record_match_outcomes``): the rows must be those the
one-need path writes through the ORM (a proposal row added, ``record_match_outcome`` and ``next_actors`` per
need), and the session's needs must show them right after the batch, as callers read them (the API's
answer, the simulation's ``outcome.need.current_proposal``)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.times import controlled_clock
from core.vocab import LIVE_PROPOSAL
from dispatch.batch import Outcome, needs_in_scope
from dispatch.index_cache import current_entry
from dispatch.proposals import proposal_row
from dispatch.views import need_view
from matching.engine import match_batch
from models import AuditEntry, MatchRun, Need, Notification, Proposal
from tests.factories import make_need
from workflow.service import match_scope, record_match_outcome

AT = datetime(2027, 3, 3, 2, 0)  # the controlled clock of both runs, so their timestamps compare


def _waiting(session: Session, cast: Any) -> None:
    """Needs V1 and V2 can take, needs nobody can, and one already unmatched (it stays, its reason renewed)."""
    make_need(session, ref="N-C", grid="G1", text="想找人教我弹钢琴", service="social")
    session.flush()
    with controlled_clock(lambda: datetime(2027, 3, 1)):
        match_scope(session)  # N-C: unmatched
    make_need(session, ref="N-A", grid="G1")
    make_need(session, ref="N-B", grid="G2")
    make_need(session, ref="N-D", grid="G9", text="家里需要换锁", service="market")
    make_need(session, ref="N-E", grid="G1", text="周三上午想找人陪我去医院拿药")
    session.flush()


def _one_by_one(session: Session) -> None:
    """The batch as the one-need path writes it: each proposal an ORM row, each outcome recorded and told."""
    needs = needs_in_scope(session)
    entry = current_entry(session, needs[0].grid.subdistrict_id)
    result = match_batch([need_view(n) for n in needs], entry.index, entry.grid_map)
    run = MatchRun(scope="all", subdistrict_id=needs[0].grid.subdistrict_id,
                   stats={**result.stats.as_dict(), "unmatched": len(result.unmatched)})
    session.add(run)
    for need in needs:
        match = result.assignments.get(need.id)
        if match is not None:
            session.add(proposal_row(need, match, run=run))
            outcome = Outcome(need, True, f"推荐 {match.provider_name}：{match.explanation}")
        else:
            why = result.unmatched.get(need.id)
            outcome = Outcome(need, False, why.reason_zh if why else "暂无合适服务方")
        moved = record_match_outcome(session, need, outcome.proposed, outcome.reason)
        assert moved is None or need.status == moved
    session.flush()


def _written(session: Session, after: tuple[int, int, int]) -> dict[str, Any]:
    """What the batch wrote, read from the database (not the session's objects), ids left out."""
    session.expire_all()
    refs = dict(session.execute(select(Need.id, Need.ref)).all())
    proposals, audit, notes = after
    return {
        "proposals": sorted(
            (refs[p.need_id], p.resource_id, p.volunteer_id, p.rank, p.score, p.tier, p.features, p.explanation,
             p.status, p.review_required, p.service, p.created_at, p.decided_at, p.decline_reason, p.match_run.scope)
            for p in session.scalars(select(Proposal).where(Proposal.id > proposals))),
        "audit": sorted((refs[a.need_id], a.actor_id, a.actor_role, a.at, a.from_status, a.to_status, a.reason)
                        for a in session.scalars(select(AuditEntry).where(AuditEntry.id > audit))),
        "notifications": sorted(
            (n.user_id, refs[n.need_id], n.message, n.created_at, n.delivered, n.attempts, n.read_at)
            for n in session.scalars(select(Notification).where(Notification.id > notes))),
        "needs": sorted((n.ref, n.status, n.status_changed_at, n.matched_at, n.unmatched_reason, n.escalation_level,
                         n.updated_at) for n in session.scalars(select(Need))),
    }


def _marks(session: Session) -> tuple[int, int, int]:
    return tuple(session.scalar(select(m.id).order_by(m.id.desc()).limit(1)) or 0  # type: ignore[return-value]
                 for m in (Proposal, AuditEntry, Notification))


def test_a_batch_writes_the_rows_the_one_need_path_writes(session, cast):
    _waiting(session, cast)
    marks = _marks(session)
    reference = session.begin_nested()
    with controlled_clock(lambda: AT):
        _one_by_one(session)
    expected = _written(session, marks)
    reference.rollback()

    with controlled_clock(lambda: AT):
        match_scope(session)
    written = _written(session, marks)

    assert written == expected
    # What the comparison stands on: both kinds of outcome, a need that stayed, the staff and a volunteer told.
    assert {row[0] for row in written["proposals"]} == {"N-A", "N-B", "N-E"}
    assert {(row[0], row[4], row[5]) for row in written["audit"]} == {
        ("N-A", "submitted", "proposed"), ("N-B", "submitted", "proposed"), ("N-E", "submitted", "proposed"),
        ("N-D", "submitted", "unmatched")}
    assert {row[0] for row in written["notifications"]} >= {cast.vol_1.id, cast.coord_g1.id}
    states = {row[0]: row for row in written["needs"]}
    assert states["N-C"][1] == "unmatched" and states["N-C"][2] == datetime(2027, 3, 1)  # stayed: no new move
    assert states["N-D"][5] == 1 and states["N-D"][3] is None and states["N-A"][3] == AT


def test_the_sessions_needs_show_the_batch_at_once(session, cast):
    _waiting(session, cast)
    needs = {n.ref: n for n in needs_in_scope(session)}  # the objects a caller holds, as loaded before the batch
    with controlled_clock(lambda: AT):
        match_scope(session)

    assert not session.dirty and not session.new  # nothing pending: the objects agree with the rows
    rows = {r.ref: r for r in session.execute(select(Need.__table__)).all()}
    live = dict(session.execute(select(Proposal.need_id, Proposal.id).where(Proposal.status.in_(LIVE_PROPOSAL))
                                .order_by(Proposal.id)).all())
    for ref, need in needs.items():
        row = rows[ref]
        assert (need.status, need.status_changed_at, need.matched_at, need.unmatched_reason, need.escalation_level,
                need.updated_at) == (row.status, row.status_changed_at, row.matched_at, row.unmatched_reason,
                                     row.escalation_level, row.updated_at)
        current = need.current_proposal
        assert (current.id if current is not None else None) == live.get(need.id)
        assert [p.id for p in need.proposals] == list(session.scalars(
            select(Proposal.id).where(Proposal.need_id == need.id).order_by(Proposal.rank, Proposal.id)))
        if current is not None:
            assert current.need is need and current.match_run is not None
    assert needs["N-A"].status == "proposed" and needs["N-A"].current_proposal.volunteer_id == cast.v1.id
    assert needs["N-D"].status == "unmatched" and needs["N-D"].current_proposal is None
