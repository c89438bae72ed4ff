"""The admin's pages (/admin): registries searched, edited and deactivated through the API's own schemas;
imports previewed without keeping anything, then confirmed; accounts and roles."""
from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.vocab import Role
from models import Grid, Resource, User, Volunteer
from tests.factories import (
    bearer_for,
    csv_bytes,
    make_account,
    make_map,
    make_resource,
    make_volunteer,
    signed_in,
    table_counts,
)

VOLUNTEER_COLUMNS = ["ref", "name", "kind", "phone", "grid", "skills", "services", "availability", "capacity",
                     "force", "party_member", "description"]


def volunteer_row(ref: str, name: str, grid: str = "G1", phone: str = "13700137000") -> list[str]:
    return [ref, name, "个人", phone, grid, "陪诊;买菜", "志愿服务", "周六 09:00-12:00", "2", "自治力量", "否", ""]


def text_of(response: Any) -> str:
    """The page's text without tags, entities decoded, blanks squeezed: what a person reads."""
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def field_error(response: Any, name: str) -> str:
    """The reason printed beside the field ``name`` (empty when there is none)."""
    match = re.search(rf'<p class="field-error" id="e-{name}">(.*?)</p>', response.get_data(as_text=True), re.S)
    return unescape(re.sub(r"<[^>]+>", "", match.group(1))) if match else ""


@pytest.fixture
def world(app: Any, session: Session) -> dict[str, Any]:
    """Grids G1–G3, G9; resource R1; volunteer V1 张小明 (G1); an admin and a coordinator."""
    make_map(session)
    resource = make_resource(session)
    volunteer = make_volunteer(session)
    admin = make_account(session, Role.ADMIN, "admin-a")
    coordinator = make_account(session, Role.COORDINATOR, "coord-a", scope_type="grid", scope_codes=["G1"])
    session.commit()
    return {"admin": admin, "coordinator": coordinator, "resource": resource.id, "volunteer": volunteer.id}


@pytest.fixture
def admin(app: Any, world: dict[str, Any]) -> Any:
    return signed_in(app.test_client(), app, world["admin"])


@pytest.fixture
def uploads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    import pages.admin
    folder = tmp_path / "uploads"
    monkeypatch.setattr(pages.admin, "UPLOADS", folder)
    return folder


# --- access -------------------------------------------------------------------------------------

ADMIN_PAGES = ["/admin", "/admin/grids", "/admin/resources", "/admin/volunteers", "/admin/volunteers/new",
               "/admin/import", "/admin/accounts", "/admin/accounts/new"]


def test_only_admins_reach_the_admin_pages(app: Any, world: dict[str, Any], admin: Any) -> None:
    coordinator = signed_in(app.test_client(), app, world["coordinator"])
    for path in ADMIN_PAGES:
        assert admin.get(path).status_code == 200, path
        refused = coordinator.get(path)
        assert refused.status_code == 403, path
        assert "无权访问" in text_of(refused)
        assert app.test_client().get(path).status_code == 302, path  # to the login page
    assert coordinator.post(f"/admin/volunteers/{world['volunteer']}/deactivate").status_code == 403
    assert admin.get("/admin/needs").status_code == 404  # not a registry of these pages
    assert admin.get("/admin/x/1/edit").status_code == 404
    assert coordinator.post("/admin/import/preview", data={"kind": "volunteers"}).status_code == 403


def test_the_index_counts_each_registry(admin: Any) -> None:
    text = text_of(admin.get("/admin"))
    assert "4 个在用网格" in text
    assert "1 项在用资源" in text
    assert "1 名志愿者" in text and "0 个组织" in text
    assert "2 个在用账号" in text


def test_forms_signed_in_by_cookie_carry_the_csrf_token(app: Any, world: dict[str, Any]) -> None:
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["uid"], cookie["sv"] = world["admin"].id, world["admin"].session_version
    html = client.get(f"/admin/volunteers/{world['volunteer']}/edit").get_data(as_text=True)
    assert 'name="csrf_token"' in html
    # Without it a cookie-signed form post is refused.
    assert client.post(f"/admin/volunteers/{world['volunteer']}/deactivate").status_code == 403


