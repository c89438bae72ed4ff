"""Deny by default, proven for every route: each declares who may call it, the declaration is the one
below, and the guard enforces it before any view runs (401 without a login, 403 for another role).
A new route fails here until it is added to the table on purpose. (The pages' routes have their table in
tests/pages/test_page_access.py.)"""
from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Blueprint
from sqlalchemy.orm import sessionmaker

from app import create_app
from core.vocab import Role
from tests.factories import error_of, make_account, signed_in
from web.routes import access_of

PUBLIC = "public"
SIGNED_IN = frozenset(Role)
ADMIN = frozenset({Role.ADMIN})
ARRANGERS = frozenset({Role.COORDINATOR, Role.ADMIN})
STAFF = frozenset({Role.COORDINATOR, Role.REVIEWER, Role.ADMIN})

ROUTES: dict[tuple[str, str], Any] = {
    ("GET", "/api"): PUBLIC,
    ("GET", "/api/docs"): PUBLIC,
    ("GET", "/api/docs/init.js"): PUBLIC,
    ("GET", "/api/docs/assets/<path:name>"): PUBLIC,
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("POST", "/api/v1/auth/session"): PUBLIC,
    ("DELETE", "/api/v1/auth/session"): PUBLIC,
    ("GET", "/api/v1/me"): SIGNED_IN,
    ("POST", "/api/v1/me/password"): SIGNED_IN,
    ("GET", "/api/v1/auth/csrf"): SIGNED_IN,
    # The grid map and the government resources are public information.
    ("GET", "/api/v1/grids"): PUBLIC,
    ("GET", "/api/v1/grids/<int:id_>"): PUBLIC,
    ("GET", "/api/v1/party-grids"): PUBLIC,
    ("POST", "/api/v1/grids"): ADMIN,
    ("PATCH", "/api/v1/grids/<int:id_>"): ADMIN,
    ("DELETE", "/api/v1/grids/<int:id_>"): ADMIN,
    ("GET", "/api/v1/resources"): PUBLIC,
    ("GET", "/api/v1/resources/<int:id_>"): PUBLIC,
    ("GET", "/api/v1/resources/search"): PUBLIC,
    ("POST", "/api/v1/resources"): ADMIN,
    ("PATCH", "/api/v1/resources/<int:id_>"): ADMIN,
    ("DELETE", "/api/v1/resources/<int:id_>"): ADMIN,
    # Volunteers are people: staff only, and phones only for those who arrange the work.
    ("GET", "/api/v1/volunteers"): STAFF,
    ("GET", "/api/v1/volunteers/<int:id_>"): STAFF,
    ("GET", "/api/v1/volunteers/search"): STAFF,
    ("POST", "/api/v1/volunteers"): ARRANGERS,
    ("PATCH", "/api/v1/volunteers/<int:id_>"): ARRANGERS,
    ("DELETE", "/api/v1/volunteers/<int:id_>"): ARRANGERS,
    # The building register holds where people live: staff only, like the volunteers.
    ("GET", "/api/v1/buildings"): STAFF,
    ("GET", "/api/v1/buildings/<int:id_>"): STAFF,
    # Needs: anyone signed in, each seeing only what the policy lets them (tests/access/test_authorisation.py).
    ("GET", "/api/v1/needs"): SIGNED_IN,
    # A resident for themselves; coordinators (inside their scope) and admins on a resident's behalf.
    # Volunteers: a building head or a Party member, for the households of their buildings (else 403).
    ("POST", "/api/v1/needs"): frozenset({Role.RESIDENT, Role.COORDINATOR, Role.ADMIN, Role.VOLUNTEER}),
    ("GET", "/api/v1/needs/<int:id_>"): SIGNED_IN,
    ("PATCH", "/api/v1/needs/<int:id_>"): SIGNED_IN,
    ("DELETE", "/api/v1/needs/<int:id_>"): ADMIN,
    ("POST", "/api/v1/needs/<int:id_>/actions"): SIGNED_IN,
    ("GET", "/api/v1/needs/<int:id_>/audit"): SIGNED_IN,
    # A need's photos: whoever sees the need reads them; its resident and the staff who arrange add them.
    ("GET", "/api/v1/needs/<int:id_>/photos"): SIGNED_IN,
    ("POST", "/api/v1/needs/<int:id_>/photos"): SIGNED_IN,
    ("GET", "/api/v1/needs/<int:id_>/proposals"): STAFF,
    # Recurring needs (每周探访): those who arrange the work, inside their scope.
    ("POST", "/api/v1/recurrences"): ARRANGERS,
    ("GET", "/api/v1/recurrences"): ARRANGERS,
    ("DELETE", "/api/v1/recurrences/<int:id_>"): ARRANGERS,
    # Party members' responsibility fields: the branch and the grid's staff arrange them; a Party member (a
    # volunteer account) logs their own visits and sees their own field.
    ("GET", "/api/v1/fields"): STAFF | {Role.VOLUNTEER},
    ("GET", "/api/v1/fields/mine"): frozenset({Role.VOLUNTEER}),
    ("PUT", "/api/v1/fields/<ref>"): STAFF,
    ("POST", "/api/v1/visits"): STAFF | {Role.VOLUNTEER},
    ("GET", "/api/v1/visits"): STAFF | {Role.VOLUNTEER},
    ("GET", "/api/v1/reports/visits"): STAFF,
    # Residents' personal data: staff reveal a masked contact with a reason; a resident reads who looked at their
    # needs (admins any need's), takes a copy of their data, erases their account.
    ("POST", "/api/v1/needs/<int:id_>/contact"): STAFF,
    ("GET", "/api/v1/needs/export.csv"): STAFF,  # contacts masked; full ones for arrangers with a reason
    ("GET", "/api/v1/needs/<int:id_>/access-log"): frozenset({Role.RESIDENT, Role.ADMIN}),
    ("GET", "/api/v1/me/data"): frozenset({Role.RESIDENT}),
    ("DELETE", "/api/v1/me"): frozenset({Role.RESIDENT}),
    ("POST", "/api/v1/classify"): PUBLIC,
    # Any signed-in user: residents resolve their own address as they type it.
    ("GET", "/api/v1/addresses/resolve"): SIGNED_IN,
    ("POST", "/api/v1/match"): ARRANGERS,
    ("POST", "/api/v1/import/<kind>"): ADMIN,
    ("GET", "/api/v1/import/templates/<kind>.csv"): PUBLIC,
    ("GET", "/api/v1/notifications"): SIGNED_IN,
    ("POST", "/api/v1/notifications/read"): SIGNED_IN,
    ("GET", "/api/v1/reports/closure"): SIGNED_IN,
    ("GET", "/api/v1/reports/volunteer-hours"): SIGNED_IN,
    ("GET", "/api/v1/council/<code>"): SIGNED_IN,
    ("GET", "/council/<code>"): SIGNED_IN,
    # Open311 GeoReport v2: public as the spec has it; a POST carries the API key of its system, checked by the view.
    ("GET", "/open311/v2/discovery.<any(json,xml):fmt>"): PUBLIC,
    ("GET", "/open311/v2/services.<any(json,xml):fmt>"): PUBLIC,
    ("GET", "/open311/v2/services/<code>.<any(json,xml):fmt>"): PUBLIC,
    ("GET", "/open311/v2/requests.<any(json,xml):fmt>"): PUBLIC,
    ("POST", "/open311/v2/requests.<any(json,xml):fmt>"): PUBLIC,
    ("GET", "/open311/v2/requests/<ref>.<any(json,xml):fmt>"): PUBLIC,
    ("GET", "/open311/v2/tokens/<token>.<any(json,xml):fmt>"): PUBLIC,
    # Probes and metrics: a load balancer and Prometheus call them without a login (no personal data:
    # check names and counts; keep /metrics on the internal network in production).
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    # Jobs: a batch by those who may batch-match, an import by admins; a job is seen by who queued it.
    ("POST", "/api/v1/match/jobs"): ARRANGERS,
    ("POST", "/api/v1/import/<kind>/jobs"): ADMIN,
    ("GET", "/api/v1/jobs/<job_id>"): STAFF,
    # ... and their pages (jobs.pages): a large import queued from the admin's import form, a job followed.
    ("POST", "/admin/import/jobs"): ADMIN,
    ("GET", "/jobs/<job_id>"): STAFF,
}


