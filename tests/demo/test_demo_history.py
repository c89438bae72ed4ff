"""The demo's month of history: played through the workflow on a controlled clock, in order, within
the last 30 days, with needs at every step, and the same figures on the dashboard as in the reports."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from core.times import utcnow
from core.vocab import NeedStatus
from demo.seed import seed_demo
from models import AuditEntry, Need, Proposal, User


def test_the_demo_history_is_a_plausible_month_played_through_the_workflow(app, session):
    before = utcnow()
    lines = seed_demo(session, history=True)
    session.commit()
    after = utcnow()

    assert lines is not None and any("演示历史" in line for line in lines)
    needs = list(session.scalars(select(Need)))
    statuses = Counter(n.status for n in needs)
    for status in (NeedStatus.PROPOSED, NeedStatus.ACCEPTED, NeedStatus.APPROVED, NeedStatus.IN_SERVICE,
                   NeedStatus.DONE, NeedStatus.CLOSED):
        assert statuses[status] > 0, statuses
    assert 0.2 < statuses[NeedStatus.CLOSED] / len(needs) < 0.7
    trails: dict[int, list[AuditEntry]] = {}
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        trails.setdefault(entry.need_id, []).append(entry)
    for need in needs:
        assert before - timedelta(days=30) <= need.created_at <= after
        times = [e.at for e in trails[need.id]]
        assert times == sorted(times) and times[0] == need.created_at and times[-1] <= after, need.ref
        assert trails[need.id][-1].to_status == need.status
        if need.status == NeedStatus.CLOSED:
            assert need.created_at < need.matched_at < need.done_at < need.closed_at <= after
    volunteer = session.scalar(select(User).where(User.username == "volunteer"))
    assert session.scalar(select(func.count()).select_from(Proposal)
                          .where(Proposal.volunteer_id == volunteer.volunteer_id)) > 0  # 我的任务 is not empty


def test_without_history_the_demo_needs_wait_to_be_matched(app, session):
    seed_demo(session, history=False)

    statuses = {n.status for n in session.scalars(select(Need))}
    assert statuses <= {NeedStatus.SUBMITTED, NeedStatus.TRIAGE}
