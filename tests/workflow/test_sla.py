"""SLA targets and the scheduled escalation job, on a controlled clock."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from core.config import DEFAULT_SLA_CLOSE_HOURS as DEFAULT_CLOSE_HOURS
from core.config import DEFAULT_SLA_MATCH_HOURS as DEFAULT_MATCH_HOURS
from core.vocab import OPEN
from models import AuditEntry, Need, Notification, Proposal, User
from tests.factories import make_account, make_map, make_need, make_volunteer, table_counts
from workflow.service import apply_action, record, record_creation
from workflow.sla import (
    OVERDUE_MARK,
    SlaConfigError,
    late_ids,
    load_targets,
    overdue_needs,
    run_escalation,
    target_hours,
)

T0 = datetime(2026, 12, 1, 9, 0)  # naive UTC, as stored
ZEROS = {"escalated": 0, "failed_match": 0, "auto_closed": 0, "overdue": 0, "notified": 0}


# --- a need's story, told through the services with explicit times (shared by the workflow tests) ---

def submit(session: Any, ref: str, *, at: datetime, grid: str = "G1", urgency: str = "normal",
           service: str = "volunteer", text: str = "我妈周三上午要去医院复查，想找人陪一下") -> Need:
    need = make_need(session, ref=ref, grid=grid, urgency=urgency, service=service, text=text)
    need.created_at = need.status_changed_at = at
    record_creation(session, need, None)
    session.flush()
    return need


def fail_match(session: Any, need: Need, *, at: datetime, reason: str = "本网格及相邻网格暂无合适服务方") -> Need:
    need.unmatched_reason = reason
    return apply_action(session, need, "fail_match", None, reason=reason, now=at)


def propose(session: Any, need: Need, volunteer: Any, *, at: datetime) -> Proposal:
    """What the matcher does, without the matcher: one proposal and the move to proposed."""
    proposal = Proposal(volunteer_id=volunteer.id, rank=1, score=0.9, tier=1, status="proposed",
                        created_at=at)
    need.proposals.append(proposal)
    session.flush()
    record(session, need, "proposed", None, f"推荐 {volunteer.name}", now=at)
    session.flush()
    return proposal


def serve(session: Any, need: Need, volunteer: Any, staff: User, *, proposed: datetime, done: datetime,
          hours: float | None = None) -> Need:
    """Proposed, accepted and approved at ``proposed``; reported done at ``done``."""
    propose(session, need, volunteer, at=proposed)
    for action in ("accept", "approve"):
        apply_action(session, need, action, staff, now=proposed)
    return apply_action(session, need, "report_done", staff, hours=hours, now=done)


def reviewer(session: Any, username: str, party_grid: str) -> User:
    user = make_account(session, "reviewer", username, scope_type="party_grid")
    user.scope_codes = [party_grid]
    session.flush()
    return user


def notifications_of(session: Any, user: User, marker: str = "") -> list[Notification]:
    return list(session.scalars(select(Notification).where(Notification.user_id == user.id,
                                                           Notification.message.contains(marker))))


@pytest.fixture
def grid_map(session: Any) -> None:
    make_map(session)


@pytest.fixture
def volunteer(session: Any, grid_map: None) -> Any:
    return make_volunteer(session, capacity=5)


@pytest.fixture
def admin(session: Any) -> User:
    return make_account(session, "admin", "admin-sla")


# --- targets ---------------------------------------------------------------------------------------

def test_the_most_specific_target_wins_urgency_before_service_before_default():
    assert target_hours(DEFAULT_CLOSE_HOURS, "public", "urgent") == 24
    assert target_hours(DEFAULT_CLOSE_HOURS, "public", "normal") == 60
    assert target_hours(DEFAULT_CLOSE_HOURS, "social", "high") == 120
    assert target_hours({"default": 5, "public:low": 1, "low": 3}, "public", "low") == 1
    by_urgency = [target_hours(DEFAULT_MATCH_HOURS, "market", u) for u in ("urgent", "high", "normal", "low")]
    assert by_urgency == [2, 8, 24, 72]


def test_configured_targets_override_only_the_keys_they_name_and_may_be_json_text():
    targets = load_targets({"SLA_MATCH_HOURS": {"urgent": 1}, "SLA_CLOSE_HOURS": '{"public": 48}'})

    assert targets.match_hours["urgent"] == 1 and targets.match_hours["normal"] == 24
    assert targets.close_hours["public"] == 48 and targets.close_hours["urgent"] == 24


def test_targets_come_from_the_environment_through_the_configuration():
    from core.config import load_config
    config = load_config(environ={"SANKU_SLA_MATCH_HOURS": '{"low": 100}'})

    assert load_targets(config).match_hours["low"] == 100 and load_targets(config).match_hours["urgent"] == 2


@pytest.mark.parametrize("bad", [{"urgent": 0}, {"urgent": "two"}, "not json", [2]])
def test_a_target_that_is_not_a_positive_number_of_hours_is_refused(bad):
    with pytest.raises(SlaConfigError):
        load_targets({"SLA_MATCH_HOURS": bad})


# --- (a) escalation to the grid council ------------------------------------------------------------

def test_an_urgent_unmatched_need_goes_to_the_council_after_two_hours_and_not_before(session, grid_map):
    need = submit(session, "N-URG", at=T0, urgency="urgent")
    fail_match(session, need, at=T0 + timedelta(minutes=5))

    early = run_escalation(session, now=T0 + timedelta(hours=2), config={})
    assert early["escalated"] == 0 and need.status == "unmatched"

    late = run_escalation(session, now=T0 + timedelta(hours=2, minutes=1), config={})
    assert late["escalated"] == 1
    assert need.status == "escalated" and need.escalation_level == 2
    assert need.status_changed_at == T0 + timedelta(hours=2, minutes=1)


def test_a_need_still_submitted_past_its_target_fails_to_match_then_goes_to_the_council(session, grid_map):
    need = submit(session, "N-SUB", at=T0, urgency="normal")

    summary = run_escalation(session, now=T0 + timedelta(hours=25), config={})

    trail = session.scalars(select(AuditEntry).where(AuditEntry.need_id == need.id)
                            .order_by(AuditEntry.id)).all()
    assert [(e.from_status, e.to_status) for e in trail] == [
        ("", "submitted"), ("submitted", "unmatched"), ("unmatched", "escalated")]
    assert all(e.actor_id is None and e.actor_role == "system" for e in trail[1:])
    assert "超过匹配时限" in trail[1].reason and "网格议事会" in trail[2].reason
    assert "24 小时" in need.unmatched_reason
    assert summary["escalated"] == 1 and summary["failed_match"] == 1


def test_a_low_urgency_need_waits_three_days_before_it_is_escalated(session, grid_map):
    need = submit(session, "N-LOW", at=T0, urgency="low")

    run_escalation(session, now=T0 + timedelta(hours=71), config={})
    assert need.status == "submitted"
    run_escalation(session, now=T0 + timedelta(hours=73), config={})
    assert need.status == "escalated"


def test_a_matched_need_is_never_escalated(session, volunteer):
    need = submit(session, "N-OK", at=T0, urgency="urgent")
    propose(session, need, volunteer, at=T0 + timedelta(hours=1))

    assert run_escalation(session, now=T0 + timedelta(hours=5), config={})["escalated"] == 0
    assert need.status == "proposed"


# --- (b) automatic closing ------------------------------------------------------------------------

def test_a_done_need_closes_itself_after_the_configured_days_without_the_residents_confirmation(
        session, volunteer, admin):
    done_at = T0 + timedelta(hours=6)
    need = serve(session, submit(session, "N-DONE", at=T0), volunteer, admin,
                 proposed=T0 + timedelta(hours=1), done=done_at)
    config = {"AUTO_CLOSE_DAYS": 3}

    assert run_escalation(session, now=done_at + timedelta(days=3), config=config)["auto_closed"] == 0
    assert need.status == "done"

    closing = done_at + timedelta(days=3, minutes=1)
    assert run_escalation(session, now=closing, config=config)["auto_closed"] == 1
    assert need.status == "closed" and need.closed_at == closing
    last = session.scalars(select(AuditEntry).where(AuditEntry.need_id == need.id)
                           .order_by(AuditEntry.id.desc())).first()
    assert last.to_status == "closed" and last.actor_role == "system" and "自动办结" in last.reason


def test_without_configuration_a_done_need_closes_after_seven_days(session, volunteer, admin):
    done_at = T0 + timedelta(hours=6)
    need = serve(session, submit(session, "N-7D", at=T0), volunteer, admin, proposed=T0, done=done_at)

    run_escalation(session, now=done_at + timedelta(days=6, hours=23), config={})
    assert need.status == "done"
    run_escalation(session, now=done_at + timedelta(days=7, hours=1), config={})
    assert need.status == "closed"


# --- (c) overdue ------------------------------------------------------------------------------------

def test_an_overdue_need_notifies_its_branch_reviewers_once_and_no_one_else(session, volunteer):
    own, other = reviewer(session, "rev-pg1", "PG1"), reviewer(session, "rev-pg2", "PG2")
    need = submit(session, "N-LATE", at=T0, service="public", text="小区门口路灯坏了一个月")
    propose(session, need, volunteer, at=T0 + timedelta(hours=1))

    assert run_escalation(session, now=T0 + timedelta(hours=59), config={})["overdue"] == 0
    first = run_escalation(session, now=T0 + timedelta(hours=61), config={})
    again = run_escalation(session, now=T0 + timedelta(hours=90), config={})

    assert first["overdue"] == 1 and first["notified"] == 1
    assert again["overdue"] == 0 and again["notified"] == 0
    notes = notifications_of(session, own, "逾期")
    assert len(notes) == 1 and need.ref in notes[0].message and notes[0].need_id == need.id
    assert notifications_of(session, other, "逾期") == []


def test_an_overdue_need_of_a_party_grid_without_reviewers_is_still_flagged_only_once(session, grid_map):
    need = submit(session, "N-NOREV", at=T0, grid="G3", service="social")
    need.status = "triage"  # waiting for a person: never escalated, but it can be overdue

    assert run_escalation(session, now=T0 + timedelta(days=6), config={})["overdue"] == 1
    assert run_escalation(session, now=T0 + timedelta(days=7), config={})["overdue"] == 0
    flags = session.scalars(select(AuditEntry).where(AuditEntry.need_id == need.id,
                                                     AuditEntry.reason.startswith(OVERDUE_MARK))).all()
    assert len(flags) == 1 and flags[0].from_status == flags[0].to_status == "triage"


def test_overdue_needs_are_the_open_ones_past_their_close_target(session, volunteer, admin):
    public = submit(session, "N-PUB", at=T0, service="public")
    urgent = submit(session, "N-URG2", at=T0, urgency="urgent", service="volunteer")
    social = submit(session, "N-SOC", at=T0, service="social")
    cancelled = submit(session, "N-CAN", at=T0, service="public")
    apply_action(session, cancelled, "cancel", admin, now=T0 + timedelta(hours=1))
    for need in (public, urgent, social):
        propose(session, need, volunteer, at=T0 + timedelta(hours=1))

    at_30h = [n.ref for n in overdue_needs(session, T0 + timedelta(hours=30), {})]
    at_61h = [n.ref for n in overdue_needs(session, T0 + timedelta(hours=61), {})]

    assert at_30h == ["N-URG2"]
    assert sorted(at_61h) == ["N-PUB", "N-URG2"]


# --- the job as a whole -------------------------------------------------------------------------------

def test_running_the_job_twice_in_a_row_changes_nothing_the_second_time(session, volunteer, admin):
    reviewer(session, "rev-twice", "PG1")
    fail_match(session, submit(session, "N-A", at=T0, urgency="high"), at=T0)
    submit(session, "N-B", at=T0, grid="G2")
    serve(session, submit(session, "N-C", at=T0), volunteer, admin, proposed=T0, done=T0 + timedelta(hours=2))
    now = T0 + timedelta(days=8)

    first = run_escalation(session, now=now, config={})
    before = table_counts(session)
    second = run_escalation(session, now=now, config={})

    assert first["escalated"] == 2 and first["auto_closed"] == 1 and first["overdue"] == 2
    assert second == ZEROS
    assert table_counts(session) == before


def test_the_escalate_command_runs_at_a_given_time_and_reports_its_counts(app, runner, session):
    make_map(session)
    fail_match(session, submit(session, "N-CLI", at=datetime(2026, 12, 10, 7, 0), urgency="urgent"),
               at=datetime(2026, 12, 10, 7, 5))
    session.commit()

    # The flask command line pushes an app context for every command; the test runner only for
    # commands marked with_appcontext, which ``escalate`` is not (yet).
    with app.app_context():
        # Without an offset, --now is the subdistrict's time: 18:00 in Shenzhen is 10:00 UTC, past
        # the urgent need's two hours (it failed to match at 07:05 UTC).
        result = runner.invoke(args=["escalate", "--now", "2026-12-10T18:00"])
        again = runner.invoke(args=["escalate", "--now", "2026-12-10T10:00+00:00"])

    assert result.exit_code == 0, result.output
    assert "提交议事会 1 条" in result.output and "自动办结 0 条" in result.output
    assert session.scalar(select(Need.status).where(Need.ref == "N-CLI")) == "escalated"
    assert "提交议事会 0 条" in again.output and "标记逾期 0 条" in again.output


def test_no_counts_are_reported_for_an_empty_needs_pool(session):
    assert run_escalation(session, now=T0, config={}) == ZEROS
    assert session.scalar(select(func.count()).select_from(Notification)) == 0


def test_the_late_needs_read_as_rows_are_those_past_their_own_target(session, grid_map):
    """late_ids narrows what the job loads; it must keep every need past its target, for every pair
    of service (or none yet) and urgency, and leave out those not yet due."""
    table = load_targets().close_hours
    needs = []
    for k, (service, urgency) in enumerate([(s, u) for s in (None, "public", "social", "market", "volunteer")
                                            for u in ("low", "normal", "high", "urgent")]):
        for late in (True, False):
            hours = target_hours(table, service, urgency) + (0.5 if late else -0.5)
            need = submit(session, f"P{k:02d}{'L' if late else 'E'}", at=T0 - timedelta(hours=hours),
                          urgency=urgency, service=service or "public")
            need.service = service
            needs.append((need, late))
    session.flush()
    assert set(late_ids(session, table, T0, OPEN)) == {n.id for n, late in needs if late}
