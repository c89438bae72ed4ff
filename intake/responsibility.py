"""Party members' responsibility fields (党员责任田): the buildings each Party member of the volunteer pool looks
after, their visits to its households, the needs those visits raise, and how the branch sees who has not been
visited lately.

A building is in one member's field at most. A visit is logged for a building of the member's field, by the
member or by staff of its grid; the needs heard on it are taken down at once, for the residents who told them
(channel ``visit``), and stay linked to the visit."""
from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from marshmallow import fields as mfields
from marshmallow import validate
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from access.policy import can_see, may_manage_field
from core.errors import Conflict, Forbidden, InvalidData
from core.vocab import Channel, Role, Urgency
from models import Building, FieldBuilding, Grid, Need, PartyGrid, User, Visit, Volunteer
from pools.buildings import volunteer_by_ref
from pools.fields import Service, Window
from pools.lookup import get_or_404
from web.schemas import Id, Phone, StrictSchema

from .service import take_down

MAX_FIELD_BUILDINGS = 200
MAX_NEEDS_PER_VISIT = 20
MAX_HOUSEHOLDS_PER_VISIT = 10_000
# How far back a visit may be logged: a member catching up on last month's notebook, not a year's.
MAX_VISIT_AGE_DAYS = 92
DEFAULT_STALE_DAYS = 30


class RaisedNeed(StrictSchema):
    """A need heard on a visit, taken down for the resident who told it."""
    text = mfields.String(required=True, validate=validate.Length(min=2, max=2000))
    resident_name = mfields.String(load_default="", validate=validate.Length(max=100))
    resident_phone = Phone(load_default="")
    urgency = mfields.Enum(Urgency, by_value=True, load_default=Urgency.NORMAL)
    window = Window(load_default=None, allow_none=True)
    service = Service(load_default=None, allow_none=True)


class VisitIn(StrictSchema):
    member = mfields.String(load_default=None, validate=validate.Length(min=1, max=64),
                            metadata={"description": "党员的志愿者编号；党员本人登记时不填"})
    building = mfields.String(required=True, validate=validate.Length(min=1, max=32),
                              metadata={"description": "楼栋编码（须在该党员的责任田内）"})
    visited_on = mfields.Date(load_default=None, metadata={"description": "走访日期；不填为今天"})
    households = mfields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_HOUSEHOLDS_PER_VISIT),
                                 metadata={"description": "走访户数"})
    notes = mfields.String(load_default="", validate=validate.Length(max=2000))
    needs = mfields.List(mfields.Nested(RaisedNeed), load_default=list,
                         validate=validate.Length(max=MAX_NEEDS_PER_VISIT),
                         metadata={"description": "走访中收集到的需求：每条登记为一条需求（来源：党员走访）"})
    need_ids = mfields.List(Id(), load_default=list, validate=validate.Length(max=MAX_NEEDS_PER_VISIT),
                            metadata={"description": "已登记、与这次走访有关的需求"})


class FieldIn(StrictSchema):
    buildings = mfields.List(mfields.String(validate=validate.Length(min=1, max=32)), required=True,
                             validate=validate.Length(max=MAX_FIELD_BUILDINGS),
                             metadata={"description": "该党员责任田的全部楼栋编码（替换原有的）"})


# --- whose field, which buildings ---------------------------------------------------------------

def party_member(session: Session, ref: str, field_name: str = "member") -> Volunteer:
    """The active Party member of the volunteer pool of ``ref``: anyone else is a 422 on ``field_name``."""
    member = volunteer_by_ref(session, ref, field_name)
    if not member.party_member:
        raise InvalidData(fields={field_name: [f"志愿者 {ref} 不是党员，不能承担党员责任田"]})
    return member


def member_of(session: Session, actor: User, ref: str | None) -> Volunteer:
    """The member a request is about: a Party member acting is always themselves; staff name one."""
    if actor.role == Role.VOLUNTEER:
        own = session.get(Volunteer, actor.volunteer_id) if actor.volunteer_id else None
        if own is None or not own.party_member:
            raise Forbidden("只有党员可以登记责任田走访")
        if ref not in (None, own.ref):
            raise Forbidden("只能登记自己的走访")
        return own
    if not ref:
        raise InvalidData(fields={"member": ["请填写党员的志愿者编号"]})
    return party_member(session, ref)


