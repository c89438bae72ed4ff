"""The grid Party branch's pages: the review queue of the branch's scope (approve, send back with a
reason, reassign) and the grid council's meeting, where each item's decision and who takes it are
recorded, printable afterwards as the minutes. The cast (tests.factories.make_cast): reviewers rev-pg1
(PG1: G1, G2) and rev-pg2 (PG2: G3, G9); volunteers V1 (G1) and V2 (G2, the next best escort)."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from models import AccessRecord, AuditEntry, CouncilDecision, Need
from tests.factories import ESCORT_TEXT, make_need
from tests.pages.helpers import Browser, field_errors
from tests.workflow.test_sla import propose
from workflow.service import apply_action, record_creation

MEETING = "2026-12-10"
EXPLANATION = "同网格 · 技能：陪诊（“陪一下”） · 当前任务 0/2"


def _need(session: Any, ref: str, grid: str = "G1", contact: str = "李女士 13912345678") -> Need:
    need = make_need(session, ref=ref, grid=grid, text=ESCORT_TEXT, contact=contact)
    record_creation(session, need, None)
    session.flush()
    return need


def _accepted(session: Any, ref: str, volunteer: Any, staff: Any, grid: str = "G1") -> Need:
    """A need of ``grid`` proposed to ``volunteer`` and accepted: waiting for the branch's review."""
    need = _need(session, ref, grid)
    proposal = propose(session, need, volunteer, at=need.created_at)
    proposal.explanation = EXPLANATION
    return apply_action(session, need, "accept", staff)


@pytest.fixture
def queue(session: Any, cast: Any) -> dict[str, Need]:
    """PG1: N-WAIT accepted by V1 (waiting for review), N-ASKED only proposed; PG2: N-AWAY accepted."""
    needs = {"wait": _accepted(session, "N-WAIT", cast.v1, cast.admin),
             "away": _accepted(session, "N-AWAY", cast.v1, cast.admin, grid="G3")}
    asked = _need(session, "N-ASKED")
    propose(session, asked, cast.v2, at=asked.created_at)
    needs["asked"] = asked
    session.commit()
    return needs


def status_of(session: Any, need: Need) -> str:
    session.expire_all()
    return str(session.get(Need, need.id).status)


def audit_count(session: Any, need: Need) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.need_id == need.id))


# --- the review queue ----------------------------------------------------------------------------------

def test_the_review_queue_shows_only_the_scopes_needs_waiting_for_review(app, as_, queue):
    response = as_("rev_pg1").get("/review")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "N-WAIT" in html and "N-AWAY" not in html and "N-ASKED" not in html
    assert "张小明" in html  # the provider who accepted it, with the proposal's explanation
    assert EXPLANATION in html
    assert f'/needs/{queue["wait"].id}?back=' in html  # the staff page of the need
    assert "待审核 <strong>1</strong>" in html  # the counts at the top
    assert f'action="/review/{queue["wait"].id}/approve"' in html
    assert f'action="/review/{queue["wait"].id}/send_back"' in html

    everything = as_("admin").get("/review").get_data(as_text=True)
    assert "N-WAIT" in everything and "N-AWAY" in everything and "N-ASKED" not in everything


def test_the_branch_reads_the_contact_masked_and_reveals_it_with_a_reason(app, session, cast, as_):
    # access.policy.sees_contact: staff see contacts masked; the full number is an explicit, recorded act.
    need = _accepted(session, "N-CONTACT", cast.v1, cast.admin)
    session.commit()
    from tests.pages.helpers import Browser
    branch = Browser(app).login("rev-pg1")

    html = branch.get("/review").get_data(as_text=True)
    page = branch.get(f"/needs/{need.id}")
    no_reason = branch.post(f"/needs/{need.id}/contact", {"reason": ""})
    revealed = branch.post(f"/needs/{need.id}/contact", {"reason": "电话确认老人情况"})

    assert "李女士 139****5678" in html and "13912345678" not in html
    assert need.ref in html
    assert "13912345678" not in page.get_data(as_text=True)
    assert no_reason.status_code == 422 and "13912345678" not in no_reason.get_data(as_text=True)
    assert revealed.status_code == 200 and "李女士 13912345678" in revealed.get_data(as_text=True)