def routes_of(app: Any, pages: bool = False) -> dict[tuple[str, str], Any]:
    """Each route's declared access: the API's (and the council's printable agenda), or the pages'."""
    found = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if view.__module__.startswith("pages.") != pages:
            continue
        declared = access_of(view)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            found[(method, rule.rule)] = (None if declared is None else PUBLIC if declared.public
                                          else declared.roles)
    return found


def concrete(rule: str) -> str:
    """A URL the rule matches: ids 999999 (nothing has them), other parts a word."""
    return re.sub(r"<([^:>]+:)?([^>]+)>", lambda m: "999999" if m[1] == "int:" else "x", rule)


def call(client: Any, method: str, rule: str) -> Any:
    return client.open(concrete(rule), method=method, json={})


def test_every_route_declares_its_access_and_the_declaration_is_the_table(app):
    found = routes_of(app)

    assert [route for route, declared in found.items() if declared is None] == []
    assert found == ROUTES


ANONYMOUS_REFUSED = sorted(route for route, access in ROUTES.items() if access != PUBLIC)


@pytest.mark.parametrize("method, rule", ANONYMOUS_REFUSED)
def test_a_route_that_is_not_public_answers_401_without_a_login(anon_client, method, rule):
    response = call(anon_client, method, rule)
    if rule.startswith("/api/"):
        error_of(response, 401, "unauthorized")
    else:  # a page sends the browser to sign in, and back here after
        assert response.status_code == 302 and response.location.startswith("/login?next=")