def test_an_upload_signed_in_by_cookie_sends_its_token_in_the_multipart_form(app: Any, world: dict[str, Any],
                                                                             uploads: Path) -> None:
    from io import BytesIO
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["uid"], cookie["sv"] = world["admin"].id, world["admin"].session_version
    html = client.get("/admin/import").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token and 'enctype="multipart/form-data"' in html
    response = client.post("/admin/import/preview", content_type="multipart/form-data",
                           data={"csrf_token": token.group(1), "kind": "volunteers",
                                 "file": (BytesIO(csv_bytes(VOLUNTEER_COLUMNS, [volunteer_row("V10", "王芳")])), "v.csv")})
    assert response.status_code == 200 and "将新增 1 条" in text_of(response)


# --- registries ---------------------------------------------------------------------------------

def test_search_finds_a_volunteer_by_pinyin(admin: Any, session: Session) -> None:
    make_volunteer(session, ref="V2", name="李敏", phone="13912345678")
    make_volunteer(session, ref="ORG1", name="启航社工服务中心", kind="organization", phone="075527881234")
    session.commit()

    text = text_of(admin.get("/admin/volunteers?q=zhangxiaoming"))
    assert "张小明" in text and "李敏" not in text
    assert "拼音" in text  # what matched
    assert "张小明" in text_of(admin.get("/admin/volunteers?q=张晓明"))  # a homophone
    organisations = text_of(admin.get("/admin/volunteers?kind_filter=organization"))
    assert "启航社工服务中心" in organisations and "张小明" not in organisations


def test_a_bad_edit_shows_the_reason_beside_the_field_and_changes_nothing(admin: Any, world: dict[str, Any],
                                                                        session: Session) -> None:
    url = f"/admin/resources/{world['resource']}/edit"
    form = {"name": "社保服务窗口（新）", "department": "街道", "service": "public", "grids": "*",
            "capacity": "-1", "skills": "社保、医保", "description": "", "hours": ""}

    response = admin.post(url, data=form)

    assert response.status_code == 422
    assert "应不小于 0" in field_error(response, "capacity")
    html = response.get_data(as_text=True)
    assert 'value="-1"' in html and 'value="社保服务窗口（新）"' in html  # the input kept
    assert 'href="#f-capacity"' in html  # the summary links to the field
    session.expire_all()
    row = session.get(Resource, world["resource"])
    assert row is not None and (row.name, row.capacity) == ("社保服务窗口", 5)


def test_an_edit_loads_list_fields_from_separated_text(admin: Any, world: dict[str, Any], session: Session) -> None:
    form = {"name": "张小明", "kind": "person", "phone": "138-0013-8000", "grid": "G2", "skills": "陪诊，理发、 买菜",
            "services": ["volunteer", "social"], "availability": "周一至周二 09:00-12:00", "capacity": "3",
            "force": "liaison", "party_member": "no", "description": "热心"}

    response = admin.post(f"/admin/volunteers/{world['volunteer']}/edit", data=form)

    assert response.status_code == 302
    session.expire_all()
    row = session.get(Volunteer, world["volunteer"])
    assert row is not None
    assert row.skills == ["陪诊", "理发", "买菜"]
    assert row.services == ["volunteer", "social"]
    assert row.availability == ["mon 09:00-12:00", "tue 09:00-12:00"]
    assert (row.phone, row.grid.code if row.grid else None, row.capacity, row.party_member) == (
        "13800138000", "G2", 3, False)


