"""A need's whole life through the HTTP API, each step taken by the account whose role it is, and the
audit trail and notifications it leaves. The cast (tests.factories.make_cast): resident res-a,
coordinator coord-g1 (grid G1), branch reviewer rev-pg1 (Party grid PG1, which holds G1), volunteer
vol-1 linked to V1 (G1, the best escort) and vol-2 linked to V2 (G2, the next best)."""
from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select, update

from models import AuditEntry, Need, utcnow
from tests.factories import ESCORT_TEXT, WEDNESDAY_MORNING, act, audit_of, notices_of, story_of

NEEDS = "/api/v1/needs"
SYSTEM = "系统"  # how the audit trail names the matcher and the scheduled jobs
CONTACT = "李女士 13812345678"



def submit(api: Any, **overrides: Any) -> dict[str, Any]:
    body = {"text": ESCORT_TEXT, "grid": "G1", "window": WEDNESDAY_MORNING, "contact": CONTACT, **overrides}
    response = api.post(NEEDS, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def run_matcher(api: Any, grid: str = "G1") -> dict[str, Any]:
    response = api.post("/api/v1/match", json={"grid": grid})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def ok(response: Any, status: str) -> dict[str, Any]:
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == status, body
    return body


def status_of(api: Any, need_id: int) -> str:
    response = api.get(f"{NEEDS}/{need_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["status"]


def proposed_provider(app: Any, need_id: int) -> str:
    """The ref of the provider the need is currently proposed to (read as the admin would)."""
    with app.app_context():
        from core.database import db_session
        proposal = db_session().get(Need, need_id).current_proposal
        return proposal.provider.ref if proposal else ""


def audit_count(session: Any, need_id: int) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.need_id == need_id))


@pytest.fixture
def proposed(as_: Any) -> dict[str, Any]:
    """A need of res-a in G1 that the matcher, run by coord-g1, proposed to V1."""
    need = submit(as_("res_a"))
    run_matcher(as_("coord_g1"))
    return need


@pytest.fixture
def done(as_: Any, proposed: dict[str, Any]) -> dict[str, Any]:
    """The proposed need, accepted, approved and reported done by V1."""
    ok(act(as_("coord_g1"), proposed["id"], "accept"), "accepted")
    ok(act(as_("rev_pg1"), proposed["id"], "approve"), "approved")
    ok(act(as_("vol_1"), proposed["id"], "report_done", hours=2), "done")
    return proposed


# --- the whole story ---------------------------------------------------------------------------------

def test_a_need_goes_from_submission_to_closed_with_each_step_taken_by_its_role_and_the_audit_tells_it(
        app, cast, as_):
    resident, coordinator, reviewer, volunteer = as_("res_a"), as_("coord_g1"), as_("rev_pg1"), as_("vol_1")

    need = submit(resident)
    assert need["service"] == "volunteer" and need["service_confidence"] >= 0.55  # classified, no triage
    assert need["status"] == "submitted" and need["contact"] == CONTACT

    match = run_matcher(coordinator)
    assert [(a["need_id"], a["provider_ref"]) for a in match["assignments"]] == [(need["id"], "V1")]
    assert status_of(resident, need["id"]) == "proposed"

    accepted = ok(act(coordinator, need["id"], "accept"), "accepted")
    assert accepted["status_label"] == "已接单" and "accept" not in accepted["allowed"]
    ok(act(reviewer, need["id"], "approve"), "approved")
    ok(act(volunteer, need["id"], "report_done", hours=2.5), "done")
    ok(act(resident, need["id"], "confirm", rating=5, reason="张师傅很耐心"), "closed")

    assert story_of(resident, need["id"]) == [
        ("res-a", "", "submitted"),
        (SYSTEM, "submitted", "proposed"),
        ("coord-g1", "proposed", "accepted"),
        ("rev-pg1", "accepted", "approved"),
        ("vol-1", "approved", "done"),
        ("res-a", "done", "closed"),
    ]
    entries = audit_of(resident, need["id"])
    assert all(e["reason"] for e in entries)
    assert "张小明" in entries[1]["reason"]  # the proposal names the provider
    assert entries[-1]["reason"] == "张师傅很耐心" and entries[-1]["to_label"] == "已办结"
    assert [e["actor_role"] for e in entries] == [
        "resident", "system", "coordinator", "reviewer", "volunteer", "resident"]
    with app.app_context():
        from core.database import db_session
        row = db_session().get(Need, need["id"])
        assert (row.rating, row.volunteer_hours) == (5, 2.5) and row.closed_at is not None


