"""API keys of external systems: one per system, made by an admin, shown once. Only the SHA-256 of a key
is stored (a key is 32 random bytes: its hash cannot be reversed, and rotating ``SECRET_KEY`` does not
invalidate the keys); a presented key is looked up by its hash and compared in constant time."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Conflict, NotFound
from models import Open311Call, Open311Key, utcnow

KEY_PREFIX = "o311_"
MAX_KEY_LENGTH = 200


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create_key(session: Session, name: str) -> tuple[Open311Key, str]:
    """A new key for the system ``name``: the row, and the key itself (shown once, never stored)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise Conflict("名称应为 1–100 个字符")
    if session.scalar(select(Open311Key.id).where(Open311Key.name == name)) is not None:
        raise Conflict(f"名称 {name} 已存在")
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = Open311Key(name=name, key_hash=digest(plain), active=True)
    session.add(key)
    session.flush()
    return key, plain


def revoke_key(session: Session, name: str) -> Open311Key:
    key = session.scalar(select(Open311Key).where(Open311Key.name == name))
    if key is None:
        raise NotFound(f"没有名为 {name} 的 Open311 密钥")
    key.active = False
    session.flush()
    return key


def list_keys(session: Session) -> list[Open311Key]:
    return list(session.scalars(select(Open311Key).order_by(Open311Key.name)))


def key_for(session: Session, presented: str) -> Open311Key | None:
    """The active key ``presented`` is, or None."""
    if not presented or len(presented) > MAX_KEY_LENGTH:
        return None
    wanted = digest(presented)
    key = session.scalar(select(Open311Key).where(Open311Key.key_hash == wanted))
    if key is None or not key.active or not hmac.compare_digest(key.key_hash, wanted):
        return None
    return key


def record_call(session: Session, key_id: int, *, method: str, path: str, status: int,
                need_id: int | None = None) -> Open311Call:
    """The audit of one call made with a key; the key was last used now."""
    now = utcnow()
    call = Open311Call(key_id=key_id, method=method[:8], path=path[:300], status=status, at=now, need_id=need_id)
    session.add(call)
    key = session.get(Open311Key, key_id)
    if key is not None:
        key.last_used_at = now
    session.flush()
    return call