@pytest.mark.parametrize("method, rule", sorted(route for route, access in ROUTES.items() if access == PUBLIC))
def test_a_public_route_never_asks_for_a_login(anon_client, method, rule):
    assert call(anon_client, method, rule).status_code not in (401, 403)


RESTRICTED = sorted((route, role) for route, access in ROUTES.items() if access not in (PUBLIC, SIGNED_IN)
                    for role in Role if role not in access)


@pytest.mark.parametrize("route, role", RESTRICTED)
def test_a_signed_in_user_of_another_role_gets_403_before_anything_happens(app, session, route, role):
    fields = {"volunteer_id": None} if role != Role.VOLUNTEER else {}
    user = make_account(session, role, f"outsider-{role}", **fields)
    session.commit()

    response = call(signed_in(app.test_client(), app, user), *route)
    if route[1].startswith("/api/"):
        error_of(response, 403, "forbidden")
    else:
        assert response.status_code == 403 and response.mimetype == "text/html"


def test_a_route_that_declares_nothing_is_refused_even_to_an_admin(engine, connection, database_url, classifier_path):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": engine,
                      "CLASSIFIER_PATH": classifier_path, "SECRET_KEY": "test"})
    app.extensions["sanku_db"].sessionmaker = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    forgotten = Blueprint("forgotten", __name__)

    @forgotten.get("/api/v1/forgotten")
    def forgotten_view() -> Any:
        return {"secret": "leaked"}

    app.register_blueprint(forgotten)
    with app.extensions["sanku_db"].sessionmaker() as session:
        admin = make_account(session, Role.ADMIN, "admin-forgotten")
        session.commit()
    assert signed_in(app.test_client(), app, admin).get("/api/v1/me").status_code == 200  # a working login

    for client in (app.test_client(), signed_in(app.test_client(), app, admin)):
        response = client.get("/api/v1/forgotten")
        error_of(response, 403, "forbidden")
        assert b"leaked" not in response.data


