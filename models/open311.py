"""Open311 GeoReport v2: the API keys of external systems and the audit of every call made with one."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow


class Open311Key(Base):
    """One key per external system (a city tool). Only an HMAC-SHA256 of the key is kept: the key itself
    is shown once, when an admin creates it."""

    __tablename__ = "open311_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[Optional[datetime]]


class Open311Call(Base):
    """A request made with an Open311 key: what was asked, how it was answered, the need it created."""

    __tablename__ = "open311_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("open311_keys.id"), index=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    status: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    need_id: Mapped[Optional[int]] = mapped_column(ForeignKey("needs.id"))

    key: Mapped[Open311Key] = relationship()
