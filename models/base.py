"""Declarative base with predictable constraint names (so migrations can name what they drop), and
the column type of the vocabulary."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, Enum, MetaData, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

from core import crypto
from core.times import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
CODE_LENGTH = 16  # every code of core.vocab fits


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: DateTime(timezone=False),
        # JSON columns: looked up by their exact annotation, parameters included.
        list[str]: JSON,
        dict[str, Any]: JSON,
    }


def code_of(vocabulary: type[StrEnum], name: str) -> Enum:
    """A column holding one code of ``vocabulary``: a VARCHAR with a CHECK constraint named
    ``ck_<table>_<name>``, so the database itself refuses a code it does not know."""
    return Enum(vocabulary, name=name, native_enum=False, create_constraint=True, length=CODE_LENGTH,
                validate_strings=True, values_callable=lambda members: [m.value for m in members])


class Encrypted(TypeDecorator[str]):
    """Text encrypted at rest (``core.crypto``): the database holds a Fernet token, Python sees the text. An empty
    value stays empty (nothing to hide, and blanks stay cheap to find). Compare such a column in SQL only through
    its keyed-hash sibling: the same text encrypts differently each time."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return crypto.encrypt(value) if value else value

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return crypto.decrypt(value) if value else value


def lookup_hash(value: str | None) -> str:
    """The keyed hash of a looked-up value; empty for an empty one."""
    return crypto.lookup_hash(value) if value else ""


__all__ = ["Base", "Encrypted", "NAMING_CONVENTION", "code_of", "lookup_hash", "utcnow"]
