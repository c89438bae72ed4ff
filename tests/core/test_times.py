"""Stored times are naive UTC; days, windows and the API speak the subdistrict's time zone."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from core.times import day_bounds, local_iso, local_today, to_utc, wall_clock, wall_clock_iso
from tests.factories import make_map, make_need, signed_in

SHENZHEN = ZoneInfo("Asia/Shanghai")


def test_a_day_in_shenzhen_begins_at_four_in_the_afternoon_utc_the_day_before():
    assert day_bounds(date(2026, 3, 2), date(2026, 3, 2), SHENZHEN) == (
        datetime(2026, 3, 1, 16, 0), datetime(2026, 3, 2, 16, 0))


def test_a_time_without_an_offset_is_a_wall_clock_time_of_the_zone():
    assert to_utc(datetime(2026, 12, 10, 18, 0), SHENZHEN) == datetime(2026, 12, 10, 10, 0)
    assert to_utc(datetime(2026, 12, 10, 18, 0, tzinfo=timezone.utc), SHENZHEN) == datetime(2026, 12, 10, 18, 0)


def test_stored_times_are_shown_with_the_zones_offset():
    assert local_iso(datetime(2026, 12, 10, 1, 14, 5), SHENZHEN) == "2026-12-10T09:14:05+08:00"
    assert wall_clock_iso(datetime(2026, 12, 9, 9, 0), SHENZHEN) == "2026-12-09T09:00+08:00"
    assert wall_clock(datetime(2026, 12, 9, 1, 0, tzinfo=timezone.utc), SHENZHEN) == datetime(2026, 12, 9, 9, 0)
    assert local_today(SHENZHEN, datetime(2026, 12, 31, 17, 0)) == date(2027, 1, 1)


def test_every_timestamp_the_api_gives_carries_its_offset(app, client, session):
    make_map(session)
    need = make_need(session, ref="N-TZ")
    need.created_at = datetime(2026, 12, 1, 17, 30)
    session.commit()

    body = client.get(f"/api/v1/needs/{need.id}").get_json()

    assert body["created_at"] == "2026-12-02T01:30:00+08:00"
    assert body["updated_at"].endswith("+08:00")


def test_a_window_given_with_another_offset_is_stored_as_the_subdistricts_wall_clock(client, session):
    make_map(session)
    session.commit()

    created = client.post("/api/v1/needs", json={
        "text": "我妈周三上午要去医院复查，想找人陪一下", "grid": "G1", "service": "volunteer",
        "window": "2026-12-09T01:00+00:00/2026-12-09T04:00+00:00"}).get_json()

    assert created["window"] == {"start": "2026-12-09T09:00+08:00", "end": "2026-12-09T12:00+08:00"}


def test_the_audit_trail_and_notifications_carry_offsets_too(app, session, client):
    from tests.factories import make_account
    make_map(session)
    coordinator = make_account(session, "coordinator", "coord-tz", scope_type="grid", scope_codes=["G1"])
    session.commit()
    need = client.post("/api/v1/needs", json={"text": "我妈周三上午要去医院复查，想找人陪一下", "grid": "G1",
                                              "service": "volunteer"}).get_json()

    audit = client.get(f"/api/v1/needs/{need['id']}/audit").get_json()["items"]
    notices = signed_in(app.test_client(), app, coordinator).get("/api/v1/notifications").get_json()["items"]

    assert audit and all(entry["at"].endswith("+08:00") for entry in audit)
    assert notices and all(n["created_at"].endswith("+08:00") for n in notices)


def test_an_unread_notification_says_so_with_null_as_its_document_allows(app, session, client):
    # Found by schemathesis once the demo had a month of history: read_at is null until read.
    from tests.factories import make_account
    from web.openapi import build_spec
    make_map(session)
    coordinator = make_account(session, "coordinator", "coord-unread", scope_type="grid", scope_codes=["G1"])
    session.commit()
    client.post("/api/v1/needs", json={"text": "我妈周三上午要去医院复查，想找人陪一下", "grid": "G1",
                                      "service": "volunteer"})

    notices = signed_in(app.test_client(), app, coordinator).get("/api/v1/notifications").get_json()["items"]
    with app.app_context():
        documented = build_spec(app)["components"]["schemas"]["NotificationOut"]["properties"]["read_at"]

    assert notices and all(n["read_at"] is None for n in notices)
    assert documented.get("nullable") is True