def test_approving_moves_the_need_to_approved_and_comes_back_to_the_queue(app, session, as_, queue):
    reviewer = as_("rev_pg1")

    response = reviewer.post(f"/review/{queue['wait'].id}/approve", data={"back": "/review?sort=urgent"})

    assert response.status_code == 302 and response.location == "/review?sort=urgent"
    assert status_of(session, queue["wait"]) == "approved"
    assert "已审核通过需求 N-WAIT" in reviewer.get(response.location).get_data(as_text=True)


def test_an_action_returns_only_to_the_review_queue(app, session, as_, queue):
    response = as_("rev_pg1").post(f"/review/{queue['wait'].id}/approve", data={"back": "https://evil.example/"})

    assert response.status_code == 302 and response.location == "/review"


def test_sending_back_without_a_reason_says_why_beside_the_field_and_changes_nothing(app, session, as_, queue):
    need = queue["wait"]
    before = audit_count(session, need)

    response = as_("rev_pg1").post(f"/review/{need.id}/send_back", data={"reason": "   "})

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_errors(html) == ["错误：退回须说明理由"]
    assert 'href="#f-reason"' in html and 'id="f-reason"' in html and 'aria-invalid="true"' in html
    assert status_of(session, need) == "accepted" and audit_count(session, need) == before


def test_sending_back_with_a_reason_returns_the_need_to_proposed(app, session, as_, queue):
    need = queue["wait"]
    reviewer = as_("rev_pg1")

    response = reviewer.post(f"/review/{need.id}/send_back", data={"reason": "请确认周三上午是否有空"})

    assert response.status_code == 302 and response.location == "/review"
    assert status_of(session, need) == "proposed"
    assert "已退回需求 N-WAIT" in reviewer.get("/review").get_data(as_text=True)
    reasons = session.scalars(select(AuditEntry.reason).where(AuditEntry.need_id == need.id)).all()
    assert reasons[-1] == "请确认周三上午是否有空"


def test_reassigning_lists_the_ranked_alternatives_and_moves_the_need_to_the_one_chosen(
        app, session, cast, as_, queue):
    need = queue["wait"]
    reviewer = as_("rev_pg1")

    page = reviewer.get(f"/review/{need.id}").get_data(as_text=True)
    assert "王芳" in page and "改派给 王芳" in page  # V2, next door
    assert f'name="provider_id" value="{cast.v2.id}"' in page
    assert f'name="provider_id" value="{cast.v1.id}"' not in page  # the provider it has is no alternative

    response = reviewer.post(f"/review/{need.id}/reassign",
                             data={"provider_kind": "volunteer", "provider_id": str(cast.v2.id)})

    assert response.status_code == 302 and response.location == "/review"
    session.expire_all()
    moved = session.get(Need, need.id)
    assert moved.status == "proposed" and moved.current_proposal.volunteer_id == cast.v2.id
    assert "已将需求 N-WAIT 改派给 王芳" in reviewer.get("/review").get_data(as_text=True)


def test_reassigning_to_a_provider_that_does_not_fit_says_why_and_changes_nothing(app, session, cast, as_, queue):
    need = queue["wait"]

    response = as_("rev_pg1").post(f"/review/{need.id}/reassign",
                                   data={"provider_kind": "volunteer", "provider_id": str(cast.v3.id)})  # a barber

    assert response.status_code == 422
    assert "该服务方不符合条件" in response.get_data(as_text=True)
    assert status_of(session, need) == "accepted"


def test_a_refused_move_is_flashed_and_changes_nothing(app, session, as_, queue):
    reviewer = as_("rev_pg1")
    reviewer.post(f"/review/{queue['wait'].id}/approve")

    again = reviewer.post(f"/review/{queue['wait'].id}/approve")

    assert again.status_code == 302
    assert "需求 N-WAIT：" in reviewer.get("/review").get_data(as_text=True)
    assert status_of(session, queue["wait"]) == "approved"


