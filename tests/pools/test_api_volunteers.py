"""The social volunteer pool over HTTP: /api/v1/volunteers and its fuzzy search."""
from __future__ import annotations

from typing import Any

import pytest

from tests.factories import error_of, make_account, make_map, signed_in

VOLUNTEERS = "/api/v1/volunteers"


def volunteer_body(ref: str, **overrides: Any) -> dict[str, Any]:
    return {"ref": ref, "name": "张小明", "kind": "person", "phone": "13800138000", "grid": "G1",
            "skills": ["陪诊", "买菜", "智能手机"], "services": ["volunteer"], "availability": ["wed 08:00-12:00"],
            "capacity": 2, "force": "selfgov", "party_member": True, "description": "退休教师，热心助老",
            **overrides}


def create_volunteer(api: Any, ref: str, **overrides: Any) -> dict[str, Any]:
    response = api.post(VOLUNTEERS, json=volunteer_body(ref, **overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def listed_refs(api: Any, **query: Any) -> list[str]:
    response = api.get(VOLUNTEERS, query_string=query)
    assert response.status_code == 200, response.get_json()
    return [v["ref"] for v in response.get_json()["items"]]


def by_ref(api: Any, ref: str) -> dict[str, Any]:
    items = api.get(VOLUNTEERS, query_string={"per_page": 500}).get_json()["items"]
    return next(v for v in items if v["ref"] == ref)


@pytest.fixture
def api(app, client, session):  # type: ignore[no-untyped-def]
    """The test client signed in as an administrator, on the map G1–G2–G3 and G9 (tests.factories)."""
    make_map(session)
    admin = make_account(session, "admin")
    session.commit()
    return signed_in(client, app, admin)


@pytest.fixture
def pool(api):  # type: ignore[no-untyped-def]
    """V1 张小明 (G1, volunteer), V2 an organisation (G2, social and volunteer), V3 李敏 (G3, social, lawyer)."""
    create_volunteer(api, "V1")
    create_volunteer(api, "V2", name="启航社工服务中心", kind="organization", phone="0755-27881234", grid="G2",
                     skills=["心理咨询", "家庭调解", "四点半课堂"], services=["social", "volunteer"],
                     force="cobuilding", party_member=False, description="驻海滨社区党群服务中心社工站")
    create_volunteer(api, "V3", name="李敏", phone="13912345678", grid="G3", skills=["法律咨询", "劳动纠纷"],
                     services=["social"], force="professional", description="执业律师，公益法律咨询")
    return api


# --- create, read ------------------------------------------------------------------------------

def test_creating_a_volunteer_answers_201_with_every_field(api):
    created = create_volunteer(api, "V1")

    assert {k: created[k] for k in volunteer_body("V1")} == volunteer_body("V1")
    assert created["active"] is True and isinstance(created["id"], int)


def test_a_volunteer_needs_no_grid_and_gets_the_defaults(api):
    created = create_volunteer(api, "V1", grid=None)
    minimal = api.post(VOLUNTEERS, json={"ref": "V2", "name": "王芳", "services": ["志愿服务"]}).get_json()

    assert created["grid"] is None
    assert {k: minimal[k] for k in ("kind", "phone", "grid", "skills", "availability", "capacity", "force",
                                    "party_member", "services")} == {
        "kind": "person", "phone": "", "grid": None, "skills": [], "availability": [], "capacity": 1,
        "force": "selfgov", "party_member": False, "services": ["volunteer"]}


def test_a_phone_is_stored_in_one_canonical_form(api):
    assert create_volunteer(api, "V1", phone="+86 138-0013-8000")["phone"] == "13800138000"
    assert create_volunteer(api, "V2", phone="(0755)27881234")["phone"] == "0755-27881234"


def test_a_created_volunteer_reads_back_the_same_by_its_id(api):
    created = create_volunteer(api, "V1")

    assert api.get(f"{VOLUNTEERS}/{created['id']}").get_json() == created


# --- list and filters ---------------------------------------------------------------------------

def test_listing_volunteers_gives_every_active_one_in_ref_order(pool):
    body = pool.get(VOLUNTEERS).get_json()

    assert [v["ref"] for v in body["items"]] == ["V1", "V2", "V3"]
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, 3)


def test_listing_volunteers_filters_by_grid(pool):
    assert listed_refs(pool, grid="G2") == ["V2"]
    assert listed_refs(pool, grid="G9") == []


def test_listing_volunteers_filters_by_service(pool):
    assert listed_refs(pool, service="social") == ["V2", "V3"]
    assert listed_refs(pool, service="志愿服务") == ["V1", "V2"]


def test_listing_volunteers_filters_by_skill(pool):
    assert listed_refs(pool, skill="法律咨询") == ["V3"]


def test_listing_volunteers_filters_by_kind(pool):
    assert listed_refs(pool, kind="organization") == ["V2"]
    assert listed_refs(pool, kind="person") == ["V1", "V3"]


@pytest.mark.parametrize(("q", "refs"), [
    ("李敏", ["V3"]),  # name
    ("社工站", ["V2"]),  # description
    ("陪诊", ["V1"]),  # a skill
])
def test_listing_volunteers_filters_by_free_text(pool, q, refs):
    assert listed_refs(pool, q=q) == refs


def test_listing_volunteers_combines_filters(pool):
    assert listed_refs(pool, service="social", kind="person") == ["V3"]


def test_listing_volunteers_pages_with_page_per_page_and_total(pool):
    first = pool.get(VOLUNTEERS, query_string={"per_page": 2}).get_json()
    second = pool.get(VOLUNTEERS, query_string={"per_page": 2, "page": 2}).get_json()

    assert [v["ref"] for v in first["items"]] == ["V1", "V2"]
    assert [v["ref"] for v in second["items"]] == ["V3"]
    assert (second["page"], second["per_page"], second["total"]) == (2, 2, 3)


# --- partial update, deactivation ---------------------------------------------------------------

def test_patching_a_volunteer_changes_only_the_fields_sent(pool):
    v1 = by_ref(pool, "V1")

    patched = pool.patch(f"{VOLUNTEERS}/{v1['id']}", json={"skills": ["送餐"], "capacity": 3}).get_json()

    assert (patched["skills"], patched["capacity"]) == (["送餐"], 3)
    untouched = {k for k in volunteer_body("V1")} - {"skills", "capacity"}
    assert {k: patched[k] for k in untouched} == {k: v1[k] for k in untouched}


def test_patching_a_volunteer_moves_it_to_another_grid_or_to_none(pool):
    v1 = by_ref(pool, "V1")

    assert pool.patch(f"{VOLUNTEERS}/{v1['id']}", json={"grid": "G9"}).get_json()["grid"] == "G9"
    assert listed_refs(pool, grid="G9") == ["V1"]
    assert pool.patch(f"{VOLUNTEERS}/{v1['id']}", json={"grid": None}).get_json()["grid"] is None


def test_patching_a_volunteer_refuses_to_change_its_ref(pool):
    v1 = by_ref(pool, "V1")

    error = error_of(pool.patch(f"{VOLUNTEERS}/{v1['id']}", json={"ref": "V9"}), 422, "validation_error")

    assert "ref" in error["fields"]


def test_deleting_a_volunteer_deactivates_it_and_the_list_hides_it(pool):
    v3 = by_ref(pool, "V3")

    response = pool.delete(f"{VOLUNTEERS}/{v3['id']}")

    assert response.status_code == 200 and response.get_json()["active"] is False
    error_of(pool.get(f"{VOLUNTEERS}/{v3['id']}"), 404)  # gone from the API; lists with active=false still show it
    error_of(pool.patch(f"{VOLUNTEERS}/{v3['id']}", json={"capacity": 3}), 404)  # nor can it be changed
    error_of(pool.delete(f"{VOLUNTEERS}/{v3['id']}"), 404)  # or deleted again
    assert listed_refs(pool) == ["V1", "V2"]
    assert listed_refs(pool, active="false") == ["V3"]


# --- fuzzy search --------------------------------------------------------------------------------

def search(api: Any, q: str, **query: Any) -> list[dict[str, Any]]:
    response = api.get(f"{VOLUNTEERS}/search", query_string={"q": q, **query})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_searching_zhang_xiaoming_with_another_xiao_finds_zhang_xiaoming(pool):
    hits = search(pool, "张晓明")

    assert hits[0]["record"]["name"] == "张小明"
    assert hits[0]["matched"] == "pinyin"
    assert "李敏" not in [h["record"]["name"] for h in hits]


def test_searching_volunteers_finds_a_skill_despite_a_typo(pool):
    hits = search(pool, "智能手鸡")  # 鸡 for 机

    assert [(h["record"]["ref"], h["matched"]) for h in hits] == [("V1", "智能手机")]


def test_searching_volunteers_finds_an_organisation_from_part_of_its_name(pool):
    assert search(pool, "启航社工")[0]["record"]["ref"] == "V2"


def test_searching_volunteers_skips_deactivated_ones(pool):
    pool.delete(f"{VOLUNTEERS}/{by_ref(pool, 'V1')['id']}")

    assert "V1" not in [h["record"]["ref"] for h in search(pool, "张小明")]


def test_searching_volunteers_for_nothing_like_them_finds_nothing(pool):
    assert search(pool, "挖掘机驾驶") == []


def test_a_search_limit_out_of_range_is_refused(pool):
    response = pool.get(f"{VOLUNTEERS}/search", query_string={"q": "张", "limit": 0})

    error = error_of(response, 422, "validation_error")

    assert "limit" in error["fields"]
