"""Needs taken down for residents without an account (民情收集): a grid worker records who the resident is and
how the need came; once that resident signs in with an account of the same mobile, the need is theirs."""
from __future__ import annotations

from sqlalchemy import select

from core.vocab import Channel, ProposalStatus, Role
from models import Building, FieldBuilding, Need, Proposal, User
from tests.factories import ACCOUNT_PASSWORD, ESCORT_TEXT, error_of, make_account, make_map, make_volunteer, signed_in
from tests.intake.test_address_intake import make_register

API = "/api/v1"
PHONE = "13800138000"


def world(app, session):  # type: ignore[no-untyped-def]
    make_map(session)
    make_register(session)
    coordinator = make_account(session, Role.COORDINATOR, "coord-a", scope_type="party_grid", scope_codes=["PG1"])
    session.commit()
    return signed_in(app.test_client(), app, coordinator)


def take_down(coordinator, **body):  # type: ignore[no-untyped-def]
    return coordinator.post(f"{API}/needs", json={"text": ESCORT_TEXT, "address": "金碧花园5栋1203", **body})


def sign_in(app, username, password=ACCOUNT_PASSWORD):  # type: ignore[no-untyped-def]
    client = app.test_client()
    response = client.post(f"{API}/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {response.get_json()['access_token']}"
    return client


def my_needs(client) -> set[int]:  # type: ignore[no-untyped-def]
    response = client.get(f"{API}/needs")
    assert response.status_code == 200
    return {n["id"] for n in response.get_json()["items"]}


def test_a_need_taken_down_by_phone_keeps_the_residents_name_canonical_phone_and_channel(app, session):
    coordinator = world(app, session)

    response = take_down(coordinator, resident_name="王阿姨", resident_phone="+86 138-0013-8000")

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["resident_name"], body["resident_phone"], body["channel"]) == ("王阿姨", "138****8000", "phone")
    need = session.get(Need, body["id"])
    assert need.resident_id is None and need.contact == f"王阿姨 {PHONE}"  # how the provider reaches her
    assert need.grid.code == "G1" and need.building.name == "金碧花园5栋"


def test_the_channel_says_how_it_came_and_system_channels_cannot_be_claimed(app, session):
    coordinator = world(app, session)

    for channel in ("visit", "walk_in", "snapshot", "hotline", "building_head"):
        response = take_down(coordinator, channel=channel, resident_phone=PHONE)
        assert response.status_code == 201 and response.get_json()["channel"] == channel
    for channel in ("import", "open311", "fax"):
        assert "channel" in error_of(take_down(coordinator, channel=channel), 422)["fields"]


def test_a_phone_that_is_no_phone_is_refused_field_by_field_and_nothing_is_stored(app, session):
    coordinator = world(app, session)
    before = session.scalar(select(Need.id).order_by(Need.id.desc()))

    error = error_of(take_down(coordinator, resident_phone="1380013800", resident_name="x" * 101), 422)

    assert set(error["fields"]) == {"resident_phone", "resident_name"}
    assert "11 位手机号" in error["fields"]["resident_phone"][0]
    assert session.scalar(select(Need.id).order_by(Need.id.desc())) == before


def test_a_resident_cannot_file_a_need_under_someone_elses_phone(app, session):
    world(app, session)
    resident = signed_in(app.test_client(), app, make_account(session, Role.RESIDENT, "res-b"))
    session.commit()

    error = error_of(take_down(resident, resident_phone=PHONE), 422)

    assert list(error["fields"]) == ["resident_phone"]
    need_id = take_down(resident).get_json()["id"]
    assert "resident_name" in error_of(resident.patch(f"{API}/needs/{need_id}", json={"resident_name": "王阿姨"}),
                                       422)["fields"]


def test_signing_in_with_an_account_of_that_mobile_makes_the_need_the_residents(app, session, runner):
    coordinator = world(app, session)
    taken = take_down(coordinator, resident_name="王阿姨", resident_phone=PHONE).get_json()["id"]
    other = take_down(coordinator, resident_phone="13900139000").get_json()["id"]
    session.commit()

    result = runner.invoke(args=["users", "create", "wang", "--role", "resident", "--phone", "138 0013 8000",
                                 "--password", "Wang-ayi-2026!"])

    assert result.exit_code == 0, result.output
    wang = session.scalar(select(User).where(User.username == "wang"))
    assert wang.phone == PHONE
    by_phone = sign_in(app, "138-0013-8000", "Wang-ayi-2026!")  # the mobile signs in like the username
    assert my_needs(by_phone) == {taken}
    assert by_phone.get(f"{API}/needs/{taken}").get_json()["resident_phone"] == PHONE
    assert by_phone.get(f"{API}/needs/{other}").status_code == 404


