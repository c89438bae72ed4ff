"""Every boundary of who may see and do what, one test each, through the HTTP API.

The cast (tests.factories.make_cast): residents res-a and res-b; coordinators coord-g1 (grid G1),
coord-g3 (grid G3) and coord-pg2 (Party grid PG2); reviewers rev-pg1 (PG1: G1, G2) and rev-pg2 (PG2:
G3, G9); volunteers vol-1 (V1), vol-2 (V2) and vol-3 (V3); admin boss. Out of scope a need does not
exist: 404, never 403, so ids cannot be probed.
"""
from __future__ import annotations

from typing import Any

import pytest

from app import create_app
from models import Need
from tests.factories import (
    ACCOUNT_PASSWORD,
    ESCORT_TEXT,
    WEDNESDAY_MORNING,
    act,
    bearer_for,
    error_of,
    signed_in,
)

NEEDS = "/api/v1/needs"
TOKEN = "/api/v1/auth/token"
CONTACT = "李女士 13812345678"
MASKED_CONTACT = "李女士 138****5678"



def submit(api: Any, grid: str = "G1", **overrides: Any) -> dict[str, Any]:
    body = {"text": ESCORT_TEXT, "grid": grid, "window": WEDNESDAY_MORNING, "contact": CONTACT,
            "service": "volunteer", **overrides}
    response = api.post(NEEDS, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def listed_ids(api: Any) -> list[int]:
    response = api.get(NEEDS)
    assert response.status_code == 200, response.get_json()
    return sorted(n["id"] for n in response.get_json()["items"])


def match(api: Any, grid: str = "G1") -> Any:
    return api.post("/api/v1/match", json={"grid": grid})


def is_hidden(api: Any, need_id: int) -> bool:
    """The need is not there for ``api``: 404 on every door, and absent from the list."""
    doors = [api.get(f"{NEEDS}/{need_id}"), api.get(f"{NEEDS}/{need_id}/audit"),
             act(api, need_id, "cancel"), api.patch(f"{NEEDS}/{need_id}", json={"urgency": "high"})]
    return all(r.status_code == 404 for r in doors) and need_id not in listed_ids(api)


def status_of(app: Any, need_id: int) -> str:
    with app.app_context():
        from core.database import db_session
        return db_session().get(Need, need_id).status


@pytest.fixture
def proposed(as_: Any) -> dict[str, Any]:
    """res-a's need in G1, proposed to V1 by the matcher (run by coord-g1)."""
    need = submit(as_("res_a"))
    assert match(as_("coord_g1")).status_code == 200
    return need


@pytest.fixture
def accepted(as_: Any, proposed: dict[str, Any]) -> dict[str, Any]:
    assert act(as_("coord_g1"), proposed["id"], "accept").status_code == 200
    return proposed


# --- residents --------------------------------------------------------------------------------------

def test_a_resident_lists_and_reads_only_their_own_needs(as_):
    mine = submit(as_("res_a"))
    theirs = submit(as_("res_b"), grid="G1")

    assert listed_ids(as_("res_a")) == [mine["id"]]
    assert as_("res_a").get(f"{NEEDS}/{mine['id']}").status_code == 200
    error_of(as_("res_a").get(f"{NEEDS}/{theirs['id']}"), 404, "not_found")


def test_a_resident_guessing_another_residents_need_id_finds_nothing_on_any_door(as_):
    theirs = submit(as_("res_b"))

    assert is_hidden(as_("res_a"), theirs["id"])


def test_an_unknown_need_id_and_a_hidden_one_answer_the_same(as_):
    theirs = submit(as_("res_b"))

    hidden = as_("res_a").get(f"{NEEDS}/{theirs['id']}")
    unknown = as_("res_a").get(f"{NEEDS}/{theirs['id'] + 1000}")

    assert hidden.status_code == unknown.status_code == 404
    assert hidden.get_json()["error"]["code"] == unknown.get_json()["error"]["code"]


def test_the_resident_who_owns_a_need_sees_its_contact_in_full(as_):
    need = submit(as_("res_a"))

    assert as_("res_a").get(f"{NEEDS}/{need['id']}").get_json()["contact"] == CONTACT


def test_an_anonymous_caller_can_neither_list_read_submit_nor_act(anon_client, as_):
    need = submit(as_("res_a"))

    for response in (anon_client.get(NEEDS), anon_client.get(f"{NEEDS}/{need['id']}"),
                     anon_client.post(NEEDS, json={"text": ESCORT_TEXT, "grid": "G1"}),
                     act(anon_client, need["id"], "cancel"), anon_client.get("/api/v1/me"),
                     anon_client.get("/api/v1/notifications")):
        error_of(response, 401, "unauthorized")


# --- coordinators and reviewers ------------------------------------------------------------------------

def test_a_coordinator_sees_the_needs_of_their_grid_and_party_grid_only(as_):
    g1 = submit(as_("res_a"), grid="G1")
    g3 = submit(as_("res_a"), grid="G3")
    g9 = submit(as_("res_b"), grid="G9")

    assert listed_ids(as_("coord_g1")) == [g1["id"]]
    assert listed_ids(as_("coord_g3")) == [g3["id"]]
    assert listed_ids(as_("coord_pg2")) == sorted([g3["id"], g9["id"]])
    assert listed_ids(as_("admin")) == sorted([g1["id"], g3["id"], g9["id"]])


def test_a_coordinator_outside_the_needs_scope_cannot_see_or_act_on_it(app, as_, proposed):
    for outsider in ("coord_g3", "coord_pg2"):
        assert is_hidden(as_(outsider), proposed["id"]), outsider
        error_of(act(as_(outsider), proposed["id"], "accept"), 404, "not_found")
        error_of(as_(outsider).get(f"{NEEDS}/{proposed['id']}/proposals"), 404, "not_found")

    assert status_of(app, proposed["id"]) == "proposed"


def test_a_coordinator_cannot_run_the_matcher_outside_their_scope_nor_on_the_whole_subdistrict(app, as_):
    need = submit(as_("res_a"), grid="G1")

    error_of(match(as_("coord_g3"), grid="G1"), 403, "forbidden")
    error_of(as_("coord_g1").post("/api/v1/match", json={}), 403, "forbidden")
    error_of(as_("coord_g1").post("/api/v1/match", json={"party_grid": "PG1"}), 403, "forbidden")
    error_of(as_("coord_pg2").post("/api/v1/match", json={"grid": "G1"}), 403, "forbidden")
    assert status_of(app, need["id"]) == "submitted"


@pytest.mark.parametrize("key, body", [("coord_g1", {"grid": "G1"}), ("coord_pg2", {"party_grid": "PG2"}),
                                       ("coord_pg2", {"grid": "G9"}), ("admin", {})])
def test_a_coordinator_runs_the_matcher_on_their_own_grid_or_party_grid_and_an_admin_anywhere(as_, key, body):
    assert as_(key).post("/api/v1/match", json=body).status_code == 200


@pytest.mark.parametrize("key", ["rev_pg1", "vol_1", "res_a"])
def test_only_coordinators_and_admins_run_the_matcher(as_, key):
    error_of(match(as_(key)), 403, "forbidden")


def test_a_reviewer_of_another_party_grid_can_neither_see_nor_approve(app, as_, accepted):
    assert is_hidden(as_("rev_pg2"), accepted["id"])
    error_of(act(as_("rev_pg2"), accepted["id"], "approve"), 404, "not_found")
    assert status_of(app, accepted["id"]) == "accepted"

    assert act(as_("rev_pg1"), accepted["id"], "approve").status_code == 200


def test_the_volunteer_asked_sees_the_contact_in_full_and_staff_reveal_it_with_a_reason(as_, proposed):
    assert as_("vol_1").get(f"{NEEDS}/{proposed['id']}").get_json()["contact"] == CONTACT
    for key in ("coord_g1", "rev_pg1", "admin"):
        assert as_(key).get(f"{NEEDS}/{proposed['id']}").get_json()["contact"] == MASKED_CONTACT, key
        revealed = as_(key).post(f"{NEEDS}/{proposed['id']}/contact", json={"reason": "联系居民"})
        assert revealed.get_json()["contact"] == CONTACT, key


# --- volunteers ------------------------------------------------------------------------------------------

def test_a_volunteer_sees_only_the_needs_proposed_to_them(as_, proposed):
    elsewhere = submit(as_("res_b"), grid="G9")

    assert listed_ids(as_("vol_1")) == [proposed["id"]]
    assert as_("vol_1").get(f"{NEEDS}/{proposed['id']}").status_code == 200
    assert is_hidden(as_("vol_1"), elsewhere["id"])
    for never_proposed in ("vol_2", "vol_3"):
        assert listed_ids(as_(never_proposed)) == [] and is_hidden(as_(never_proposed), proposed["id"])


def test_a_volunteer_who_declined_still_sees_the_need_but_no_longer_its_contact(as_, proposed):
    assert act(as_("vol_1"), proposed["id"], "decline", reason="周三有事").get_json()["status"] == "proposed"

    assert as_("vol_1").get(f"{NEEDS}/{proposed['id']}").get_json()["contact"] == MASKED_CONTACT
    assert as_("vol_2").get(f"{NEEDS}/{proposed['id']}").get_json()["contact"] == CONTACT  # proposed now


def test_a_volunteer_cannot_act_on_a_need_that_is_no_longer_theirs(app, as_, proposed):
    act(as_("vol_1"), proposed["id"], "decline", reason="周三有事")

    response = act(as_("vol_1"), proposed["id"], "accept")

    assert response.status_code in (403, 404), response.get_json()
    assert status_of(app, proposed["id"]) == "proposed"


# --- roles and actions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("key, action", [
    ("res_a", "accept"), ("res_a", "decline"), ("res_a", "reassign"),
    ("vol_1", "cancel"), ("vol_1", "reassign"), ("rev_pg1", "accept"), ("coord_g1", "cancel"),
])
def test_a_role_that_may_not_take_an_action_gets_403_and_nothing_changes(app, as_, proposed, key, action):
    fields = {"provider": {"kind": "volunteer", "id": 1}} if action == "reassign" else {}
    response = act(as_(key), proposed["id"], action, **fields)

    error_of(response, 403, "forbidden")
    assert status_of(app, proposed["id"]) == "proposed"