def field_of(session: Session, member: Volunteer) -> list[Building]:
    return list(session.scalars(select(Building).join(FieldBuilding, FieldBuilding.building_id == Building.id)
                                .where(FieldBuilding.member_id == member.id).order_by(Building.code)))


def set_field(session: Session, member: Volunteer, codes: list[str], actor: User | None) -> list[Building]:
    """The member's field becomes exactly these buildings. Staff change the field only in their grids (the
    command line, ``actor`` None, anywhere); a building already in another member's field is refused (409)
    rather than silently taken from them."""
    codes = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    found = {b.code: b for b in session.scalars(select(Building).options(joinedload(Building.grid))
                                                 .where(Building.code.in_(codes)))}
    if unknown := [c for c in codes if c not in found or not found[c].active]:
        raise InvalidData(fields={"buildings": [f"未知或已停用的楼栋编码：{'、'.join(unknown)}"]})
    current = {fb.building_id: fb for fb in session.scalars(select(FieldBuilding)
                                                            .where(FieldBuilding.member_id == member.id))}
    wanted = {b.id: b for b in found.values()}
    changed = [b.grid for b in wanted.values() if b.id not in current]
    changed += [session.get(Building, bid).grid for bid in current if bid not in wanted]  # type: ignore[union-attr]
    if actor and (outside := sorted({g.code for g in changed if not may_manage_field(session, actor, g)})):
        raise Forbidden(f"只能调整自己负责的网格内的楼栋：{'、'.join(outside)} 不在范围内")
    taken = session.execute(select(Building.code, Volunteer.name).join(FieldBuilding, FieldBuilding.building_id == Building.id)
                            .join(Volunteer, Volunteer.id == FieldBuilding.member_id)
                            .where(Building.id.in_(wanted), FieldBuilding.member_id != member.id)).all()
    if taken:
        reasons = [f"{code} 已在 {name} 的责任田中" for code, name in taken]
        raise Conflict("楼栋已有负责的党员，请先从其责任田中移出", fields={"buildings": reasons})
    for building_id, row in current.items():
        if building_id not in wanted:
            session.delete(row)
    for building_id in wanted:
        if building_id not in current:
            session.add(FieldBuilding(member_id=member.id, building_id=building_id))
    session.flush()
    return field_of(session, member)


# --- visits -------------------------------------------------------------------------------------

def log_visit(session: Session, data: dict[str, Any], actor: User, today: date) -> Visit:
    """A visit, with the needs heard on it taken down (each at the building, for its resident) and the
    needs already on record linked to it."""
    member = member_of(session, actor, data.get("member"))
    building = session.scalar(select(Building).where(Building.code == data["building"]))
    if building is None:
        raise InvalidData(fields={"building": [f"未知楼栋编码 {data['building']}"]})
    if session.scalar(select(FieldBuilding.member_id).where(FieldBuilding.building_id == building.id)) != member.id:
        raise InvalidData(fields={"building": [f"{building.name} 不在 {member.name} 的责任田中"]})
    if actor.role != Role.VOLUNTEER and not may_manage_field(session, actor, building.grid):
        raise Forbidden("只能为自己负责的网格登记走访")
    visited_on = data.get("visited_on") or today
    errors: dict[str, list[str]] = {}
    if visited_on > today:
        errors["visited_on"] = ["走访日期不能晚于今天"]
    elif visited_on < today - timedelta(days=MAX_VISIT_AGE_DAYS):
        errors["visited_on"] = [f"只能补记最近 {MAX_VISIT_AGE_DAYS} 天内的走访"]
    if building.households and data["households"] > building.households:
        errors["households"] = [f"{building.name} 登记的只有 {building.households} 户"]
    linked = [get_or_404(session, Need, need_id) for need_id in data["need_ids"]]
    if strangers := [n.ref for n in linked if n.grid_id != building.grid_id or not can_see(session, actor, n)]:
        errors["need_ids"] = [f"需求 {'、'.join(strangers)} 不是这个楼栋所在网格里你能看到的需求"]
    if errors:
        raise InvalidData(fields=errors)
    visit = Visit(member_id=member.id, building_id=building.id, visited_on=visited_on,
                  households=data["households"], notes=data["notes"], recorded_by_id=actor.id)
    session.add(visit)
    session.flush()
    for raised in data["needs"]:
        need = take_down(session, {**raised, "grid": building.grid.code, "channel": Channel.VISIT}, actor,
                         building=building)
        need.visit_id = visit.id
    for need in linked:
        need.visit_id = visit.id
    session.flush()
    session.refresh(visit, ["needs"])
    return visit


