"""A large file imported in the background from the admin's import page, followed on its job page: its phase
and rows while it runs, the counts (or the rows refused) once done."""
from __future__ import annotations

import re
from io import BytesIO
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.vocab import Role
from models import Volunteer
from tests.factories import csv_bytes, make_account, make_map, signed_in
from tests.pages.test_admin_pages import VOLUNTEER_COLUMNS, text_of, volunteer_row


@pytest.fixture
def admin(app: Any, session: Session) -> Any:
    make_map(session)
    account = make_account(session, Role.ADMIN, "admin-jobs")
    session.commit()
    return signed_in(app.test_client(), app, account)


def queue(admin: Any, rows: list[list[str]]) -> Any:
    data = csv_bytes(VOLUNTEER_COLUMNS, rows)
    return admin.post("/admin/import/jobs", content_type="multipart/form-data",
                      data={"kind": "volunteers", "skip_invalid": "1", "file": (BytesIO(data), "v.csv")})


def test_a_background_import_lands_on_its_job_page_with_the_counts(admin: Any, session: Session) -> None:
    queued = queue(admin, [volunteer_row("V10", "王芳"), volunteer_row("V11", "李强"), volunteer_row("V12", "赵六", grid="G404")])
    assert queued.status_code == 302
    job_url = queued.headers["Location"]
    assert re.fullmatch(r"/jobs/[0-9a-f-]{36}", job_url)

    page = admin.get(job_url)
    text = text_of(page)
    assert page.status_code == 200 and "已完成" in text
    assert "新增 2 条" in text and "跳过有问题的 1 行" in text and "未知网格编码 G404" in text
    assert 'http-equiv="refresh"' not in page.get_data(as_text=True)  # done: it stops asking
    assert set(session.scalars(select(Volunteer.ref))) == {"V10", "V11"}


def test_the_job_page_is_its_owners_and_their_admins_only(app: Any, admin: Any, session: Session) -> None:
    job_url = queue(admin, [volunteer_row("V10", "王芳")]).headers["Location"]
    resident = make_account(session, Role.RESIDENT, "res-jobs")
    coordinator = make_account(session, Role.COORDINATOR, "coord-jobs", scope_type="grid", scope_codes=["G1"])
    session.commit()

    assert signed_in(app.test_client(), app, resident).get(job_url).status_code == 403  # not staff at all
    assert signed_in(app.test_client(), app, coordinator).get(job_url).status_code == 404
    assert admin.get("/jobs/00000000-0000-4000-8000-000000000000").status_code == 404


def test_an_import_reports_its_progress_as_it_checks_and_writes(session: Session, monkeypatch: Any) -> None:
    from pools import imports
    from pools.tabular import Row
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 2)
    make_map(session)
    rows = [Row(i + 2, dict(zip(VOLUNTEER_COLUMNS, volunteer_row(f"V{i}", f"志愿者{i}")))) for i in range(5)]
    heard: list[tuple[str, int, int]] = []

    report = imports.import_rows(session, "volunteers", rows, progress=lambda *p: heard.append(p))

    assert report.imported and report.created == 5
    assert heard == [("checking", 0, 5), ("checking", 2, 5), ("checking", 4, 5), ("writing", 5, 5)]


def test_a_running_job_shows_its_phase_and_rows_and_asks_again(app: Any, admin: Any, session: Session) -> None:
    import json

    from jobs.api import _OWNER_KEY
    from models import User
    owner = session.scalar(select(User.id).where(User.username == "admin-jobs"))
    job_id = "5f0c2b1a-0000-4000-8000-000000000042"
    celery = app.extensions["celery"]
    celery.backend.set(_OWNER_KEY.format(job_id), json.dumps({"owner": owner, "kind": "import:needs"}))
    celery.backend.store_result(job_id, {"phase": "checking", "rows_done": 1000, "rows_total": 4000}, "PROGRESS")

    page = admin.get(f"/jobs/{job_id}")
    text = text_of(page)
    assert "后台导入需求" in text and "进行中 ：正在逐行检查" in text and "1000 / 4000 行" in text
    html = page.get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in html and 'value="25"' in html
