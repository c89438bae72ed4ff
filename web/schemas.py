"""Base schemas every blueprint shares: strict input, the list arguments, a page of results."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from marshmallow import RAISE, Schema, fields, validate

from core.config import zone
from core.times import local_iso, wall_clock_iso

from . import messages_zh  # noqa: F401  (marshmallow's messages in Chinese, set once for every schema)


class StrictSchema(Schema):
    """An input schema: a field it does not know is an error, not silently dropped."""

    class Meta:
        unknown = RAISE


class Timestamp(fields.Field):
    """A stored timestamp (naive UTC) shown in the subdistrict's time zone with its offset:
    ``2026-12-09T09:14:05+08:00``. Output only."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else local_iso(value, zone())


def wall_clock_text(value: datetime | None) -> str | None:
    """A wall-clock time of the subdistrict (a need's window) with the zone's offset."""
    return None if value is None else wall_clock_iso(value, zone())


class ListArgs(StrictSchema):
    """Query arguments of every list endpoint; each endpoint adds the filters that apply to it."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    active = fields.Boolean(load_default=True)


class PageLike(Protocol):
    items: list[Any]
    page: int
    per_page: int
    total: int


def page_body(page: PageLike, out: Schema, items: list[Any] | None = None) -> dict[str, Any]:
    """A page of results as JSON; ``items`` replaces the dumped rows when the caller post-processed them."""
    return {"items": out.dump(page.items, many=True) if items is None else items, "page": page.page,
            "per_page": page.per_page, "total": page.total}
