"""The residents', volunteers' and coordinators' pages through a browser-like client: forms keep the
text and say why, nothing is half-saved, the cookie session needs its CSRF token, and one need goes
its whole way through the pages."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from core.vocab import NeedStatus, Role
from models import AuditEntry, Need
from tests.factories import ESCORT_TEXT, make_account, make_map, make_volunteer
from tests.pages.helpers import Browser, field_errors


def _world(session):  # type: ignore[no-untyped-def]
    make_map(session)
    volunteer = make_volunteer(session, ref="V1", grid="G1", availability=[])
    make_account(session, Role.RESIDENT, "resident-a")
    make_account(session, Role.VOLUNTEER, "volunteer-a", volunteer_id=volunteer.id)
    make_account(session, Role.COORDINATOR, "coord-a", scope_type="party_grid", scope_codes=["PG1"])
    make_account(session, Role.REVIEWER, "branch-a", scope_type="party_grid", scope_codes=["PG1"])
    session.commit()


def test_a_form_with_bad_input_keeps_the_text_says_why_and_saves_nothing(app, session):
    _world(session)
    resident = Browser(app).login("resident-a")
    before = session.scalar(select(func.count()).select_from(Need))

    response = resident.post("/my/needs/new", {"text": "水管漏了，想找人修一下", "grid": "", "urgency": "normal",
                                               "part": "morning", "day": "", "contact": "13800138000"})

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "水管漏了，想找人修一下" in html and 'value="13800138000"' in html
    assert field_errors(html) == ["错误：请写下您住的小区和楼栋（如“金碧花园5栋”），或选择网格",
                                  "错误：请选择哪一天方便（或选“随时都可以”）"]
    assert 'href="#f-address"' in html  # the summary links to the field
    assert session.scalar(select(func.count()).select_from(Need)) == before


def test_a_form_posted_without_its_csrf_token_is_refused(app, session):
    _world(session)
    resident = Browser(app).login("resident-a")

    response = resident.post("/my/needs/new", {"text": ESCORT_TEXT, "grid": "G1", "urgency": "normal",
                                               "part": "any"}, token=False)

    assert response.status_code == 403
    assert session.scalar(select(func.count()).select_from(Need)) == 0


def test_the_login_form_needs_its_token_too(app, session):
    _world(session)
    browser = Browser(app)
    browser.get("/login")

    refused = browser.post("/login", {"username": "resident-a", "password": "test-password-1"}, token=False)
    wrong = browser.post("/login", {"username": "resident-a", "password": "not-the-password"})

    assert refused.status_code == 403
    assert wrong.status_code == 422 and "用户名或密码错误" in wrong.get_data(as_text=True)
    assert 'value="resident-a"' in wrong.get_data(as_text=True)


def test_one_need_through_the_pages_from_submission_to_rating(app, session):
    _world(session)
    resident = Browser(app).login("resident-a")
    submitted = resident.post("/my/needs/new", {"text": ESCORT_TEXT, "grid": "G1", "urgency": "normal",
                                                "part": "any", "contact": "13900139000"})
    assert submitted.status_code == 302
    need_id = int(submitted.location.split("/")[3])
    assert "接下来会怎样" in resident.get(submitted.location).get_data(as_text=True)

    coordinator = Browser(app).login("coord-a")
    queue = coordinator.get("/queue?state=waiting").get_data(as_text=True)
    assert f"/needs/{need_id}?back=" in queue
    matched = coordinator.post("/queue/match", {"grid": "", "back": "/queue?state=proposed"})
    assert matched.status_code == 302
    assert "匹配完成：为 1 条需求推荐了服务方" in coordinator.get(matched.location).get_data(as_text=True)
    page = coordinator.get(f"/needs/{need_id}").get_data(as_text=True)
    assert "张小明" in page and 'class="meter"' in page  # the proposal and its bars per feature

    volunteer = Browser(app).login("volunteer-a")
    assert f"/tasks/{need_id}" in volunteer.get("/tasks").get_data(as_text=True)
    task = volunteer.get(f"/tasks/{need_id}").get_data(as_text=True)
    assert "为什么推荐您" in task and "同网格" in task
    proposal = session.scalar(select(Need).where(Need.id == need_id)).current_proposal.id
    assert volunteer.post(f"/tasks/{need_id}/accept", {"proposal": proposal}).status_code == 302

    branch = Browser(app).login("branch-a")
    assert branch.post(f"/needs/{need_id}/approve", {}).status_code == 302
    assert volunteer.post(f"/tasks/{need_id}/start", {}).status_code == 302
    bad_hours = volunteer.post(f"/tasks/{need_id}/report_done", {"hours": "-2"})
    assert bad_hours.status_code == 422 and field_errors(bad_hours.get_data(as_text=True))
    assert volunteer.post(f"/tasks/{need_id}/report_done", {"hours": "2.5"}).status_code == 302
    assert "本月服务时长：<strong>2.5</strong>" in volunteer.get("/tasks").get_data(as_text=True)

    resident.get(f"/my/needs/{need_id}")
    no_rating = resident.post(f"/my/needs/{need_id}/confirm", {"comment": "很好"})
    assert no_rating.status_code == 422 and "很好" in no_rating.get_data(as_text=True)
    assert resident.post(f"/my/needs/{need_id}/confirm", {"rating": "5", "comment": "很好"}).status_code == 302

    story = resident.get(f"/my/needs/{need_id}").get_data(as_text=True)
    session.expire_all()
    need = session.get(Need, need_id)
    assert need.status == NeedStatus.CLOSED and need.rating == 5 and need.volunteer_hours == 2.5
    for sentence in ("您提交了需求", "志愿者张某已接单", "网格党支部已审核通过", "志愿者张某开始服务",
                     "您确认办结并作了评价"):
        assert sentence in story
    assert story.index("您提交了需求") < story.index("您确认办结并作了评价")  # oldest first
    entries = session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.need_id == need_id))
    assert entries >= 6


def test_a_resident_cancels_after_a_confirmation_page_and_may_reopen(app, session):
    _world(session)
    resident = Browser(app).login("resident-a")
    need_id = int(resident.post("/my/needs/new", {"text": ESCORT_TEXT, "grid": "G1", "urgency": "normal",
                                                  "part": "any"}).location.split("/")[3])

    ask = resident.get(f"/my/needs/{need_id}/cancel").get_data(as_text=True)
    assert "确定撤销需求" in ask
    assert resident.post(f"/my/needs/{need_id}/cancel", {"reason": "已经解决了"}).status_code == 302
    page = resident.get(f"/my/needs/{need_id}").get_data(as_text=True)
    assert "您撤销了需求" in page and "重新打开需求" in page
    assert resident.post(f"/my/needs/{need_id}/reopen", {}).status_code == 302
    session.expire_all()
    assert session.get(Need, need_id).status == NeedStatus.SUBMITTED


def test_a_refused_action_says_why_and_changes_nothing(app, session):
    _world(session)
    resident = Browser(app).login("resident-a")
    need_id = int(resident.post("/my/needs/new", {"text": ESCORT_TEXT, "grid": "G1", "urgency": "normal",
                                                  "part": "any"}).location.split("/")[3])
    resident.get(f"/my/needs/{need_id}")

    response = resident.post(f"/my/needs/{need_id}/confirm", {"rating": "4"})  # nothing is done yet

    assert response.status_code == 422
    assert "不能执行" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Need, need_id).status == NeedStatus.SUBMITTED


def test_a_coordinator_enters_a_need_for_a_resident_only_in_their_scope(app, session):
    _world(session)
    coordinator = Browser(app).login("coord-a")
    form = coordinator.get("/needs/new").get_data(as_text=True)
    assert 'value="G1"' in form and 'value="G3"' not in form  # the picker offers their grids only

    fields = {"text": ESCORT_TEXT, "urgency": "normal", "part": "any", "channel": "phone", "resident_name": "王阿姨"}
    outside = coordinator.post("/needs/new", {**fields, "grid": "G3", "resident_phone": "13800138000"})
    no_phone = coordinator.post("/needs/new", {**fields, "grid": "G1", "resident_phone": "138001380"})
    inside = coordinator.post("/needs/new", {**fields, "grid": "G1", "resident_phone": "138 0013 8000"})

    assert outside.status_code == 422 and "只能为自己负责的网格登记需求" in outside.get_data(as_text=True)
    assert no_phone.status_code == 422 and "11 位手机号" in "".join(field_errors(no_phone.get_data(as_text=True)))
    assert inside.status_code == 302
    need = session.scalar(select(Need).where(Need.grid.has(code="G1")))
    assert (need.channel, need.resident_name, need.resident_phone) == ("phone", "王阿姨", "13800138000")
    assert need.resident_id is None
    page = coordinator.get(f"/needs/{need.id}").get_data(as_text=True)
    assert "来源：电话" in page and "代登记居民：王阿姨 138****8000" in page


def test_the_elderly_mode_is_one_press_from_the_first_page(app, session):
    browser = Browser(app)
    login = browser.get("/login").get_data(as_text=True)
    assert "长辈版" in login and 'class="elder' not in login

    browser.post("/display-mode", {"elder": "1", "back": "/login"})

    assert '<body class="elder' in browser.get("/login").get_data(as_text=True)


def _jpeg() -> bytes:
    import io

    from PIL import Image
    out = io.BytesIO()
    exif = Image.Exif()
    exif.get_ifd(0x8825)[2] = (22.0, 34.0, 50.0)
    Image.new("RGB", (320, 240), (30, 90, 200)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_a_photo_goes_with_the_need_cleaned_and_only_to_those_who_see_it(app, session):
    import io

    from models import NeedPhoto
    _world(session)
    make_account(session, Role.RESIDENT, "resident-b")
    session.commit()
    resident = Browser(app).login("resident-a")

    response = resident.post("/my/needs/new", {"text": ESCORT_TEXT, "grid": "G1", "urgency": "normal", "part": "any",
                                               "photo": (io.BytesIO(_jpeg()), "leak.jpg")},
                             content_type="multipart/form-data")

    assert response.status_code == 302
    need_id = int(response.location.split("/")[3])
    photo = session.scalar(select(NeedPhoto).where(NeedPhoto.need_id == need_id))
    url = f"/needs/{need_id}/photos/{photo.id}"
    assert url in resident.get(f"/my/needs/{need_id}").get_data(as_text=True)
    image = resident.get(url)
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    assert b"Exif" not in image.data[:200]  # no metadata went with it
    image.close()
    assert Browser(app).login("resident-b").get(url).status_code == 404
    staff = Browser(app).login("coord-a").get(url)
    assert staff.status_code == 200
    staff.close()


def test_a_file_that_is_not_a_photo_keeps_the_text_and_saves_nothing(app, session):
    import io

    _world(session)
    resident = Browser(app).login("resident-a")

    response = resident.post("/my/needs/new", {"text": ESCORT_TEXT, "grid": "G1", "urgency": "normal", "part": "any",
                                               "photo": (io.BytesIO(b"MZ\x90\x00 an exe"), "photo.jpg")},
                             content_type="multipart/form-data")

    html = response.get_data(as_text=True)
    assert response.status_code == 422 and ESCORT_TEXT in html
    assert any("无法识别为图片" in e for e in field_errors(html))
    assert session.scalar(select(func.count()).select_from(Need)) == 0


def test_the_queue_opens_on_the_first_state_with_work_waiting(app, session):
    _world(session)
    resident = Browser(app).login("resident-a")
    resident.post("/my/needs/new", {"text": ESCORT_TEXT, "grid": "G1", "urgency": "normal", "part": "any"})
    coordinator = Browser(app).login("coord-a")

    opened = coordinator.get("/queue").get_data(as_text=True)
    triage = coordinator.get("/queue?state=triage").get_data(as_text=True)

    assert "<h2>待匹配（1）</h2>" in opened  # nothing waits for triage: the next state with work
    assert "<h2>待人工分类（0）</h2>" in triage


def test_a_resident_writes_an_address_and_a_coordinator_places_an_unsure_one(app, session):
    from models import Building
    from tests.intake.test_address_intake import make_register
    _world(session)
    make_register(session)
    session.commit()
    resident = Browser(app).login("resident-a")

    sure = resident.post("/my/needs/new", {"text": ESCORT_TEXT, "address": "金碧花园二栋1203", "grid": "",
                                           "urgency": "normal", "part": "any"})
    unsure = resident.post("/my/needs/new", {"text": ESCORT_TEXT, "address": "翡翠华庭", "grid": "",
                                             "urgency": "normal", "part": "any"})
    nothing = resident.post("/my/needs/new", {"text": ESCORT_TEXT, "address": "", "grid": "", "urgency": "normal",
                                              "part": "any"})

    assert sure.status_code == 302 and unsure.status_code == 302
    assert nothing.status_code == 422 and "请写下您住的小区和楼栋" in nothing.get_data(as_text=True)
    placed = session.get(Need, int(sure.location.split("/")[3]))
    assert placed.building.name == "金碧花园2栋" and placed.grid.code == "G1"
    assert 'value="金碧花园2栋"' in resident.get("/my/needs/new").get_data(as_text=True)  # home, prefilled
    waiting = session.get(Need, int(unsure.location.split("/")[3]))
    coordinator = Browser(app).login("coord-a")
    page = coordinator.get(f"/needs/{waiting.id}").get_data(as_text=True)
    assert "地址不能确定" in page and "翡翠华庭1栋" in page
    b1 = session.scalar(select(Building).where(Building.name == "翡翠华庭1栋"))
    assert coordinator.post(f"/needs/{waiting.id}/place", {"building": b1.id}).status_code == 302
    session.expire_all()
    waiting = session.get(Need, waiting.id)
    assert waiting.building_id == b1.id and not waiting.place_unsure and waiting.status == NeedStatus.SUBMITTED


def test_a_coordinator_closes_a_done_need_on_a_return_visit_from_the_done_tab(app, session):
    _world(session)
    resident = Browser(app).login("resident-a")
    need_id = int(resident.post("/my/needs/new", {"text": ESCORT_TEXT, "grid": "G1", "urgency": "normal",
                                                  "part": "any"}).location.split("/")[3])
    coordinator = Browser(app).login("coord-a")
    coordinator.post("/queue/match", {"grid": "", "back": "/queue"})
    proposal = session.scalar(select(Need).where(Need.id == need_id)).current_proposal.id
    assert coordinator.post(f"/needs/{need_id}/accept", {"proposal": proposal}).status_code == 302
    assert Browser(app).login("branch-a").post(f"/needs/{need_id}/approve", {}).status_code == 302
    assert coordinator.post(f"/needs/{need_id}/report_done", {}).status_code == 302
    page = coordinator.get(f"/needs/{need_id}").get_data(as_text=True)
    assert "回访居民" not in page and "等待居民确认" in page  # the resident has their hours to confirm first

    done_at = session.get(Need, need_id).done_at
    session.execute(update(Need).where(Need.id == need_id)
                    .values(done_at=done_at - timedelta(hours=app.config["RETURN_VISIT_HOURS"] + 1)))
    session.commit()
    assert f"/needs/{need_id}?back=" in coordinator.get("/queue?state=done").get_data(as_text=True)
    assert "回访居民" in coordinator.get(f"/needs/{need_id}").get_data(as_text=True)
    no_answer = coordinator.post(f"/needs/{need_id}/return_visit", {"rating": "4"})
    assert no_answer.status_code == 422 and "请记录回访时居民的答复" in no_answer.get_data(as_text=True)
    assert coordinator.post(f"/needs/{need_id}/return_visit",
                            {"reason": "电话联系，已陪诊完", "rating": "4"}).status_code == 302

    session.expire_all()
    need = session.get(Need, need_id)
    assert (need.status, need.rating) == (NeedStatus.CLOSED, 4)
    assert "工作人员电话回访您后办结" in resident.get(f"/my/needs/{need_id}").get_data(as_text=True)
