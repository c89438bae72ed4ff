"""Shared lookups: rows by id or code, paging, and turning unknown codes into field errors."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, String, cast, func, select
from sqlalchemy.orm import Session

from core.errors import InvalidData, NotFound
from models import Base, Grid

T = TypeVar("T", bound=Base)


@dataclass
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int


def get_or_404(session: Session, model: type[T], id_: int) -> T:
    row = session.get(model, id_)
    if row is None:
        raise NotFound(f"找不到编号为 {id_} 的记录")
    return row


def paginate(session: Session, query: Select[Any], page: int, per_page: int) -> Page[Any]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    # unique(): a page may load a collection eagerly in the same query (a need's proposals), one row each.
    items = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)).unique())
    return Page(items=items, page=page, per_page=per_page, total=total)


def grids_by_code(session: Session, codes: list[str], field: str, subdistrict_id: int | None = None) -> list[Grid]:
    """The grids of ``codes`` in order; unknown codes are a 422 naming them. With ``subdistrict_id``, a grid of
    another subdistrict is unknown too: a subdistrict's records name only its own grids."""
    if not codes:
        return []
    query = select(Grid).where(Grid.code.in_(set(codes)))
    if subdistrict_id is not None:
        query = query.where(Grid.subdistrict_id == subdistrict_id)
    found = {g.code: g for g in session.scalars(query)}
    missing = [c for c in codes if c not in found]
    if missing:
        raise InvalidData(fields={field: [f"未知网格编码 {c}" for c in missing]})
    return [found[c] for c in dict.fromkeys(codes)]


def grid_by_code(session: Session, code: str, field: str = "grid", subdistrict_id: int | None = None) -> Grid:
    return grids_by_code(session, [code], field, subdistrict_id)[0]


def json_list_contains(column: Any, value: str) -> Any:
    """``value`` is an element of a JSON list column (portable: SQLite and PostgreSQL JSON text)."""
    return cast(column, String).contains(json.dumps(value, ensure_ascii=False))