@pytest.mark.parametrize("key", ["vol_1", "coord_g1", "res_a"])
def test_only_the_branch_reviewer_or_an_admin_approves_an_accepted_need(app, as_, accepted, key):
    error_of(act(as_(key), accepted["id"], "approve"), 403, "forbidden")

    assert status_of(app, accepted["id"]) == "accepted"


@pytest.mark.parametrize("key", ["rev_pg1", "res_a"])
def test_neither_the_reviewer_nor_the_resident_reports_an_approved_need_done(app, as_, accepted, key):
    act(as_("rev_pg1"), accepted["id"], "approve")

    error_of(act(as_(key), accepted["id"], "report_done", hours=1), 403, "forbidden")
    assert status_of(app, accepted["id"]) == "approved"


def test_a_volunteer_whose_proposal_was_withdrawn_cannot_start_or_finish_the_service(app, cast, as_,
                                                                                       proposed):
    act(as_("rev_pg1"), proposed["id"], "reassign", provider={"kind": "volunteer", "id": cast.v2.id})
    act(as_("vol_2"), proposed["id"], "accept")
    act(as_("rev_pg1"), proposed["id"], "approve")

    error_of(act(as_("vol_1"), proposed["id"], "start"), 403, "forbidden")
    error_of(act(as_("vol_1"), proposed["id"], "report_done", hours=1), 403, "forbidden")
    assert status_of(app, proposed["id"]) == "approved"
    assert act(as_("vol_2"), proposed["id"], "report_done", hours=1).get_json()["status"] == "done"


