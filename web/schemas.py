"""Base schemas every blueprint shares: strict input, the list arguments, a page of results."""
from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Protocol, TypeVar

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from core.config import zone
from core.phones import PhoneError, parse_phone
from core.times import local_iso, wall_clock_iso

from . import messages_zh  # noqa: F401  (marshmallow's messages in Chinese, set once for every schema)


class StrictSchema(Schema):
    """An input schema: a field it does not know is an error, not silently dropped."""

    class Meta:
        unknown = RAISE


class Timestamp(fields.DateTime):
    """A stored timestamp (naive UTC) shown in the subdistrict's time zone with its offset:
    ``2026-12-09T09:14:05+08:00`` (an RFC 3339 ``date-time`` in the API document). Output only."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else local_iso(value, zone())


class Phone(fields.String):
    """A mainland phone number, loaded in its canonical form (``core.phones``); empty stays empty."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            return parse_phone(text) or ""
        except PhoneError as exc:
            raise ValidationError(str(exc)) from None


def wall_clock_text(value: datetime | None) -> str | None:
    """A wall-clock time of the subdistrict (a need's window) with the zone's offset."""
    return None if value is None else wall_clock_iso(value, zone())


# Every id column is a 32-bit INTEGER on PostgreSQL: a larger id can match no row, and sent to the database it
# would overflow the query (a 500). Path ids are bounded by web.http.IdConverter, body ids by ``Id``.
MAX_ID = 2**31 - 1
# page × per_page becomes the query's OFFSET; far past any real list, and small enough for any database.
MAX_PAGE = 100_000


class Id(fields.Integer):
    """A row's id in a request body: a JSON integer from 1 to ``MAX_ID``. Strict, so ``1.5`` is refused rather
    than truncated to 1, and ``1e30`` (a float) is refused before it reaches a query."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID))
        super().__init__(strict=True, **kwargs)


class Flag(fields.Boolean):
    """A yes/no in a JSON body: ``true`` or ``false`` and nothing else (not 0, not "yes")."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class QueryFlag(fields.Boolean):
    """A yes/no in a query string: ``true``/``false`` (or ``1``/``0``), as the API document says."""

    truthy = {"true", "1"}
    falsy = {"false", "0"}


class ListArgs(StrictSchema):
    """Query arguments of every list endpoint; each endpoint adds the filters that apply to it."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    active = QueryFlag(load_default=True, metadata={"description": "false：列出停用（已删除）的记录"})


class PageLike(Protocol):
    items: list[Any]
    page: int
    per_page: int
    total: int


S = TypeVar("S", bound=Schema)


@functools.cache
def shared(schema: type[S]) -> S:
    """One instance of ``schema`` for every request: making a marshmallow schema copies its every field
    (about 0.1-0.3 ms), more than loading or dumping a small body with it; loading and dumping keep no
    state on the instance, so one serves every thread."""
    return schema()


def page_body(page: PageLike, out: Schema, items: list[Any] | None = None) -> dict[str, Any]:
    """A page of results as JSON; ``items`` replaces the dumped rows when the caller post-processed them."""
    return {"items": out.dump(page.items, many=True) if items is None else items, "page": page.page,
            "per_page": page.per_page, "total": page.total}