def test_each_step_notifies_whoever_acts_next(app, cast, as_):
    need = submit(as_("res_a"))
    ref = need["ref"]
    run_matcher(as_("coord_g1"))
    assert notices_of(app, cast.vol_1, f"{ref}：已推荐") and notices_of(app, cast.coord_g1, f"{ref}：已推荐")
    assert not notices_of(app, cast.rev_pg1, ref)

    act(as_("coord_g1"), need["id"], "accept")
    assert notices_of(app, cast.rev_pg1, f"{ref}：已接单")
    assert not notices_of(app, cast.rev_pg2, ref)  # another Party grid's branch is not told

    act(as_("rev_pg1"), need["id"], "approve")
    assert notices_of(app, cast.vol_1, f"{ref}：支部已审核") and notices_of(app, cast.res_a, f"{ref}：支部已审核")

    act(as_("vol_1"), need["id"], "report_done", hours=1)
    assert notices_of(app, cast.res_a, f"{ref}：已完成待确认")

    act(as_("res_a"), need["id"], "confirm", rating=4)
    assert notices_of(app, cast.vol_1, f"{ref}：已办结")
    # Nobody outside the need hears of it.
    for outsider in (cast.res_b, cast.vol_2, cast.vol_3, cast.coord_g3, cast.coord_pg2, cast.rev_pg2):
        assert not notices_of(app, outsider, ref), outsider.username


# --- decline, send back, reassign ------------------------------------------------------------------------

def test_a_decline_moves_on_to_the_next_best_provider_and_with_none_left_the_need_is_unmatched(app, cast, as_,
                                                                                                proposed):
    need_id = proposed["id"]
    assert proposed_provider(app, need_id) == "V1"

    ok(act(as_("vol_1"), need_id, "decline", reason="周三有事"), "proposed")
    assert proposed_provider(app, need_id) == "V2"
    assert notices_of(app, cast.vol_2, "已推荐")

    ok(act(as_("vol_2"), need_id, "decline", reason="不在本网格"), "unmatched")
    assert proposed_provider(app, need_id) == ""

    story = story_of(as_("res_a"), need_id)
    assert story[-2:] == [("vol-1", "proposed", "proposed"), ("vol-2", "proposed", "unmatched")]
    reasons = [e["reason"] for e in audit_of(as_("res_a"), need_id)[-2:]]
    assert "周三有事" in reasons[0] and "王芳" in reasons[0]
    assert "不在本网格" in reasons[1]


def test_a_coordinator_may_decline_for_the_provider(app, as_, proposed):
    ok(act(as_("coord_g1"), proposed["id"], "decline", reason="张小明住院了"), "proposed")

    assert proposed_provider(app, proposed["id"]) == "V2"


def test_the_reviewer_sends_an_accepted_need_back_with_a_reason_and_it_is_proposed_again(as_, proposed):
    ok(act(as_("coord_g1"), proposed["id"], "accept"), "accepted")

    without_reason = act(as_("rev_pg1"), proposed["id"], "send_back")
    assert without_reason.status_code == 422 and "reason" in without_reason.get_json()["error"]["fields"]
    ok(act(as_("rev_pg1"), proposed["id"], "send_back", reason="请先电话确认老人行动情况"), "proposed")

    last = audit_of(as_("res_a"), proposed["id"])[-1]
    assert (last["actor"], last["from_status"], last["to_status"], last["reason"]) == (
        "rev-pg1", "accepted", "proposed", "请先电话确认老人行动情况")
    ok(act(as_("coord_g1"), proposed["id"], "accept"), "accepted")  # and it can be accepted again


