"""Recurring needs (每周探访): a coordinator sets a rule (RFC 5545 RRULE), `recurring spawn` makes each
occurrence due into a need once however often it runs, a rule that never ends (or is too frequent, or
unreadable) is refused by field, and the provider who served the last visit is preferred for the next."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from core.config import zone
from core.times import to_utc
from core.vocab import Channel, NeedStatus
from models import AuditEntry, Need, Recurrence, RecurrenceOccurrence
from tests.factories import act, error_of, make_volunteer, signed_in

API = "/api/v1"
VISIT_TEXT = "每周三上午去探访独居的王奶奶，陪她去医院复查"


def next_wednesday_9() -> datetime:
    """A Wednesday 09:00 (the subdistrict's wall clock) at least two days ahead: V1 is free then."""
    today = datetime.now(zone()).replace(tzinfo=None, hour=9, minute=0, second=0, microsecond=0)
    day = today + timedelta(days=2)
    return day + timedelta(days=(2 - day.weekday()) % 7)


def body(**overrides: Any) -> dict[str, Any]:
    return {"text": VISIT_TEXT, "grid": "G1", "contact": "王奶奶 13900139000", "service": "volunteer",
            "rrule": "FREQ=WEEKLY;BYDAY=WE;COUNT=4", "dtstart": next_wednesday_9().isoformat(),
            "window_minutes": 60, **overrides}


def stored(wall: datetime) -> datetime:
    return to_utc(wall, zone())


def occurrences(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(RecurrenceOccurrence))


def test_a_coordinator_sets_a_weekly_visit_in_their_grid_and_lists_and_stops_it(app, session, cast):
    coord = signed_in(app.test_client(), app, cast.coord_g1)

    response = coord.post(f"{API}/recurrences", json=body())

    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    assert made["rrule"] == "FREQ=WEEKLY;COUNT=4;BYDAY=WE" and made["grid"] == "G1" and made["channel"] == "visit"
    assert made["next_at"].startswith(next_wednesday_9().isoformat(timespec="minutes"))
    assert [r["id"] for r in coord.get(f"{API}/recurrences").get_json()["items"]] == [made["id"]]  # the list envelope
    # Outside their grid: refused; another grid's coordinator does not see it.
    error_of(coord.post(f"{API}/recurrences", json=body(grid="G3")), 403, "forbidden")
    other = signed_in(app.test_client(), app, cast.coord_g3)
    assert other.get(f"{API}/recurrences").get_json() == {"items": []}
    error_of(other.delete(f"{API}/recurrences/{made['id']}"), 404)
    # Residents and volunteers do not set rules.
    error_of(signed_in(app.test_client(), app, cast.res_a).post(f"{API}/recurrences", json=body()), 403)

    assert coord.delete(f"{API}/recurrences/{made['id']}").get_json()["active"] is False
    assert coord.get(f"{API}/recurrences").get_json() == {"items": []}


def test_bad_rules_are_refused_by_field_in_chinese(app, session, cast):
    coord = signed_in(app.test_client(), app, cast.coord_g1)
    cases = {
        "FREQ=WEEKLY;BYDAY=WE": "永不结束",  # an RRULE that never ends
        "FREQ=HOURLY;COUNT=10": "频率过高",
        "FREQ=MINUTELY;UNTIL=20270101T000000": "频率过高",
        "FREQ=DAILY;BYHOUR=9,15;COUNT=10": "频率过高",  # twice a day under a daily rule
        "FREQ=DAILY;COUNT=401": "次数过多",
        "FREQ=DAILY;UNTIL=20991231T000000": "次数过多",
        "FREQ=FORTNIGHTLY;COUNT=3": "无法解析",
        "每周三": "无法解析",
        "DTSTART:20261209T090000\nRRULE:FREQ=WEEKLY;COUNT=3": "只能填写一条",
    }
    for rule, reason in cases.items():
        error = error_of(coord.post(f"{API}/recurrences", json=body(rrule=rule)), 422)
        assert list(error["fields"]) == ["rrule"] and reason in error["fields"]["rrule"][0], (rule, error)

    past = (datetime.now(zone()).replace(tzinfo=None) - timedelta(days=3)).isoformat(timespec="minutes")
    assert "dtstart" in error_of(coord.post(f"{API}/recurrences", json=body(dtstart=past)), 422)["fields"]
    assert "window_minutes" in error_of(coord.post(f"{API}/recurrences", json=body(window_minutes=5)),
                                        422)["fields"]
    assert session.scalar(select(func.count()).select_from(Recurrence)) == 0


def test_spawning_twice_makes_each_occurrence_once_as_the_system(app, session, cast):
    from intake.recurring import spawn_due
    coord = signed_in(app.test_client(), app, cast.coord_g1)
    start = next_wednesday_9()
    rid = coord.post(f"{API}/recurrences", json=body()).get_json()["id"]
    now = stored(start - timedelta(days=1))

    first = spawn_due(session, now)  # the next 7 days: the first visit only
    again = spawn_due(session, now)
    later = spawn_due(session, now + timedelta(days=7))  # a week on: the second visit

    assert (first["made"], again["made"], later["made"]) == (1, 0, 1)
    needs = session.scalars(select(Need).join(RecurrenceOccurrence, RecurrenceOccurrence.need_id == Need.id)
                            .order_by(Need.id)).all()
    assert [(n.window_start, n.window_end) for n in needs] == [
        (start, start + timedelta(hours=1)), (start + timedelta(days=7), start + timedelta(days=7, hours=1))]
    assert all(n.channel == Channel.VISIT and n.grid.code == "G1" and n.status == NeedStatus.SUBMITTED for n in needs)
    first_entry = session.scalars(select(AuditEntry).where(AuditEntry.need_id == needs[0].id)).first()
    assert first_entry.actor_role == "system" and first_entry.actor_id is None
    recurrence = session.get(Recurrence, rid)
    assert recurrence.last_need_id == needs[1].id and recurrence.next_at == start + timedelta(days=14)


def test_the_cli_spawns_with_now_and_a_second_run_makes_nothing(app, session, cast, runner):
    coord = signed_in(app.test_client(), app, cast.coord_g1)
    start = next_wednesday_9()
    coord.post(f"{API}/recurrences", json=body(rrule="FREQ=WEEKLY;COUNT=2"))
    moment = (start - timedelta(days=1)).isoformat(timespec="minutes")  # local time, no offset

    result = runner.invoke(args=["recurring", "spawn", "--now", moment])
    second = runner.invoke(args=["recurring", "spawn", "--now", moment])
    end = runner.invoke(args=["recurring", "spawn", "--now", (start + timedelta(days=30)).isoformat()])

    assert result.exit_code == 0, result.output
    assert "生成需求 1 条" in result.output and "生成需求 0 条" in second.output
    # Three weeks late: the second visit is over, so it is skipped rather than made late; then nothing is left.
    assert "生成需求 0 条，跳过已过期 1 次" in end.output and occurrences(session) == 1
    assert session.scalar(select(Recurrence.next_at)) is None
    assert runner.invoke(args=["recurring", "spawn", "--now", "nonsense"]).exit_code != 0


def test_the_next_visit_goes_to_whoever_served_the_last_with_the_reason(app, session, cast):
    from intake.recurring import spawn_due
    from workflow.service import match_scope
    # V4: as good as V1 for the visit, but V1 comes first among equals.
    v4 = make_volunteer(session, ref="V4", name="李红", grid="G1", phone="13500135000", capacity=4)
    session.commit()
    coord = signed_in(app.test_client(), app, cast.coord_g1)
    start = next_wednesday_9()
    coord.post(f"{API}/recurrences", json=body())
    spawn_due(session, stored(start - timedelta(days=1)))
    match_scope(session, grid="G1")
    session.commit()
    first = session.scalars(select(Need).order_by(Need.id)).one()
    assert first.current_proposal.volunteer_id == cast.v1.id
    assert "上次也是" not in first.current_proposal.explanation
    assert act(coord, first.id, "decline", reason="本周有事").status_code == 200
    session.expire_all()
    assert first.current_proposal.volunteer_id == v4.id
    assert act(coord, first.id, "accept").status_code == 200

    spawn_due(session, stored(start + timedelta(days=6)))
    match_scope(session, grid="G1")
    session.commit()
    second = session.scalars(select(Need).order_by(Need.id.desc())).first()

    proposal = second.current_proposal
    assert second.id != first.id and proposal.volunteer_id == v4.id, proposal.explanation
    assert "上次也是他/她服务" in proposal.explanation
    assert proposal.features["features"]["continuity"] == 1.0
