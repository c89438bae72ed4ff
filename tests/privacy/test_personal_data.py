"""Residents' personal data: every look at a contact, a photo or a sensitive need leaves a record the resident can
read; retention erases exactly what it should on a controlled clock; a resident takes a complete copy of their data
and erases themselves without a trace of a personal value left; contacts are encrypted at rest, and keys rotate."""
from __future__ import annotations

import io
import os
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import String, Text, func, select, text

from core import crypto
from core.times import utcnow
from models import AccessRecord, AuditEntry, Base, CouncilDecision, Need, NeedPhoto, Recurrence, User
from models.personal import personal_columns
from privacy.rights import OWNED_BY
from tests.factories import ACCOUNT_PASSWORD, act, error_of

API = "/api/v1"
PHONE = "13812345678"
WINDOW = "2026-12-09T09:00/2026-12-09T12:00"
SENSITIVE = "我妈周三上午要去医院复查，想找人陪一下"  # 医院、复查: health


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 10)).save(out, "PNG")
    return out.getvalue()


def submit(as_: Any, **extra: Any) -> dict[str, Any]:
    body = {"text": SENSITIVE, "grid": "G1", "window": WINDOW, "contact": f"王阿姨 {PHONE}", **extra}
    response = as_("res_a").post(f"{API}/needs", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def proposed(as_: Any) -> dict[str, Any]:
    need = submit(as_)
    assert as_("coord_g1").post(f"{API}/match", json={"grid": "G1"}).status_code == 200
    return need


def records(session: Any, need_id: int) -> list[tuple[str, str, str]]:
    session.expire_all()
    rows = session.scalars(select(AccessRecord).where(AccessRecord.need_id == need_id).order_by(AccessRecord.id))
    return [(r.user.username, r.what, r.reason) for r in rows]


def test_staff_see_a_masked_contact_and_reveal_it_only_with_a_reason_each_look_recorded(as_, session):
    need = submit(as_)

    seen = as_("coord_g1").get(f"{API}/needs/{need['id']}").get_json()
    refused = as_("coord_g1").post(f"{API}/needs/{need['id']}/contact", json={})
    revealed = as_("coord_g1").post(f"{API}/needs/{need['id']}/contact", json={"reason": "电话确认上门时间"})

    assert seen["contact"] == "王阿姨 138****5678"
    assert "reason" in error_of(refused, 422)["fields"]
    assert revealed.status_code == 200 and revealed.get_json()["contact"] == f"王阿姨 {PHONE}"
    assert records(session, need["id"]) == [("coord-g1", "sensitive", ""), ("coord-g1", "contact", "电话确认上门时间")]
    assert as_("coord_g3").post(f"{API}/needs/{need['id']}/contact", json={"reason": "看看"}).status_code == 404


def test_the_volunteer_asked_sees_the_contact_and_the_look_is_recorded_once_an_hour(as_, session):
    need = proposed(as_)

    first = as_("vol_1").get(f"{API}/needs/{need['id']}").get_json()
    as_("vol_1").get(f"{API}/needs/{need['id']}")

    assert first["contact"] == f"王阿姨 {PHONE}"
    assert [r for r in records(session, need["id"]) if r[0] == "vol-1"] == [
        ("vol-1", "contact", ""), ("vol-1", "sensitive", "")]


def test_a_photo_and_a_page_leave_records_too(app, as_, cast, session):
    from tests.pages.helpers import Browser
    need = proposed(as_)
    photo = as_("res_a").post(f"{API}/needs/{need['id']}/photos", data={"photo": (io.BytesIO(png()), "p.png")},
                              content_type="multipart/form-data").get_json()
    as_("res_a").get(photo["url"])  # the resident's own look is no event

    assert as_("coord_g1").get(photo["url"]).status_code == 200
    browser = Browser(app).login("vol-1")
    page = browser.get(f"/tasks/{need['id']}").get_data(as_text=True)

    assert PHONE in page
    assert ("coord-g1", "photo", "") in records(session, need["id"])
    assert ("vol-1", "contact", "") in records(session, need["id"])
    assert not [r for r in records(session, need["id"]) if r[0] == "res-a"]


def test_the_resident_reads_who_looked_at_their_need_and_no_one_elses(as_, session):
    need = submit(as_)
    as_("coord_g1").post(f"{API}/needs/{need['id']}/contact", json={"reason": "电话确认上门时间"})

    mine = as_("res_a").get(f"{API}/needs/{need['id']}/access-log")

    assert mine.status_code == 200
    assert [(r["who"], r["what_label"], r["reason"]) for r in mine.get_json()["items"]][0] == (
        "志愿服务协调员 coord-g1", "联系方式", "电话确认上门时间")
    assert as_("res_b").get(f"{API}/needs/{need['id']}/access-log").status_code == 404
    assert as_("admin").get(f"{API}/needs/{need['id']}/access-log").status_code == 200
    assert as_("coord_g1").get(f"{API}/needs/{need['id']}/access-log").status_code == 403


def test_an_export_masks_contacts_unless_an_arranger_gives_a_reason_and_is_recorded(as_, session):
    need = submit(as_)

    masked = as_("coord_g1").get(f"{API}/needs/export.csv")
    no_reason = as_("coord_g1").get(f"{API}/needs/export.csv?contacts=full")
    branch = as_("rev_pg1").get(f"{API}/needs/export.csv?contacts=full&reason=核对")
    full = as_("coord_g1").get(f"{API}/needs/export.csv?contacts=full&reason=逐户回访")

    assert masked.status_code == 200 and "138****5678" in masked.get_data().decode("utf-8-sig")
    assert PHONE not in masked.get_data().decode("utf-8-sig")
    assert "reason" in error_of(no_reason, 422)["fields"]
    assert branch.status_code == 403
    assert full.status_code == 200 and f"王阿姨 {PHONE}" in full.get_data().decode("utf-8-sig")
    assert ("coord-g1", "contact", "导出：逐户回访") in records(session, need["id"])
    exports = session.scalars(select(AccessRecord).where(AccessRecord.what == "export")).all()
    assert [(e.user.username, e.count, e.reason) for e in exports] == [("coord-g1", 1, ""), ("coord-g1", 1, "逐户回访")]


def _closure(as_: Any) -> Any:
    response = as_("admin").get(f"{API}/reports/closure?by=grid&start=2020-01-01&end=2030-12-31")
    assert response.status_code == 200
    return response.get_json()


def _close(as_: Any, session: Any, need_id: int, days_ago: int) -> None:
    act(as_("coord_g1"), need_id, "accept")
    act(as_("rev_pg1"), need_id, "approve")
    act(as_("vol_1"), need_id, "report_done", hours=1)
    assert act(as_("res_a"), need_id, "confirm", rating=5, reason="谢谢王阿姨的女儿").status_code == 200
    need = session.get(Need, need_id)
    need.status_changed_at = need.closed_at = utcnow() - timedelta(days=days_ago)
    session.commit()


def test_retention_erases_old_closed_needs_contacts_addresses_and_photos_and_keeps_the_figures(
        as_, runner, session, photo_dir):
    old, recent = proposed(as_), submit(as_)
    as_("res_a").post(f"{API}/needs/{old['id']}/photos", data={"photo": (io.BytesIO(png()), "p.png")},
                      content_type="multipart/form-data")
    _close(as_, session, old["id"], days_ago=400)
    before = _closure(as_)

    dry = runner.invoke(args=["retention", "apply", "--dry-run"])
    session.expire_all()
    assert dry.exit_code == 0 and "将删除 1 条需求" in dry.output and session.get(Need, old["id"]).contact
    done = runner.invoke(args=["retention", "apply"])
    again = runner.invoke(args=["retention", "apply"])

    session.expire_all()
    erased, kept = session.get(Need, old["id"]), session.get(Need, recent["id"])
    assert done.exit_code == 0 and "已删除 1 条需求" in done.output and "照片 1 张" in done.output
    assert (erased.contact, erased.resident_phone, erased.address, erased.building_id) == ("", "", "", None)
    assert erased.text == SENSITIVE and erased.rating == 5 and erased.grid.code == "G1"  # statistics stay
    assert session.scalar(select(func.count()).select_from(NeedPhoto).where(NeedPhoto.need_id == old["id"])) == 0
    assert kept.contact == f"王阿姨 {PHONE}"
    assert "已删除 0 条需求" in again.output
    assert _closure(as_) == before


def test_retention_removes_photo_files_a_failed_upload_left_once_no_request_can_still_commit_them(
        app, as_, runner, session, tmp_path):
    """A photo's files are written before its row commits; when the request then fails they stay, named by no
    row. Retention removes them an hour on (not before: a request in flight may still commit its row), and
    never a file a photo or its thumbnail uses."""
    photo_dir = tmp_path / "photos"
    app.config["PHOTO_DIR"] = str(photo_dir)  # a folder of this test's own (the suite's is shared)
    need = submit(as_)
    kept = as_("res_a").post(f"{API}/needs/{need['id']}/photos", data={"photo": (io.BytesIO(png()), "p.png")},
                             content_type="multipart/form-data")
    assert kept.status_code == 201, kept.get_json()
    used = sorted(p.name for p in photo_dir.iterdir())
    assert len(used) == 2  # the photo and its thumbnail
    hour_ago = (utcnow() - timedelta(hours=2)).timestamp()
    for name in used:
        os.utime(photo_dir / name, (hour_ago, hour_ago))
    stray = {"ab" * 32 + ".png": hour_ago, "ab" * 32 + ".thumb.png": hour_ago, ".upload-x1y2": hour_ago}
    for name, written in stray.items():
        (photo_dir / name).write_bytes(b"left by a failed request")
        os.utime(photo_dir / name, (written, written))
    (photo_dir / ("cd" * 32 + ".png")).write_bytes(b"a request still in flight")

    dry = runner.invoke(args=["retention", "apply", "--dry-run"])
    assert dry.exit_code == 0 and "将删除 3 个" in dry.output, dry.output
    assert len(list(photo_dir.iterdir())) == 6
    done = runner.invoke(args=["retention", "apply"])

    assert done.exit_code == 0 and "已删除 3 个" in done.output, done.output
    assert sorted(p.name for p in photo_dir.iterdir()) == sorted([*used, "cd" * 32 + ".png"])
    assert as_("res_a").get(kept.get_json()["url"]).status_code == 200


def _council_item_and_recurrence(session: Any, cast: Any, need_id: int) -> None:
    """A council item quoting the need, and a weekly visit for its resident."""
    need = session.get(Need, need_id)
    session.add(CouncilDecision(party_grid_id=need.grid.party_grid_id, meeting_date=date(2026, 12, 1), need_id=need_id,
                                item=need.text, decision="由网格员联系", taker="网格员", recorded_by_id=cast.admin.id))
    session.add(Recurrence(text="每周探访王阿姨", grid_id=need.grid_id, contact=f"王阿姨 {PHONE}",
                           resident_id=cast.res_a.id, address="金碧花园5栋", rrule="FREQ=WEEKLY;COUNT=4",
                           dtstart=datetime(2026, 12, 2, 9)))
    session.commit()


def test_the_copy_of_a_residents_data_holds_every_personal_column_of_every_table_of_theirs(as_, cast, session):
    need = proposed(as_)
    as_("res_a").post(f"{API}/needs/{need['id']}/photos", data={"photo": (io.BytesIO(png()), "p.png")},
                      content_type="multipart/form-data")
    as_("coord_g1").post(f"{API}/needs/{need['id']}/contact", json={"reason": "核实"})
    _council_item_and_recurrence(session, cast, need["id"])

    body = as_("res_a").get(f"{API}/me/data").get_json()

    for table in OWNED_BY:
        rows = [body["account"]] if table == "users" else body[table]
        assert rows, f"no rows of {table} in the copy"
        wanted = {name for name, field in personal_columns(table).items() if field.exported}
        assert wanted <= set(rows[0]), (table, wanted - set(rows[0]))
    assert body["needs"][0]["contact"] == f"王阿姨 {PHONE}" and body["needs"][0]["text"] == SENSITIVE
    assert "password_hash" not in body["account"]
    assert as_("coord_g1").get(f"{API}/me/data").status_code == 403


def _every_value(session: Any) -> list[str]:
    """Every text value in the database, encrypted ones decrypted."""
    values: list[str] = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text)) or c.type.__class__.__name__ in (
            "JSON", "Encrypted")]
        for row in session.execute(select(*columns)).all() if columns else []:
            values += [str(v) for v in row if v is not None]
    return values


