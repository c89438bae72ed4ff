"""Loading the demo subdistrict through the same validation and upserts as a file import."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from access.auth import create_user
from core.times import utcnow
from core.vocab import Role, ScopeType
from intake.service import IMPORT_INTAKE
from models import Building, Community, Grid, Need, PartyGrid, Subdistrict, User
from pools.imports import OWNED, SCHEMAS, UPSERTS, ImportReport, NeedIntake
from pools.subdistricts import create_subdistrict
from workflow.service import record_creation

from . import city
from .data import DemoData, build_demo
from .fields import seed_fields
from .history import arrival, play_history


def seed_demo(session: Session, *, seed: int = 2026, if_empty: bool = False,
              history: bool = False, subdistricts: int = 1) -> list[str] | None:
    """Build the demo data for ``seed``; returns printable summary lines, or None when skipped.
    ``history``: then take its needs through a month of the workflow (``demo.history``).
    ``subdistricts``: how many subdistricts of a city (``demo.city``); with more than one, a city account too."""
    if if_empty and session.scalar(select(Grid.id).limit(1)) is not None:
        return None
    lines = []
    for k in range(1, subdistricts + 1):
        lines += _seed_subdistrict(session, k, seed=seed, history=history)
    lines += seed_fields(session, seed=seed)
    if subdistricts > 1:
        lines += _accounts(session, [("city", dict(role=Role.ADMIN, display_name="市级管理员"))], None)
    return lines


def _seed_subdistrict(session: Session, k: int, *, seed: int, history: bool) -> list[str]:
    code, name = city.identity(k)
    subdistrict = (session.scalar(select(Subdistrict).where(Subdistrict.code == code))
                   or create_subdistrict(session, code, name))
    sid = subdistrict.id
    demo = city.relabelled(build_demo(city.seed_of(seed, k)), k)
    for c in demo.communities:
        if session.scalar(select(Community).where(Community.code == c["code"])) is None:
            session.add(Community(code=c["code"], name=c["name"], subdistrict_id=sid))
    for p in demo.party_grids:
        row = session.scalar(select(PartyGrid).where(PartyGrid.code == p["code"]))
        if row is None:
            session.add(PartyGrid(code=p["code"], name=p["name"], branch=p["branch"], subdistrict_id=sid))
        else:
            row.name, row.branch = p["name"], p["branch"]
    session.flush()
    intake = IMPORT_INTAKE
    if history:  # each need arrives at its own moment of the last month, and its workflow starts then
        moment = utcnow()

        def arrived(session: Session, need: Need) -> None:
            need.created_at = need.status_changed_at = arrival(need.ref, seed, moment)
            record_creation(session, need, None)
        intake = NeedIntake(classify=IMPORT_INTAKE.classify, started=arrived)
    lines = []
    for kind, rows in (("grids", demo.grids), ("resources", demo.resources),
                       ("volunteers", demo.volunteers), ("buildings", demo.buildings), ("needs", demo.needs)):
        schema = SCHEMAS[kind]()
        loaded = [schema.load(_as_input(kind, r)) for r in rows]
        if kind in OWNED:
            loaded = [{**r, "subdistrict_id": sid} for r in loaded]
        report = ImportReport(kind=kind, rows=len(loaded))
        UPSERTS[kind](session, loaded, report, intake)
        lines.append(f"{kind}: 新增 {report.created}，更新 {report.updated}，未变 {report.unchanged}")
    session.flush()
    lines.insert(0, f"演示街道 {name}（{code}，种子 {city.seed_of(seed, k)}）：{len(demo.communities)} 个社区，"
                    f"{len(demo.party_grids)} 个党建网格")
    lines += demo_accounts(session, demo, suffix=city.account_suffix(k), subdistrict_id=sid)
    if history:
        lines += play_history(session, seed=city.seed_of(seed, k), subdistrict_id=sid, suffix=city.account_suffix(k))
    return lines


DEMO_PASSWORD = "sanku-demo-2026"


DEMO_RESIDENT_NEEDS = 5


def _give_needs(session: Session, resident: User, grids: list[str]) -> None:
    """The demo resident has submitted a few needs in the demo Party grid, so their list is not empty."""
    needs = session.scalars(select(Need).join(Need.grid).where(Grid.code.in_(grids), Need.resident_id.is_(None))
                            .order_by(Need.id).limit(DEMO_RESIDENT_NEEDS))
    placed = list(needs)
    for need in placed:
        need.resident_id = resident.id
    if placed:  # they live in a building of their first need's grid: their address is prefilled
        resident.building = session.scalar(select(Building).where(Building.grid_id == placed[0].grid_id)
                                           .order_by(Building.id).limit(1))


def demo_accounts(session: Session, demo: DemoData, *, suffix: str = "", subdistrict_id: int | None = None) -> list[str]:
    """One account of each role, scoped to the first Party grid, so every page can be tried (``suffix``: after
    each username, for a city's second and later subdistricts)."""
    party = demo.party_grids[0]["code"]
    grids = [g["code"] for g in demo.grids if g["party_grid"] == party]
    volunteer = next(v for v in demo.volunteers if v["grid"] in grids and v["kind"] == "person" and v["party_member"])
    accounts: list[tuple[str, dict[str, Any]]] = [
        ("resident", dict(role=Role.RESIDENT, display_name="演示居民")),
        ("volunteer", dict(role=Role.VOLUNTEER, volunteer_ref=volunteer["ref"], display_name=volunteer["name"])),
        ("coordinator", dict(role=Role.COORDINATOR, scope_type=ScopeType.PARTY_GRID, scope_codes=[party],
                             display_name="志愿服务协调员")),
        ("reviewer", dict(role=Role.REVIEWER, scope_type=ScopeType.PARTY_GRID, scope_codes=[party],
                          display_name="网格党支部")),
        ("admin", dict(role=Role.ADMIN, display_name="街道管理员")),
    ]
    return _accounts(session, [(name + suffix, fields) for name, fields in accounts], subdistrict_id, grids)


def _accounts(session: Session, accounts: list[tuple[str, dict[str, Any]]], subdistrict_id: int | None,
              grids: list[str] | None = None) -> list[str]:
    lines = [f"演示账号（密码均为 {DEMO_PASSWORD}）："]
    for username, fields in accounts:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            user = create_user(session, username=username, password=DEMO_PASSWORD, subdistrict_id=subdistrict_id,
                               **fields)
            if fields["role"] == Role.RESIDENT and grids:
                _give_needs(session, user, grids)
        where = session.get(Subdistrict, subdistrict_id).code if subdistrict_id else "全市"  # type: ignore[union-attr]
        scope = fields.get("scope_codes") or fields.get("volunteer_ref") or (where if fields["role"] == Role.ADMIN else "")
        lines.append(f"  {username:<12} {fields['role']:<12} {scope}")
    return lines


def _as_input(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    fields = SCHEMAS[kind]().fields
    return {k: v for k, v in row.items() if k in fields and v is not None}
