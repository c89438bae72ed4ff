"""The tasks through a real Celery worker (a process of its own, ``celery -A worker worker``) on
Redis, against a database file both processes share: batch matching, a failing task leaving the
database as it was, delivery to a webhook, and the request id carried from the caller into the
worker's logs. Skipped when Redis is not running (SANKU_TEST_REDIS_URL, default
redis://127.0.0.1:6379/1)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app import create_app
from core.logs import REQUEST_ID
from models import MatchRun, Need, Notification
from tests.factories import make_account, make_need, make_volunteer, table_counts
from tests.jobs.test_delivery import Receiver

REDIS_URL = os.environ.get("SANKU_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")
ROOT = Path(__file__).resolve().parents[2]
WORKER_READY_SECONDS = 90
pytestmark = pytest.mark.slow


def _redis_is_up() -> bool:
    import redis
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
        client.ping()
        client.close()
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not _redis_is_up():
        pytest.skip(f"needs Redis at {REDIS_URL} (set SANKU_TEST_REDIS_URL)")
    from migrations.runner import migrate
    from tests.factories import make_map
    folder = tmp_path_factory.mktemp("worker")
    receiver = Receiver()
    env_settings = {
        "DATABASE_URL": f"sqlite:///{folder / 'shared.db'}", "REDIS_URL": REDIS_URL, "SECRET_KEY": "worker-test",
        "SANKU_TASKS_EAGER": "false", "SANKU_LOG_FORMAT": "json", "SANKU_CLASSIFIER_PATH": str(folder / "c.joblib"),
        "SANKU_NOTIFY_WEBHOOK_URL": receiver.url, "SANKU_WEBHOOK_SECRET": "worker-hook-secret",
        "SANKU_PHOTO_DIR": str(folder / "photos"),
        # A queue of this run's own: another worker on the same Redis (a developer's, a benchmark's) takes none.
        "SANKU_TASK_QUEUE": f"sanku-test-{os.getpid()}-{time.time_ns()}",
    }
    app = create_app({"TESTING": True, "DATABASE_URL": env_settings["DATABASE_URL"], "REDIS_URL": REDIS_URL,
                      "TASKS_EAGER": False, "SECRET_KEY": "worker-test", "CLASSIFIER_PATH": str(folder / "c.joblib"),
                      "NOTIFY_WEBHOOK_URL": receiver.url, "WEBHOOK_SECRET": "worker-hook-secret",
                      "TASK_QUEUE": env_settings["SANKU_TASK_QUEUE"]})
    db = app.extensions["sanku_db"]
    migrate(db.engine)
    with app.app_context(), db.unit_of_work() as s:
        make_map(s)
        make_volunteer(s, ref="V1", grid="G1")
        make_volunteer(s, ref="V2", name="王芳", grid="G2", phone="13700137000")
        make_need(s, ref="N-W1", grid="G1")
        make_need(s, ref="N-W2", grid="G2")
        make_account(s, "coordinator", "coord-g1", scope_type="grid", scope_codes=["G1"])
    celery = app.extensions["celery"]
    celery.control.purge()  # nothing left over from an earlier run on this Redis database
    log_path = folder / "worker.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANKU_", "PROMETHEUS_"))}
    env.update(env_settings, SANKU_ENV="development")
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker", "worker", "--pool", "solo", "--loglevel", "INFO",
             "-n", f"sanku-test-{os.getpid()}@%h", "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + WORKER_READY_SECONDS
        while time.monotonic() < deadline and "ready." not in log_path.read_text():
            if worker.poll() is not None:
                pytest.fail(f"the worker stopped: {log_path.read_text()[-2000:]}")
            time.sleep(0.5)
        else:
            if "ready." not in log_path.read_text():
                pytest.fail("the worker did not start in time")
        yield {"app": app, "celery": celery, "log": log_path, "receiver": receiver}
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        receiver.close()
        db.engine.dispose()


def _session(shared: dict[str, Any]) -> Any:
    return shared["app"].extensions["sanku_db"].sessionmaker()


def test_a_batch_runs_in_the_worker_and_its_retry_under_the_same_id_does_nothing(shared):
    match = shared["celery"].tasks["jobs.match_scope"]
    token = REQUEST_ID.set("req-worker-0000001")
    try:
        result = match.apply_async(kwargs={"grid": "G1"}).get(timeout=60)
    finally:
        REQUEST_ID.reset(token)
    # The same task delivered again (a worker died before acknowledging it): its first result forgotten,
    # so what comes back is the second run's.
    task_id = result_id(shared, result)
    shared["celery"].AsyncResult(task_id).forget()
    again = match.apply_async(kwargs={"grid": "G1"}, task_id=task_id).get(timeout=60)

    assert result["scope"] == "grid:G1" and result["stats"]["needs"] == 1 and result["repeated"] is False
    assert again["repeated"] is True and again["match_run_id"] == result["match_run_id"]
    with _session(shared) as s:
        assert s.scalar(select(Need.status).where(Need.ref == "N-W1")) == "proposed"
        assert s.scalar(select(Need.status).where(Need.ref == "N-W2")) == "submitted"  # another grid
        assert s.scalar(select(func.count()).select_from(MatchRun)) == 1
    # the caller's request id is on the worker's log lines of that task
    lines = [json.loads(line) for line in shared["log"].read_text().splitlines() if line.startswith("{")]
    assert any(e.get("request_id") == "req-worker-0000001" and e["message"].startswith("match run") for e in lines)


def result_id(shared: dict[str, Any], result: dict[str, Any]) -> str:
    with _session(shared) as s:
        task_id = s.scalar(select(MatchRun.task_id).where(MatchRun.id == result["match_run_id"]))
    assert task_id
    return str(task_id)


def test_a_task_that_fails_in_the_worker_leaves_the_database_as_it_was(shared):
    with _session(shared) as s:
        before = table_counts(s)

    async_result = shared["celery"].tasks["jobs.escalate"].apply_async(kwargs={"now": "not a time"})
    with pytest.raises(ValueError):
        async_result.get(timeout=60)

    assert async_result.state == "FAILURE"
    with _session(shared) as s:
        assert table_counts(s) == before


def test_the_worker_delivers_notifications_to_the_webhook_signed(shared):
    from workflow.notify import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
    with _session(shared) as s:
        pending = list(s.scalars(select(Notification.id).where(Notification.delivered.is_(False))))
    assert pending  # the batch told the coordinator and V1

    queued = shared["celery"].tasks["jobs.deliver_due"].apply_async().get(timeout=60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(shared["receiver"].calls) < len(pending):
        time.sleep(0.2)

    assert queued == len(pending)
    got = sorted(json.loads(body)["id"] for _, body in shared["receiver"].calls)
    assert got == sorted(pending)
    assert all(verify("worker-hook-secret", body, h[TIMESTAMP_HEADER], h[SIGNATURE_HEADER])
               for h, body in shared["receiver"].calls)
    time.sleep(0.5)  # the worker commits after the receiver answered
    with _session(shared) as s:
        assert s.scalar(select(func.count()).select_from(Notification).where(Notification.delivered.is_(False))) == 0
