"""Notification delivery through a webhook: signed bodies a receiver can verify, retries with an
exponential backoff, the dead letter after the last try, nothing sent twice."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from models import Notification, utcnow
from tests.factories import make_account
from workflow.notify import SIGNATURE_HEADER, TIMESTAMP_HEADER, attempt_delivery, backoff, sign, verify

SECRET = "test-webhook-secret"  # the app fixture's WEBHOOK_SECRET


class Receiver:
    """A webhook receiver on a free local port: answers ``status`` and keeps what it got."""

    def __init__(self) -> None:
        self.status = 200
        self.calls: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append(({k: v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(app: Any) -> Iterator[Receiver]:
    r = Receiver()
    app.config["NOTIFY_WEBHOOK_URL"] = r.url
    yield r
    r.close()


@pytest.fixture
def pending(app: Any, session: Any) -> list[int]:
    user = make_account(session, "coordinator", "coord-hook")
    rows = [Notification(user_id=user.id, message=f"需求 N{i}：已推荐待答复") for i in range(3)]
    session.add_all(rows)
    session.commit()
    return [n.id for n in rows]


def _sweep(app: Any) -> int:
    count: int = app.extensions["celery"].tasks["jobs.deliver_due"].apply().get()
    return count


def _rows(session: Any, ids: list[int]) -> list[Notification]:
    session.expire_all()
    return list(session.scalars(select(Notification).where(Notification.id.in_(ids)).order_by(Notification.id)))


def test_each_due_notification_is_posted_once_signed_and_marked_delivered(app, session, receiver, pending):
    assert _sweep(app) == 3
    assert _sweep(app) == 0  # delivered: never sent again

    assert [json.loads(body)["id"] for _, body in receiver.calls] == pending
    for headers, body in receiver.calls:
        assert verify(SECRET, body, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER])
    assert all(n.delivered and n.attempts == 1 and n.dead_at is None for n in _rows(session, pending))


def test_a_receiver_detects_a_changed_body_a_wrong_secret_and_an_old_signature():
    body, stamp = json.dumps({"id": 1, "message": "需求 N1"}).encode(), 1_800_000_000
    signature = sign(SECRET, body, stamp)

    assert verify(SECRET, body, str(stamp), signature, now=stamp + 10)
    assert not verify(SECRET, body.replace(b"1", b"2"), str(stamp), signature, now=stamp + 10)
    assert not verify("another-secret", body, str(stamp), signature, now=stamp + 10)
    assert not verify(SECRET, body, str(stamp), signature, now=stamp + 301)  # replayed later
    assert not verify(SECRET, body, str(stamp + 1), signature, now=stamp + 10)  # the timestamp is signed too
    assert not verify(SECRET, body, "soon", signature, now=stamp)


def test_a_failed_try_waits_an_exponential_backoff_and_the_last_is_dead_lettered(app, session, receiver, pending):
    app.config.update(NOTIFY_MAX_ATTEMPTS=3, NOTIFY_BACKOFF_SECONDS=30, NOTIFY_BACKOFF_MAX_SECONDS=3600)
    receiver.status = 500
    first = pending[0]
    with app.app_context():
        start = utcnow()
        waits = []
        for i in range(3):
            moment = start + timedelta(hours=i)
            with app.extensions["sanku_db"].unit_of_work() as s:
                attempt = attempt_delivery(s, first, _sender(app), now=moment)
            waits.append((attempt.outcome, attempt.attempts,
                          (attempt.retry_at - moment).total_seconds() if attempt.retry_at else None))
        assert backoff(1) == timedelta(seconds=30) and backoff(4) == timedelta(seconds=240)

    assert waits == [("retry", 1, 30.0), ("retry", 2, 60.0), ("dead", 3, None)]
    [dead] = _rows(session, [first])
    assert dead.dead_at is not None and not dead.delivered and "HTTPError" in (dead.last_error or "")
    # a dead letter is not swept again, even once the receiver is back
    receiver.status = 200
    with app.app_context(), app.extensions["sanku_db"].unit_of_work() as s:
        assert attempt_delivery(s, first, _sender(app)).outcome == "skipped"


def test_a_sweep_leaves_a_row_waiting_its_backoff_and_takes_it_when_it_is_due(app, session, receiver, pending):
    receiver.status = 503
    assert _sweep(app) == 3
    rows = _rows(session, pending)
    assert all(n.attempts == 1 and not n.delivered and n.next_attempt_at > utcnow() for n in rows)
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'sanku_notifications{state="retrying"} 3.0' in metrics

    receiver.status = 200
    assert _sweep(app) == 0  # still waiting

    for n in rows:
        n.next_attempt_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert _sweep(app) == 3
    assert all(n.delivered and n.attempts == 2 for n in _rows(session, pending))


def test_dead_letters_are_sent_again_after_the_cli_revives_them(app, session, receiver, pending, runner):
    app.config.update(NOTIFY_MAX_ATTEMPTS=1)
    receiver.status = 500
    _sweep(app)
    assert all(n.dead_at is not None for n in _rows(session, pending))

    receiver.status = 200
    result = runner.invoke(args=["notify", "retry-dead"])
    assert "3" in result.output
    assert _sweep(app) == 3
    assert all(n.delivered and n.dead_at is None for n in _rows(session, pending))


def test_a_try_under_way_holds_its_row_so_a_second_sweep_does_not_hand_it_out_again(app, session, pending):
    from workflow.notify import claim_due
    with app.app_context(), app.extensions["sanku_db"].unit_of_work() as s:
        first = claim_due(s)
    with app.app_context(), app.extensions["sanku_db"].unit_of_work() as s:
        second = claim_due(s)
        later = claim_due(s, now=utcnow() + timedelta(seconds=app.config["NOTIFY_LEASE_SECONDS"] + 1))

    assert first == pending and second == [] and later == pending  # a killed worker's rows come back


def _sender(app: Any) -> Any:
    from workflow.notify import WebhookSender
    return WebhookSender(app.config["NOTIFY_WEBHOOK_URL"], app.config["WEBHOOK_SECRET"])