def test_erasure_leaves_no_personal_value_in_any_table_and_the_figures_unchanged(app, as_, cast, session):
    need = submit(as_)
    done = proposed(as_)
    as_("res_a").post(f"{API}/needs/{done['id']}/photos", data={"photo": (io.BytesIO(png()), "p.png")},
                      content_type="multipart/form-data")
    _close(as_, session, done["id"], days_ago=1)
    act(as_("res_a"), need["id"], "cancel", reason="王阿姨的女儿回来了")
    _council_item_and_recurrence(session, cast, done["id"])
    session.get(User, cast.res_a.id).phone = PHONE
    session.commit()
    before = _closure(as_)
    assert any(PHONE in v for v in _every_value(session))

    wrong = as_("res_a").delete(f"{API}/me", json={"password": "not-it"})
    erased = as_("res_a").delete(f"{API}/me", json={"password": ACCOUNT_PASSWORD})

    assert "password" in error_of(wrong, 422)["fields"]
    assert erased.status_code == 200, erased.get_json()
    session.expire_all()
    values = _every_value(session)
    for secret in (PHONE, "王阿姨", "医院复查", "谢谢王阿姨的女儿", "res-a"):
        assert not [v for v in values if secret in v], secret
    assert _closure(as_) == before
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.need_id == done["id"])) > 0
    assert as_("res_a").get(f"{API}/me").status_code == 401  # every token revoked
    signin = app.test_client().post(f"{API}/auth/token", json={"username": "res-a", "password": ACCOUNT_PASSWORD})
    assert signin.status_code == 401


