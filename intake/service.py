"""How needs enter the pool: a submission (a resident in the app, or staff on a resident's behalf)
or a file import. Each new need is classified when it comes without a service, stored in the needs
pool, and its workflow starts: the first audit entry, then triage or the coordinators' notice."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from access.policy import may_place_in_grid, may_set_need_ref, own_buildings
from core.errors import Forbidden, InvalidData
from core.vocab import Action, Channel, NeedStatus, Role
from dispatch.addresses import is_sure, locate_point, resolve_address
from dispatch.classifier import classify_many, classify_text, needs_triage
from matching.addresses import AddressCandidate
from models import Building, Need, User
from models.base import lookup_hash
from pools import needs as need_service
from pools.imports import ImportReport, NeedIntake, Progress, import_file
from workflow.service import apply_action, record_creation


def submit_need(session: Session, data: dict[str, Any], actor: User) -> Need:
    """A need submitted over the API. A resident's own is theirs and comes through the app; staff
    entering one for a resident say how it came (the phone, a visit...).

    Where it is: a grid, or an address. An address the register resolves surely decides the grid
    and the building; one it cannot goes to the best candidate's grid, waiting for a person to choose
    among the candidates attached (triage), and is not matched before (never a wrong grid silently)."""
    data = dict(data)
    if data.get("ref") and not may_set_need_ref(actor):
        raise InvalidData(fields={"ref": ["编号由系统生成，不能自行指定"]})
    if actor.role == Role.VOLUNTEER:
        return take_down_at_own_building(session, data, actor)
    if actor.role != Role.RESIDENT:
        place = locate(session, data)
        if not may_place_in_grid(session, actor, data["grid"]):
            raise Forbidden("只能为自己负责的网格登记需求")
        return take_down(session, data, actor, place=place)
    if refused := {k: ["居民本人提交时不填写：需求属于登录的账号"] for k in ON_BEHALF_FIELDS if data.get(k)}:
        raise InvalidData(fields=refused)
    data["channel"] = Channel.APP
    place = locate(session, data)
    need = need_service.create_need(session, data, classify=classify_text)
    if place is not None:
        place.apply(need)
    need.resident_id = actor.id
    if place is not None and place.sure and actor.building_id is None:
        actor.building_id = need.building_id  # their home, from now on prefilled
    if actor.subdistrict_id is None:  # the resident's subdistrict is where they first ask: its staff keep the account
        actor.subdistrict_id = need.grid.subdistrict_id
    record_creation(session, need, actor)
    session.flush()
    return need


# Who a need taken down for a resident is for: theirs to give, not a resident's own submission's.
ON_BEHALF_FIELDS = ("resident_name", "resident_phone")


def take_down(session: Session, data: dict[str, Any], actor: User, *, place: Place | None = None,
              building: Building | None = None) -> Need:
    """A need the people of the grid take down for a resident (民情收集): a grid worker on the phone or at the
    desk, a Party member on a visit (the caller has checked where they may). It says how it came (``phone``
    unless told), who it is for and how to reach them; it is the resident's at once if their mobile has an
    account, else once they sign in with one (``access.auth.claim_needs``)."""
    data = {**data, "channel": data.get("channel") or Channel.PHONE}
    data["contact"] = data.get("contact") or " ".join(filter(None, (data.get("resident_name"),
                                                                   data.get("resident_phone"))))
    need = need_service.create_need(session, data, classify=classify_text)
    if place is not None:
        place.apply(need)
    if building is not None:
        need.building_id, need.address = building.id, need.address or building.name
    need.resident_id = resident_with_phone(session, need.resident_phone)
    record_creation(session, need, actor)
    session.flush()
    return need


def take_down_at_own_building(session: Session, data: dict[str, Any], actor: User,
                              building: Building | None = None) -> Need:
    """A building head (楼栋长) or a Party member takes down a need of a household of a building they answer for:
    ``building``, or the building the address names surely; the channel says which of the two they are."""
    mine = {b.id: b for b in own_buildings(session, actor)}
    if not mine:
        raise Forbidden("只有楼栋长和有责任田的党员可以代住户登记需求")
    data.pop("grid", None)
    place = None
    if building is None:
        if not data.get("address"):
            raise InvalidData(fields={"address": ["请填写住户的地址（您负责的楼栋）"]})
        place = locate(session, data)
        building = mine.get(place.building_id) if place is not None and place.sure and place.building_id else None
    elif building.id not in mine:
        building = None
    if building is None:
        raise InvalidData(fields={"address": [f"地址应在您负责的楼栋：{'、'.join(b.name for b in mine.values())}"]})
    data["grid"] = building.grid.code
    data["channel"] = Channel.BUILDING_HEAD if building.head_id == actor.volunteer_id else Channel.VISIT
    return take_down(session, data, actor, place=place, building=building)


def resident_with_phone(session: Session, phone: str) -> int | None:
    """The resident account of this number, if it has one."""
    if not phone:
        return None
    return session.scalar(select(User.id).where(User.phone_hash == lookup_hash(phone), User.role == Role.RESIDENT,
                                                User.active))


@dataclass(frozen=True)
class Place:
    """Where an address (or a photo's position) puts a need: its building when sure, else the candidates
    for a person to choose among."""
    address: str
    candidates: list[AddressCandidate]
    sure: bool
    building_id: int | None = None

    def apply(self, need: Need) -> None:
        need.address = self.address
        if self.sure:
            need.building_id = self.building_id
        else:
            need.place_unsure = True
            need.address_candidates = [dataclasses.asdict(c) for c in self.candidates]


def locate(session: Session, data: dict[str, Any]) -> Place | None:
    """Resolve ``data["address"]`` (when given) and set ``data["grid"]`` from it unless a grid was given;
    without an address, a ``position`` (lng, lat: a snapshot's GPS) places the need in the grid whose
    boundary holds it, at its nearest building."""
    address = (data.pop("address", None) or "").strip()
    position = data.pop("position", None)
    if not address:
        point = locate_point(session, *position) if position else None
        if point is None or (data.get("grid") and data["grid"] != point.grid):
            return None
        data["grid"] = point.grid
        return Place("", [], sure=True, building_id=point.building_id)
    candidates = resolve_address(session, address)
    if data.get("grid"):  # the grid said where: the address only names the building, if one of that grid
        mine = [c for c in candidates if c.grid == data["grid"]]
        return Place(address, mine, sure=is_sure(mine), building_id=mine[0].building_id if mine else None)
    if not candidates:
        raise InvalidData(fields={"address": ["找不到这个地址，请检查小区名和楼栋号，或直接选择网格"]})
    data["grid"] = candidates[0].grid
    return Place(address, candidates, sure=is_sure(candidates), building_id=candidates[0].building_id)


def confirm_place(session: Session, need: Need, building: Building, actor: User) -> Need:
    """A person chose the need's building among the candidates (or any other): the grid follows, and a need
    held in triage only for its address goes on to matching."""
    if not may_place_in_grid(session, actor, building.grid.code):
        raise Forbidden("只能把需求放到自己负责的网格")
    need.grid_id, need.building_id = building.grid_id, building.id
    need.place_unsure, need.address_candidates = False, []
    if need.status == NeedStatus.TRIAGE and not needs_triage(need.service_confidence):
        apply_action(session, need, Action.CLASSIFY, actor, service=need.service,
                     reason=f"确认地址为 {building.name}")
    session.flush()
    return need


def _start_imported(session: Session, need: Need) -> None:
    record_creation(session, need, None)


# Imported needs are classified in one call and start their workflow as the system's.
IMPORT_INTAKE = NeedIntake(classify=classify_many, started=_start_imported)


def import_records(session: Session, kind: str, data: bytes, filename: str, *, skip_invalid: bool = False,
                   subdistrict_id: int | None = None, progress: Progress | None = None) -> ImportReport:
    """A file of ``kind`` imported into a subdistrict (see ``pools.imports``); new needs start their workflow."""
    return import_file(session, kind, data, filename, skip_invalid=skip_invalid, intake=IMPORT_INTAKE,
                       subdistrict_id=subdistrict_id, progress=progress)