def test_only_the_resident_confirms_a_done_need(app, as_, accepted):
    act(as_("rev_pg1"), accepted["id"], "approve")
    act(as_("vol_1"), accepted["id"], "report_done", hours=1)

    for staff in ("coord_g1", "rev_pg1", "vol_1", "admin"):
        error_of(act(as_(staff), accepted["id"], "confirm", rating=5), 403, "forbidden")
    assert status_of(app, accepted["id"]) == "done"


# --- the registry -----------------------------------------------------------------------------------------

RESOURCE = {"ref": "R9", "name": "法律援助工作站", "department": "街道司法所", "service": "public", "grids": ["*"],
            "capacity": 3, "skills": ["法律咨询"], "description": "免费法律咨询", "hours": ["mon-fri 09:00-17:00"]}
GRID = {"code": "G7", "name": "海滨社区第7网格", "community": "海滨社区", "party_grid": "PG1", "neighbors": []}


@pytest.mark.parametrize("key", ["coord_g1", "rev_pg1", "vol_1", "res_a"])
def test_only_an_admin_writes_the_government_resources_and_the_grid_map(as_, key):
    error_of(as_(key).post("/api/v1/resources", json=RESOURCE), 403, "forbidden")
    error_of(as_(key).post("/api/v1/grids", json=GRID), 403, "forbidden")

    assert as_("admin").post("/api/v1/resources", json=RESOURCE).status_code == 201
    assert as_("admin").post("/api/v1/grids", json=GRID).status_code == 201


def test_an_anonymous_caller_cannot_write_the_registry(anon_client, cast):
    error_of(anon_client.post("/api/v1/resources", json=RESOURCE), 401, "unauthorized")


@pytest.mark.parametrize("key, status", [("res_a", 403), ("vol_1", 403), ("coord_g1", 200), ("rev_pg1", 200),
                                         ("admin", 200)])
def test_the_volunteer_pool_is_for_staff_only(as_, key, status):
    assert as_(key).get("/api/v1/volunteers").status_code == status
    assert as_(key).get("/api/v1/volunteers/search", query_string={"q": "陪诊"}).status_code == status


