"""The government resource pool over HTTP: /api/v1/resources and its fuzzy search."""
from __future__ import annotations

from typing import Any

import pytest

from tests.factories import error_of, make_account, make_map, signed_in

RESOURCES = "/api/v1/resources"


def resource_body(ref: str, **overrides: Any) -> dict[str, Any]:
    return {"ref": ref, "name": "社保服务窗口", "department": "街道社区事务受理服务中心", "service": "public",
            "grids": ["*"], "capacity": 5, "skills": ["社保", "医保"], "description": "社保医保业务办理",
            "hours": ["mon-fri 09:00-12:00"], **overrides}


def create_resource(api: Any, ref: str, **overrides: Any) -> dict[str, Any]:
    response = api.post(RESOURCES, json=resource_body(ref, **overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def listed_refs(api: Any, **query: Any) -> list[str]:
    response = api.get(RESOURCES, query_string=query)
    assert response.status_code == 200, response.get_json()
    return [r["ref"] for r in response.get_json()["items"]]


@pytest.fixture
def api(app, client, session):  # type: ignore[no-untyped-def]
    """The test client signed in as an administrator, on the map G1–G2–G3 and G9 (tests.factories)."""
    make_map(session)
    admin = make_account(session, "admin")
    session.commit()
    return signed_in(client, app, admin)


@pytest.fixture
def pool(api):  # type: ignore[no-untyped-def]
    """Three resources: R1 every grid (public), R2 G1–G2 (public, 调解), R3 G3 only (social, 心理咨询)."""
    create_resource(api, "R1")
    create_resource(api, "R2", name="劳动争议调解室", department="街道劳动争议调解中心", grids=["G1", "G2"],
                    skills=["劳动纠纷", "欠薪", "调解"], description="欠薪和劳动争议免费调解")
    create_resource(api, "R3", name="心理咨询室", department="街道党群服务中心", service="social", grids=["G3"],
                    skills=["心理咨询"], description="社工驻点，每周两次")
    return api


# --- create, read ------------------------------------------------------------------------------

def test_creating_a_resource_answers_201_with_every_field(api):
    created = create_resource(api, "R1", grids=["G1", "G2"])

    assert {k: created[k] for k in resource_body("R1")} == resource_body("R1", grids=["G1", "G2"])
    assert created["active"] is True and isinstance(created["id"], int)


def test_a_resource_may_be_given_its_service_by_its_chinese_label(api):
    assert create_resource(api, "R1", service="公共服务")["service"] == "public"


def test_a_resource_covering_every_grid_lists_the_star(api):
    assert create_resource(api, "R1", grids=["*"])["grids"] == ["*"]


def test_opening_hours_are_kept_in_one_canonical_spelling(api):
    assert create_resource(api, "R1", hours=["MON-FRI  09:00-12:00"])["hours"] == ["mon-fri 09:00-12:00"]


def test_a_created_resource_reads_back_the_same_by_its_id(api):
    created = create_resource(api, "R1", grids=["G2", "G1"])

    read = api.get(f"{RESOURCES}/{created['id']}").get_json()

    assert {**read, "grids": None} == {**created, "grids": None}
    assert read["grids"] == ["G1", "G2"]  # in code order, whatever the order given


def test_anyone_signed_out_may_not_create_a_resource(app, api):
    anonymous = app.test_client()

    error_of(anonymous.post(RESOURCES, json=resource_body("R1")), 401, "unauthorized")

    assert listed_refs(api) == []


# --- list and filters ---------------------------------------------------------------------------

def test_listing_resources_gives_every_active_one_in_ref_order(pool):
    body = pool.get(RESOURCES).get_json()

    assert [r["ref"] for r in body["items"]] == ["R1", "R2", "R3"]
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, 3)


def test_listing_resources_by_grid_includes_those_covering_every_grid(pool):
    assert listed_refs(pool, grid="G3") == ["R1", "R3"]
    assert listed_refs(pool, grid="G1") == ["R1", "R2"]
    assert listed_refs(pool, grid="G9") == ["R1"]


def test_listing_resources_filters_by_service(pool):
    assert listed_refs(pool, service="social") == ["R3"]
    assert listed_refs(pool, service="公共服务") == ["R1", "R2"]


def test_listing_resources_filters_by_skill(pool):
    assert listed_refs(pool, skill="欠薪") == ["R2"]


def test_a_skill_filter_matches_whole_skills_only(pool):
    assert listed_refs(pool, skill="欠") == []


@pytest.mark.parametrize(("q", "refs"), [
    ("调解室", ["R2"]),  # name
    ("党群服务中心", ["R3"]),  # department
    ("每周两次", ["R3"]),  # description
    ("医保", ["R1"]),  # a skill
])
def test_listing_resources_filters_by_free_text(pool, q, refs):
    assert listed_refs(pool, q=q) == refs


def test_listing_resources_pages_with_page_per_page_and_total(pool):
    second = pool.get(RESOURCES, query_string={"per_page": 2, "page": 2}).get_json()

    assert [r["ref"] for r in second["items"]] == ["R3"]
    assert (second["page"], second["per_page"], second["total"]) == (2, 2, 3)


# --- partial update, deactivation ---------------------------------------------------------------

def test_patching_a_resource_changes_only_the_fields_sent(pool):
    r2 = pool.get(RESOURCES, query_string={"q": "调解室"}).get_json()["items"][0]

    patched = pool.patch(f"{RESOURCES}/{r2['id']}", json={"capacity": 9}).get_json()

    assert patched["capacity"] == 9
    unchanged = ("ref", "name", "department", "service", "grids", "skills", "description", "hours", "active")
    assert {k: patched[k] for k in unchanged} == {k: r2[k] for k in unchanged}


def test_patching_the_grids_of_a_resource_replaces_them(pool):
    r2 = pool.get(RESOURCES, query_string={"q": "调解室"}).get_json()["items"][0]

    assert pool.patch(f"{RESOURCES}/{r2['id']}", json={"grids": ["G9"]}).get_json()["grids"] == ["G9"]
    assert pool.patch(f"{RESOURCES}/{r2['id']}", json={"grids": ["*"]}).get_json()["grids"] == ["*"]
    assert listed_refs(pool, grid="G3") == ["R1", "R2", "R3"]


def test_patching_a_resource_refuses_to_change_its_ref(pool):
    r1 = pool.get(RESOURCES).get_json()["items"][0]

    error = error_of(pool.patch(f"{RESOURCES}/{r1['id']}", json={"ref": "R9"}), 422, "validation_error")

    assert "ref" in error["fields"]


def test_deleting_a_resource_deactivates_it_and_the_list_hides_it(pool):
    r3 = pool.get(RESOURCES, query_string={"service": "social"}).get_json()["items"][0]

    response = pool.delete(f"{RESOURCES}/{r3['id']}")

    assert response.status_code == 200 and response.get_json()["active"] is False
    error_of(pool.get(f"{RESOURCES}/{r3['id']}"), 404)  # gone from the API; lists with active=false still show it
    error_of(pool.patch(f"{RESOURCES}/{r3['id']}", json={"capacity": 3}), 404)  # nor can it be changed
    error_of(pool.delete(f"{RESOURCES}/{r3['id']}"), 404)  # or deleted again
    assert listed_refs(pool) == ["R1", "R2"]
    assert listed_refs(pool, active="false") == ["R3"]


# --- fuzzy search --------------------------------------------------------------------------------

def search(api: Any, q: str, **query: Any) -> list[dict[str, Any]]:
    response = api.get(f"{RESOURCES}/search", query_string={"q": q, **query})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_searching_resources_finds_a_name_from_part_of_it(pool):
    hits = search(pool, "调解")

    assert hits[0]["record"]["ref"] == "R2"
    assert hits[0]["matched"] in ("name", "调解")


def test_searching_resources_finds_a_skill_despite_a_typo(pool):
    hits = search(pool, "劳东纠纷")  # 东 for 动

    assert [(h["record"]["ref"], h["matched"]) for h in hits] == [("R2", "劳动纠纷")]
    assert 0 < hits[0]["score"] < 100


def test_searching_resources_finds_a_name_written_with_a_homophone(pool):
    hits = search(pool, "心里咨询室")  # 里 for 理, the commonest slip of 心理

    assert hits[0]["record"]["ref"] == "R3"


def test_searching_resources_skips_deactivated_ones(pool):
    r3 = search(pool, "心理咨询")[0]["record"]
    pool.delete(f"{RESOURCES}/{r3['id']}")

    assert "R3" not in [h["record"]["ref"] for h in search(pool, "心理咨询")]


def test_searching_resources_returns_at_most_limit_hits_best_first(pool):
    every = search(pool, "室")  # in the names of R2 and R3

    assert len(every) == 2 and every[0]["score"] >= every[1]["score"]
    assert search(pool, "室", limit=1) == every[:1]


def test_searching_resources_without_a_query_is_refused(pool):
    error = error_of(pool.get(f"{RESOURCES}/search"), 422, "validation_error")

    assert "q" in error["fields"]
