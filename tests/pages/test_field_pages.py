"""Party members' responsibility fields in pages: a Party member logs a visit (and a need heard on it) from
我的责任田; bad input keeps the form and saves nothing; the branch sees who has waited too long."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from core.config import zone
from core.times import local_today
from core.vocab import Channel, Role
from models import FieldBuilding, Need, Visit, Volunteer
from tests.factories import ESCORT_TEXT, make_account, make_map, make_volunteer
from tests.intake.test_address_intake import make_register
from tests.pages.helpers import Browser, field_errors


def _world(session):  # type: ignore[no-untyped-def]
    make_map(session)
    make_register(session)
    member = make_volunteer(session, ref="V1", name="张小明", grid="G1", availability=[])
    other = make_volunteer(session, ref="V2", name="王五", grid="G1", availability=[], party_member=False,
                           phone="13600136000")
    for code in ("B101", "B102"):
        session.add(FieldBuilding(member_id=member.id, building_id=_building_id(session, code)))
    make_account(session, Role.VOLUNTEER, "member", volunteer_id=member.id)
    make_account(session, Role.VOLUNTEER, "not-member", volunteer_id=other.id)
    make_account(session, Role.REVIEWER, "branch", scope_type="party_grid", scope_codes=["PG1"])
    session.commit()


def _building_id(session, code):  # type: ignore[no-untyped-def]
    from models import Building
    return session.scalar(select(Building.id).where(Building.code == code))


def test_a_party_member_logs_a_visit_with_a_need_heard_on_it(app, session):
    _world(session)
    member = Browser(app).login("member")
    page = member.get("/field").get_data(as_text=True)
    assert "我的责任田" in page and "金碧花园1栋" in page and "还没有走访过" in page

    response = member.post("/field/visits", {"building": "B101", "visited_on": local_today(zone()).isoformat(),
                                             "households": "8", "notes": "两户独居老人", "need_text": ESCORT_TEXT,
                                             "resident_name": "王阿姨", "resident_phone": "13800138000"})

    assert response.status_code == 302, response.get_data(as_text=True)
    visit = session.scalar(select(Visit))
    assert (visit.building.code, visit.households, visit.notes) == ("B101", 8, "两户独居老人")
    need = session.scalar(select(Need))
    assert (need.channel, need.visit_id, need.resident_name) == (Channel.VISIT, visit.id, "王阿姨")
    after = member.get("/field").get_data(as_text=True)
    assert "已记录" in after and need.ref in after


def test_bad_input_keeps_the_form_says_why_and_saves_nothing(app, session):
    _world(session)
    member = Browser(app).login("member")
    member.get("/field")
    tomorrow = (local_today(zone()) + timedelta(days=1)).isoformat()

    response = member.post("/field/visits", {"building": "B101", "visited_on": tomorrow, "households": "x",
                                             "notes": "", "need_text": "一个需求", "resident_phone": "123"})

    assert response.status_code == 422
    reasons = " ".join(field_errors(response.get_data(as_text=True)))
    assert "11 位手机号" in reasons and "households" not in reasons
    assert "一个需求" in response.get_data(as_text=True)  # the text is kept
    not_mine = member.post("/field/visits", {"building": "B201", "visited_on": "", "households": "1"})
    assert not_mine.status_code == 422 and "不在 张小明 的责任田中" in not_mine.get_data(as_text=True)
    future = member.post("/field/visits", {"building": "B101", "visited_on": tomorrow, "households": "1"})
    assert future.status_code == 422 and "不能晚于今天" in future.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Visit)) == 0
    assert session.scalar(select(func.count()).select_from(Need)) == 0


def test_a_volunteer_who_is_no_party_member_has_no_field(app, session):
    _world(session)
    volunteer = Browser(app).login("not-member")

    assert volunteer.get("/field").status_code == 403
    assert "我的责任田" not in volunteer.get("/tasks").get_data(as_text=True)
    assert "我的责任田" in Browser(app).login("member").get("/tasks").get_data(as_text=True)


def test_the_branch_sees_the_buildings_waiting_too_long(app, session):
    _world(session)
    member_id = session.scalar(select(Volunteer.id).where(Volunteer.ref == "V1"))
    session.add(Visit(member_id=member_id, building_id=_building_id(session, "B101"), households=5,
                      visited_on=local_today(zone()) - timedelta(days=40)))
    session.commit()
    branch = Browser(app).login("branch")

    thirty = branch.get("/review/fields?days=30").get_data(as_text=True)
    sixty = branch.get("/review/fields?days=60").get_data(as_text=True)

    assert "张小明（V1）" in thirty and "金碧花园1栋（" in thirty and "金碧花园2栋（从未走访）" in thirty
    assert "金碧花园1栋（" not in sixty and "金碧花园2栋（从未走访）" in sixty


def test_a_building_head_takes_down_a_households_need_from_the_menu(app, session):
    _world(session)
    from models import Building
    head = session.scalar(select(Volunteer).where(Volunteer.ref == "V2"))  # no Party member, no field
    session.scalar(select(Building).where(Building.code == "B201")).head_id = head.id
    session.commit()
    browser = Browser(app).login("not-member")
    assert "代住户登记" in browser.get("/tasks").get_data(as_text=True)
    form = browser.get("/field/need").get_data(as_text=True)
    assert 'value="B201"' in form and 'value="B101"' not in form  # their own buildings only

    refused = browser.post("/field/need", {"building": "B101", "text": ESCORT_TEXT, "urgency": "normal"})
    done = browser.post("/field/need", {"building": "B201", "text": ESCORT_TEXT, "urgency": "normal",
                                        "resident_name": "李伯", "resident_phone": "13900139000"})

    assert refused.status_code == 422 and "翡翠华庭1栋" in refused.get_data(as_text=True)
    assert done.status_code == 302
    need = session.scalar(select(Need))
    assert (need.channel, need.grid.code, need.building.code, need.resident_phone) == (
        Channel.BUILDING_HEAD, "G2", "B201", "13900139000")
