"""The jobs, run eagerly in the test's process (the same code a worker runs; tests/jobs/test_worker.py
runs them through a real worker on Redis): batch matching idempotent on retry and on a second run, a
failed task leaving the database as it was, the SLA job, and the staff loaded once per batch."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select

from models import AuditEntry, MatchRun, Need, Notification, Proposal
from tests.factories import make_account, make_cast, make_need, make_volunteer, signed_in, table_counts


def _task(app: Any, name: str) -> Any:
    return app.extensions["celery"].tasks[name]


def _state(session: Any) -> dict[str, Any]:
    """What a batch may change: proposals, audit entries, notifications and each need's status."""
    session.expire_all()
    return {"proposals": session.scalar(select(func.count()).select_from(Proposal)),
            "audit": session.scalar(select(func.count()).select_from(AuditEntry)),
            "notifications": session.scalar(select(func.count()).select_from(Notification)),
            "statuses": dict(session.execute(select(Need.ref, Need.status)).all())}


@pytest.fixture
def waiting(app: Any, session: Any) -> Any:
    """The cast of make_cast and four needs waiting in G1 and G2: two V1/V2 can take, two nobody can."""
    cast = make_cast(session)
    make_need(session, ref="N-A", grid="G1")
    make_need(session, ref="N-B", grid="G2")
    make_need(session, ref="N-C", grid="G1", text="想找人教我弹钢琴", service="social")
    make_need(session, ref="N-D", grid="G9", text="家里需要换锁", service="market")
    session.commit()
    return cast


def test_a_batch_task_proposes_and_its_retry_under_the_same_id_does_nothing(app, session, waiting):
    match = _task(app, "jobs.match_scope")

    first = match.apply(task_id="11111111-1111-4111-8111-111111111111").get()
    after_first = _state(session)
    again = match.apply(task_id="11111111-1111-4111-8111-111111111111").get()

    assert first["stats"]["needs"] == 4 and first["repeated"] is False
    assert after_first["proposals"] >= 2 and after_first["statuses"]["N-A"] == "proposed"
    assert again == {**first, "repeated": True}
    assert _state(session) == after_first
    assert session.scalar(select(func.count()).select_from(MatchRun)) == 1


def test_a_batch_run_twice_under_new_ids_changes_no_proposal_audit_entry_notification_or_status(app, session, waiting):
    match = _task(app, "jobs.match_scope")
    match.apply().get()
    after_first = _state(session)

    second = match.apply().get()

    assert _state(session) == after_first
    assert second["stats"]["matched"] == 0  # the proposed needs no longer wait; the others still find nobody


def test_a_batch_task_that_fails_leaves_the_database_as_it_was(app, session, waiting, monkeypatch):
    from workflow import notify
    written = []

    def fail_when_telling(s: Any, moves: Any) -> None:
        # The proposals, audit entries and moves are written by then (in bulk), the notifications not yet.
        written.append((s.scalar(select(func.count()).select_from(Proposal)), len(moves)))
        raise RuntimeError("the worker's machine lost power")

    monkeypatch.setattr(notify, "next_actors_of_many", fail_when_telling)
    before = table_counts(session)

    with pytest.raises(RuntimeError):
        _task(app, "jobs.match_scope").apply().get()

    assert written == [(before["proposals"] + 2, 4)]  # it had proposed for two needs and moved four
    session.expire_all()
    assert table_counts(session) == before
    assert {s for s in _state(session)["statuses"].values()} == {"submitted"}


def test_the_escalation_task_moves_a_late_unmatched_need_once(app, session, waiting):
    _task(app, "jobs.match_scope").apply().get()  # N-C and N-D find nobody: unmatched
    later = "2027-01-30T00:00:00"

    first = _task(app, "jobs.escalate").apply(kwargs={"now": later}).get()
    after_first = _state(session)
    second = _task(app, "jobs.escalate").apply(kwargs={"now": later}).get()

    assert first["escalated"] >= 1 and after_first["statuses"]["N-D"] == "escalated"
    assert second["escalated"] == 0 and _state(session) == after_first


def _count_user_queries(engine: Any) -> tuple[list[str], Any]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM users" in statement \
                and "users.role IN" in statement:
            seen.append(statement)
    return seen, before


@pytest.mark.parametrize("needs", [3, 24])
def test_a_batch_loads_the_staff_it_notifies_once_however_many_needs_it_moves(app, session, engine, needs):
    cast = make_cast(session)
    for i in range(needs):
        make_volunteer(session, ref=f"VX{i}", name=f"志愿者{i}", grid="G1", phone=f"1380013{i:04d}")
        make_need(session, ref=f"N-{i}", grid="G1")
    make_account(session, "coordinator", "coord-g1-b", scope_type="grid", scope_codes=["G1"])
    session.commit()
    seen, before = _count_user_queries(engine)
    event.listen(engine, "before_cursor_execute", before)
    try:
        result = _task(app, "jobs.match_scope").apply(kwargs={"grid": "G1"}).get()
    finally:
        event.remove(engine, "before_cursor_execute", before)

    assert result["stats"]["matched"] == needs
    assert len(seen) == 1
    # and every G1 coordinator heard of every proposal all the same
    told = session.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.user_id == cast.coord_g1.id, Notification.message.contains("已推荐")))
    assert told == needs


def test_an_account_made_in_the_same_transaction_is_told_too(app, session):
    """The staff copy is dropped when an account is written, so a new coordinator hears at once."""
    from workflow.notify import next_actors
    make_cast(session)
    need = make_need(session, ref="N-NEW", grid="G1")
    next_actors(session, need, need.status)  # loads and keeps the staff
    newcomer = make_account(session, "coordinator", "coord-new", scope_type="grid", scope_codes=["G1"])
    next_actors(session, need, need.status)
    session.flush()

    assert session.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.user_id == newcomer.id)) == 1


