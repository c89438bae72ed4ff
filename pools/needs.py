"""The needs pool: what residents ask for."""
from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from core.errors import Conflict, InvalidData
from core.vocab import Channel, NeedStatus, Service
from models import Need, utcnow

from .lookup import Page, get_or_404, grid_by_code, paginate

# A classifier answers (service, confidence) for a text; injected so this module needs no model.
Classify = Callable[[str], tuple[str, float]]


# 40 random bits a day: at 10,000 needs a day two collide about once in 200,000 days; a collision
# is drawn again anyway.
REF_RANDOM_BYTES = 5
REF_DRAWS = 5


def new_need_ref() -> str:
    return f"N{utcnow():%Y%m%d}-{secrets.token_hex(REF_RANDOM_BYTES).upper()}"


def _ref_taken(session: Session, ref: str) -> bool:
    return session.scalar(select(Need.id).where(Need.ref == ref)) is not None


def _unused_ref(session: Session) -> str:
    for _ in range(REF_DRAWS):
        ref = new_need_ref()
        if not _ref_taken(session, ref):
            return ref
    raise Conflict("暂时无法生成需求编号，请重试")


def _apply(session: Session, need: Need, data: dict[str, Any]) -> None:
    for key in ("text", "urgency", "contact", "resident_name", "resident_phone"):
        if key in data:
            setattr(need, key, data[key])
    if "grid" in data:
        need.grid = grid_by_code(session, data["grid"])
    if "window" in data:
        need.window_start, need.window_end = data["window"] if data["window"] else (None, None)
    if data.get("service"):
        need.service, need.service_confidence = data["service"], None
    if data.get("channel"):
        need.channel = data["channel"]


def create_need(session: Session, data: dict[str, Any], classify: Classify | None = None) -> Need:
    ref = data.get("ref") or _unused_ref(session)
    if data.get("ref") and _ref_taken(session, ref):
        raise Conflict(f"编号 {ref} 已存在", fields={"ref": [f"编号 {ref} 已存在"]})
    # proposals=[]: a new need has none, and saying so spares the query its first reading would make.
    need = Need(ref=ref, status=NeedStatus.SUBMITTED, channel=Channel.APP, proposals=[])
    _apply(session, need, data)
    if need.service is None and classify is not None:
        service, need.service_confidence = classify(need.text)
        need.service = Service(service)
    session.add(need)
    session.flush()
    return need


def update_need(session: Session, need: Need, data: dict[str, Any]) -> Need:
    if "ref" in data and data["ref"] not in (None, need.ref):
        raise InvalidData(fields={"ref": ["编号不可修改"]})
    _apply(session, need, data)
    session.flush()
    return need


def lock_need(session: Session, need: Need) -> Need:
    """Take the need's row lock until the transaction ends, and read it afresh: a request that
    raced this one has committed by now, and its move is what this one must start from. Every
    transition locks the need first and a provider after it (workflow.effects.accept), always in that
    order, so two requests never wait on each other in a circle. (SQLite serialises writing
    requests as a whole: ``core.database``.)"""
    # OF needs: the need may have been loaded with its grid and proposals joined (access.policy), and
    # PostgreSQL locks no row of an outer join's nullable side.
    session.refresh(need, with_for_update={"of": Need})
    session.expire(need, ["proposals"])
    return need


def get_need(session: Session, id_: int) -> Need:
    return get_or_404(session, Need, id_)


def deactivate_need(session: Session, need: Need) -> Need:
    need.active = False
    session.flush()
    return need


def list_needs(session: Session, *, page: int, per_page: int, active: bool = True, q: str | None = None,
               grid: str | None = None, service: str | None = None, status: str | None = None,
               urgency: str | None = None, visible: Any = None) -> Page[Need]:
    """Needs matching the filters; ``visible`` is the caller's scope condition (access.policy)."""
    # The grid and the proposals in the page's own query (SQLAlchemy limits the needs in a subquery): each
    # further query cost about 0.55 ms of CPU, even for needs with no proposal.
    query = select(Need).options(joinedload(Need.grid), joinedload(Need.proposals)).where(Need.active == active)
    if visible is not None:
        query = query.where(visible)
    if q:
        query = query.where(or_(Need.text.contains(q), Need.ref.contains(q)))
    if grid:
        query = query.where(Need.grid_id == grid_by_code(session, grid).id)
    if service:
        query = query.where(Need.service == service)
    if status:
        query = query.where(Need.status == status)
    if urgency:
        query = query.where(Need.urgency == urgency)
    return paginate(session, query.order_by(Need.created_at.desc(), Need.id.desc()), page, per_page)
