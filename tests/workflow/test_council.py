"""The grid council agenda (网格议事会议程): what it lists, and who may read it."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.errors import NotFound
from models import User
from tests.factories import error_of, make_account, make_map, make_volunteer, signed_in
from tests.workflow.test_sla import fail_match, propose, reviewer, serve, submit
from workflow.council import agenda, mentioned_skills, skill_gaps
from workflow.service import apply_action

T0 = datetime(2026, 12, 1, 9, 0)
NOW = datetime(2026, 12, 10, 12, 0)
START, END = date(2026, 12, 1), date(2026, 12, 10)
PERIOD = {"start": "2026-12-01", "end": "2026-12-10"}


@pytest.fixture
def story(session: Any) -> dict[str, Any]:
    """PG1 (G1, G2): a counselling need sent to the council, a street light waiting, a visit held by a
    volunteer at capacity, one need closed; the ten days before: one closed, one unmatched. PG2 (G3):
    a need of its own sent to the council."""
    make_map(session)
    busy = make_volunteer(session, ref="V1", name="张小明", capacity=1)
    spare = make_volunteer(session, ref="V2", name="李大姐", capacity=5, phone="13800138001")
    staff = make_account(session, "admin", "admin-council")

    psy = submit(session, "N-PSY", at=T0, service="social", text="孩子最近情绪很差，想找心理咨询师聊聊")
    fail_match(session, psy, at=T0 + timedelta(hours=1), reason="本网格及相邻网格暂无心理咨询服务方")
    apply_action(session, psy, "escalate", None, now=T0 + timedelta(hours=30))

    lamp = submit(session, "N-LAMP", at=T0, grid="G2", service="public", text="小区门口路灯坏了，电话13912345678")
    propose(session, lamp, spare, at=T0 + timedelta(hours=2))

    visit = submit(session, "N-VISIT", at=T0 + timedelta(days=1), text="独居老人想有人每周探访")
    propose(session, visit, busy, at=T0 + timedelta(days=1, hours=1))
    apply_action(session, visit, "accept", staff, now=T0 + timedelta(days=1, hours=2))

    done = serve(session, submit(session, "N-DONE", at=T0 + timedelta(days=2)), spare, staff,
                 proposed=T0 + timedelta(days=2, hours=1), done=T0 + timedelta(days=2, hours=5))
    apply_action(session, done, "auto_close", None, now=T0 + timedelta(days=3))

    before = T0 - timedelta(days=6)
    old_done = serve(session, submit(session, "N-OLD1", at=before), spare, staff, proposed=before,
                     done=before + timedelta(hours=3))
    apply_action(session, old_done, "auto_close", None, now=before + timedelta(days=1))
    fail_match(session, submit(session, "N-OLD2", at=before), at=before + timedelta(hours=1))

    elsewhere = submit(session, "N-LOCK", at=T0, grid="G3", service="market", text="钥匙丢了需要开锁")
    fail_match(session, elsewhere, at=T0 + timedelta(hours=1))
    apply_action(session, elsewhere, "escalate", None, now=T0 + timedelta(hours=2))
    session.commit()
    return {"busy": busy, "spare": spare, "staff": staff}


def refs(items: list[dict[str, Any]]) -> list[str]:
    return [i["ref"] for i in items]


# --- the agenda -----------------------------------------------------------------------------------------

def test_the_agenda_lists_the_escalated_need_of_its_party_grid_with_the_reason_and_days_open(session, story):
    result = agenda(session, "PG1", START, END, NOW)

    assert refs(result["escalated"]) == ["N-PSY"]
    item = result["escalated"][0]
    assert item["grid"] == "G1" and item["status"] == "escalated" and item["status_label"] == "已提交网格议事会"
    assert item["reason"] == "本网格及相邻网格暂无心理咨询服务方"
    assert item["days_open"] == 9.1  # 9 days 3 hours
    assert result["party_grid"]["code"] == "PG1"
    assert [g["code"] for g in result["party_grid"]["grids"]] == ["G1", "G2"]
    assert result["period"] == {"start": "2026-12-01", "end": "2026-12-10"}


def test_the_agenda_names_the_skill_the_grid_lacked_with_its_service(session, story):
    skills = agenda(session, "PG1", START, END, NOW)["lacking_skills"]

    assert {"skill": "心理咨询", "service": "social", "service_label": "社会服务", "count": 1,
            "needs": ["N-PSY"]} in skills
    assert all(s["skill"] != "开锁" for s in skills)  # PG2's need is PG2's business


def test_overdue_needs_are_listed_once_and_the_escalated_ones_not_again(session, story):
    overdue = agenda(session, "PG1", START, END, NOW)["overdue"]

    assert refs(overdue) == ["N-OLD2", "N-LAMP", "N-VISIT"]
    lamp = overdue[1]
    assert lamp["reason"] == "超过办结时限 60 小时"
    assert "13912345678" not in lamp["text"] and "139****5678" in lamp["text"]


def test_a_provider_holding_as_many_needs_as_its_capacity_is_listed_as_carrying_too_much(session, story):
    providers = agenda(session, "PG1", START, END, NOW)["overloaded_providers"]

    assert [(p["ref"], p["in_hand"], p["capacity"]) for p in providers] == [("V1", 1, 1)]
    assert providers[0]["reasons"] == ["在办 1 件，已达容量 1"]


def test_a_provider_taking_more_needs_in_the_period_than_the_limit_is_listed_too(session, story):
    providers = agenda(session, "PG1", START, END, NOW, config={"COUNCIL_HEAVY_LOAD": 0})

    spare = next(p for p in providers["overloaded_providers"] if p["ref"] == "V2")
    assert spare["accepted_in_period"] == 1 and spare["reasons"] == ["本期接单 1 件，超过 0 件"]


def test_the_closure_rate_of_the_period_is_set_against_the_period_before(session, story):
    closure = agenda(session, "PG1", START, END, NOW)["closure"]

    assert closure["current"]["created"] == 4 and closure["current"]["closed"] == 1
    assert closure["current"]["closure_rate"] == 0.25
    assert closure["previous"]["closure_rate"] == 0.5
    assert closure["change"] == -0.25
    assert closure["previous_period"] == {"start": "2026-11-21", "end": "2026-11-30"}


def test_the_needs_of_the_period_are_counted_by_status(session, story):
    counts = agenda(session, "PG1", START, END, NOW)["status_counts"]

    assert {c["status"]: c["count"] for c in counts} == {
        "proposed": 1, "accepted": 1, "closed": 1, "escalated": 1}


def test_an_unknown_party_grid_has_no_agenda(session, story):
    with pytest.raises(NotFound):
        agenda(session, "PG404", START, END, NOW)


def test_tags_are_found_in_texts_fuzzily_but_not_from_a_single_shared_character():
    assert ("social", "四点半课堂") in mentioned_skills("孩子放学后想上四点半课程")
    assert ("volunteer", "陪诊") not in mentioned_skills("想找人陪同就诊")
    gaps = skill_gaps([("A", "想做心理咨询"), ("B", "需要心理咨询和法律咨询"), ("C", "楼道路灯坏了")])
    assert [(g.skill, g.count) for g in gaps][:1] == [("心理咨询", 2)]


# --- over HTTP --------------------------------------------------------------------------------------------

def as_user(app: Any, session: Any, role: str, name: str, **scope: Any) -> Any:
    codes = scope.pop("codes", [])
    user = make_account(session, role, name, **scope)
    user.scope_codes = codes
    session.commit()
    return signed_in(app.test_client(), app, user)


def test_the_branch_reviewer_reads_the_agenda_of_the_party_grid(app, session, story):
    reviewer(session, "rev-1", "PG1")
    session.commit()
    client = signed_in(app.test_client(), app, session.scalar(select(User).where(User.username == "rev-1")))

    response = client.get("/api/v1/council/PG1", query_string=PERIOD)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert refs(body["escalated"]) == ["N-PSY"] and body["party_grid"]["code"] == "PG1"


@pytest.mark.parametrize("role,scope", [
    ("admin", {}),
    ("coordinator", {"scope_type": "party_grid", "codes": ["PG1"]}),
])
def test_admins_and_the_party_grids_coordinators_read_the_agenda(app, session, story, role, scope):
    client = as_user(app, session, role, f"{role}-ok", **scope)

    assert client.get("/api/v1/council/PG1", query_string=PERIOD).status_code == 200


@pytest.mark.parametrize("role,scope", [
    ("reviewer", {"scope_type": "party_grid", "codes": ["PG2"]}),
    ("coordinator", {"scope_type": "grid", "codes": ["G1"]}),
    ("resident", {}),
])
def test_anyone_else_is_refused_the_agenda(app, session, story, role, scope):
    client = as_user(app, session, role, f"{role}-no", **scope)

    error_of(client.get("/api/v1/council/PG1", query_string=PERIOD), 403, "forbidden")
    assert client.get("/council/PG1", query_string=PERIOD).status_code == 403


def test_an_unknown_party_grid_answers_404_and_no_login_answers_401(app, session, story):
    client = as_user(app, session, "admin", "admin-404")

    error_of(client.get("/api/v1/council/PG404"), 404, "not_found")
    error_of(app.test_client().get("/api/v1/council/PG1"), 401, "unauthorized")


def test_a_bad_date_in_the_agenda_query_answers_422_naming_the_field(app, session, story):
    client = as_user(app, session, "admin", "admin-422")

    error = error_of(client.get("/api/v1/council/PG1", query_string={"start": "2026-13-01"}), 422)
    assert list(error["fields"]) == ["start"]


def test_the_printable_agenda_is_a_self_contained_chinese_page(app, session, story):
    client = as_user(app, session, "admin", "admin-html")

    response = client.get("/council/PG1", query_string=PERIOD)

    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "网格议事会议程" in page and "N-PSY" in page and "心理咨询" in page
    assert "2026-12-01 至 2026-12-10" in page
    assert "<link" not in page and "<script" not in page and "http://" not in page and "https://" not in page
