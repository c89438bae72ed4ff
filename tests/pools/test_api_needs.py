"""The needs pool over HTTP: /api/v1/needs.

Every need here is sent with its service: without one the API asks the classifier
(matching.classifier), which only the last test uses, and only when that module is there.
"""
from __future__ import annotations

import re
from typing import Any

import pytest

from tests.factories import error_of, make_account, make_map, signed_in

NEEDS = "/api/v1/needs"
WINDOW = "2026-12-09T09:00/2026-12-09T12:00"


def need_body(ref: str | None, **overrides: Any) -> dict[str, Any]:
    body = {"ref": ref, "text": "我妈周三上午要去医院复查，想找人陪一下", "grid": "G1", "urgency": "normal",
            "window": WINDOW, "contact": "李女士 13900139000", "service": "volunteer", **overrides}
    return body if ref is not None else {k: v for k, v in body.items() if k != "ref"}


def create_need(api: Any, ref: str | None, **overrides: Any) -> dict[str, Any]:
    response = api.post(NEEDS, json=need_body(ref, **overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def listed_refs(api: Any, **query: Any) -> list[str]:
    response = api.get(NEEDS, query_string=query)
    assert response.status_code == 200, response.get_json()
    return sorted(n["ref"] for n in response.get_json()["items"])


@pytest.fixture
def api(app, client, session):  # type: ignore[no-untyped-def]
    """The test client signed in as an administrator, on the map G1–G2–G3 and G9 (tests.factories)."""
    make_map(session)
    admin = make_account(session, "admin")
    session.commit()
    return signed_in(client, app, admin)


@pytest.fixture
def pool(api):  # type: ignore[no-untyped-def]
    """N1 G1 volunteer normal, N2 G2 public urgent (a street light), N3 G3 market low (a leak)."""
    create_need(api, "N1")
    create_need(api, "N2", text="楼道外路灯坏了一个多月，晚上老人上下楼很危险", grid="G2", urgency="urgent",
                window=None, service="public")
    create_need(api, "N3", text="厨房水管漏水，想找人上门维修", grid="G3", urgency="low", window=None,
                service="market")
    return api


# --- create, read ------------------------------------------------------------------------------

def test_submitting_a_need_answers_201_with_its_fields_and_status_submitted(api):
    created = create_need(api, "N1")

    assert (created["ref"], created["text"], created["grid"], created["urgency"]) == (
        "N1", need_body("N1")["text"], "G1", "normal")
    # The resident's wall-clock window, with the subdistrict's offset.
    assert created["window"] == {"start": "2026-12-09T09:00+08:00", "end": "2026-12-09T12:00+08:00"}
    assert created["service"] == "volunteer"
    assert created["service_confidence"] is None  # set by a person, not by the classifier
    assert created["status"] == "submitted" and created["active"] is True


def test_a_need_without_a_ref_gets_one(api):
    created = create_need(api, None)

    assert re.fullmatch(r"N\d{8}-[0-9A-F]{10}", created["ref"])


def test_a_need_may_name_its_service_by_its_chinese_label(api):
    assert create_need(api, "N1", service="志愿服务")["service"] == "volunteer"


def test_a_need_window_may_be_an_object_with_start_and_end(api):
    window = {"start": "2026-12-09T09:00", "end": "2026-12-09T12:00"}

    assert create_need(api, "N1", window=window)["window"] == {k: v + "+08:00" for k, v in window.items()}


def test_a_need_without_a_window_is_flexible(api):
    assert create_need(api, "N1", window=None)["window"] is None


def test_a_submitted_need_reads_back_the_same_by_its_id(api):
    created = create_need(api, "N1")

    assert api.get(f"{NEEDS}/{created['id']}").get_json() == created


# --- list and filters ---------------------------------------------------------------------------

def test_listing_needs_gives_every_active_one_newest_first(pool):
    body = pool.get(NEEDS).get_json()

    assert [n["ref"] for n in body["items"]] == ["N3", "N2", "N1"]
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, 3)


def test_listing_needs_filters_by_grid(pool):
    assert listed_refs(pool, grid="G2") == ["N2"]


def test_listing_needs_filters_by_service(pool):
    assert listed_refs(pool, service="market") == ["N3"]
    assert listed_refs(pool, service="公共服务") == ["N2"]


def test_listing_needs_filters_by_urgency(pool):
    assert listed_refs(pool, urgency="urgent") == ["N2"]


def test_listing_needs_filters_by_status(pool, session):
    from sqlalchemy import select

    from models import Need
    session.scalar(select(Need).where(Need.ref == "N3")).status = "unmatched"  # as the matcher would
    session.commit()

    assert listed_refs(pool, status="unmatched") == ["N3"]
    assert listed_refs(pool, status="submitted") == ["N1", "N2"]


@pytest.mark.parametrize(("q", "refs"), [("路灯", ["N2"]), ("水管", ["N3"]), ("N1", ["N1"])])
def test_listing_needs_filters_by_free_text_in_the_text_or_the_ref(pool, q, refs):
    assert listed_refs(pool, q=q) == refs


def test_listing_needs_pages_with_page_per_page_and_total(pool):
    first = pool.get(NEEDS, query_string={"per_page": 2}).get_json()
    second = pool.get(NEEDS, query_string={"per_page": 2, "page": 2}).get_json()

    assert [n["ref"] for n in first["items"]] == ["N3", "N2"]
    assert [n["ref"] for n in second["items"]] == ["N1"]
    assert (second["page"], second["per_page"], second["total"]) == (2, 2, 3)


# --- partial update, deactivation ---------------------------------------------------------------

def test_patching_a_need_changes_only_the_fields_sent(api):
    created = create_need(api, "N1")

    patched = api.patch(f"{NEEDS}/{created['id']}", json={"urgency": "high"}).get_json()

    assert patched["urgency"] == "high"
    same = ("ref", "text", "grid", "window", "contact", "service", "status", "active")
    assert {k: patched[k] for k in same} == {k: created[k] for k in same}


def test_patching_a_need_may_clear_its_window_and_move_it(api):
    created = create_need(api, "N1")

    patched = api.patch(f"{NEEDS}/{created['id']}", json={"window": None, "grid": "G9"}).get_json()

    assert (patched["window"], patched["grid"]) == (None, "G9")


def test_patching_a_need_refuses_to_change_its_ref(api):
    created = create_need(api, "N1")

    error = error_of(api.patch(f"{NEEDS}/{created['id']}", json={"ref": "N9"}), 422, "validation_error")

    assert "ref" in error["fields"]


def test_deleting_a_need_deactivates_it_and_the_list_hides_it(pool):
    n2 = pool.get(NEEDS, query_string={"grid": "G2"}).get_json()["items"][0]

    response = pool.delete(f"{NEEDS}/{n2['id']}")

    assert response.status_code == 200 and response.get_json()["active"] is False
    error_of(pool.get(f"{NEEDS}/{n2['id']}"), 404)  # gone from the API; lists with active=false still show it
    error_of(pool.patch(f"{NEEDS}/{n2['id']}", json={"urgency": "high"}), 404)  # nor can it be changed
    error_of(pool.delete(f"{NEEDS}/{n2['id']}"), 404)  # or deleted again
    assert listed_refs(pool) == ["N1", "N3"]
    assert listed_refs(pool, active="false") == ["N2"]


def test_a_need_in_an_unknown_grid_is_refused_naming_the_grid(api):
    error = error_of(api.post(NEEDS, json=need_body("N1", grid="G404")), 422, "validation_error")

    assert error["fields"] == {"grid": ["未知网格编码 G404"]}


def test_a_need_with_a_window_ending_before_it_starts_is_refused(api):
    error = error_of(api.post(NEEDS, json=need_body("N1", window="2026-12-09T12:00/2026-12-09T09:00")), 422)

    assert "window" in error["fields"]


# --- without a service: the classifier --------------------------------------------------------

def test_a_need_without_a_service_is_classified(api):
    pytest.importorskip("matching.classifier")

    created = create_need(api, "N1", service=None)

    assert created["service"] in ("public", "social", "market", "volunteer")
    assert 0.0 <= created["service_confidence"] <= 1.0


def test_a_generated_ref_that_is_taken_is_drawn_again_not_answered_409(api, monkeypatch):
    from pools import needs
    taken = create_need(api, "N20261130-AAAAAAAAAA")["ref"]
    draws = iter([taken, "N20261130-BBBBBBBBBB"])
    monkeypatch.setattr(needs, "new_need_ref", lambda: next(draws))

    body = {k: v for k, v in need_body("N-X").items() if k != "ref"}
    response = api.post("/api/v1/needs", json=body)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["ref"] == "N20261130-BBBBBBBBBB"
    monkeypatch.undo()
    assert len(needs.new_need_ref().split("-")[1]) == 10  # 40 random bits