def test_unknown_codes_and_duplicate_refs_are_reasons_by_field(admin: Any, session: Session) -> None:
    form = {"ref": "R2", "name": "养老服务站", "department": "", "service": "public", "grids": "G1、G404",
            "capacity": "1", "skills": "", "description": "", "hours": ""}

    response = admin.post("/admin/resources/new", data=form)
    assert response.status_code == 422
    assert "未知网格编码 G404" in field_error(response, "grids")

    response = admin.post("/admin/resources/new", data={**form, "ref": "R1", "grids": "G1"})
    assert response.status_code == 422
    assert "编号 R1 已存在" in field_error(response, "ref")

    response = admin.post("/admin/resources/new", data={**form, "grids": "G1、G2"})
    assert response.status_code == 302
    created = session.scalar(select(Resource).where(Resource.ref == "R2"))
    assert created is not None and [g.code for g in created.grids] == ["G1", "G2"]


def test_grids_are_created_and_edited_with_their_neighbours(admin: Any, session: Session) -> None:
    assert "边界（GeoJSON）通过导入维护" in text_of(admin.get("/admin/grids/new"))
    response = admin.post("/admin/grids/new", data={"code": "G4", "name": "上川社区第4网格", "community": "上川社区",
                                                    "party_grid": "", "neighbors": "G3, G9"})
    assert response.status_code == 302
    grid = session.scalar(select(Grid).where(Grid.code == "G4"))
    assert grid is not None and [n.code for n in grid.neighbors] == ["G3", "G9"] and grid.party_grid is None

    response = admin.post(f"/admin/grids/{grid.id}/edit", data={"name": "上川社区第4网格", "community": "上川社区",
                                                               "party_grid": "PG2", "neighbors": "G4"})
    assert response.status_code == 422
    assert "不能与自己相邻" in field_error(response, "neighbors")


def test_deactivating_asks_once_naming_the_record(admin: Any, world: dict[str, Any], session: Session) -> None:
    volunteer = world["volunteer"]
    confirm = admin.get(f"/admin/volunteers/{volunteer}/deactivate")
    assert "确定停用志愿者 张小明（V1）吗？" in text_of(confirm)

    response = admin.post(f"/admin/volunteers/{volunteer}/deactivate")

    assert response.status_code == 302
    session.expire_all()
    assert session.get(Volunteer, volunteer).active is False  # type: ignore[union-attr]
    assert admin.get(f"/admin/volunteers/{volunteer}/edit").status_code == 404
    assert admin.post(f"/admin/volunteers/{volunteer}/deactivate").status_code == 404
    listed = text_of(admin.get("/admin/volunteers?status=inactive"))
    assert "张小明" in listed and "已停用" in listed and "不可修改" in listed
    assert "张小明" not in text_of(admin.get("/admin/volunteers"))


# --- imports ------------------------------------------------------------------------------------

def preview(admin: Any, data: bytes, kind: str = "volunteers", filename: str = "volunteers.csv") -> Any:
    from io import BytesIO
    return admin.post("/admin/import/preview", data={"kind": kind, "file": (BytesIO(data), filename)},
                      content_type="multipart/form-data")


def token_of(response: Any) -> str:
    match = re.search(r'name="token" value="([^"]+)"', response.get_data(as_text=True))
    assert match, "no confirm form"
    return match.group(1)


MIXED = csv_bytes(VOLUNTEER_COLUMNS, [volunteer_row("V10", "王芳"), volunteer_row("V11", "赵强", grid="G999"),
                                      volunteer_row("V12", "钱多", phone="13600136000")])


def test_a_preview_shows_every_bad_row_and_keeps_nothing(admin: Any, session: Session, uploads: Path) -> None:
    before = table_counts(session)

    response = preview(admin, MIXED)

    assert response.status_code == 200
    text = text_of(response)
    assert "将新增 2 条" in text and "有问题 1 行" in text
    assert "第 3 行 grid G999 未知网格编码 G999" in text  # row, column, value, reason
    session.expire_all()
    assert table_counts(session) == before
    assert session.scalar(select(Volunteer).where(Volunteer.ref.in_(["V10", "V12"]))) is None
    assert [p.name for p in uploads.iterdir()] == [f"{token_of(response)}.csv"]


