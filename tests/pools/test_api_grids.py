"""The grid map over HTTP: /api/v1/grids and /api/v1/party-grids."""
from __future__ import annotations

from typing import Any

import pytest

from tests.factories import error_of, make_account, make_map, signed_in

GRIDS = "/api/v1/grids"


def grid_body(code: str, **overrides: Any) -> dict[str, Any]:
    return {"code": code, "name": f"{code} 网格", "community": "海滨社区", "party_grid": "PG1", "neighbors": [],
            **overrides}


def create_grid(api: Any, code: str, **overrides: Any) -> dict[str, Any]:
    response = api.post(GRIDS, json=grid_body(code, **overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def grid_by_code(api: Any, code: str, active: bool = True) -> dict[str, Any]:
    items = api.get(GRIDS, query_string={"q": code, "active": str(active).lower()}).get_json()["items"]
    return next(g for g in items if g["code"] == code)


def listed_codes(api: Any, **query: Any) -> list[str]:
    response = api.get(GRIDS, query_string=query)
    assert response.status_code == 200, response.get_json()
    return [g["code"] for g in response.get_json()["items"]]


@pytest.fixture
def api(app, client, session):  # type: ignore[no-untyped-def]
    """The test api signed in as an administrator: only admins change the grid map."""
    admin = make_account(session, "admin")
    session.commit()
    return signed_in(client, app, admin)


@pytest.fixture
def grid_map(session: Any) -> None:
    """G1–G2–G3 in a row and a lone G9; 海滨社区 holds G1, G2 (PG1), 上川社区 G3, G9 (PG2)."""
    make_map(session)
    session.commit()


# --- create, read ------------------------------------------------------------------------------

def test_creating_a_grid_answers_201_with_its_community_and_party_grid(api):
    grid = create_grid(api, "G1", name="海滨社区第1网格", community="海滨社区", party_grid="PG1")

    assert grid["code"] == "G1" and grid["name"] == "海滨社区第1网格"
    assert grid["community"] == "海滨社区" and grid["party_grid"] == "PG1"
    assert grid["neighbors"] == [] and grid["active"] is True
    assert isinstance(grid["id"], int)


def test_a_created_grid_reads_back_the_same_by_its_id(api):
    created = create_grid(api, "G1")

    response = api.get(f"{GRIDS}/{created['id']}")

    assert response.status_code == 200
    assert response.get_json() == created


def test_a_grid_without_a_party_grid_has_none(api):
    grid = create_grid(api, "G1", party_grid=None)

    assert grid["party_grid"] is None and grid["branch"] is None


def test_creating_grids_of_the_same_community_shares_one_community(api):
    a = create_grid(api, "G1", community="海滨社区")
    b = create_grid(api, "G2", community="海滨社区")

    assert a["community_code"] == b["community_code"]


# --- list and filters ---------------------------------------------------------------------------

def test_listing_grids_gives_every_active_grid_in_code_order(api, grid_map):
    body = api.get(GRIDS).get_json()

    assert [g["code"] for g in body["items"]] == ["G1", "G2", "G3", "G9"]
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, 4)


def test_listing_grids_filters_by_community(api, grid_map):
    assert listed_codes(api, community="上川社区") == ["G3", "G9"]


def test_listing_grids_filters_by_party_grid(api, grid_map):
    assert listed_codes(api, party_grid="PG1") == ["G1", "G2"]


def test_listing_grids_filters_by_free_text_in_the_name(api, grid_map):
    assert listed_codes(api, q="上川") == ["G3", "G9"]


def test_listing_grids_filters_by_free_text_in_the_code(api, grid_map):
    assert listed_codes(api, q="G9") == ["G9"]


def test_listing_grids_combines_filters(api, grid_map):
    assert listed_codes(api, community="上川社区", q="第9") == ["G9"]


def test_listing_grids_pages_with_page_per_page_and_total(api, grid_map):
    first = api.get(GRIDS, query_string={"per_page": 3}).get_json()
    second = api.get(GRIDS, query_string={"per_page": 3, "page": 2}).get_json()
    beyond = api.get(GRIDS, query_string={"per_page": 3, "page": 3}).get_json()

    assert [g["code"] for g in first["items"]] == ["G1", "G2", "G3"]
    assert [g["code"] for g in second["items"]] == ["G9"]
    assert (second["page"], second["per_page"], second["total"]) == (2, 3, 4)
    assert beyond["items"] == [] and beyond["total"] == 4


def test_party_grids_list_their_grids(api, grid_map):
    body = api.get("/api/v1/party-grids").get_json()

    assert {p["code"]: p["grids"] for p in body["items"]} == {"PG1": ["G1", "G2"], "PG2": ["G3", "G9"]}


# --- partial update, deactivation ---------------------------------------------------------------

def test_patching_a_grid_changes_only_the_fields_sent(api):
    grid = create_grid(api, "G1", name="旧名", community="海滨社区", party_grid="PG1")

    response = api.patch(f"{GRIDS}/{grid['id']}", json={"name": "新名"})

    assert response.status_code == 200
    patched = response.get_json()
    assert patched["name"] == "新名"
    assert {k: v for k, v in patched.items() if k != "name"} == {k: v for k, v in grid.items() if k != "name"}
    assert api.get(f"{GRIDS}/{grid['id']}").get_json()["name"] == "新名"


def test_patching_a_grid_moves_it_to_another_community_and_party_grid(api):
    grid = create_grid(api, "G1", community="海滨社区", party_grid="PG1")

    patched = api.patch(f"{GRIDS}/{grid['id']}", json={"community": "上川社区", "party_grid": "PG2"}).get_json()

    assert (patched["community"], patched["party_grid"]) == ("上川社区", "PG2")


def test_patching_a_grid_refuses_to_change_its_code(api):
    grid = create_grid(api, "G1")

    error = error_of(api.patch(f"{GRIDS}/{grid['id']}", json={"code": "G7"}), 422, "validation_error")

    assert "code" in error["fields"]
    assert api.get(f"{GRIDS}/{grid['id']}").get_json()["code"] == "G1"


def test_deleting_a_grid_deactivates_it_and_the_list_hides_it(api, grid_map):
    g9 = grid_by_code(api, "G9")

    response = api.delete(f"{GRIDS}/{g9['id']}")

    assert response.status_code == 200 and response.get_json()["active"] is False
    error_of(api.get(f"{GRIDS}/{g9['id']}"), 404)  # gone from the API; lists with active=false still show it
    error_of(api.patch(f"{GRIDS}/{g9['id']}", json={"name": "复活"}), 404)  # nor can it be changed
    error_of(api.delete(f"{GRIDS}/{g9['id']}"), 404)  # or deleted again
    assert listed_codes(api) == ["G1", "G2", "G3"]
    assert listed_codes(api, active="false") == ["G9"]


# --- neighbours are symmetric -------------------------------------------------------------------

def test_creating_a_grid_with_a_neighbour_lists_it_on_both_sides(api):
    g1 = create_grid(api, "G1")

    g2 = create_grid(api, "G2", neighbors=["G1"])

    assert g2["neighbors"] == ["G1"]
    assert api.get(f"{GRIDS}/{g1['id']}").get_json()["neighbors"] == ["G2"]


def test_patching_away_a_neighbour_removes_it_from_both_sides(api):
    g1 = create_grid(api, "G1")
    g2 = create_grid(api, "G2", neighbors=["G1"])

    patched = api.patch(f"{GRIDS}/{g2['id']}", json={"neighbors": []}).get_json()

    assert patched["neighbors"] == []
    assert api.get(f"{GRIDS}/{g1['id']}").get_json()["neighbors"] == []


def test_patching_in_a_neighbour_adds_it_to_both_sides_and_keeps_the_others(api):
    g1 = create_grid(api, "G1")
    g2 = create_grid(api, "G2", neighbors=["G1"])
    g3 = create_grid(api, "G3")

    patched = api.patch(f"{GRIDS}/{g2['id']}", json={"neighbors": ["G1", "G3"]}).get_json()

    assert patched["neighbors"] == ["G1", "G3"]
    assert api.get(f"{GRIDS}/{g1['id']}").get_json()["neighbors"] == ["G2"]
    assert api.get(f"{GRIDS}/{g3['id']}").get_json()["neighbors"] == ["G2"]


def test_the_neighbours_of_the_map_are_symmetric_everywhere(api, grid_map):
    items = api.get(GRIDS).get_json()["items"]
    neighbours = {g["code"]: set(g["neighbors"]) for g in items}

    assert neighbours == {"G1": {"G2"}, "G2": {"G1", "G3"}, "G3": {"G2"}, "G9": set()}


def test_a_grid_cannot_be_its_own_neighbour(api):
    g1 = create_grid(api, "G1")

    error = error_of(api.patch(f"{GRIDS}/{g1['id']}", json={"neighbors": ["G1"]}), 422, "validation_error")

    assert "neighbors" in error["fields"]


def test_an_unknown_neighbour_is_refused_naming_it(api):
    create_grid(api, "G1")

    error = error_of(api.post(GRIDS, json=grid_body("G2", neighbors=["G1", "G404"])), 422, "validation_error")

    assert error["fields"] == {"neighbors": ["未知网格编码 G404"]}