def visits_of(session: Session, member: Volunteer, since: date | None = None) -> list[Visit]:
    query = select(Visit).options(joinedload(Visit.building)).where(Visit.member_id == member.id)
    if since is not None:
        query = query.where(Visit.visited_on >= since)
    return list(session.scalars(query.order_by(Visit.visited_on.desc(), Visit.id.desc())))


# --- what the branch sees -----------------------------------------------------------------------

@dataclass
class FieldBuildingState:
    code: str
    name: str
    grid: str
    households: int
    last_visited_on: date | None

    def stale(self, today: date, stale_days: int) -> bool:
        return self.last_visited_on is None or (today - self.last_visited_on).days > stale_days


@dataclass
class MemberField:
    """One Party member's field as the branch sees it: this month's visits, and who has waited too long."""
    ref: str
    name: str
    grid: str
    party_grid: str | None
    buildings: list[FieldBuildingState] = field(default_factory=list)
    visits_this_month: int = 0
    households_this_month: int = 0
    needs_raised_this_month: int = 0
    stale: list[FieldBuildingState] = field(default_factory=list)


def month_of(day: date) -> tuple[date, date]:
    """The first and last day of ``day``'s month."""
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def member_fields(session: Session, grid_ids: list[int] | None, today: date,
                  stale_days: int = DEFAULT_STALE_DAYS, member_id: int | None = None) -> list[MemberField]:
    """Every Party member with a field in these grids (None: all), with the state of each building of it:
    its last visit ever, this month's visits and needs raised, and the buildings not visited for more than
    ``stale_days`` days (never visited included). Four queries, whatever the number of members."""
    first, last = month_of(today)
    query = (select(FieldBuilding.member_id, Building.id, Building.code, Building.name, Building.households,
                    Grid.code).join(Building, Building.id == FieldBuilding.building_id)
             .join(Grid, Grid.id == Building.grid_id))
    if grid_ids is not None:
        query = query.where(Building.grid_id.in_(grid_ids))
    if member_id is not None:
        query = query.where(FieldBuilding.member_id == member_id)
    rows = session.execute(query.order_by(Building.code)).all()
    building_ids = [r[1] for r in rows]
    last_visit = dict(session.execute(select(Visit.building_id, func.max(Visit.visited_on))
                                      .where(Visit.building_id.in_(building_ids)).group_by(Visit.building_id)).all())
    member_ids = sorted({r[0] for r in rows})
    members = {v.id: v for v in session.scalars(select(Volunteer).options(joinedload(Volunteer.grid))
                                                 .where(Volunteer.id.in_(member_ids)))}
    month_visits = session.execute(
        select(Visit.member_id, func.count(Visit.id), func.coalesce(func.sum(Visit.households), 0))
        .where(Visit.member_id.in_(member_ids), Visit.visited_on.between(first, last)).group_by(Visit.member_id)).all()
    raised = dict(session.execute(
        select(Visit.member_id, func.count(Need.id)).join(Need, Need.visit_id == Visit.id)
        .where(Visit.member_id.in_(member_ids), Visit.visited_on.between(first, last)).group_by(Visit.member_id)).all())
    result: dict[int, MemberField] = {}
    for member_id_, building_id, code, name, households, grid in rows:
        member = members[member_id_]
        entry = result.get(member_id_)
        if entry is None:
            party = member.grid.party_grid.code if member.grid and member.grid.party_grid else None
            entry = result[member_id_] = MemberField(member.ref, member.name, member.grid.code if member.grid else "",
                                                     party, needs_raised_this_month=raised.get(member_id_, 0))
        state = FieldBuildingState(code, name, grid, households, last_visit.get(building_id))
        entry.buildings.append(state)
        if state.stale(today, stale_days):
            entry.stale.append(state)
    for member_id_, count, households in month_visits:
        if member_id_ in result:
            result[member_id_].visits_this_month, result[member_id_].households_this_month = count, int(households)
    return sorted(result.values(), key=lambda m: (-len(m.stale), m.ref))