def test_a_preview_of_needs_starts_no_workflow(admin: Any, session: Session, uploads: Path) -> None:
    needs = csv_bytes(["ref", "text", "grid", "urgency", "window", "contact", "service"],
                      [["NI-1", "楼道灯坏了，想请人来修一下", "G1", "一般", "", "王阿姨 13800138000", "公共服务"],
                       ["NI-2", "想找人陪我去医院复查", "G404", "紧急", "", "", "志愿服务"]])
    before = table_counts(session)

    response = preview(admin, needs, kind="needs", filename="needs.csv")

    assert response.status_code == 200
    assert "将新增 1 条" in text_of(response) and "未知网格编码 G404" in text_of(response)
    session.expire_all()
    assert table_counts(session) == before  # no need, no audit entry, no notification


def test_confirm_imports_the_previewed_file(admin: Any, session: Session, uploads: Path) -> None:
    good = csv_bytes(VOLUNTEER_COLUMNS, [volunteer_row("V10", "王芳"), volunteer_row("V12", "钱多", phone="13600136000")])
    token = token_of(preview(admin, good))

    response = admin.post("/admin/import/confirm", data={"token": token, "kind": "volunteers", "filename": "v.csv"})

    assert response.status_code == 200
    assert "新增 2 条" in text_of(response)
    assert set(session.scalars(select(Volunteer.name).where(Volunteer.ref.in_(["V10", "V12"])))) == {"王芳", "钱多"}
    assert list(uploads.iterdir()) == []  # deleted once imported
    again = admin.post("/admin/import/confirm", data={"token": token, "kind": "volunteers"})
    assert again.status_code == 422 and "已导入或已过期" in text_of(again)


def test_bad_rows_import_nothing_unless_only_the_good_ones_are_asked_for(admin: Any, session: Session,
                                                                         uploads: Path) -> None:
    token = token_of(preview(admin, MIXED))
    before = table_counts(session)

    refused = admin.post("/admin/import/confirm", data={"token": token, "kind": "volunteers"})

    assert refused.status_code == 422
    assert "未导入任何数据" in text_of(refused) and "未知网格编码 G999" in text_of(refused)
    assert token_of(refused) == token  # the same file, offered again
    session.expire_all()
    assert table_counts(session) == before

    done = admin.post("/admin/import/confirm", data={"token": token, "kind": "volunteers", "skip_invalid": "1"})

    assert done.status_code == 200
    assert "跳过有问题的 1 行" in text_of(done)
    refs = set(session.scalars(select(Volunteer.ref).where(Volunteer.ref.in_(["V10", "V11", "V12"]))))
    assert refs == {"V10", "V12"}


