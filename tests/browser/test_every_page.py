"""Every page in the browser, as each role sees it with the demo data: nothing is asked of another
origin, nothing scrolls sideways on a 360 px phone, no script or style is refused by the
Content-Security-Policy, and axe-core finds no serious or critical accessibility violation. The main
page of each role is photographed for the README (SANKU_SCREENSHOTS=1 writes docs/screenshots/)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.vocab import NeedStatus
from models import Grid, Need, PartyGrid, User, Volunteer

from .conftest import DESK, PHONE

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "docs" / "screenshots"
SERIOUS = ("serious", "critical")


def _ids(app: Any) -> dict[str, int]:
    """Records the pages are about: a need of the demo resident, a need in the coordinator's scope."""
    with app.app_context(), app.extensions["sanku_db"].unit_of_work() as session:
        resident = session.scalar(select(User).where(User.username == "resident"))
        own = session.scalar(select(Need.id).where(Need.resident_id == resident.id).order_by(Need.id))
        other = session.scalar(select(Need.id).where(Need.resident_id.is_(None)).order_by(Need.id))
        scoped = session.scalar(select(Need.id).join(Grid, Grid.id == Need.grid_id)
                                .join(PartyGrid, PartyGrid.id == Grid.party_grid_id)
                                .where(PartyGrid.code == "PG01", Need.resident_id.is_(None)).order_by(Need.id))
        volunteer = session.scalar(select(Volunteer.id).order_by(Volunteer.id))
        cancellable = session.scalar(select(Need.id).where(Need.resident_id == resident.id,
                                                           Need.status == NeedStatus.SUBMITTED).order_by(Need.id))
    return {"own": own, "other": other, "scoped": scoped, "cancellable": cancellable or own, "volunteer": volunteer}


# (who, viewport, paths); "{own}" and the like are filled from _ids. The first path of each role is its
# main page, photographed for the README.
PAGES: list[tuple[str | None, dict[str, int], list[str]]] = [
    (None, PHONE, ["/login"]),
    ("resident", PHONE, ["/my/needs", "/my/needs/new", "/my/needs/{own}", "/my/needs/{cancellable}/cancel",
                         "/my/needs/{own}/submitted"]),
    ("volunteer", PHONE, ["/tasks", "/field", "/field/need"]),
    ("coordinator", DESK, ["/queue", "/queue?state=waiting", "/needs/{scoped}", "/needs/new"]),
    ("reviewer", DESK, ["/review", "/council", "/council/PG01/meeting", "/council/PG01/minutes", "/needs/{scoped}",
                        "/review/fields"]),
    ("admin", DESK, ["/admin", "/admin/grids", "/admin/resources", "/admin/volunteers?q=zhang",
                     "/admin/volunteers/{volunteer}/edit", "/admin/import", "/admin/accounts", "/admin/accounts/new",
                     "/queue?state=proposed"]),
    ("dashboard", DESK, ["/dashboard", "/dashboard?by=month", "/dashboard?by=service"]),
]
# Who signs in to see a row's pages (the dashboard's row is the admin's).
ACCOUNT = {"dashboard": "admin"}


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide"


def _axe(page: Any) -> list[str]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"] if v["impact"] in SERIOUS]


@pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (npm ci)")
@pytest.mark.parametrize("who, viewport, paths", PAGES, ids=[p[0] or "anonymous" for p in PAGES])
def test_every_page_is_self_contained_fits_a_phone_and_passes_axe(people, live_app, who, viewport, paths):
    ids = _ids(live_app)
    for size in ({**PHONE}, viewport) if viewport != PHONE else (PHONE,):
        person = people(size)
        if who:
            person.login(ACCOUNT.get(who, who))
        for path in paths:
            response = person.page.goto(path.format(**ids))
            assert response is not None and response.status == 200, (path, response and response.status)
            person.page.wait_for_load_state("networkidle")
            if size == PHONE:
                _no_sideways_scroll(person.page)
            assert _axe(person.page) == [], path
        assert person.foreign == []
        assert [e for e in person.console_errors if "Content Security Policy" in e] == []
        if os.environ.get("SANKU_SCREENSHOTS") and size == viewport:
            SHOTS.mkdir(parents=True, exist_ok=True)
            person.page.goto(paths[0].format(**ids))
            person.page.screenshot(path=str(SHOTS / f"{who or 'login'}.png"), full_page=False)


def test_the_elderly_mode_has_large_text_and_large_targets(people):
    person = people(PHONE)
    person.page.goto("/login")
    person.page.get_by_role("button", name="长辈版（大字）").click()
    person.page.wait_for_load_state()

    body_px = person.page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    button = person.page.get_by_role("button", name="登录").bounding_box()

    assert body_px >= 24  # 18 pt
    assert button["height"] >= 60 and button["width"] >= 60
    _no_sideways_scroll(person.page)


def test_a_form_with_bad_input_keeps_the_text_and_says_why(people):
    resident = people(PHONE).login("resident")
    page = resident.page
    page.goto("/my/needs/new")
    page.get_by_label("您需要什么帮助？").fill("家里灯坏了")
    page.get_by_label("上午（08:00–12:00）").check()
    page.get_by_role("button", name="提交需求").click()

    assert page.get_by_label("您需要什么帮助？").input_value() == "家里灯坏了"
    assert page.locator("#error-summary").is_visible()
    assert "请选择哪一天方便" in page.locator(".has-error .field-error").first.inner_text()


def test_a_resident_cannot_open_another_residents_need(people, live_app):
    resident = people(PHONE).login("resident")
    response = resident.page.goto(f"/my/needs/{_ids(live_app)['other']}")

    assert response.status == 404
    assert "找不到" in resident.page.content()


def test_a_form_posted_without_its_csrf_token_is_refused(people, live_app):
    resident = people(PHONE).login("resident")
    with live_app.app_context(), live_app.extensions["sanku_db"].unit_of_work() as session:
        before = len(session.scalars(select(Need.id)).all())

    response = resident.page.request.post("/my/needs/new", form={"text": "没有令牌的提交", "grid": "G001",
                                                                 "urgency": "normal", "part": "any"})

    assert response.status == 403
    with live_app.app_context(), live_app.extensions["sanku_db"].unit_of_work() as session:
        assert len(session.scalars(select(Need.id)).all()) == before