# --- over HTTP: queue a job and follow it -------------------------------------------------------------

VOLUNTEER_COLUMNS = ["ref", "name", "kind", "phone", "grid", "skills", "services", "availability", "capacity", "force",
                     "party_member", "description"]


def test_a_coordinator_queues_a_batch_of_their_grid_and_follows_it_to_its_result(app, session, waiting):
    api = signed_in(app.test_client(), app, waiting.coord_g1)

    queued = api.post("/api/v1/match/jobs", json={"grid": "G1"})
    assert queued.status_code == 202, queued.get_json()
    job = api.get(f"/api/v1/jobs/{queued.get_json()['id']}").get_json()

    assert job["kind"] == "match" and job["state"] == "SUCCESS" and job["state_label"] == "已完成"
    assert job["result"]["scope"] == "grid:G1" and job["result"]["stats"]["needs"] == 2
    session.expire_all()
    assert session.scalar(select(Need.status).where(Need.ref == "N-A")) == "proposed"


def test_a_job_is_seen_only_by_who_queued_it_and_by_admins(app, session, waiting):
    mine = signed_in(app.test_client(), app, waiting.coord_g1)
    job_id = mine.post("/api/v1/match/jobs", json={"grid": "G1"}).get_json()["id"]

    other = signed_in(app.test_client(), app, waiting.coord_g3).get(f"/api/v1/jobs/{job_id}")
    admin = signed_in(app.test_client(), app, waiting.admin).get(f"/api/v1/jobs/{job_id}")

    assert other.status_code == 404 and other.get_json()["error"]["code"] == "not_found"
    assert admin.status_code == 200
    assert mine.get("/api/v1/jobs/00000000-0000-4000-8000-000000000000").status_code == 404
    assert mine.get("/api/v1/jobs/not-a-job").status_code == 404


def test_a_coordinator_cannot_queue_a_batch_outside_their_scope(app, session, waiting):
    response = signed_in(app.test_client(), app, waiting.coord_g1).post("/api/v1/match/jobs", json={"grid": "G3"})

    assert response.status_code == 403


def test_an_import_queued_as_a_job_reports_its_rows_and_a_second_run_changes_nothing(app, session, waiting):
    from tests.factories import csv_bytes
    rows = [[f"VJ{i}", f"导入志愿者{i}", "person", f"1390000{i:04d}", "G1", "陪诊", "volunteer", "", 2, "selfgov", "否", ""]
            for i in range(30)]
    data = csv_bytes(VOLUNTEER_COLUMNS, rows)
    admin = signed_in(app.test_client(), app, waiting.admin)

    def run() -> dict[str, Any]:
        import io
        queued = admin.post("/api/v1/import/volunteers/jobs", data={"file": (io.BytesIO(data), "v.csv")},
                            content_type="multipart/form-data")
        assert queued.status_code == 202, queued.get_json()
        return admin.get(f"/api/v1/jobs/{queued.get_json()['id']}").get_json()

    first = run()
    counts = table_counts(session)
    second = run()

    assert first["state"] == "SUCCESS" and first["result"]["imported"] is True
    assert first["result"]["report"]["created"] == 30
    assert second["result"]["report"]["created"] == 0 and second["result"]["report"]["unchanged"] == 30
    session.expire_all()
    assert table_counts(session) == counts


def test_a_rejected_file_imported_as_a_job_imports_nothing(app, session, waiting):
    import io

    from tests.factories import csv_bytes
    data = csv_bytes(VOLUNTEER_COLUMNS,
                     [["VJ1", "好行", "person", "13900000001", "G1", "陪诊", "volunteer", "", 2, "selfgov", "否", ""],
                      ["VJ2", "坏行", "person", "13900000002", "G404", "陪诊", "volunteer", "", 2, "selfgov", "否", ""]])
    admin = signed_in(app.test_client(), app, waiting.admin)
    before = table_counts(session)

    queued = admin.post("/api/v1/import/volunteers/jobs", data={"file": (io.BytesIO(data), "v.csv")},
                        content_type="multipart/form-data").get_json()
    job = admin.get(f"/api/v1/jobs/{queued['id']}").get_json()

    assert job["result"]["imported"] is False and job["result"]["phase"] == "rejected"
    assert any(e["column"] == "grid" for e in job["result"]["report"]["errors"])
    session.expire_all()
    assert table_counts(session) == before


def test_the_queueing_routes_are_not_also_read_as_a_job_id(app):
    """Found by schemathesis: under /jobs/, /jobs/<id> matched /jobs/match too and OPTIONS advertised GET."""
    for path in ("/api/v1/match/jobs", "/api/v1/import/needs/jobs"):
        allowed = set(app.url_map.bind("localhost").allowed_methods(path))  # what OPTIONS answers in Allow
        assert allowed == {"POST", "OPTIONS"}


def test_retention_runs_on_beat_daily_and_erases_an_old_cancelled_needs_contact(app, session, waiting):
    from datetime import timedelta

    from core.times import utcnow
    from jobs.queue import beat_schedule
    need = session.scalar(select(Need).where(Need.ref == "N-C"))
    need.status, need.status_changed_at = "cancelled", utcnow() - timedelta(days=400)
    session.commit()

    result = _task(app, "jobs.apply_retention").apply().get()

    session.expire_all()
    assert result["needs"] == 1 and session.scalar(select(Need).where(Need.ref == "N-C")).contact == ""
    assert beat_schedule(app.config)["apply-retention"]["schedule"] == timedelta(days=1)