def test_contacts_are_encrypted_at_rest_and_a_phone_is_still_found(app, as_, cast, session):
    from access.auth import claim_needs
    need = submit(as_)
    taken = as_("coord_g1").post(f"{API}/needs", json={"text": "水管漏了", "grid": "G1", "resident_phone": PHONE})
    session.get(User, cast.res_b.id).phone = PHONE
    session.commit()

    raw = session.execute(text("SELECT contact, resident_phone, resident_phone_hash FROM needs ORDER BY id")).all()
    users = session.execute(text("SELECT phone, phone_hash FROM users WHERE phone IS NOT NULL")).all()

    assert all(PHONE not in (v or "") for row in raw + users for v in row)
    assert raw[0][0].startswith("gAAAA") and raw[1][1].startswith("gAAAA")  # Fernet tokens
    assert session.get(Need, need["id"]).contact == f"王阿姨 {PHONE}"
    with app.app_context():
        assert claim_needs(session, session.get(User, cast.res_b.id)) == 1
    assert session.get(Need, taken.get_json()["id"]).resident_id == cast.res_b.id


def test_keys_rotate_under_a_new_key_and_the_old_one_can_go(app, as_, runner, session):
    need = submit(as_)
    old, lookup = app.config["DATA_KEYS"], app.config["LOOKUP_KEY"]
    new = crypto.new_key()
    try:
        crypto.configure([new, *old], lookup)
        result = runner.invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        crypto.configure([new], lookup)  # the old key dropped
        session.expire_all()
        assert session.get(Need, need["id"]).contact == f"王阿姨 {PHONE}"
        crypto.configure(old, lookup)
        session.expire_all()
        with pytest.raises(crypto.CryptoKeyError):
            session.get(Need, need["id"]).contact  # noqa: B018 (only the new key opens it now)
    finally:
        crypto.configure(old, lookup)
