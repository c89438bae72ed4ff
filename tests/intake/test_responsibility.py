"""Party members' responsibility fields (党员责任田): the branch gives a Party member buildings; the member logs
visits with the needs heard on them; the branch sees each member's month and the buildings left unvisited,
and a report by Party grid. Through the API and the CLI, bad input included."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from core.config import zone
from core.times import local_today
from core.vocab import Channel, Role
from models import FieldBuilding, Need, Visit
from tests.factories import ESCORT_TEXT, error_of, make_account, make_map, make_volunteer, signed_in
from tests.intake.test_address_intake import make_register

API = "/api/v1"


@pytest.fixture
def world(app, session):  # type: ignore[no-untyped-def]
    """PG1 holds G1 (金碧花园 1–6栋) and G2 (翡翠华庭 1–3栋); PG2 holds G3 (翡翠华庭4栋). V1 张小明 and V2 李红 are
    Party members, V3 is not; each member and the branches have accounts."""
    make_map(session)
    make_register(session)
    v1 = make_volunteer(session, ref="V1", name="张小明", grid="G1", availability=[])
    v2 = make_volunteer(session, ref="V2", name="李红", grid="G3", availability=[], phone="13700137000")
    make_volunteer(session, ref="V3", name="王五", grid="G1", availability=[], party_member=False, phone="13600136000")
    accounts = {
        "branch1": make_account(session, Role.REVIEWER, "branch1", scope_type="party_grid", scope_codes=["PG1"]),
        "branch2": make_account(session, Role.REVIEWER, "branch2", scope_type="party_grid", scope_codes=["PG2"]),
        "v1": make_account(session, Role.VOLUNTEER, "v1", volunteer_id=v1.id),
        "v2": make_account(session, Role.VOLUNTEER, "v2", volunteer_id=v2.id),
        "admin": make_account(session, Role.ADMIN, "admin1"),
    }
    session.commit()
    return {name: signed_in(app.test_client(), app, user) for name, user in accounts.items()}


def today() -> date:
    return local_today(zone())


def test_the_branch_gives_a_party_member_buildings_of_its_grids_only(world, session):
    response = world["branch1"].put(f"{API}/fields/V1", json={"buildings": ["B101", "B102", "B201"]})

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"member": "V1", "buildings": ["B101", "B102", "B201"]}
    outside = world["branch1"].put(f"{API}/fields/V1", json={"buildings": ["B101", "B304"]})  # B304 is in PG2
    assert outside.status_code == 403
    assert world["branch1"].put(f"{API}/fields/V1", json={"buildings": ["B102"]}).get_json()["buildings"] == ["B102"]
    assert session.scalar(select(func.count()).select_from(FieldBuilding)) == 1


def test_a_field_refuses_unknown_buildings_non_members_and_buildings_of_another_member(world, session):
    world["admin"].put(f"{API}/fields/V1", json={"buildings": ["B101"]})

    assert "buildings" in error_of(world["admin"].put(f"{API}/fields/V2", json={"buildings": ["B999"]}),
                                   422)["fields"]
    assert "不是党员" in error_of(world["admin"].put(f"{API}/fields/V3", json={"buildings": ["B102"]}),
                                  422)["fields"]["member"][0]
    assert "未知志愿者" in error_of(world["admin"].put(f"{API}/fields/V404", json={"buildings": []}),
                                   422)["fields"]["member"][0]
    taken = error_of(world["admin"].put(f"{API}/fields/V2", json={"buildings": ["B101", "B304"]}), 409)
    assert taken["fields"]["buildings"] == ["B101 已在 张小明 的责任田中"]
    assert session.scalar(select(func.count()).select_from(FieldBuilding)) == 1  # nothing half-done


def test_a_visit_takes_down_the_needs_it_heard_for_their_residents(world, session):
    world["branch1"].put(f"{API}/fields/V1", json={"buildings": ["B101", "B102"]})

    response = world["v1"].post(f"{API}/visits", json={
        "building": "B101", "households": 12, "notes": "三户独居老人",
        "needs": [{"text": ESCORT_TEXT, "resident_name": "王阿姨", "resident_phone": "13800138000"},
                  {"text": "楼道灯坏了，晚上看不见", "urgency": "high"}]})

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["member"], body["building"], body["households"], body["visited_on"]) == (
        "V1", "B101", 12, today().isoformat())
    needs = [session.get(Need, n["id"]) for n in body["needs"]]
    assert [n.channel for n in needs] == [Channel.VISIT, Channel.VISIT]
    assert {(n.grid.code, n.building.code) for n in needs} == {("G1", "B101")}
    assert needs[0].resident_name == "王阿姨" and needs[0].resident_phone == "13800138000"
    assert all(n.service is not None for n in needs)  # classified as any submission
    assert world["branch1"].get(f"{API}/needs/{needs[0].id}").get_json()["channel"] == "visit"


def test_a_visit_is_refused_outside_the_field_in_the_future_or_by_someone_else(world, session):
    world["admin"].put(f"{API}/fields/V1", json={"buildings": ["B101"]})
    world["admin"].put(f"{API}/fields/V2", json={"buildings": ["B304"]})

    assert "不在" in error_of(world["v1"].post(f"{API}/visits", json={"building": "B102"}), 422)["fields"]["building"][0]
    assert "building" in error_of(world["v1"].post(f"{API}/visits", json={"building": "B999"}), 422)["fields"]
    future = (today() + timedelta(days=1)).isoformat()
    assert "visited_on" in error_of(world["v1"].post(f"{API}/visits", json={"building": "B101", "visited_on": future}),
                                    422)["fields"]
    assert "households" in error_of(world["v1"].post(f"{API}/visits", json={"building": "B101", "households": 101}),
                                    422)["fields"]  # 金碧花园1栋 has 100 households
    bad_need = world["v1"].post(f"{API}/visits", json={"building": "B101", "needs": [{"text": "x",
                                                                                       "resident_phone": "12"}]})
    assert set(error_of(bad_need, 422)["fields"]["needs"]["0"]) == {"text", "resident_phone"}
    assert world["v1"].post(f"{API}/visits", json={"building": "B304", "member": "V2"}).status_code == 403
    assert world["branch1"].post(f"{API}/visits", json={"building": "B304", "member": "V2"}).status_code == 403
    assert session.scalar(select(func.count()).select_from(Visit)) == 0
    assert session.scalar(select(func.count()).select_from(Need)) == 0


def test_a_volunteer_who_is_no_party_member_cannot_log_visits(app, world, session):
    v3 = session.scalar(select(FieldBuilding))  # none yet
    assert v3 is None
    from models import Volunteer
    account = make_account(session, Role.VOLUNTEER, "v3", volunteer_id=session.scalar(
        select(Volunteer.id).where(Volunteer.ref == "V3")))
    session.commit()

    response = signed_in(app.test_client(), app, account).post(f"{API}/visits", json={"building": "B101"})

    assert error_of(response, 403)["message"] == "只有党员可以登记责任田走访"


def test_the_branch_sees_each_members_month_and_the_buildings_not_visited_lately(world, session):
    world["admin"].put(f"{API}/fields/V1", json={"buildings": ["B101", "B102", "B103"]})
    world["admin"].put(f"{API}/fields/V2", json={"buildings": ["B304"]})
    long_ago = (today() - timedelta(days=45)).isoformat()
    world["v1"].post(f"{API}/visits", json={"building": "B101", "households": 10,
                                            "needs": [{"text": ESCORT_TEXT}]})
    world["v1"].post(f"{API}/visits", json={"building": "B102", "households": 5, "visited_on": long_ago})

    body = world["branch1"].get(f"{API}/fields?stale_days=30").get_json()

    assert [m["ref"] for m in body["items"]] == ["V1"]  # V2's field lies in PG2
    v1 = body["items"][0]
    assert (v1["visits_this_month"], v1["households_this_month"], v1["needs_raised_this_month"]) == (1, 10, 1)
    assert {b["code"]: b["last_visited_on"] for b in v1["stale"]} == {"B102": long_ago, "B103": None}
    assert {b["code"] for b in world["branch1"].get(f"{API}/fields?stale_days=60").get_json()["items"][0]["stale"]} \
        == {"B103"}
    own = world["v2"].get(f"{API}/fields").get_json()["items"]
    assert [m["ref"] for m in own] == ["V2"] and [b["code"] for b in own[0]["stale"]] == ["B304"]
    assert world["v1"].get(f"{API}/visits").get_json()["items"][0]["building"] in {"B101", "B102"}
    assert world["branch2"].get(f"{API}/visits").get_json()["items"] == []
    assert "stale_days" in error_of(world["branch1"].get(f"{API}/fields?stale_days=0"), 422)["fields"]


def test_the_report_by_party_grid_counts_the_months_coverage_visits_and_needs(world, session):
    world["admin"].put(f"{API}/fields/V1", json={"buildings": ["B101", "B102", "B201", "B202"]})
    world["admin"].put(f"{API}/fields/V2", json={"buildings": ["B304"]})
    world["v1"].post(f"{API}/visits", json={"building": "B101", "households": 10, "needs": [{"text": ESCORT_TEXT}]})
    world["v1"].post(f"{API}/visits", json={"building": "B101", "households": 4})
    world["v1"].post(f"{API}/visits", json={"building": "B201", "households": 6})

    rows = {r["code"]: r for r in world["admin"].get(f"{API}/reports/visits").get_json()["items"]}

    assert {k: rows["PG1"][k] for k in ("members", "buildings", "buildings_visited", "visits", "households",
                                        "needs_raised", "stale_buildings")} == {
        "members": 1, "buildings": 4, "buildings_visited": 2, "visits": 3, "households": 20, "needs_raised": 1,
        "stale_buildings": 2}
    assert rows["PG1"]["coverage"] == 0.5 and rows["PG2"]["coverage"] == 0.0
    assert [r["code"] for r in world["branch2"].get(f"{API}/reports/visits").get_json()["items"]] == ["PG2"]
    last_year = world["admin"].get(f"{API}/reports/visits?month=2025-01").get_json()["items"]
    assert sum(r["visits"] for r in last_year) == 0
    for month in ("2026-13", "0000-01"):  # (the second was a 500, found by schemathesis)
        assert "month" in error_of(world["admin"].get(f"{API}/reports/visits?month={month}"), 422)["fields"]


def test_the_cli_assigns_a_field_and_prints_the_report(runner, world, session):
    assigned = runner.invoke(args=["fields", "assign", "V1", "B101", "B102"])
    refused = runner.invoke(args=["fields", "assign", "V3", "B103"])
    report = runner.invoke(args=["fields", "report"])
    stale = runner.invoke(args=["fields", "stale", "--days", "30"])

    assert assigned.exit_code == 0 and "2 个楼栋" in assigned.output
    assert refused.exit_code == 1 and "不是党员" in refused.output
    assert "PG1" in report.output and "\t1\t2\t0\t0%" in report.output
    assert "V1 张小明" in stale.output and "金碧花园1栋（从未走访）" in stale.output
