"""Probes, metrics, request ids in the logs, and the statement timeout of API requests."""
from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from app import create_app
from tests.factories import make_cast, make_need, signed_in


def test_healthz_answers_while_the_process_is_up(anon_client):
    response = anon_client.get("/healthz")

    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_answers_ready_when_the_database_answers(anon_client):
    response = anon_client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}


def _app(tmp_path: Any, **overrides: Any) -> Any:
    return create_app({"TESTING": True, "SECRET_KEY": "test", "CLASSIFIER_PATH": str(tmp_path / "c.joblib"),
                       "PHOTO_DIR": str(tmp_path), **overrides})


def test_readyz_answers_503_naming_the_database_when_it_cannot_be_reached(tmp_path):
    # Nothing listens on port 1: the database is down.
    app = _app(tmp_path, DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/sanku?connect_timeout=1",
               TASKS_EAGER=True)

    response = app.test_client().get("/readyz")
    healthz = app.test_client().get("/healthz")

    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "not_ready" and list(error["fields"]) == ["database"]
    assert error["fields"]["database"][0].startswith("unreachable")
    assert healthz.status_code == 200  # alive all the same: a restart would not bring the database back


def test_readyz_answers_503_naming_the_broker_when_redis_cannot_be_reached(tmp_path):
    app = _app(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'ok.db'}", TASKS_EAGER=False,
               REDIS_URL="redis://127.0.0.1:1/0")

    response = app.test_client().get("/readyz")

    assert response.status_code == 503 and list(response.get_json()["error"]["fields"]) == ["broker"]


def test_metrics_show_request_latency_by_endpoint_batches_classifier_confidence_and_notifications(app, session):
    cast = make_cast(session)
    make_need(session, ref="N-M", grid="G1")
    session.commit()
    api = signed_in(app.test_client(), app, cast.coord_g1)
    assert api.post("/api/v1/match", json={"grid": "G1"}).status_code == 200
    assert app.test_client().post("/api/v1/classify", json={"text": "家里水管漏水"}).status_code == 200

    text = app.test_client().get("/metrics").get_data(as_text=True)

    assert 'sanku_http_request_duration_seconds_count{endpoint="workflow.run_match",method="POST",status="200"} 1.0' in text
    assert "sanku_batch_duration_seconds_count" in text and "sanku_batch_needs_bucket" in text
    assert "sanku_classifier_confidence_count" in text
    pending = [line for line in text.splitlines() if line.startswith('sanku_notifications{state="pending"}')]
    assert pending and float(pending[0].split()[-1]) >= 1  # the coordinator and V1 were told


def test_metrics_count_tasks_by_state(app, session):
    app.extensions["celery"].tasks["jobs.escalate"].apply().get()

    text = app.test_client().get("/metrics").get_data(as_text=True)

    assert 'sanku_tasks_total{state="succeeded",task="jobs.escalate"}' in text


def test_with_a_metrics_token_only_a_scraper_sending_it_reads_the_metrics(app):
    app.config["METRICS_TOKEN"] = "scrape-token-0123456789"
    client = app.test_client()

    nobody = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789x"})
    scraper = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})

    assert nobody.status_code == wrong.status_code == 404
    assert "sanku_" not in nobody.get_data(as_text=True) and "sanku_" not in wrong.get_data(as_text=True)
    assert scraper.status_code == 200 and "sanku_notifications" in scraper.get_data(as_text=True)


def test_a_request_answers_its_id_and_keeps_a_sane_one_given_by_the_caller(anon_client):
    mine = anon_client.get("/healthz", headers={"X-Request-ID": "lb-0123456789abcdef"})
    odd = anon_client.get("/healthz", headers={"X-Request-ID": "<script>"})
    fresh = anon_client.get("/healthz")

    assert mine.headers["X-Request-ID"] == "lb-0123456789abcdef"
    assert odd.headers["X-Request-ID"] != "<script>" and len(odd.headers["X-Request-ID"]) == 32
    assert fresh.headers["X-Request-ID"] != odd.headers["X-Request-ID"]


