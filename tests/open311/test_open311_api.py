"""Open311 GeoReport v2 with Flask's test client: discovery, services (JSON and XML), posting a request with
an API key (placed by lat/long, by address or by the register's id), reading it back with the spec's
filters, tokens, the spec's errors, and the audit of every keyed call."""
from __future__ import annotations

from datetime import timedelta
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import func, select

from core.vocab import Channel, NeedStatus, Service, Urgency
from models import AuditEntry, Building, Need, Open311Call, Open311Key, utcnow
from open311.services import SERVICES
from pools import grids
from pools.lookup import grid_by_code
from pools.subdistricts import create_subdistrict
from tests.open311.conftest import V2


def post(world: dict[str, Any], fmt: str = "json", **fields: Any) -> Any:
    body = {"api_key": world["key"], **fields}
    return world["client"].post(f"{V2}/requests.{fmt}", json=body)


def spec_errors(response: Any, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert isinstance(body, list) and body and all(set(e) == {"code", "description"} for e in body), body
    assert body[0]["code"] == status
    return body


def test_discovery_names_the_endpoint_and_its_formats(world):
    body = world["client"].get(f"{V2}/discovery.json").get_json()
    xml = ET.fromstring(world["client"].get(f"{V2}/discovery.xml").data)

    assert body["endpoints"][0]["url"].endswith("/open311/v2")
    assert body["endpoints"][0]["formats"] == ["application/json", "text/xml"]
    assert xml.tag == "discovery" and xml.find("endpoints/endpoint/formats/format").text == "application/json"


def test_services_list_the_four_services_and_their_subcategories_in_json_and_xml(world):
    body = world["client"].get(f"{V2}/services.json").get_json()
    response = world["client"].get(f"{V2}/services.xml")
    root = ET.fromstring(response.data)

    codes = [s["service_code"] for s in body]
    assert codes[:1] == ["public"] and {"public", "social", "market", "volunteer"} <= set(codes)
    lock = next(s for s in body if s["service_name"] == "开锁")
    assert lock["group"] == "市场服务" and lock["service_code"].startswith("market-") and lock["metadata"] is True
    assert response.mimetype == "text/xml" and root.tag == "services"
    assert [e.findtext("service_code") for e in root.findall("service")] == codes
    assert root.find("service/metadata").text == "true"


def test_a_service_definition_lists_its_attributes_and_an_unknown_code_is_404(world):
    body = world["client"].get(f"{V2}/services/market-03.json").get_json()
    root = ET.fromstring(world["client"].get(f"{V2}/services/market-03.xml").data)

    assert body["service_code"] == "market-03"
    assert body["attributes"][0]["code"] == "urgency"
    assert [v["key"] for v in body["attributes"][0]["values"]] == [u.value for u in Urgency]
    assert root.tag == "service_definition" and root.find("attributes/attribute/values/value/key").text == "low"
    spec_errors(world["client"].get(f"{V2}/services/nothing.json"), 404)


def test_a_request_posted_by_lat_long_is_a_need_of_the_open311_channel_in_the_grid_holding_the_point(world, session):
    response = post(world, service_code="market-03", lat="22.585", long="113.8861", description="家门钥匙丢了进不去",
                    first_name="明", last_name="王", phone="13800138000", **{"attribute[urgency]": "high"})

    assert response.status_code == 201, response.get_json()
    [created] = response.get_json()
    need = session.scalar(select(Need).where(Need.ref == created["service_request_id"]))
    assert created["token"] == need.ref
    assert (need.channel, need.service, need.service_confidence) == (Channel.OPEN311, Service.MARKET, None)
    assert (need.grid.code, need.building.code, need.urgency) == ("G1", "B101", Urgency.HIGH)
    assert need.text == "【开锁】家门钥匙丢了进不去" and need.contact == "王 明 13800138000"
    assert need.status == NeedStatus.SUBMITTED
    assert session.scalar(select(AuditEntry).where(AuditEntry.need_id == need.id)).actor_role == "system"


def test_a_request_posted_by_address_string_is_placed_through_address_resolution(world, session):
    response = post(world, service_code="volunteer", address_string="翡翠华庭２栋1203", description="老人想找人陪诊")

    [created] = response.get_json()
    need = session.scalar(select(Need).where(Need.ref == created["service_request_id"]))
    assert (need.grid.code, need.building.code, need.address) == ("G2", "B202", "翡翠华庭２栋1203")


def test_a_request_posted_by_address_id_is_at_that_building_of_the_register(world, session):
    response = post(world, service_code="public-10", address_id="B203", description="楼下路灯坏了")

    [created] = response.get_json()
    need = session.scalar(select(Need).where(Need.ref == created["service_request_id"]))
    assert (need.grid.code, need.building.code, need.service) == ("G2", "B203", Service.PUBLIC)


def test_the_post_answers_xml_when_asked(world):
    response = post(world, "xml", service_code="volunteer", address_string="金碧花园1栋", description="买菜")

    root = ET.fromstring(response.data)
    assert response.status_code == 201 and root.tag == "service_requests"
    assert root.find("request/service_request_id").text.startswith("N")


@pytest.mark.parametrize("fields, status, says", [
    ({"api_key": None}, 400, "api_key is required"),
    ({"api_key": "o311_wrong"}, 403, "Invalid api_key"),
    ({"service_code": None}, 400, "service_code is required"),
    ({"service_code": "potholes"}, 400, "service_code potholes not found"),
    ({"lat": None, "long": None}, 400, "location is required"),
    ({"lat": "40.0", "long": "-73.9"}, 400, "outside every grid"),
    ({"lat": "north"}, 400, "lat must be a number"),
    ({"lat": None, "long": None, "address_string": "火星基地"}, 400, "address_string"),
    ({"attribute[urgency]": "asap"}, 400, "attribute[urgency]"),
    ({"jurisdiction_id": "nyc"}, 404, "jurisdiction_id nyc not found"),
])
def test_a_post_the_spec_refuses_answers_its_error_list_and_creates_nothing(world, session, fields, status, says):
    body = {"api_key": world["key"], "service_code": "volunteer", "lat": "22.585", "long": "113.886",
            "description": "买菜", **fields}
    response = world["client"].post(f"{V2}/requests.json", json={k: v for k, v in body.items() if v is not None})

    assert says in spec_errors(response, status)[0]["description"]
    assert session.scalar(select(Need).where(Need.channel == Channel.OPEN311)) is None


def test_each_subdistrict_is_a_jurisdiction_of_its_own(world, session):
    """A city's 12345 platform names the subdistrict (jurisdiction_id = its code): it reads only that
    subdistrict's requests and posts only inside it; ``sanku`` or nothing is the whole deployment."""
    east = create_subdistrict(session, "east", "东街道")
    grids.create_grid(session, {"code": "E1", "name": "东街道第1网格", "community": "东社区", "party_grid": "PGE",
                                "neighbors": [], "subdistrict_id": east.id})
    session.add(Building(code="BE1", name="东苑1栋", address="东社区东苑1栋", aliases=[],
                         grid_id=grid_by_code(session, "E1").id, households=80))
    session.commit()
    mine = post(world, service_code="volunteer", lat="22.585", long="113.886", description="买菜", jurisdiction_id="main")
    theirs = post(world, service_code="volunteer", address_id="BE1", description="买菜", jurisdiction_id="east")
    assert mine.status_code == theirs.status_code == 201, (mine.get_json(), theirs.get_json())
    ref_mine, ref_theirs = mine.get_json()[0]["service_request_id"], theirs.get_json()[0]["service_request_id"]

    def listed(jurisdiction: str | None) -> set[str]:
        query = f"?jurisdiction_id={jurisdiction}" if jurisdiction else ""
        return {r["service_request_id"] for r in world["client"].get(f"{V2}/requests.json{query}").get_json()}

    assert listed("east") == {ref_theirs} and listed("main") == {ref_mine}
    assert listed("sanku") == listed(None) == {ref_mine, ref_theirs}
    spec_errors(world["client"].get(f"{V2}/requests/{ref_mine}.json?jurisdiction_id=east"), 404)
    outside = post(world, service_code="volunteer", lat="22.585", long="113.886", jurisdiction_id="east")
    assert "outside jurisdiction east" in spec_errors(outside, 400)[0]["description"]
    assert session.scalar(select(func.count()).select_from(Need).where(Need.channel == Channel.OPEN311)) == 2


def test_an_error_in_xml_is_the_specs_errors_element(world):
    response = world["client"].post(f"{V2}/requests.xml", json={"service_code": "volunteer"})

    root = ET.fromstring(response.data)
    assert response.status_code == 400 and root.tag == "errors"
    assert root.find("error/code").text == "400" and "api_key" in root.find("error/description").text


def test_a_revoked_key_is_refused(world, session):
    session.get(Open311Key, world["key_id"]).active = False
    session.commit()

    spec_errors(post(world, service_code="volunteer", lat="22.585", long="113.886"), 403)


def test_every_keyed_call_is_audited_failed_ones_too(world, session):
    ok = post(world, service_code="volunteer", lat="22.585", long="113.886", description="买菜")
    bad = post(world, service_code="potholes", lat="22.585", long="113.886")
    read = world["client"].get(f"{V2}/services.json?api_key={world['key']}")
    anonymous = world["client"].get(f"{V2}/services.json")

    assert (ok.status_code, bad.status_code, read.status_code, anonymous.status_code) == (201, 400, 200, 200)
    calls = session.scalars(select(Open311Call).order_by(Open311Call.id)).all()
    need = session.scalar(select(Need).where(Need.channel == Channel.OPEN311))
    assert [(c.method, c.path, c.status, c.need_id) for c in calls] == [
        ("POST", "/open311/v2/requests.json", 201, need.id),
        ("POST", "/open311/v2/requests.json", 400, None),
        ("GET", "/open311/v2/services.json", 200, None),
    ]
    assert all(c.key_id == world["key_id"] for c in calls)
    assert session.get(Open311Key, world["key_id"]).last_used_at is not None


def make_requests(world: dict[str, Any], session: Any) -> dict[str, Need]:
    refs = {}
    for name, code, text in (("lock", "market-03", "钥匙丢了"), ("escort", "volunteer-01", "陪诊"),
                             ("lamp", "public-10", "路灯坏了")):
        [created] = post(world, service_code=code, lat="22.585", long="113.886", description=text).get_json()
        refs[name] = session.scalar(select(Need).where(Need.ref == created["service_request_id"]))
    return refs


def test_requests_are_read_back_with_the_specs_filters(world, session):
    needs = make_requests(world, session)
    needs["lamp"].status, needs["lamp"].unmatched_reason = NeedStatus.CLOSED, ""
    needs["escort"].created_at = utcnow() - timedelta(days=40)
    session.commit()
    client = world["client"]

    def refs(query: str) -> list[str]:
        response = client.get(f"{V2}/requests.json{query}")
        assert response.status_code == 200, response.get_json()
        return sorted(r["service_request_id"] for r in response.get_json())

    every = sorted(n.ref for n in needs.values())
    assert refs("") == every
    assert refs(f"?service_request_id={needs['lock'].ref},{needs['lamp'].ref}&status=open") == sorted(
        [needs["lock"].ref, needs["lamp"].ref])  # ids override the other filters
    assert refs("?service_code=market-01") == [needs["lock"].ref]  # a subcategory names its service
    assert refs("?service_code=public,volunteer") == sorted([needs["lamp"].ref, needs["escort"].ref])
    assert refs("?status=closed") == [needs["lamp"].ref]
    assert refs("?status=open") == sorted([needs["lock"].ref, needs["escort"].ref])
    since = (utcnow() - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert refs(f"?start_date={since}") == sorted([needs["lock"].ref, needs["lamp"].ref])
    until = (utcnow() - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert refs(f"?end_date={until}") == [needs["escort"].ref]
    spec_errors(client.get(f"{V2}/requests.json?status=pending"), 400)
    spec_errors(client.get(f"{V2}/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-12-01T00:00:00Z"), 400)
    spec_errors(client.get(f"{V2}/requests.json?start_date=yesterday"), 400)


def test_one_request_shows_open_or_closed_with_status_notes_and_where_it_is(world, session):
    needs = make_requests(world, session)
    needs["lamp"].status = NeedStatus.CLOSED
    session.commit()
    client = world["client"]

    [lock] = client.get(f"{V2}/requests/{needs['lock'].ref}.json").get_json()
    [lamp] = client.get(f"{V2}/requests/{needs['lamp'].ref}.json").get_json()
    root = ET.fromstring(client.get(f"{V2}/requests/{needs['lamp'].ref}.xml").data)

    assert (lock["status"], lock["status_notes"], lock["service_code"]) == ("open", "已提交", "market")
    assert (lock["address_id"], lock["lat"], lock["long"]) == ("B101", 22.585, pytest.approx(113.886))
    assert lock["requested_datetime"].endswith("+08:00") and "contact" not in lock
    assert (lamp["status"], lamp["status_notes"]) == ("closed", "已办结")
    assert root.tag == "service_requests" and root.find("request/status").text == "closed"
    spec_errors(client.get(f"{V2}/requests/N-NOTHING.json"), 404)


def test_a_token_gives_the_request_id_at_once(world, session):
    [created] = post(world, service_code="volunteer", lat="22.585", long="113.886", description="买菜").get_json()

    [token] = world["client"].get(f"{V2}/tokens/{created['token']}.json").get_json()

    assert token == {"service_request_id": created["service_request_id"], "token": created["token"]}
    spec_errors(world["client"].get(f"{V2}/tokens/nothing.json"), 404)


def test_needs_that_did_not_come_through_open311_are_never_shown(world, session):
    from tests.factories import make_need
    resident_need = make_need(session, ref="N-PRIVATE", grid="G1")
    make_need(session, ref="N-MISLABELLED", grid="G1", channel=Channel.OPEN311)  # set by hand, not posted here
    session.commit()

    assert world["client"].get(f"{V2}/requests.json").get_json() == []
    spec_errors(world["client"].get(f"{V2}/requests/{resident_need.ref}.json"), 404)


def test_a_form_encoded_post_as_the_spec_sends_it_is_taken(world):
    # The spec posts forms; the api_key in the body is the credential, so no CSRF token is asked for.
    response = world["client"].post(f"{V2}/requests.json", data={
        "api_key": world["key"], "service_code": "volunteer", "lat": "22.585", "long": "113.886"})

    assert response.status_code == 201, response.get_data(as_text=True)


def test_every_service_code_is_unique_and_short():
    codes = [s.code for s in SERVICES]
    assert len(codes) == len(set(codes)) and all(len(c) <= 16 for c in codes)