def test_a_forged_token_is_refused(admin: Any, uploads: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("ref,name\n")
    for forged in ("../secret", "../../etc/passwd", "ABCDEF" * 6, "0" * 31, "g" * 32, ""):
        response = admin.post("/admin/import/confirm", data={"token": forged, "kind": "volunteers"})
        assert response.status_code == 400, forged
    unknown = admin.post("/admin/import/confirm", data={"token": "0" * 32, "kind": "volunteers"})
    assert unknown.status_code == 422
    assert secret.exists()


def test_an_unreadable_file_is_a_reason_beside_the_file_field(admin: Any, uploads: Path) -> None:
    response = preview(admin, b"not a spreadsheet", filename="people.xls")
    assert response.status_code == 422
    assert ".xlsx" in field_error(response, "file")
    missing = admin.post("/admin/import/preview", data={"kind": "volunteers"}, content_type="multipart/form-data")
    assert missing.status_code == 422 and field_error(missing, "file")
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_uploads_older_than_a_day_are_forgotten(admin: Any, uploads: Path) -> None:
    import os
    import time
    old = token_of(preview(admin, MIXED))
    stale = uploads / f"{old}.csv"
    os.utime(stale, (time.time() - 2 * 24 * 3600,) * 2)

    response = admin.post("/admin/import/confirm", data={"token": old, "kind": "volunteers", "skip_invalid": "1"})

    assert response.status_code == 422 and not stale.exists()


# --- accounts -----------------------------------------------------------------------------------

ACCOUNT = {"username": "coord-new", "display_name": "新协调员", "role": "coordinator", "scope_type": "grid",
           "scope_codes": "G1、G2", "volunteer_ref": "", "password": "灯塔-river-2026"}


def test_an_account_with_a_weak_password_is_refused_with_the_reason(admin: Any, session: Session) -> None:
    response = admin.post("/admin/accounts/new", data={**ACCOUNT, "password": "coord-new1"})

    assert response.status_code == 422
    assert "太容易被猜到" in field_error(response, "password")
    assert 'value="coord-new"' in response.get_data(as_text=True)  # the input kept (not the password)
    assert session.scalar(select(User).where(User.username == "coord-new")) is None

    response = admin.post("/admin/accounts/new", data={**ACCOUNT, "scope_codes": "G404", "username": ""})
    assert response.status_code == 422
    assert "请输入用户名" in field_error(response, "username")

    response = admin.post("/admin/accounts/new", data={**ACCOUNT, "scope_codes": "G404"})
    assert "未知的网格编码：G404" in field_error(response, "scope_codes")
    response = admin.post("/admin/accounts/new", data={**ACCOUNT, "role": "volunteer", "volunteer_ref": "V404"})
    assert "未找到 V404" in field_error(response, "volunteer_ref")


def test_an_account_is_created_with_its_scope(app: Any, admin: Any, session: Session) -> None:
    response = admin.post("/admin/accounts/new", data=ACCOUNT)

    assert response.status_code == 302
    user = session.scalar(select(User).where(User.username == "coord-new"))
    assert user is not None and (user.role, user.scope_type, user.scope_codes) == ("coordinator", "grid", ["G1", "G2"])
    login = app.test_client().post("/api/v1/auth/token", json={"username": "coord-new", "password": ACCOUNT["password"]})
    assert login.status_code == 200
    assert "coord-new" in text_of(admin.get("/admin/accounts?role=coordinator"))


def test_an_admin_cannot_deactivate_themselves(admin: Any, world: dict[str, Any], session: Session) -> None:
    me = world["admin"].id
    confirm = admin.get(f"/admin/accounts/{me}/deactivate")
    assert "不能停用自己的账号" in text_of(confirm)
    assert "确定停用</button>" not in confirm.get_data(as_text=True)

    response = admin.post(f"/admin/accounts/{me}/deactivate")

    assert response.status_code == 403
    session.expire_all()
    assert session.get(User, me).active is True  # type: ignore[union-attr]
    assert admin.post(f"/admin/accounts/{me}/role", data={"role": "resident"}).status_code == 403


def test_deactivating_an_account_signs_it_out(app: Any, admin: Any, world: dict[str, Any], session: Session) -> None:
    coordinator = world["coordinator"]
    token = bearer_for(app, coordinator)
    assert "确定停用账号 coord-a" in text_of(admin.get(f"/admin/accounts/{coordinator.id}/deactivate"))

    assert admin.post(f"/admin/accounts/{coordinator.id}/deactivate").status_code == 302

    session.expire_all()
    assert session.get(User, coordinator.id).active is False  # type: ignore[union-attr]
    assert app.test_client().get("/api/v1/me", headers={"Authorization": token}).status_code == 401
    assert "coord-a" in text_of(admin.get("/admin/accounts?status=inactive"))


def test_a_role_and_scope_change(admin: Any, world: dict[str, Any], session: Session) -> None:
    coordinator = world["coordinator"].id
    url = f"/admin/accounts/{coordinator}/role"
    assert 'value="G1"' in admin.get(url).get_data(as_text=True)

    refused = admin.post(url, data={"role": "reviewer", "scope_type": "party_grid", "scope_codes": ""})
    assert refused.status_code == 422
    assert "必须指定范围" in field_error(refused, "scope_codes")

    assert admin.post(url, data={"role": "reviewer", "scope_type": "party_grid", "scope_codes": "PG1"}).status_code == 302
    session.expire_all()
    user = session.get(User, coordinator)
    assert user is not None and (user.role, user.scope_type, user.scope_codes) == ("reviewer", "party_grid", ["PG1"])