def test_an_anonymous_caller_cannot_list_volunteers(anon_client, cast):
    error_of(anon_client.get("/api/v1/volunteers"), 401, "unauthorized")


def test_a_branch_reviewer_sees_volunteers_phones_masked_and_a_coordinator_in_full(as_, cast):
    def phone_of_v1(key: str) -> str:
        items = as_(key).get("/api/v1/volunteers", query_string={"per_page": 50}).get_json()["items"]
        return next(v["phone"] for v in items if v["ref"] == "V1")

    assert phone_of_v1("rev_pg1") == "138****8000"
    assert phone_of_v1("coord_g1") == "13800138000"


# --- logging in ------------------------------------------------------------------------------------------

def login(client: Any, username: str, password: str = ACCOUNT_PASSWORD, path: str = TOKEN) -> Any:
    return client.post(path, json={"username": username, "password": password})


def test_logging_in_with_the_right_password_gives_a_token_that_names_the_user(anon_client, cast, app):
    response = login(anon_client, "coord-g1")

    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "bearer" and body["role"] == "coordinator" and body["expires_in"] > 0
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.get_json()["username"] == "coord-g1" and me.get_json()["scope"] == ["G1"]


def test_a_wrong_password_and_an_unknown_user_both_answer_401_with_the_same_message(anon_client, cast):
    wrong = error_of(login(anon_client, "coord-g1", "not-the-password"), 401, "unauthorized")
    unknown = error_of(login(anon_client, "nobody-here", "not-the-password"), 401, "unauthorized")

    assert wrong["message"] == unknown["message"] == "用户名或密码错误"


def test_an_inactive_account_can_neither_log_in_nor_use_its_old_token(app, session, cast):
    api = signed_in(app.test_client(), app, cast.coord_g1)
    cast.coord_g1.active = False
    session.commit()

    error_of(login(app.test_client(), "coord-g1"), 401)
    error_of(api.get("/api/v1/me"), 401)


def test_an_expired_token_is_refused_with_401(app, cast):
    api = signed_in(app.test_client(), app, cast.res_a)
    assert api.get("/api/v1/me").status_code == 200

    app.config["TOKEN_TTL_SECONDS"] = -1

    assert error_of(api.get("/api/v1/me"), 401)["message"] == "登录已过期，请重新登录"


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # the signature
    lambda t: "x" + t,  # the payload
    lambda t: "",
])
def test_a_tampered_or_malformed_token_is_refused_with_401(app, cast, tamper):
    token = bearer_for(app, cast.res_a).removeprefix("Bearer ")

    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {tamper(token)}"})

    error_of(response, 401, "unauthorized")


def test_a_token_signed_with_another_secret_is_refused(app, cast):
    other = create_app({"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"],
                        "ENGINE": app.config["ENGINE"], "SECRET_KEY": "another-secret"})
    forged = bearer_for(other, cast.admin)

    error_of(app.test_client().get("/api/v1/me", headers={"Authorization": forged}), 401, "unauthorized")


def test_a_non_bearer_authorization_header_is_refused(app, cast):
    response = app.test_client().get("/api/v1/me", headers={"Authorization": "Basic Y29vcmQtZzE6eA=="})

    error_of(response, 401, "unauthorized")


def test_changing_the_password_revokes_the_tokens_issued_before(app, session, cast):
    from access.auth import set_password
    old = signed_in(app.test_client(), app, cast.vol_1)
    assert old.get("/api/v1/me").status_code == 200

    set_password(cast.vol_1, "a-brand-new-password")
    session.commit()

    error_of(old.get("/api/v1/me"), 401, "unauthorized")
    error_of(login(app.test_client(), "vol-1"), 401)
    assert login(app.test_client(), "vol-1", "a-brand-new-password").status_code == 200


def test_the_web_login_session_lets_a_cookie_client_read_me_and_logging_out_ends_it(app, cast):
    browser = app.test_client()
    error_of(browser.get("/api/v1/me"), 401)

    response = login(browser, "rev-pg1", path="/api/v1/auth/session")
    assert response.status_code == 200
    assert {k: v for k, v in response.get_json().items() if k != "csrf_token"} == {"username": "rev-pg1",
                                                                                  "role": "reviewer"}
    assert browser.get("/api/v1/me").get_json()["username"] == "rev-pg1"
    assert browser.get(NEEDS).status_code == 200

    assert browser.delete("/api/v1/auth/session").status_code == 200
    error_of(browser.get("/api/v1/me"), 401)


def test_a_failed_web_login_sets_no_session(app, cast):
    browser = app.test_client()

    error_of(login(browser, "rev-pg1", "not-the-password", path="/api/v1/auth/session"), 401)

    error_of(browser.get("/api/v1/me"), 401)
