"""In-app notifications for whoever must act next, and their delivery through a sender (a webhook
first; SMS or WeChat later implement the same ``Sender`` protocol).

Notifications are rows written in the same transaction as the transition; a sender delivers them
afterwards (the jobs room's ``deliver_notification`` task, or ``flask --app app notify deliver``), so a
slow or failing sender never blocks or undoes the work.

Delivery keeps its state in the row, not in the broker: each try counts in ``attempts``; a failed
try waits ``backoff(attempts)`` (exponential, capped) in ``next_attempt_at``; after the last allowed try
the row is dead-lettered (``dead_at``) and only a person sends it again (``notify retry-dead``). A try
under way holds a lease in ``next_attempt_at``, so a worker killed in mid-send leaves a row that is
tried again once the lease runs out, and two workers never send one row at once.

Webhook bodies are signed (HMAC-SHA256, :func:`sign`): see the README's "Production" section for
how a receiver checks them (:func:`verify`).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Table, event, insert, or_, select
from sqlalchemy.orm import Session

from access.policy import recipients_of_many
from core.config import setting, zone
from core.times import local_iso
from core.vocab import STATUS_LABELS_ZH, NeedStatus, Role
from dispatch.views import registries_still
from models import Need, Notification, User, utcnow

log = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_SECONDS = 3.0
SIGNATURE_HEADER = "X-Sanku-Signature"
TIMESTAMP_HEADER = "X-Sanku-Timestamp"
SIGNATURE_TOLERANCE_SECONDS = 300  # a receiver refuses a body signed longer ago (a replay)
ERROR_TEXT_LIMIT = 500

# --- who hears of a move ------------------------------------------------------------------------

_STAFF = "sanku_notify_staff"  # session.info key: (transaction, active staff) loaded once per transaction
_STILL = object()  # in place of the transaction while the registries are held still


def _active_staff(session: Session) -> list[User]:
    """The active coordinators and reviewers, loaded once per transaction: a batch of 400 proposals
    tells 400 needs' coordinators with one query, not 400. Any account written in the session drops
    the copy (``_forget_staff``), so a new or deactivated account is seen at once. While the caller
    holds the registries still (a simulated month: thousands of one-move transactions), once per
    session."""
    still = registries_still()
    transaction = session.get_transaction()
    cached = session.info.get(_STAFF)
    if (transaction is None and not still) or cached is None or cached[0] is not (_STILL if still else transaction):
        staff = list(session.scalars(select(User).where(User.role.in_((Role.COORDINATOR, Role.REVIEWER)),
                                                       User.active.is_(True)).order_by(User.id)))
        # Keyed by the transaction the query ran in (it began one if there was none).
        cached = (_STILL if still else session.get_transaction(), staff)
        session.info[_STAFF] = cached
    staff_list: list[User] = cached[1]
    return staff_list


@event.listens_for(Session, "before_flush")
def _forget_staff(session: Session, _context: Any, _instances: Any) -> None:
    if _STAFF in session.info and any(isinstance(obj, User) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info.pop(_STAFF, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_staff_on_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_STAFF, None)


def next_actors(session: Session, need: Need, status: NeedStatus) -> None:
    """Tell whoever must act next (``access.policy.NEXT_ACTORS``) that the need is now ``status``."""
    session.add_all(Notification(**row) for row in notifications_of(session, [(need, status)]))


def next_actors_of_many(session: Session, moves: list[tuple[Need, NeedStatus]]) -> None:
    """:func:`next_actors` for many moves at once (a batch's outcomes): their recipients are found with a
    few queries in all, where one move at a time cost about five round trips a need, and the
    notifications are inserted with one statement of many rows, not one ORM object each."""
    rows = notifications_of(session, moves)
    if rows:
        session.execute(insert(cast(Table, Notification.__table__)), rows)  # Core: no ORM work per row


def notifications_of(session: Session, moves: list[tuple[Need, NeedStatus]]) -> list[dict[str, Any]]:
    """The notification rows telling each move's next actors (the columns given; the rest default)."""
    told = recipients_of_many(session, moves, _active_staff(session))
    rows: list[dict[str, Any]] = []
    for need, status in moves:
        message = f"需求 {need.ref}：{STATUS_LABELS_ZH.get(status, status)} —— {need.text[:30]}"
        rows.extend({"user_id": user.id, "need_id": need.id, "message": message} for user in told[need.id])
    return rows


# --- signing ------------------------------------------------------------------------------------

def sign(secret: str, body: bytes, timestamp: int) -> str:
    """``v1=<hex HMAC-SHA256 of "<timestamp>.<body>">``: the timestamp is signed with the body, so a
    receiver can refuse an old body replayed."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={mac}"


def verify(secret: str, body: bytes, timestamp: str, signature: str, *, now: float | None = None,
           tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """What a receiver runs on each call: the signature matches (compared in constant time) and the
    timestamp is recent."""
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - moment) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, moment), signature)


# --- senders ------------------------------------------------------------------------------------

class Sender(Protocol):
    def send(self, payload: dict[str, Any]) -> None: ...


class WebhookSender:
    """POSTs each notification as JSON to a URL (for a relay to SMS, WeChat or a work chat), signed
    with the shared secret when there is one."""

    def __init__(self, url: str, secret: str = "", timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> None:
        self.url, self.secret, self.timeout = url, secret, timeout

    def request(self, payload: dict[str, Any], now: float | None = None) -> urllib.request.Request:
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.secret:
            stamp = int(time.time() if now is None else now)
            headers[TIMESTAMP_HEADER] = str(stamp)
            headers[SIGNATURE_HEADER] = sign(self.secret, body, stamp)
        return urllib.request.Request(self.url, data=body, method="POST", headers=headers)

    def send(self, payload: dict[str, Any]) -> None:
        with urllib.request.urlopen(self.request(payload), timeout=self.timeout) as resp:  # noqa: S310 (configured URL)
            resp.read()


def configured_sender() -> WebhookSender | None:
    url = str(setting("NOTIFY_WEBHOOK_URL") or "")
    return WebhookSender(url, str(setting("WEBHOOK_SECRET") or "")) if url else None


# --- delivery -----------------------------------------------------------------------------------

def backoff(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failed try a notification waits: base × 2^(attempts − 1), capped."""
    base, cap = float(setting("NOTIFY_BACKOFF_SECONDS")), float(setting("NOTIFY_BACKOFF_MAX_SECONDS"))
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def _pending() -> Any:
    return (Notification.delivered.is_(False)) & (Notification.dead_at.is_(None))


def claim_due(session: Session, limit: int = 500, now: datetime | None = None) -> list[int]:
    """The ids of pending notifications whose time has come, each leased for ``NOTIFY_LEASE_SECONDS``
    so the next sweep does not hand them out again while their try is under way."""
    now = now or utcnow()
    rows = list(session.scalars(
        select(Notification).where(_pending(), or_(Notification.next_attempt_at.is_(None),
                                                    Notification.next_attempt_at <= now))
        .order_by(Notification.id).limit(limit).with_for_update(skip_locked=True)))
    lease = now + timedelta(seconds=int(setting("NOTIFY_LEASE_SECONDS")))
    for n in rows:
        n.next_attempt_at = lease
    session.flush()
    return [n.id for n in rows]


@dataclass(frozen=True)
class Attempt:
    outcome: str  # "sent", "retry", "dead", or "skipped" (already delivered, dead, or gone)
    attempts: int = 0
    retry_at: datetime | None = None


def payload_of(session: Session, n: Notification) -> dict[str, Any]:
    user = session.get(User, n.user_id)
    return {"id": n.id, "user": user.username if user else None, "need_id": n.need_id,
            "message": n.message, "created_at": local_iso(n.created_at, zone())}


def attempt_delivery(session: Session, notification_id: int, sender: Sender, now: datetime | None = None) -> Attempt:
    """One try of one notification: delivered, or its failure counted with its next time (or its
    dead letter). The row is locked while it is sent, so a duplicate task waits and then skips it."""
    n = session.scalar(select(Notification).where(Notification.id == notification_id).with_for_update())
    if n is None or n.delivered or n.dead_at is not None:
        return Attempt("skipped")
    now = now or utcnow()
    n.attempts = (n.attempts or 0) + 1
    try:
        sender.send(payload_of(session, n))
    except Exception as exc:  # a sender may fail any way; the row keeps why
        n.last_error = f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT]
        if n.attempts >= int(setting("NOTIFY_MAX_ATTEMPTS")):
            n.dead_at, n.next_attempt_at = now, None
            log.error("notification %s dead-lettered after %s tries: %s", n.id, n.attempts, n.last_error)
            session.flush()
            return Attempt("dead", n.attempts)
        n.next_attempt_at = now + backoff(n.attempts)
        log.warning("notification %s not delivered (try %s), next at %s: %s", n.id, n.attempts,
                    n.next_attempt_at.isoformat(timespec="seconds"), n.last_error)
        session.flush()
        return Attempt("retry", n.attempts, n.next_attempt_at)
    n.delivered, n.next_attempt_at, n.last_error = True, None, None
    session.flush()
    return Attempt("sent", n.attempts)


def deliver_pending(session: Session, sender: Sender, limit: int = 500) -> tuple[int, int]:
    """Try every due notification once, in this process (the CLI's way); returns (sent, failed).
    Failures wait their backoff; the last one is dead-lettered."""
    sent = failed = 0
    for notification_id in claim_due(session, limit):
        outcome = attempt_delivery(session, notification_id, sender).outcome
        sent += outcome == "sent"
        failed += outcome in ("retry", "dead")
    session.flush()
    return sent, failed


def revive_dead(session: Session) -> int:
    """Send the dead letters again from their first try (after the receiver is mended)."""
    rows = list(session.scalars(select(Notification).where(Notification.dead_at.is_not(None),
                                                           Notification.delivered.is_(False))))
    for n in rows:
        n.dead_at, n.attempts, n.next_attempt_at = None, 0, None
    session.flush()
    return len(rows)


def mark_read(session: Session, user: User, ids: list[int]) -> int:
    rows = session.scalars(select(Notification).where(Notification.user_id == user.id, Notification.id.in_(ids),
                                                      Notification.read_at.is_(None)))
    count = 0
    for n in rows:
        n.read_at = utcnow()
        count += 1
    return count
