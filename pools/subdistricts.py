"""Subdistricts (街道), the tenants of a city's deployment, and which one a write lands in.

A deployment of one subdistrict never has to name it: the first write makes ``main`` (本街道) and every
later one lands there. Once a city holds several, a subdistrict's staff write into their own, and the city's
admins (no subdistrict of their own) and the command line must name one (``subdistrict``).
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidData, NotFound
from models import Community, Grid, PartyGrid, Resource, Subdistrict, User, Volunteer

DEFAULT_CODE, DEFAULT_NAME = "main", "本街道"
FIELD = "subdistrict"


def list_subdistricts(session: Session) -> list[Subdistrict]:
    return list(session.scalars(select(Subdistrict).order_by(Subdistrict.code)))


def subdistrict_by_code(session: Session, code: str, field: str = FIELD) -> Subdistrict:
    row = session.scalar(select(Subdistrict).where(Subdistrict.code == code))
    if row is None:
        raise InvalidData(fields={field: [f"未知街道编码 {code}"]})
    return row


def create_subdistrict(session: Session, code: str, name: str) -> Subdistrict:
    if session.scalar(select(Subdistrict.id).where(Subdistrict.code == code)) is not None:
        raise Conflict(f"街道编码 {code} 已存在", fields={"code": [f"街道编码 {code} 已存在"]})
    row = Subdistrict(code=code, name=name)
    session.add(row)
    session.flush()
    return row


def only_subdistrict(session: Session) -> Subdistrict | None:
    """The only subdistrict, None before the first; with several, the caller must name one (422)."""
    rows = list(session.scalars(select(Subdistrict).order_by(Subdistrict.id).limit(2)))
    if len(rows) > 1:
        raise InvalidData(fields={FIELD: ["本系统有多个街道，请指明街道编码"]})
    return rows[0] if rows else None


def default_subdistrict(session: Session) -> Subdistrict:
    """The only subdistrict, made on the first write; with several, the caller must name one."""
    return only_subdistrict(session) or create_subdistrict(session, DEFAULT_CODE, DEFAULT_NAME)


def resolve_id(session: Session, subdistrict_id: int | None) -> int:
    """``subdistrict_id``, or the default subdistrict's when none is given."""
    return subdistrict_id if subdistrict_id is not None else default_subdistrict(session).id


def subdistrict_for(session: Session, user: User | None, code: str | None = None) -> Subdistrict:
    """The subdistrict a write by ``user`` (None: the command line) lands in: a subdistrict's staff write
    into their own (naming another is a 404, as if it did not exist); the city's admins and the command
    line into the one they name, or the only one."""
    own = session.get(Subdistrict, user.subdistrict_id) if user is not None and user.subdistrict_id else None
    if own is not None:
        if code and code != own.code:
            raise NotFound(f"找不到街道 {code}")
        return own
    return subdistrict_by_code(session, code) if code else default_subdistrict(session)


def counts(session: Session) -> dict[int, dict[str, int]]:
    """Per subdistrict id: how many grids, resources and volunteers it holds (active ones)."""
    out: dict[int, dict[str, int]] = {}
    for name, model in (("grids", Grid), ("resources", Resource), ("volunteers", Volunteer)):
        for sid, n in session.execute(select(model.subdistrict_id, func.count()).where(model.active.is_(True))
                                      .group_by(model.subdistrict_id)):
            out.setdefault(sid, {})[name] = n
    return out


def same_subdistrict(row: Community | PartyGrid, subdistrict_id: int, label: str) -> None:
    if row.subdistrict_id != subdistrict_id:
        raise InvalidData(fields={label: [f"{row.code} 属于另一个街道"]})