def test_a_reviewer_of_another_party_grid_gets_404_for_a_need_outside_their_scope(app, session, as_, queue):
    need = queue["wait"]
    other = as_("rev_pg2")

    assert other.post(f"/review/{need.id}/approve").status_code == 404
    assert other.get(f"/review/{need.id}").status_code == 404
    assert status_of(session, need) == "accepted"


def test_only_reviewers_and_admins_open_the_review_queue(app, as_, queue):
    assert as_("coord_g1").get("/review").status_code == 403
    assert as_("res_a").get("/review").status_code == 403
    assert as_("admin").get("/review").status_code == 200


def test_an_unknown_action_is_404(app, session, as_, queue):
    assert as_("rev_pg1").post(f"/review/{queue['wait'].id}/cancel").status_code == 404
    assert status_of(session, queue["wait"]) == "accepted"


def test_a_cookie_session_must_send_the_pages_csrf_token(app, session, queue):
    branch = Browser(app).login("rev-pg1")
    branch.get("/review")

    refused = branch.post(f"/review/{queue['wait'].id}/approve", {}, token=False)
    assert refused.status_code == 403
    assert status_of(session, queue["wait"]) == "accepted"

    done = branch.post(f"/review/{queue['wait'].id}/approve", {})
    assert done.status_code == 302
    assert status_of(session, queue["wait"]) == "approved"


# --- the grid council ----------------------------------------------------------------------------------

@pytest.fixture
def escalated(session: Any, cast: Any) -> Need:
    """A need of PG1 (G1) the grid could not serve, sent to the council."""
    need = _need(session, "N-COUNCIL", contact="王大爷")
    need.text = "独居老人家里灯坏了，想请人来修，电话13812345678"
    need.unmatched_reason = "本网格及相邻网格暂无电工"
    apply_action(session, need, "fail_match", None, reason=need.unmatched_reason)
    apply_action(session, need, "escalate", None)
    session.commit()
    return need


def _record(client: Any, need: Need, **fields: str) -> Any:
    data = {"need": str(need.id), "date": MEETING, "start": "", "end": ""}
    data |= {f"{name}-{need.id}": value for name, value in fields.items()}
    return client.post("/council/PG1/meeting", data=data)


def test_the_council_list_shows_the_reviewers_party_grids_only(app, as_, escalated):
    html = as_("rev_pg1").get("/council").get_data(as_text=True)

    assert "/council/PG1/meeting" in html and "/council/PG2/meeting" not in html
    everything = as_("admin").get("/council").get_data(as_text=True)
    assert "/council/PG1/meeting" in everything and "/council/PG2/meeting" in everything
    assert 'name="code"' in everything  # the admin's picker
    picked = as_("admin").get("/council?code=PG2")
    assert picked.status_code == 302 and picked.location == "/council/PG2/meeting"
    unknown = as_("admin").get("/council?code=PG404")
    assert unknown.status_code == 422 and field_errors(unknown.get_data(as_text=True)) == ["错误：请从列表中选择一个党建网格"]


def test_the_meeting_page_lists_the_agenda_with_a_form_per_need(app, as_, escalated):
    response = as_("rev_pg1").get(f"/council/PG1/meeting?date={MEETING}")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "N-COUNCIL" in html and "138****5678" in html and "13812345678" not in html
    assert f'name="decision-{escalated.id}"' in html and f'name="taker-{escalated.id}"' in html
    assert f'name="need" value="{escalated.id}"' in html