# --- inside a route: the scope (finding: a PG01 coordinator reached other Party grids) -------------------

@pytest.fixture
def scoped(app: Any, session: Any) -> Any:
    """Coordinator coord-pg1 (Party grid PG1: G1, G2); volunteers V1 (G1) and V3 (G3, in PG2); a need in G1."""
    from tests.factories import make_map, make_need, make_volunteer
    make_map(session)
    mine = make_volunteer(session, ref="V1", grid="G1")
    theirs = make_volunteer(session, ref="V3", grid="G3", phone="13600136000")
    need = make_need(session, ref="N-PG1", grid="G1")
    coordinator = make_account(session, Role.COORDINATOR, "coord-pg1", scope_type="party_grid", scope_codes=["PG1"])
    session.commit()
    return {"api": signed_in(app.test_client(), app, coordinator), "mine": mine.id, "theirs": theirs.id,
            "need": need.id}


def test_a_coordinator_edits_and_deactivates_only_the_volunteers_of_their_scope(scoped, session):
    api = scoped["api"]

    error_of(api.patch(f"/api/v1/volunteers/{scoped['theirs']}", json={"capacity": 9}), 403, "forbidden")
    error_of(api.delete(f"/api/v1/volunteers/{scoped['theirs']}"), 403, "forbidden")
    error_of(api.patch(f"/api/v1/volunteers/{scoped['mine']}", json={"grid": "G3"}), 403, "forbidden")
    assert api.patch(f"/api/v1/volunteers/{scoped['mine']}", json={"capacity": 4}).status_code == 200
    assert api.get(f"/api/v1/volunteers/{scoped['theirs']}").get_json()["active"] is True


def test_a_coordinator_registers_volunteers_only_in_their_scope(scoped):
    body = {"ref": "V-NEW", "name": "新志愿者", "services": ["volunteer"], "phone": "13500135000"}

    error_of(scoped["api"].post("/api/v1/volunteers", json={**body, "grid": "G3"}), 403, "forbidden")
    error_of(scoped["api"].post("/api/v1/volunteers", json=body), 403, "forbidden")  # no grid: nobody's scope
    assert scoped["api"].post("/api/v1/volunteers", json={**body, "grid": "G2"}).status_code == 201


def test_a_coordinator_cannot_move_a_need_out_of_their_scope(scoped):
    error_of(scoped["api"].patch(f"/api/v1/needs/{scoped['need']}", json={"grid": "G3"}), 403, "forbidden")

    assert scoped["api"].get(f"/api/v1/needs/{scoped['need']}").get_json()["grid"] == "G1"
    assert scoped["api"].patch(f"/api/v1/needs/{scoped['need']}", json={"grid": "G2"}).status_code == 200


def test_a_coordinator_takes_needs_only_for_grids_of_their_scope(scoped):
    need = {"text": "我妈周三上午要去医院复查，想找人陪一下", "service": "volunteer", "channel": "hotline"}

    error_of(scoped["api"].post("/api/v1/needs", json={**need, "grid": "G3"}), 403, "forbidden")
    assert scoped["api"].post("/api/v1/needs", json={**need, "grid": "G2"}).status_code == 201


def test_only_an_admin_names_a_needs_ref(app, session, scoped):
    resident = make_account(session, Role.RESIDENT, "res-ref")
    session.commit()
    need = {"ref": "N-PG1", "text": "楼道灯坏了，晚上很黑", "grid": "G1"}

    for client in (signed_in(app.test_client(), app, resident), scoped["api"]):
        error = error_of(client.post("/api/v1/needs", json=need), 422)
        assert list(error["fields"]) == ["ref"]  # not 409: whether N-PG1 exists is not told
