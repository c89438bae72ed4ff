"""In-app notifications for whoever must act next, and pluggable senders (a webhook first; SMS or
WeChat later implement the same ``Sender`` protocol).

Notifications are rows written in the same transaction as the transition; a sender delivers them
afterwards (``flask --app app notify deliver``), so a slow or failing sender never blocks or undoes
the work.
"""
from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from access.policy import recipients
from core.config import zone
from core.times import local_iso
from core.vocab import STATUS_LABELS_ZH, NeedStatus
from models import Need, Notification, User, utcnow

log = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_SECONDS = 3.0

def next_actors(session: Session, need: Need, status: NeedStatus) -> None:
    """Tell whoever must act next (``access.policy.NEXT_ACTORS``) that the need is now ``status``."""
    message = f"需求 {need.ref}：{STATUS_LABELS_ZH.get(status, status)} —— {need.text[:30]}"
    for user in recipients(session, need, status):
        session.add(Notification(user_id=user.id, need_id=need.id, message=message))


class Sender(Protocol):
    def send(self, payload: dict[str, Any]) -> None: ...


class WebhookSender:
    """POSTs each notification as JSON to a URL (for a relay to SMS, WeChat or a work chat)."""

    def __init__(self, url: str, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> None:
        self.url, self.timeout = url, timeout

    def send(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        req = urllib.request.Request(self.url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
        with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 (configured URL)
            resp.read()


def deliver_pending(session: Session, sender: Sender, limit: int = 500) -> tuple[int, int]:
    """Send undelivered notifications; returns (sent, failed). Failures stay pending for the next run."""
    sent = failed = 0
    rows = session.scalars(select(Notification).where(Notification.delivered.is_(False))
                           .order_by(Notification.id).limit(limit))
    for n in rows:
        user = session.get(User, n.user_id)
        try:
            sender.send({"id": n.id, "user": user.username if user else None, "need_id": n.need_id,
                         "message": n.message, "created_at": local_iso(n.created_at, zone())})
        except Exception as exc:  # a sender may fail any way; keep the rest going
            log.warning("notification %s not delivered: %s", n.id, exc)
            failed += 1
            continue
        n.delivered = True
        sent += 1
    session.flush()
    return sent, failed


def mark_read(session: Session, user: User, ids: list[int]) -> int:
    rows = session.scalars(select(Notification).where(Notification.user_id == user.id, Notification.id.in_(ids),
                                                      Notification.read_at.is_(None)))
    count = 0
    for n in rows:
        n.read_at = utcnow()
        count += 1
    return count