def test_the_reviewer_reassigns_the_need_to_a_named_provider(app, cast, as_, proposed):
    body = ok(act(as_("rev_pg1"), proposed["id"], "reassign", reason="由王芳就近服务",
                  provider={"kind": "volunteer", "id": cast.v2.id}), "proposed")

    assert body["id"] == proposed["id"] and proposed_provider(app, proposed["id"]) == "V2"
    assert story_of(as_("res_a"), proposed["id"])[-1] == ("rev-pg1", "proposed", "proposed")
    assert notices_of(app, cast.vol_2, "已推荐")
    # V1 no longer holds it: the need is V2's to accept.
    ok(act(as_("vol_2"), proposed["id"], "accept"), "accepted")


def test_reassigning_to_a_provider_that_does_not_fit_is_refused_and_changes_nothing(app, cast, as_, proposed,
                                                                                     session):
    before = audit_count(session, proposed["id"])

    v3 = {"kind": "volunteer", "id": cast.v3.id}  # a barber in G9, free only on Saturdays
    response = act(as_("rev_pg1"), proposed["id"], "reassign", provider=v3)

    assert response.status_code == 422 and "provider" in response.get_json()["error"]["fields"]
    assert proposed_provider(app, proposed["id"]) == "V1" and audit_count(session, proposed["id"]) == before


# --- cancel and reopen -------------------------------------------------------------------------------------

def test_the_resident_cancels_a_proposed_need_and_the_proposal_is_withdrawn(app, as_, proposed):
    ok(act(as_("res_a"), proposed["id"], "cancel", reason="家人可以陪了"), "cancelled")

    assert proposed_provider(app, proposed["id"]) == ""
    assert story_of(as_("res_a"), proposed["id"])[-1] == ("res-a", "proposed", "cancelled")


def test_the_resident_reopens_a_closed_need_within_the_reopen_days(as_, done):
    ok(act(as_("res_a"), done["id"], "confirm", rating=2, reason="迟到了"), "closed")

    ok(act(as_("res_a"), done["id"], "reopen", reason="还需要再陪一次"), "submitted")

    assert story_of(as_("res_a"), done["id"])[-1] == ("res-a", "closed", "submitted")


def test_reopening_after_the_reopen_days_is_refused_with_409_and_changes_nothing(app, as_, proposed, session):
    ok(act(as_("res_a"), proposed["id"], "cancel"), "cancelled")
    days = app.config["REOPEN_DAYS"]
    session.execute(update(Need).where(Need.id == proposed["id"])
                    .values(status_changed_at=utcnow() - timedelta(days=days, hours=1)))
    session.commit()
    before = audit_count(session, proposed["id"])

    response = act(as_("res_a"), proposed["id"], "reopen")

    assert response.status_code == 409, response.get_json()
    assert f"{days} 天" in response.get_json()["error"]["message"]
    assert status_of(as_("res_a"), proposed["id"]) == "cancelled"
    assert audit_count(session, proposed["id"]) == before


# --- refusals -----------------------------------------------------------------------------------------------

def test_an_illegal_transition_answers_409_listing_the_allowed_actions(as_, proposed, session):
    before = audit_count(session, proposed["id"])

    response = act(as_("rev_pg1"), proposed["id"], "approve")  # nobody accepted it yet

    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "illegal_transition" and error["status"] == "proposed"
    assert error["allowed"] == ["accept", "decline", "reassign", "cancel"]
    assert status_of(as_("res_a"), proposed["id"]) == "proposed"
    assert audit_count(session, proposed["id"]) == before


def test_an_unknown_action_is_refused_with_422(as_, proposed):
    response = act(as_("coord_g1"), proposed["id"], "teleport")

    assert response.status_code == 422 and "action" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("rating", [0, 6, 4.5, "5", True, None])
def test_confirming_with_a_rating_outside_one_to_five_is_refused_and_changes_nothing(as_, done, session,
                                                                                     rating):
    before = audit_count(session, done["id"])

    response = act(as_("res_a"), done["id"], "confirm", rating=rating)

    assert response.status_code == 422, response.get_json()
    assert "rating" in response.get_json()["error"]["fields"]
    assert status_of(as_("res_a"), done["id"]) == "done" and audit_count(session, done["id"]) == before


@pytest.mark.parametrize("hours", [0, -1, 337])
def test_reporting_done_with_impossible_hours_is_refused(as_, proposed, hours):
    ok(act(as_("coord_g1"), proposed["id"], "accept"), "accepted")
    ok(act(as_("rev_pg1"), proposed["id"], "approve"), "approved")

    response = act(as_("vol_1"), proposed["id"], "report_done", hours=hours)

    assert response.status_code == 422 and "hours" in response.get_json()["error"]["fields"]
    assert status_of(as_("res_a"), proposed["id"]) == "approved"