def test_json_logs_carry_the_request_id_into_the_tasks_a_request_queues(app, session):
    from core.logs import RequestIdFilter, configure_logging
    cast = make_cast(session)
    make_need(session, ref="N-L", grid="G1")
    session.commit()
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        configure_logging("INFO", "json")
        handler = root.handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(stream)
        handler.addFilter(RequestIdFilter())
        api = signed_in(app.test_client(), app, cast.coord_g1)
        response = api.post("/api/v1/match/jobs", json={"grid": "G1"}, headers={"X-Request-ID": "req-batch-000001"})
    finally:
        root.handlers[:] = saved[1]
        root.setLevel(saved[0])
    assert response.status_code == 202
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    from_the_task = [e for e in lines if e["logger"] == "workflow.service" and e["message"].startswith("match run")]
    assert from_the_task and from_the_task[0]["request_id"] == "req-batch-000001"
    assert {"time", "level", "logger", "message"} <= set(from_the_task[0])


@pytest.mark.postgres
def test_an_api_request_s_statements_are_cut_off_at_the_statement_timeout(tmp_path, database_url):
    from flask import g
    from sqlalchemy import text

    from core.database import db_session
    app = _app(tmp_path, DATABASE_URL=database_url, TASKS_EAGER=True, API_STATEMENT_TIMEOUT_MS=200)
    own = app.extensions["sanku_db"].engine

    def in_request(path: str) -> tuple[str, int]:
        """The statement timeout a request of ``path`` runs under, and its connection's backend."""
        with app.test_request_context(path):
            try:
                return db_session().execute(text("SHOW statement_timeout")).scalar_one(), \
                    db_session().execute(text("SELECT pg_backend_pid()")).scalar_one()
            finally:
                g.pop("db_session").close()  # rolled back, as a GET is

    with app.test_request_context("/api/v1/needs"):
        with pytest.raises(OperationalError, match="statement timeout"):
            db_session().execute(text("SELECT pg_sleep(2)"))
        g.pop("db_session").close()
    # The same pooled connection, each time: the setting follows who draws it, and a rollback keeps it.
    api, backend = in_request("/api/v1/needs")
    assert api == "200ms"
    assert in_request("/needs") == ("0", backend)  # a page is not bound
    with app.test_request_context("/needs"):
        assert db_session().execute(text("SELECT pg_sleep(0.3), 1")).one()[1] == 1
        g.pop("db_session").close()
    assert in_request("/api/v1/grids") == ("200ms", backend)
    with app.app_context():  # a command or a job is not bound either
        with own.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "0"
    own.dispose()


@pytest.mark.postgres
def test_a_pooled_connection_the_database_killed_is_replaced_before_a_request_uses_it(tmp_path, database_url, engine):
    from sqlalchemy import text
    app = _app(tmp_path, DATABASE_URL=database_url, TASKS_EAGER=True)
    own = app.extensions["sanku_db"].engine
    assert own.pool.size() >= 1
    with own.connect() as conn:  # one connection, back in the pool afterwards
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with engine.connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True

    response = app.test_client().get("/api/v1/party-grids")

    assert response.status_code == 200
    with own.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    own.dispose()


def test_a_pre_ping_that_breaks_while_restoring_autocommit_counts_as_a_disconnect():
    """psycopg: the ping's SELECT fails with the lost socket, then setting autocommit back raises a
    ProgrammingError; the pool must take that as a dead connection (replace it), not fail the request."""
    import psycopg

    from core.database import make_engine

    class Dead:  # a DBAPI connection whose backend was killed, as psycopg shows it mid-ping
        closed = broken = False  # not yet known to psycopg itself
        _autocommit = False

        @property
        def autocommit(self) -> bool:
            return self._autocommit

        @autocommit.setter
        def autocommit(self, value: bool) -> None:
            if not value:
                raise psycopg.ProgrammingError("can't change 'autocommit' now: connection in transaction status ACTIVE")
            self._autocommit = value

        def cursor(self) -> Any:
            class Cursor:
                def execute(self, _sql: str) -> None:
                    raise psycopg.OperationalError("connection socket closed")

                def close(self) -> None:
                    pass
            return Cursor()

    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert engine.dialect._do_ping_w_event(Dead()) is False  # a disconnect: the pool reconnects
    engine.dispose()