@dataclass
class PartyGridVisits:
    """A month of responsibility-field work in one Party grid (党建网格)."""
    code: str
    name: str
    members: int = 0
    buildings: int = 0
    buildings_visited: int = 0
    visits: int = 0
    households: int = 0
    needs_raised: int = 0
    stale_buildings: int = 0

    @property
    def coverage(self) -> float | None:
        """The share of the field's buildings visited this month."""
        return self.buildings_visited / self.buildings if self.buildings else None


def party_grid_visits(session: Session, party_grid_codes: list[str] | None, month: date, today: date,
                      stale_days: int = DEFAULT_STALE_DAYS) -> list[PartyGridVisits]:
    """Per Party grid (by where the field's buildings stand): members, buildings, the share visited in
    ``month``, visits, households, needs raised, and the buildings not visited for ``stale_days`` days as of
    ``today``."""
    first, last = month_of(month)
    query = select(PartyGrid).order_by(PartyGrid.code)
    if party_grid_codes is not None:
        query = query.where(PartyGrid.code.in_(party_grid_codes))
    report = {pg.id: PartyGridVisits(pg.code, pg.name) for pg in session.scalars(query)}
    fields_ = session.execute(select(Grid.party_grid_id, FieldBuilding.member_id, Building.id)
                              .join(Building, Building.id == FieldBuilding.building_id)
                              .join(Grid, Grid.id == Building.grid_id)
                              .where(Grid.party_grid_id.in_(report))).all()
    party_of: dict[int, int] = {}
    members: dict[int, set[int]] = defaultdict(set)
    for pg, member_id, building_id in fields_:
        assert pg is not None  # the query's filter
        party_of[building_id] = pg
        members[pg].add(member_id)
        report[pg].buildings += 1
    for pg, ids in members.items():
        report[pg].members = len(ids)
    visits = session.execute(select(Visit.building_id, Visit.households, Visit.visited_on)
                             .where(Visit.building_id.in_(party_of), Visit.visited_on <= max(last, today))).all()
    latest: dict[int, date] = {}
    visited_in_month: set[int] = set()
    for building_id, households, visited_on in visits:
        if first <= visited_on <= last:
            entry = report[party_of[building_id]]
            entry.visits += 1
            entry.households += households
            visited_in_month.add(building_id)
        if visited_on <= today:
            latest[building_id] = max(latest.get(building_id, visited_on), visited_on)
    for building_id in visited_in_month:
        report[party_of[building_id]].buildings_visited += 1
    for building_id, pg in party_of.items():
        seen = latest.get(building_id)
        if seen is None or (today - seen).days > stale_days:
            report[pg].stale_buildings += 1
    raised = session.execute(select(Grid.party_grid_id, func.count(Need.id)).join(Visit, Visit.id == Need.visit_id)
                             .join(Building, Building.id == Visit.building_id).join(Grid, Grid.id == Building.grid_id)
                             .where(Grid.party_grid_id.in_(report), Visit.visited_on.between(first, last))
                             .group_by(Grid.party_grid_id)).all()
    for pg, count in raised:
        if pg is not None:
            report[pg].needs_raised = count
    return list(report.values())
