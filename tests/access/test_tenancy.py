"""Many subdistricts in one deployment: a subdistrict's staff see and change nothing of another's (404, as for
a need out of scope), its reports count only its own, its needs are matched to its own providers only; the
city's admins (an admin account with no subdistrict) see every subdistrict."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from models import MatchRun, Need, Subdistrict, User, Volunteer
from pools import grids, needs, providers
from pools.subdistricts import create_subdistrict
from tests.factories import csv_bytes, error_of, make_account, signed_in
from tests.pages.helpers import Browser

ESCORT = "我妈周三上午要去医院复查，想找人陪一下"


def _subdistrict(session: Any, code: str, name: str, prefix: str) -> dict[str, Any]:
    """A subdistrict with two neighbouring grids in one Party grid, a volunteer who escorts, and a need for one."""
    sid = create_subdistrict(session, code, name).id
    for n, neighbors in ((1, []), (2, [f"{prefix}1"])):
        grids.create_grid(session, {"code": f"{prefix}{n}", "name": f"{name}第{n}网格", "community": f"{name}社区",
                                    "party_grid": f"PG{prefix}", "neighbors": neighbors, "subdistrict_id": sid})
    volunteer = providers.create_volunteer(session, {
        "ref": f"V{prefix}", "name": f"{name}志愿者", "kind": "person", "phone": "13800138000", "grid": f"{prefix}1",
        "skills": ["陪诊"], "services": ["volunteer"], "availability": [], "capacity": 3, "force": "selfgov",
        "party_member": True, "description": "", "subdistrict_id": sid})
    need = needs.create_need(session, {"ref": f"N{prefix}", "text": ESCORT, "grid": f"{prefix}1",
                                       "urgency": "normal", "window": None, "contact": "李女士 13900139000",
                                       "service": "volunteer"})
    return {"id": sid, "volunteer": volunteer.id, "need": need.id}


@pytest.fixture
def city(app: Any, session: Any) -> dict[str, Any]:
    east = _subdistrict(session, "east", "东街道", "E")
    west = _subdistrict(session, "west", "西街道", "W")
    accounts = {
        "east_admin": make_account(session, "admin", "east-admin", subdistrict_id=east["id"]),
        "west_admin": make_account(session, "admin", "west-admin", subdistrict_id=west["id"]),
        "east_coord": make_account(session, "coordinator", "east-coord", scope_type="party_grid",
                                   scope_codes=["PGE"], subdistrict_id=east["id"]),
        "city": make_account(session, "admin", "city-admin"),
    }
    session.commit()
    api = {key: signed_in(app.test_client(), app, user) for key, user in accounts.items()}
    return {"east": east, "west": west, "api": api, "users": {k: u.id for k, u in accounts.items()}}


def test_a_subdistrict_admin_gets_404_on_another_subdistricts_need(city):
    east_admin, west_need = city["api"]["east_admin"], city["west"]["need"]

    error_of(east_admin.get(f"/api/v1/needs/{west_need}"), 404, "not_found")
    error_of(east_admin.patch(f"/api/v1/needs/{west_need}", json={"urgency": "high"}), 404, "not_found")
    error_of(east_admin.post(f"/api/v1/needs/{west_need}/actions", json={"action": "cancel", "reason": "x"}), 404)
    error_of(east_admin.post(f"/api/v1/needs/{west_need}/contact", json={"reason": "回访"}), 404)
    error_of(east_admin.delete(f"/api/v1/needs/{west_need}"), 404, "not_found")
    assert east_admin.get(f"/api/v1/needs/{city['east']['need']}").status_code == 200
    listed = {n["ref"] for n in east_admin.get("/api/v1/needs").get_json()["items"]}
    assert listed == {"NE"}


def test_the_citys_admin_sees_every_subdistrict(city):
    api = city["api"]["city"]

    assert {n["ref"] for n in api.get("/api/v1/needs").get_json()["items"]} == {"NE", "NW"}
    assert api.get(f"/api/v1/needs/{city['west']['need']}").status_code == 200
    assert api.get(f"/api/v1/volunteers/{city['west']['volunteer']}").status_code == 200


def test_reports_count_only_the_users_own_subdistrict(city):
    def total(key: str) -> int:
        response = city["api"][key].get("/api/v1/reports/closure?by=grid")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        return int(body["total"]["created"])

    assert total("east_admin") == 1
    assert total("west_admin") == 1
    assert total("east_coord") == 1
    assert total("city") == 2


def test_a_subdistrict_admin_cannot_touch_another_subdistricts_pools(city, session):
    east_admin, west = city["api"]["east_admin"], city["west"]
    west_grid = session.scalar(select(Volunteer).where(Volunteer.id == west["volunteer"])).grid_id

    error_of(east_admin.get(f"/api/v1/volunteers/{west['volunteer']}"), 404, "not_found")
    error_of(east_admin.patch(f"/api/v1/volunteers/{west['volunteer']}", json={"capacity": 9}), 404, "not_found")
    error_of(east_admin.patch(f"/api/v1/grids/{west_grid}", json={"name": "改名"}), 404, "not_found")
    # Their lists are their own: the public pools' lists too, for a subdistrict's staff.
    assert {g["code"] for g in east_admin.get("/api/v1/grids").get_json()["items"]} == {"E1", "E2"}
    assert {v["ref"] for v in east_admin.get("/api/v1/volunteers").get_json()["items"]} == {"VE"}
    error_of(east_admin.get("/api/v1/grids?subdistrict=west"), 404, "not_found")
    # A new record lands in their subdistrict and names only its grids.
    created = east_admin.post("/api/v1/grids", json={"code": "E3", "name": "东三", "community": "东街道社区",
                                                     "neighbors": ["E2"]})
    assert created.status_code == 201 and created.get_json()["subdistrict"] == "east"
    refused = error_of(east_admin.post("/api/v1/grids", json={"code": "E4", "name": "东四", "community": "东街道社区",
                                                               "neighbors": ["W1"]}), 422)
    assert refused["fields"]["neighbors"] == ["未知网格编码 W1"]


def test_the_citys_admin_names_the_subdistrict_of_a_new_record(city):
    api = city["api"]["city"]
    body = {"code": "X1", "name": "新网格", "community": "西街道社区"}

    assert "subdistrict" in error_of(api.post("/api/v1/grids", json=body), 422)["fields"]
    created = api.post("/api/v1/grids", json={**body, "subdistrict": "west"})
    assert created.status_code == 201 and created.get_json()["subdistrict"] == "west"


def test_an_import_names_only_its_own_subdistricts_grids_and_records(city, session):
    from pools.imports import import_file
    header = ["ref", "name", "kind", "phone", "grid", "skills", "services", "availability", "capacity", "force",
              "party_member", "description"]
    rows = [["VW", "冒名", "person", "", "E1", "陪诊", "volunteer", "", "1", "selfgov", "否", ""],
            ["V-NEW", "新人", "person", "", "W1", "陪诊", "volunteer", "", "1", "selfgov", "否", ""]]

    report = import_file(session, "volunteers", csv_bytes(header, rows), "v.csv", subdistrict_id=city["east"]["id"])

    assert not report.imported
    assert [(e.row, e.column, e.reason) for e in report.errors] == [
        (2, "ref", "VW 属于另一个街道"), (3, "grid", "未知网格编码 W1")]


def test_accounts_belong_to_a_subdistrict_and_its_admin_manages_only_those(city, app, session):
    from access.auth import create_user
    from tests.factories import TEST_PASSWORD

    coordinator = create_user(session, username="west-coord", password=TEST_PASSWORD, role="coordinator",
                              scope_type="grid", scope_codes=["W1", "W2"])
    assert coordinator.subdistrict_id == city["west"]["id"]  # its scope's subdistrict
    with pytest.raises(Exception) as refused:
        create_user(session, username="both", password=TEST_PASSWORD, role="coordinator", scope_type="grid",
                    scope_codes=["W1", "E1"])
    assert refused.value.fields == {"scope": ["一个账号的范围只能在一个街道之内"]}  # type: ignore[attr-defined]
    with pytest.raises(Exception) as foreign:
        create_user(session, username="east-coord-2", password=TEST_PASSWORD, role="coordinator",
                    scope_type="grid", scope_codes=["W1"], subdistrict_id=city["east"]["id"])
    assert foreign.value.fields == {"scope": ["未知的网格编码：W1"]}  # type: ignore[attr-defined]
    session.commit()

    east_admin = city["api"]["east_admin"]
    page = east_admin.get("/admin/accounts").get_data(as_text=True)
    assert "east-coord" in page and "west-coord" not in page and "west-admin" not in page
    assert east_admin.get(f"/admin/accounts/{coordinator.id}/role").status_code == 404
    assert "west-coord" in city["api"]["city"].get("/admin/accounts").get_data(as_text=True)


def test_a_subdistricts_needs_are_matched_to_its_own_providers_only(city, session):
    from dispatch.views import grid_map, load_providers, need_view
    from matching.engine import match_batch
    from matching.index import ProviderIndex
    # The east volunteer leaves; the west has an escort service covering "every grid": every grid of the west.
    session.get(Volunteer, city["east"]["volunteer"]).active = False
    providers.create_resource(session, {"ref": "RW", "name": "西街道陪诊服务", "department": "西街道", "service": "volunteer",
                                        "grids": ["*"], "capacity": 5, "skills": ["陪诊"], "description": "陪同就医",
                                        "hours": [], "subdistrict_id": city["west"]["id"]})
    session.commit()
    # Over every provider of the city it would be the east need's match: the boundary is what refuses it.
    everyone = match_batch([need_view(session.get(Need, city["east"]["need"]))],
                           ProviderIndex.build(load_providers(session)), grid_map(session))
    assert [m.provider_ref for m in everyone.assignments.values()] == ["RW"]

    response = city["api"]["east_admin"].post("/api/v1/match", json={})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["assignments"] == [] and [u["need_id"] for u in body["unmatched"]] == [city["east"]["need"]]
    run = session.get(MatchRun, body["match_run_id"])
    assert run is not None and run.subdistrict_id == city["east"]["id"]
    west_need = session.get(Need, city["west"]["need"])
    assert west_need is not None and west_need.status == "submitted"  # the east batch left the west alone


def test_the_citys_admin_matches_one_subdistrict_at_a_time_or_fans_out(city, session):
    api = city["api"]["city"]

    assert "subdistrict" in error_of(api.post("/api/v1/match", json={}), 422)["fields"]
    queued = api.post("/api/v1/match/jobs", json={})
    assert queued.status_code == 202, queued.get_json()
    jobs = queued.get_json()["jobs"]
    assert sorted(j["subdistrict"] for j in jobs) == ["east", "west"]
    runs = list(session.scalars(select(MatchRun).where(MatchRun.task_id.in_([j["id"] for j in jobs]))))
    assert sorted(r.subdistrict_id for r in runs) == sorted([city["east"]["id"], city["west"]["id"]])
    assert {n.status for n in session.scalars(select(Need))} == {"proposed"}
    for job in jobs:
        done = api.get(f"/api/v1/jobs/{job['id']}").get_json()
        assert done["state"] == "SUCCESS" and done["result"]["stats"]["matched"] == 1


def test_the_citys_fanned_out_batch_runs_once_per_subdistrict_however_often_it_is_delivered(city, app, session):
    from jobs.tasks import fan_out, subtask_id
    celery = app.extensions["celery"]

    with app.app_context():
        first = fan_out(celery, "3b2d7c1e-0000-4000-8000-000000000001", [city["east"]["id"], city["west"]["id"]])
        again = fan_out(celery, "3b2d7c1e-0000-4000-8000-000000000001", [city["east"]["id"], city["west"]["id"]])

    assert first == again == [subtask_id("3b2d7c1e-0000-4000-8000-000000000001", city[k]["id"]) for k in ("east", "west")]
    session.expire_all()
    assert session.scalar(select(MatchRun.id).where(MatchRun.task_id == first[0])) is not None
    assert len(list(session.scalars(select(MatchRun)))) == 2  # the redelivery found its runs
    assert len(list(session.scalars(select(Need).where(Need.status == "proposed")))) == 2


def test_a_subdistricts_staff_are_never_told_of_another_subdistricts_needs(city, session):
    from access.policy import need_facts, sees
    east_admin = session.get(User, city["users"]["east_admin"])
    west_need = session.get(Need, city["west"]["need"])

    assert not sees(east_admin, need_facts(session, west_need))
    assert sees(session.get(User, city["users"]["city"]), need_facts(session, west_need))


def test_seed_demo_loads_several_subdistricts_each_with_its_own_accounts(runner, app, session):
    result = runner.invoke(args=["seed-demo", "--subdistricts", "2", "--no-history"])
    assert result.exit_code == 0, result.output

    codes = list(session.scalars(select(Subdistrict.code).order_by(Subdistrict.id)))
    assert codes == ["xinan", "xixiang"]
    admin2 = session.scalar(select(User).where(User.username == "admin2"))
    city_account = session.scalar(select(User).where(User.username == "city"))
    assert admin2 is not None and admin2.subdistrict_id == session.scalar(
        select(Subdistrict.id).where(Subdistrict.code == "xixiang"))
    assert city_account is not None and city_account.role == "admin" and city_account.subdistrict_id is None
    first_need = session.scalar(select(Need).where(Need.ref == "N0001"))
    api = signed_in(app.test_client(), app, admin2)
    error_of(api.get(f"/api/v1/needs/{first_need.id}"), 404, "not_found")
    assert api.get("/api/v1/grids?per_page=200").get_json()["total"] == 158


def test_a_subdistrict_admin_registers_a_volunteer_without_a_grid_into_their_subdistrict(city):
    body = {"ref": "V-ORG", "name": "东街道社工站", "kind": "organization", "services": ["social"],
            "phone": "075512345678"}
    created = city["api"]["east_admin"].post("/api/v1/volunteers", json=body)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["subdistrict"] == "east" and created.get_json()["grid"] is None
    error_of(city["api"]["west_admin"].get(f"/api/v1/volunteers/{created.get_json()['id']}"), 404, "not_found")


def test_the_pages_header_names_where_an_account_works_and_the_citys_admins_role(city, app, session):
    east = Browser(app).login("east-admin").get("/admin").get_data(as_text=True)
    whole = Browser(app).login("city-admin").get("/admin").get_data(as_text=True)

    assert "东街道 · " in east and "（街道管理员）" in east
    assert "全市 · " in whole and "（市级管理员）" in whole
