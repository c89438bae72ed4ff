"""Accounts and roles."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from core.vocab import Role, ScopeType

from .base import Base, Encrypted, code_of, lookup_hash, utcnow
from .building import Building
from .providers import Volunteer


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(code_of(Role, "role"), index=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    # The subdistrict whose staff the account is (and a resident's, where known). An admin with none is the
    # city's (市级): it sees every subdistrict.
    subdistrict_id: Mapped[Optional[int]] = mapped_column(ForeignKey("subdistricts.id"), index=True)
    # A mobile (canonical, ``core.phones``), set by the staff who opened the account, having seen it is theirs:
    # it signs in like the username, and the needs taken down for that number become the resident's.
    phone: Mapped[Optional[str]] = mapped_column(Encrypted())
    phone_hash: Mapped[Optional[str]] = mapped_column(String(64), unique=True)  # finds the account by its phone
    # What a staff account's scope names: grids, Party grids, or an organisation of the volunteer pool.
    scope_type: Mapped[Optional[ScopeType]] = mapped_column(code_of(ScopeType, "scope_type"))
    scope_codes: Mapped[list[str]] = mapped_column(default=list)  # grid codes, Party grid codes or an org ref
    volunteer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("volunteers.id"), index=True)
    building_id: Mapped[Optional[int]] = mapped_column(ForeignKey("buildings.id"))  # a resident's home
    active: Mapped[bool] = mapped_column(default=True)
    # Travels in every token and login cookie; raising it (a new password, signing out) revokes them all.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    volunteer: Mapped[Optional[Volunteer]] = relationship()

    @validates("phone")
    def _hash_phone(self, _key: str, phone: str | None) -> str | None:
        self.phone_hash = lookup_hash(phone) or None
        return phone
    building: Mapped[Optional[Building]] = relationship()
