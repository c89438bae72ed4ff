"""The building register over HTTP: /api/v1/buildings (staff only: it holds where people live)."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from models import Building
from pools import buildings as building_service
from tests.factories import error_of, make_account, make_map, make_volunteer, signed_in

BUILDINGS = "/api/v1/buildings"


def make_building(session: Any, code: str, **overrides: Any) -> Building:
    data = {"code": code, "name": f"金碧花园{code}栋", "address": f"广东省深圳市宝安区新安街道海滨社区新安六路188号金碧花园{code}栋",
            "aliases": [], "grid": "G1", "head": None, "households": 120, "lng": 113.88, "lat": 22.58,
            **overrides}
    return building_service.create_building(session, data)


@pytest.fixture
def registry(session):  # type: ignore[no-untyped-def]
    """B1, B2 (G1, B1 headed by V1), B3 (G2, with a former name), B4 (G3, no position), B5 (G1, deactivated)."""
    make_map(session)
    make_volunteer(session, ref="V1", name="张小明", grid="G1")
    make_building(session, "B1", head="V1")
    make_building(session, "B2")
    make_building(session, "B3", name="海滨村三坊12号", address="广东省深圳市宝安区新安街道海滨社区海滨村三坊12号",
                  aliases=["海滨村126号"], grid="G2", households=36)
    make_building(session, "B4", name="上川科技园宿舍1栋", grid="G3", lng=None, lat=None)
    make_building(session, "B5").active = False
    session.commit()
    return {b.code: b.id for b in session.scalars(select(Building))}


def api_as(app: Any, session: Any, role: str, **fields: Any) -> Any:
    user = make_account(session, role, **fields)
    session.commit()
    return signed_in(app.test_client(), app, user)


@pytest.fixture
def staff(app, session, registry):  # type: ignore[no-untyped-def]
    return api_as(app, session, "reviewer", scope_type="party_grid", scope_codes=["PG1"])


def codes(api: Any, **query: Any) -> list[str]:
    response = api.get(BUILDINGS, query_string=query)
    assert response.status_code == 200, response.get_json()
    return [b["code"] for b in response.get_json()["items"]]


def test_staff_list_the_active_buildings_by_code_with_every_field(staff, registry):
    body = staff.get(BUILDINGS).get_json()

    assert [b["code"] for b in body["items"]] == ["B1", "B2", "B3", "B4"]
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, 4)
    b1 = body["items"][0]
    assert {k: b1[k] for k in ("id", "name", "grid", "grid_name", "head", "head_name", "households", "lng", "lat",
                               "aliases", "active")} == {
        "id": registry["B1"], "name": "金碧花园B1栋", "grid": "G1", "grid_name": "海滨社区第1网格", "head": "V1",
        "head_name": "张小明", "households": 120, "lng": 113.88, "lat": 22.58, "aliases": [], "active": True}
    assert b1["address"].endswith("金碧花园B1栋") and b1["created_at"].endswith("+08:00")
    assert body["items"][3]["lng"] is None and body["items"][3]["head"] is None


def test_filters_by_grid_and_by_text_in_code_name_address_and_former_names(staff):
    assert codes(staff, grid="G1") == ["B1", "B2"]
    assert codes(staff, grid="G9") == []
    assert codes(staff, q="海滨村") == ["B3"]
    assert codes(staff, q="126号") == ["B3"]  # a former name
    assert codes(staff, q="新安六路") == ["B1", "B2", "B4"]  # the address
    assert codes(staff, q="B4") == ["B4"]
    assert codes(staff, q="科技园", grid="G3") == ["B4"]
    assert codes(staff, active="false") == ["B5"]


def test_pages(staff):
    first = staff.get(BUILDINGS, query_string={"per_page": 3}).get_json()
    second = staff.get(BUILDINGS, query_string={"per_page": 3, "page": 2}).get_json()

    assert [b["code"] for b in first["items"]] == ["B1", "B2", "B3"] and first["total"] == 4
    assert [b["code"] for b in second["items"]] == ["B4"]


def test_an_unknown_grid_or_a_bad_argument_is_422(staff):
    assert "grid" in error_of(staff.get(BUILDINGS, query_string={"grid": "G404"}), 422)["fields"]
    assert "per_page" in error_of(staff.get(BUILDINGS, query_string={"per_page": 501}), 422)["fields"]
    assert "colour" in error_of(staff.get(BUILDINGS, query_string={"colour": "red"}), 422)["fields"]


def test_get_one_and_404_for_unknown_or_deactivated(staff, registry):
    body = staff.get(f"{BUILDINGS}/{registry['B3']}").get_json()

    assert (body["code"], body["aliases"], body["grid"], body["households"]) == ("B3", ["海滨村126号"], "G2", 36)
    error_of(staff.get(f"{BUILDINGS}/{registry['B5']}"), 404, "not_found")
    error_of(staff.get(f"{BUILDINGS}/999999"), 404, "not_found")


@pytest.mark.parametrize("role", ["coordinator", "reviewer", "admin"])
def test_every_staff_role_reads_the_register(app, session, registry, role):
    api = api_as(app, session, role, **({"scope_type": "grid", "scope_codes": ["G1"]} if role != "admin" else {}))

    assert api.get(BUILDINGS).status_code == 200
    assert api.get(f"{BUILDINGS}/{registry['B1']}").status_code == 200


@pytest.mark.parametrize("role", ["resident", "volunteer"])
def test_residents_and_volunteers_get_403(app, session, registry, role):
    api = api_as(app, session, role)

    error_of(api.get(BUILDINGS), 403, "forbidden")
    error_of(api.get(f"{BUILDINGS}/{registry['B1']}"), 403, "forbidden")


def test_anonymous_gets_401(anon_client, registry):
    error_of(anon_client.get(BUILDINGS), 401, "unauthorized")
    error_of(anon_client.get(f"{BUILDINGS}/{registry['B1']}"), 401, "unauthorized")


def test_the_service_refuses_a_duplicate_code_and_unknown_references(session, registry):
    from core.errors import Conflict, InvalidData

    with pytest.raises(Conflict):
        make_building(session, "B1")
    with pytest.raises(InvalidData) as unknown_head:
        make_building(session, "B9", head="V404")
    assert unknown_head.value.fields == {"head": ["未知志愿者编号 V404"]}
    with pytest.raises(InvalidData) as unknown_grid:
        make_building(session, "B9", grid="G404")
    assert unknown_grid.value.fields == {"grid": ["未知网格编码 G404"]}


def test_the_api_document_lists_the_routes_for_staff(anon_client):
    paths = anon_client.get("/api/v1/openapi.json").get_json()["paths"]

    listing, one = paths["/api/v1/buildings"]["get"], paths["/api/v1/buildings/{id}"]["get"]
    assert listing["tags"] == one["tags"] == ["buildings"]
    assert {p["name"] for p in listing["parameters"]} >= {"q", "grid", "page", "per_page", "active"}
