"""One need's whole way through the pages only, each person at their own browser: a resident on a
360 px phone submits it → the coordinator batch-matches → the volunteer accepts → the branch approves
→ the volunteer starts and reports done → the resident confirms and rates → the dashboard's closure
rate moves."""
from __future__ import annotations

import io
import re
from typing import Any

from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from access.auth import create_user
from core.vocab import NeedStatus, Role
from models import Need, User

from .conftest import DESK, PHONE

ESCORT = "我妈妈下周三上午要去医院复查，腿脚不方便，想找个志愿者陪她去"


def closure_rate(person: Any) -> str:
    person.page.goto("/dashboard")
    return person.page.locator("[data-measure=closure_rate]").first.inner_text()


def volunteer_account(app: Any, need_id: int) -> str:
    """A login for whichever volunteer the matcher proposed (the demo has one account per role)."""
    with app.app_context(), app.extensions["sanku_db"].unit_of_work() as session:
        need = session.get(Need, need_id)
        proposal = need.current_proposal
        assert proposal is not None and proposal.volunteer is not None, "the escort need goes to a volunteer"
        existing = session.scalar(select(User).where(User.volunteer_id == proposal.volunteer_id))
        if existing is not None:
            return existing.username
        create_user(session, username="journey-volunteer", password="journey-volunteer-2026", role=Role.VOLUNTEER,
                    volunteer_ref=proposal.volunteer.ref)
        return "journey-volunteer"


def status_of(app: Any, need_id: int) -> str:
    with app.app_context(), app.extensions["sanku_db"].unit_of_work() as session:
        return session.get(Need, need_id).status


def test_a_need_goes_its_whole_way_through_the_pages(people, live_app):
    admin = people(DESK).login("admin")
    before = closure_rate(admin)

    # A resident on a phone submits a need (the grid is prefilled from their earlier needs).
    resident = people(PHONE).login("resident")
    page = resident.page
    page.get_by_role("link", name="提交需求").first.click()
    page.get_by_label("您需要什么帮助？").fill(ESCORT)
    page.get_by_text("系统判断").wait_for()  # the classifier's suggestion, as they type
    page.get_by_label("随时都可以").check()
    page.get_by_label("拍张照片（可不填）").set_input_files(files=[{"name": "stairs.png", "mimeType": "image/png",
                                                                  "buffer": _png()}])
    page.get_by_role("button", name="提交需求").click()
    page.get_by_role("heading", name="需求已提交").wait_for()
    need_id = int(re.search(r"/my/needs/(\d+)/submitted", page.url).group(1))

    # The coordinator batch-matches their scope.
    coordinator = people(DESK).login("coordinator")
    coordinator.page.goto("/queue?state=waiting")
    assert coordinator.page.locator(f"a[href^='/needs/{need_id}?']").count() == 1
    coordinator.page.get_by_role("button", name=re.compile("批量匹配")).click()
    coordinator.page.get_by_text("匹配完成").wait_for()
    assert status_of(live_app, need_id) == NeedStatus.PROPOSED

    # The volunteer accepts on their phone.
    volunteer = people(PHONE).login(*_credentials(volunteer_account(live_app, need_id)))
    volunteer.page.goto("/tasks")
    volunteer.page.locator(f"a[href='/tasks/{need_id}']").click()
    volunteer.page.get_by_text("为什么推荐您").wait_for()
    # Polled from the test's side: wait_for_function evaluates its string in the page, which our CSP (no
    # 'unsafe-eval') refuses whenever the photo is not loaded yet at the first look.
    expect(volunteer.page.locator(".photos img")).to_have_js_property("complete", True)
    assert volunteer.page.locator(".photos img").evaluate("img => img.naturalWidth") == 120  # the photo came along
    volunteer.page.get_by_role("button", name="接单").click()
    volunteer.page.get_by_text("已接单").first.wait_for()

    # The branch approves.
    branch = people(DESK).login("reviewer")
    branch.page.goto(f"/needs/{need_id}")
    branch.page.get_by_role("button", name="审核通过").click()
    branch.page.get_by_text("已审核通过").first.wait_for()

    # The volunteer starts, then reports done with the hours.
    volunteer.page.goto(f"/tasks/{need_id}")
    volunteer.page.get_by_role("button", name="开始服务").click()
    volunteer.page.get_by_label("这次服务用了几个小时？").fill("2")
    volunteer.page.get_by_role("button", name="报告完成").click()
    volunteer.page.get_by_text("已报告完成").wait_for()

    # The resident confirms and rates.
    page.goto(f"/my/needs/{need_id}")
    page.get_by_label("5 分 很满意").check()
    page.get_by_label("想说的话（可不填）").fill("志愿者很耐心，谢谢！")
    page.get_by_role("button", name="确认办结").click()
    page.get_by_text("谢谢您的评价").wait_for()
    story = page.locator(".story").inner_text()
    for sentence in ("您提交了需求", "已接单", "网格党支部已审核通过", "开始服务", "您确认办结并作了评价"):
        assert sentence in story
    assert status_of(live_app, need_id) == NeedStatus.CLOSED

    # The dashboard's closure rate moves.
    assert closure_rate(admin) != before
    for person in (admin, resident, coordinator, volunteer, branch):
        assert person.foreign == []


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 90), (180, 180, 60)).save(out, "PNG")
    return out.getvalue()


def _credentials(username: str) -> tuple[str, ...]:
    return (username,) if username != "journey-volunteer" else (username, "journey-volunteer-2026")