def test_a_need_taken_down_after_the_account_exists_is_theirs_at_once(app, session):
    coordinator = world(app, session)
    wang = make_account(session, Role.RESIDENT, "wang", phone=PHONE)
    session.commit()

    need_id = take_down(coordinator, resident_phone=PHONE).get_json()["id"]

    assert session.get(Need, need_id).resident_id == wang.id
    assert my_needs(signed_in(app.test_client(), app, wang)) == {need_id}


def test_a_signed_in_resident_with_an_account_of_another_number_gets_nothing(app, session):
    coordinator = world(app, session)
    take_down(coordinator, resident_phone=PHONE)
    make_account(session, Role.RESIDENT, "li", phone="13900139000")
    make_account(session, Role.RESIDENT, "zhao")  # no phone at all
    session.commit()

    assert my_needs(sign_in(app, "li")) == set()
    assert my_needs(sign_in(app, "zhao")) == set()


def test_a_volunteer_no_longer_asked_sees_the_residents_phone_masked(app, session):
    coordinator = world(app, session)
    need_id = take_down(coordinator, resident_phone=PHONE).get_json()["id"]
    volunteer = make_volunteer(session, ref="V1", grid="G1", availability=[])
    session.add(Proposal(need_id=need_id, volunteer_id=volunteer.id, score=0.9, tier=0,
                         status=ProposalStatus.DECLINED))
    account = make_account(session, Role.VOLUNTEER, "vol", volunteer_id=volunteer.id)
    session.commit()

    revealed = coordinator.post(f"{API}/needs/{need_id}/contact", json={"reason": "回电"}).get_json()
    assert revealed["resident_phone"] == PHONE
    seen = signed_in(app.test_client(), app, account).get(f"{API}/needs/{need_id}").get_json()
    assert seen["resident_phone"] == "138****8000" and PHONE not in seen["contact"]


def test_an_account_phone_must_be_a_mobile_and_one_account_per_mobile(app, session):
    from access.auth import create_user
    from core.errors import Conflict, InvalidData
    world(app, session)
    make_account(session, Role.RESIDENT, "wang", phone=PHONE)

    for phone, error in (("0755-12345678", InvalidData), ("abc", InvalidData), ("+86 13800138000", Conflict)):
        try:
            create_user(session, username=f"u{phone}", password="Another-pass-2026", role="resident", phone=phone)
        except error as exc:
            assert "phone" in (exc.fields or {})
        else:
            raise AssertionError(f"{phone} was taken")


def test_the_channel_of_a_residents_own_submission_is_always_the_app(app, session):
    world(app, session)
    resident = signed_in(app.test_client(), app, make_account(session, Role.RESIDENT, "res-c"))
    session.commit()

    response = take_down(resident, channel="visit")

    assert response.status_code == 201 and response.get_json()["channel"] == Channel.APP


def test_a_building_head_takes_down_a_need_of_their_buildings_households_only(app, session):
    world(app, session)
    head = make_volunteer(session, ref="V7", grid="G1", availability=[], party_member=False, phone="13700137000")
    plain = make_volunteer(session, ref="V8", grid="G1", availability=[], party_member=False, phone="13600136000")
    session.get(Building, session.scalar(select(Building.id).where(Building.code == "B105"))).head_id = head.id
    head_api = signed_in(app.test_client(), app, make_account(session, Role.VOLUNTEER, "head", volunteer_id=head.id))
    plain_api = signed_in(app.test_client(), app, make_account(session, Role.VOLUNTEER, "plain",
                                                               volunteer_id=plain.id))
    session.commit()

    response = head_api.post(f"{API}/needs", json={"text": ESCORT_TEXT, "address": "金碧花园5栋1203",
                                                   "resident_name": "王阿姨", "resident_phone": PHONE})

    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["channel"], response.get_json()["grid"]) == ("building_head", "G1")
    elsewhere = error_of(head_api.post(f"{API}/needs", json={"text": ESCORT_TEXT, "address": "金碧花园4栋"}), 422)
    assert "金碧花园5栋" in elsewhere["fields"]["address"][0]
    assert "address" in error_of(head_api.post(f"{API}/needs", json={"text": ESCORT_TEXT, "grid": "G1"}), 422)["fields"]
    refused = plain_api.post(f"{API}/needs", json={"text": ESCORT_TEXT, "address": "金碧花园5栋"})
    assert error_of(refused, 403)["message"] == "只有楼栋长和有责任田的党员可以代住户登记需求"


def test_a_party_member_takes_down_a_need_in_their_field_as_a_visit(app, session):
    world(app, session)
    member = make_volunteer(session, ref="V9", grid="G1", availability=[], phone="13500135000")
    session.add(FieldBuilding(member_id=member.id,
                              building_id=session.scalar(select(Building.id).where(Building.code == "B102"))))
    api = signed_in(app.test_client(), app, make_account(session, Role.VOLUNTEER, "member", volunteer_id=member.id))
    session.commit()

    response = api.post(f"{API}/needs", json={"text": ESCORT_TEXT, "address": "金碧花园2栋"})

    assert response.status_code == 201 and response.get_json()["channel"] == "visit"
