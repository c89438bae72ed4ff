"""Every page route declares who may open it, and the declaration is this table (the API's is
tests/access/test_route_access.py). Without a login a page sends the browser to sign in; another role
gets a 403 page; a resident cannot open another resident's need (404)."""
from __future__ import annotations

from typing import Any

import pytest

from core.vocab import Role
from tests.access.test_route_access import PUBLIC, call, routes_of
from tests.factories import make_account, make_map, make_need, signed_in

RESIDENT = frozenset({Role.RESIDENT})
VOLUNTEER = frozenset({Role.VOLUNTEER})
ARRANGERS = frozenset({Role.COORDINATOR, Role.ADMIN})
REVIEWERS = frozenset({Role.REVIEWER, Role.ADMIN})
STAFF = frozenset({Role.COORDINATOR, Role.REVIEWER, Role.ADMIN})
ADMIN = frozenset({Role.ADMIN})
SIGNED_IN = frozenset(Role)

PAGES: dict[tuple[str, str], Any] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): SIGNED_IN,
    ("POST", "/display-mode"): PUBLIC,
    ("GET", "/static/<name>"): PUBLIC,
    ("GET", "/static/vendor/<name>"): PUBLIC,
    # residents
    ("GET", "/my/needs"): RESIDENT,
    ("GET", "/my/needs/new"): RESIDENT,
    ("POST", "/my/needs/new"): RESIDENT,
    ("GET", "/my/needs/<int:id_>"): RESIDENT,
    ("GET", "/my/needs/<int:id_>/submitted"): RESIDENT,
    ("GET", "/my/needs/<int:id_>/cancel"): RESIDENT,
    ("POST", "/my/needs/<int:id_>/cancel"): RESIDENT,
    ("POST", "/my/needs/<int:id_>/confirm"): RESIDENT,
    ("POST", "/my/needs/<int:id_>/reopen"): RESIDENT,
    # volunteers
    ("GET", "/tasks"): VOLUNTEER,
    ("GET", "/tasks/<int:id_>"): VOLUNTEER,
    ("POST", "/tasks/<int:id_>/<action>"): VOLUNTEER,
    ("GET", "/field"): VOLUNTEER,  # a Party member's responsibility field (others: 403 from the service)
    ("POST", "/field/visits"): VOLUNTEER,
    ("GET", "/field/need"): VOLUNTEER,  # building heads and Party members with a field (others: 403)
    ("POST", "/field/need"): VOLUNTEER,
    ("GET", "/review/fields"): STAFF,
    # coordinators (and admins)
    ("GET", "/queue"): ARRANGERS,
    ("POST", "/queue/match"): ARRANGERS,
    ("GET", "/needs/new"): ARRANGERS,
    ("POST", "/needs/new"): ARRANGERS,
    ("GET", "/needs/<int:id_>"): STAFF,
    ("POST", "/needs/<int:id_>/<action>"): STAFF,
    ("POST", "/needs/<int:id_>/contact"): STAFF,  # the full contact, for a reason (the read audit keeps it)
    ("POST", "/needs/<int:id_>/place"): ARRANGERS,
    # a need's photos, to whoever may see the need
    ("GET", "/needs/<int:id_>/photos/<int:photo_id>"): SIGNED_IN,
    # grid Party branches: the review queue and the grid council
    ("GET", "/review"): REVIEWERS,
    ("GET", "/review/<int:id_>"): REVIEWERS,
    ("POST", "/review/<int:id_>/<action>"): REVIEWERS,
    ("GET", "/council"): STAFF,
    ("GET", "/council/<code>/meeting"): STAFF,
    ("POST", "/council/<code>/meeting"): STAFF,
    ("GET", "/council/<code>/minutes"): STAFF,
    # the dashboard, each within their scope
    ("GET", "/dashboard"): STAFF,
    ("GET", "/dashboard/export.csv"): STAFF,
    ("GET", "/dashboard/export.xlsx"): STAFF,
    # subdistrict staff: the registries, imports and accounts
    ("GET", "/admin"): ADMIN,
    ("GET", "/admin/<kind>"): ADMIN,
    ("GET", "/admin/<kind>/new"): ADMIN,
    ("POST", "/admin/<kind>/new"): ADMIN,
    ("GET", "/admin/<kind>/<int:id_>/edit"): ADMIN,
    ("POST", "/admin/<kind>/<int:id_>/edit"): ADMIN,
    ("GET", "/admin/<kind>/<int:id_>/deactivate"): ADMIN,
    ("POST", "/admin/<kind>/<int:id_>/deactivate"): ADMIN,
    ("GET", "/admin/import"): ADMIN,
    ("POST", "/admin/import/preview"): ADMIN,
    ("POST", "/admin/import/confirm"): ADMIN,
    ("GET", "/admin/accounts"): ADMIN,
    ("GET", "/admin/accounts/new"): ADMIN,
    ("POST", "/admin/accounts/new"): ADMIN,
    ("GET", "/admin/accounts/<int:id_>/role"): ADMIN,
    ("POST", "/admin/accounts/<int:id_>/role"): ADMIN,
    ("GET", "/admin/accounts/<int:id_>/deactivate"): ADMIN,
    ("POST", "/admin/accounts/<int:id_>/deactivate"): ADMIN,
}


def test_every_page_declares_its_access_and_the_declaration_is_the_table(app):
    found = routes_of(app, pages=True)

    assert [route for route, declared in found.items() if declared is None] == []
    assert found == PAGES


@pytest.mark.parametrize("method, rule", sorted(r for r, access in PAGES.items() if access != PUBLIC))
def test_without_a_login_a_page_sends_the_browser_to_sign_in(anon_client, method, rule):
    response = call(anon_client, method, rule)

    assert response.status_code == 302
    assert response.location.startswith("/login?next=")


@pytest.mark.parametrize("route, role", sorted((route, role) for route, access in PAGES.items()
                                               if access not in (PUBLIC, SIGNED_IN)
                                               for role in Role if role not in access))
def test_another_role_gets_a_403_page(app, session, route, role):
    fields = {"volunteer_id": None} if role != Role.VOLUNTEER else {}
    user = make_account(session, role, f"outsider-{role}", **fields)
    session.commit()

    response = call(signed_in(app.test_client(), app, user), *route)

    assert response.status_code == 403 and response.mimetype == "text/html"
    assert "无权" in response.get_data(as_text=True)


def test_a_resident_cannot_open_another_residents_need(app, session):
    make_map(session)
    owner = make_account(session, Role.RESIDENT, "owner")
    other = make_account(session, Role.RESIDENT, "other")
    need = make_need(session, ref="N-OWN", grid="G1")
    need.resident_id = owner.id
    session.commit()

    mine = signed_in(app.test_client(), app, owner).get(f"/my/needs/{need.id}")
    theirs = signed_in(app.test_client(), app, other).get(f"/my/needs/{need.id}")

    assert mine.status_code == 200 and "N-OWN" in mine.get_data(as_text=True)
    assert theirs.status_code == 404 and "N-OWN" not in theirs.get_data(as_text=True)