def test_a_decision_recorded_at_the_meeting_is_in_the_printable_minutes(app, session, as_, escalated):
    branch = as_("rev_pg1")

    response = _record(branch, escalated, decision="请社区物业维修班明天上门修灯", taker="社区物业维修班",
                       due="2026-12-12")

    assert response.status_code == 302
    assert response.location.startswith("/council/PG1/meeting?") and f"date={MEETING}" in response.location
    minutes = branch.get(f"/council/PG1/minutes?date={MEETING}")
    html = minutes.get_data(as_text=True)
    assert minutes.status_code == 200
    assert "网格议事会会议纪要" in html and "2026年12月10日" in html
    assert "请社区物业维修班明天上门修灯" in html and "社区物业维修班" in html and "2026-12-12" in html
    assert "N-COUNCIL" in html and "138****5678" in html  # the item's snapshot, the number masked
    assert "reviewer.css" in html  # the print stylesheet

    csv = branch.get(f"/council/PG1/minutes?date={MEETING}&format=csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "请社区物业维修班明天上门修灯" in csv.get_data().decode("utf-8-sig")
    assert "13812345678" not in csv.get_data().decode("utf-8-sig")  # numbers masked in the export too
    session.expire_all()
    export = session.scalar(select(AccessRecord).where(AccessRecord.what == "export"))
    assert (export.user.username, export.count, export.via) == ("rev-pg1", 1, "GET /council/PG1/minutes")


def test_recording_the_same_need_again_at_the_meeting_updates_it(app, session, as_, escalated):
    branch = as_("rev_pg1")
    _record(branch, escalated, decision="先联系家属", taker="网格员小王")

    _record(branch, escalated, decision="请物业维修班上门", taker="物业维修班")

    rows = session.scalars(select(CouncilDecision).where(CouncilDecision.need_id == escalated.id)).all()
    assert [(r.decision, r.taker) for r in rows] == [("请物业维修班上门", "物业维修班")]


def test_a_decision_without_its_words_says_why_beside_the_field_and_keeps_the_text(app, session, as_, escalated):
    response = _record(as_("rev_pg1"), escalated, decision=" ", taker="社区物业维修班", due="2026-12-01")

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert field_errors(html) == ["错误：请写下议定事项"]
    assert f'href="#f-decision-{escalated.id}"' in html
    assert 'value="社区物业维修班"' in html  # the user's text kept
    assert session.scalar(select(func.count()).select_from(CouncilDecision)) == 0


def test_a_due_date_before_the_meeting_is_refused(app, session, as_, escalated):
    response = _record(as_("rev_pg1"), escalated, decision="上门修灯", taker="物业", due="2026-12-01")

    assert response.status_code == 422
    assert "错误：完成时限不能早于会议日期" in field_errors(response.get_data(as_text=True))


def test_another_item_of_the_meeting_is_recorded_without_a_need(app, session, as_, escalated):
    branch = as_("rev_pg1")
    response = branch.post("/council/PG1/meeting", data={
        "date": MEETING, "item-other": "楼道堆物整治", "decision-other": "本周末集中清理", "taker-other": "楼栋长"})

    assert response.status_code == 302
    assert "楼道堆物整治" in branch.get(f"/council/PG1/minutes?date={MEETING}").get_data(as_text=True)


def test_the_council_of_another_party_grid_is_refused(app, session, as_, escalated):
    other = as_("rev_pg2")

    assert other.get("/council/PG1/meeting").status_code == 403
    assert other.get("/council/PG1/minutes").status_code == 403
    assert _record(other, escalated, decision="x", taker="y").status_code == 403
    assert other.get("/council/PG404/meeting").status_code == 404
    assert session.scalar(select(func.count()).select_from(CouncilDecision)) == 0


def test_a_coordinator_of_the_party_grid_may_record_and_a_resident_may_not(app, session, as_, escalated):
    assert as_("coord_pg2").get("/council/PG2/meeting").status_code == 200
    assert as_("coord_g1").get("/council/PG1/meeting").status_code == 403  # scoped to a grid, not the Party grid
    assert as_("res_a").get("/council").status_code == 403


def test_a_bad_date_is_named_beside_its_field(app, as_, escalated):
    meeting = as_("rev_pg1").get("/council/PG1/meeting?date=2026-13-01&start=yesterday")
    minutes = as_("rev_pg1").get("/council/PG1/minutes?date=12/10")

    assert meeting.status_code == 422 and minutes.status_code == 422
    assert "错误：日期格式应为 YYYY-MM-DD" in field_errors(meeting.get_data(as_text=True))
    assert 'value="2026-13-01"' in meeting.get_data(as_text=True)
    assert 'value="12/10"' in minutes.get_data(as_text=True)


def test_the_existing_printable_agenda_still_answers(app, as_, escalated):
    response = as_("rev_pg1").get("/council/PG1")

    assert response.status_code == 200 and "网格议事会议程" in response.get_data(as_text=True)