# --- the scheduled job --------------------------------------------------------------------------------------

def test_the_escalate_command_auto_closes_a_done_need_after_the_configured_days_and_not_before(
        app, as_, done, runner):
    app.config["AUTO_CLOSE_DAYS"] = 3
    # Aware times: the command reads a time without an offset as the subdistrict's.
    soon = (utcnow() + timedelta(days=2)).replace(tzinfo=timezone.utc)
    late = (utcnow() + timedelta(days=3, hours=1)).replace(tzinfo=timezone.utc)

    early = runner.invoke(args=["escalate", "--now", soon.isoformat()])
    assert early.exit_code == 0, early.output
    assert "自动办结 0 条" in early.output and status_of(as_("res_a"), done["id"]) == "done"

    result = runner.invoke(args=["escalate", "--now", late.isoformat()])

    assert result.exit_code == 0, result.output
    assert "自动办结 1 条" in result.output
    assert status_of(as_("res_a"), done["id"]) == "closed"
    last = audit_of(as_("res_a"), done["id"])[-1]
    assert (last["actor"], last["actor_role"], last["from_status"], last["to_status"]) == (
        SYSTEM, "system", "done", "closed")
    assert "3 天" in last["reason"] and "自动办结" in last["reason"]
    again = runner.invoke(args=["escalate", "--now", late.isoformat()])
    assert "自动办结 0 条" in again.output  # running it twice changes nothing


# --- the return visit (回访) ---------------------------------------------------------------------------------

def _done_hours_ago(session: Any, need_id: int, hours: float) -> None:
    session.execute(update(Need).where(Need.id == need_id).values(done_at=utcnow() - timedelta(hours=hours)))
    session.commit()


def test_a_coordinator_closes_an_unconfirmed_need_on_a_return_visit_with_the_residents_rating(
        app, as_, done, session):
    _done_hours_ago(session, done["id"], app.config["RETURN_VISIT_HOURS"] + 1)

    ok(act(as_("coord_g1"), done["id"], "return_visit", reason="电话回访，居民说很好", rating=4), "closed")

    session.expire_all()
    need = session.get(Need, done["id"])
    assert (need.rating, need.feedback) == (4, "回访：电话回访，居民说很好")
    last = audit_of(as_("res_a"), done["id"])[-1]
    assert (last["actor_role"], last["from_status"], last["to_status"]) == ("coordinator", "done", "closed")
    assert last["reason"] == "回访：电话回访，居民说很好"
    # The resident may still reopen it, as after their own confirmation.
    ok(act(as_("res_a"), done["id"], "reopen", reason="其实还没修好"), "submitted")


def test_a_return_visit_before_the_resident_had_their_hours_to_confirm_is_refused_and_changes_nothing(
        app, as_, done, session):
    before = audit_count(session, done["id"])

    response = act(as_("coord_g1"), done["id"], "return_visit", reason="回访")

    assert response.status_code == 409, response.get_json()
    assert f"{app.config['RETURN_VISIT_HOURS']:g} 小时后" in response.get_json()["error"]["message"]
    assert status_of(as_("res_a"), done["id"]) == "done" and audit_count(session, done["id"]) == before


def test_a_return_visit_needs_the_residents_answer_and_only_staff_who_arrange_make_it(app, as_, done, session):
    _done_hours_ago(session, done["id"], app.config["RETURN_VISIT_HOURS"] + 1)

    missing = act(as_("coord_g1"), done["id"], "return_visit", rating=5)
    assert missing.status_code == 422 and "reason" in missing.get_json()["error"]["fields"]
    bad = act(as_("coord_g1"), done["id"], "return_visit", reason="好", rating=9)
    assert bad.status_code == 422 and "rating" in bad.get_json()["error"]["fields"]
    for who in ("res_a", "vol_1", "rev_pg1"):
        assert act(as_(who), done["id"], "return_visit", reason="好").status_code == 403, who
    assert status_of(as_("res_a"), done["id"]) == "done"
