"""A need placed by its address: a sure address decides the grid and the building (and a resident's home);
an unsure one waits in triage with its candidates, unmatched, until a person chooses; nonsense is a 422."""
from __future__ import annotations

from sqlalchemy import select

from core.vocab import NeedStatus, Role
from models import AuditEntry, Building, Grid, Need, User
from tests.factories import ESCORT_TEXT, error_of, make_account, make_map, make_volunteer, signed_in

API = "/api/v1"


def make_register(session):  # type: ignore[no-untyped-def]
    """金碧花园 1–6栋 in G1, 翡翠华庭 1–3栋 in G2 (and 翡翠华庭 4栋 in G3, across the street)."""
    grid = {g.code: g.id for g in session.scalars(select(Grid))}
    rows = [(f"B1{n:02d}", f"金碧花园{n}栋", "G1") for n in range(1, 7)]
    rows += [(f"B2{n:02d}", f"翡翠华庭{n}栋", "G2") for n in range(1, 4)] + [("B304", "翡翠华庭4栋", "G3")]
    for code, name, g in rows:
        session.add(Building(code=code, name=name, address=f"广东省深圳市宝安区新安街道海滨社区{name}",
                             aliases=[], grid_id=grid[g], households=100))
    session.flush()


def world(app, session):  # type: ignore[no-untyped-def]
    make_map(session)
    make_register(session)
    make_volunteer(session, ref="V1", grid="G1", availability=[])
    resident = make_account(session, Role.RESIDENT, "resident-a")
    make_account(session, Role.COORDINATOR, "coord-a", scope_type="party_grid", scope_codes=["PG1"])
    session.commit()
    return signed_in(app.test_client(), app, resident)


def as_user(app, session, username):  # type: ignore[no-untyped-def]
    return signed_in(app.test_client(), app, session.scalar(select(User).where(User.username == username)))


def test_a_sure_address_decides_the_grid_the_building_and_the_residents_home(app, session):
    resident = world(app, session)

    response = resident.post(f"{API}/needs", json={"text": ESCORT_TEXT, "address": "金碧花园５栋１２０３"})

    assert response.status_code == 201, response.get_json()
    need = session.get(Need, response.get_json()["id"])
    assert (need.grid.code, need.building.name, need.place_unsure) == ("G1", "金碧花园5栋", False)
    assert need.status == NeedStatus.SUBMITTED and need.address == "金碧花园５栋１２０３"
    assert session.scalar(select(User).where(User.username == "resident-a")).building.name == "金碧花园5栋"


def test_an_unsure_address_waits_in_triage_with_its_candidates_and_is_not_matched(app, session):
    resident = world(app, session)

    response = resident.post(f"{API}/needs", json={"text": ESCORT_TEXT, "address": "翡翠华庭"})  # no number

    assert response.status_code == 201, response.get_json()
    need = session.get(Need, response.get_json()["id"])
    assert need.place_unsure and need.building_id is None and need.status == NeedStatus.TRIAGE
    assert {c["name"] for c in need.address_candidates} >= {"翡翠华庭1栋", "翡翠华庭4栋"}
    reason = session.scalars(select(AuditEntry.reason).where(AuditEntry.need_id == need.id)).all()[-1]
    assert "不能确定是哪个楼栋" in reason
    assert session.scalar(select(User).where(User.username == "resident-a")).building_id is None
    match = as_user(app, session, "coord-a").post(f"{API}/match", json={"party_grid": "PG1"})
    assert match.status_code == 200 and need.id not in {a["need_id"] for a in match.get_json()["assignments"]}


def test_a_coordinator_chooses_the_building_and_the_need_goes_on_to_matching(app, session):
    from intake.service import confirm_place
    resident = world(app, session)
    need_id = resident.post(f"{API}/needs", json={"text": ESCORT_TEXT, "address": "翡翠华庭"}).get_json()["id"]
    need = session.get(Need, need_id)
    coordinator = session.scalar(select(User).where(User.username == "coord-a"))

    confirm_place(session, need, session.scalar(select(Building).where(Building.code == "B202")), coordinator)

    assert (need.grid.code, need.building.code, need.place_unsure) == ("G2", "B202", False)
    assert need.status == NeedStatus.SUBMITTED and need.address_candidates == []


def test_an_address_nobody_knows_is_a_422_on_the_field_and_saves_nothing(app, session):
    resident = world(app, session)

    error = error_of(resident.post(f"{API}/needs", json={"text": ESCORT_TEXT, "address": "火星基地9号"}), 422)
    missing = error_of(resident.post(f"{API}/needs", json={"text": ESCORT_TEXT}), 422)

    assert "找不到这个地址" in error["fields"]["address"][0]
    assert "grid" in missing["fields"]
    assert session.scalar(select(Need.id)) is None


def test_the_resolver_answers_candidates_with_their_grid(app, session):
    resident = world(app, session)

    body = resident.get(f"{API}/addresses/resolve", query_string={"q": "金碧花园三栋502"}).get_json()

    assert body["sure"] is True
    assert (body["items"][0]["name"], body["items"][0]["grid"]) == ("金碧花园3栋", "G1")
    assert error_of(app.test_client().get(f"{API}/addresses/resolve", query_string={"q": "金碧"}), 401)


def test_the_resolver_documents_its_rate_limit(app):
    # Found by schemathesis: the resolver is rate-limited like the classifier, so 429 is one of its answers.
    from web.openapi import build_spec
    with app.app_context():
        responses = build_spec(app)["paths"]["/api/v1/addresses/resolve"]["get"]["responses"]

    assert "429" in responses
