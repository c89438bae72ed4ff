"""Photos attached to a need (a snapshot of the problem: a leak, a broken lamp). The image itself is a file
in the photo store, named by the hash of its cleaned bytes; the row says whose need it belongs to."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class NeedPhoto(Base):
    __tablename__ = "need_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    stored_name: Mapped[str] = mapped_column(String(80))  # <sha256 of the cleaned bytes>.<ext>
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
