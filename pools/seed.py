"""Loading the demo subdistrict through the same validation and upserts as a file import."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Community, Grid, PartyGrid

from .demo_data import build_demo
from .imports import SCHEMAS, UPSERTS, ImportReport


def seed_demo(session: Session, *, seed: int = 2026, if_empty: bool = False) -> list[str] | None:
    """Build the demo data for ``seed``; returns printable summary lines, or None when skipped."""
    if if_empty and session.scalar(select(Grid.id).limit(1)) is not None:
        return None
    demo = build_demo(seed)
    for c in demo.communities:
        if session.scalar(select(Community).where(Community.code == c["code"])) is None:
            session.add(Community(code=c["code"], name=c["name"]))
    for p in demo.party_grids:
        row = session.scalar(select(PartyGrid).where(PartyGrid.code == p["code"]))
        if row is None:
            session.add(PartyGrid(code=p["code"], name=p["name"], branch=p["branch"]))
        else:
            row.name, row.branch = p["name"], p["branch"]
    session.flush()
    lines = []
    for kind, rows in (("grids", demo.grids), ("resources", demo.resources),
                       ("volunteers", demo.volunteers), ("needs", demo.needs)):
        schema = SCHEMAS[kind]()
        loaded = [schema.load(_as_input(kind, r)) for r in rows]
        report = ImportReport(kind=kind, rows=len(loaded))
        UPSERTS[kind](session, loaded, report, None)
        lines.append(f"{kind}: 新增 {report.created}，更新 {report.updated}，未变 {report.unchanged}")
    session.flush()
    lines.insert(0, f"演示街道（种子 {seed}）：{len(demo.communities)} 个社区，{len(demo.party_grids)} 个党建网格")
    return lines


def _as_input(kind: str, row: dict) -> dict:
    fields = SCHEMAS[kind]().fields
    return {k: v for k, v in row.items() if k in fields and v is not None}
