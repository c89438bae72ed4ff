"""Importing the grid map and the three pools from CSV or XLSX files.

The same validation as the API: each row's cells are parsed (pools.cells), loaded through the
kind's input schema, and checked against the grids that exist or come in the same file. Rows are
upserted by ``ref`` (grids by ``code``), so importing a file twice changes nothing. A file with any
bad row imports nothing unless ``skip_invalid`` is set; probable duplicates are reported, never merged.
Buildings (楼栋) are upserted by ``code`` too; a building's ``head`` names a volunteer by ref, checked
against the volunteers that exist. A grid row's ``boundary`` (optional column) is the GeoJSON text of its
outline; an empty cell, or a file without the column, keeps the boundary the grid has.

What a new need needs besides its row is the caller's (``intake``): a classifier for texts without a
service, and a hook that starts the need's workflow (:class:`NeedIntake`).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, undefer

from core.vocab import Channel
from matching.slots import format_slot_text
from models import Building, Grid, Need, Resource, Volunteer

from . import buildings as building_service
from . import cells
from . import grids as grid_service
from . import needs as need_service
from . import providers as provider_service
from .fuzzy import probable_duplicates
from .geometry import boundary_from_text
from .schemas import BuildingIn, GridIn, NeedIn, ResourceIn, VolunteerIn
from .subdistricts import only_subdistrict, resolve_id
from .tabular import IMPORT_COLUMNS, CellError, Row, check_columns, read_table

log = logging.getLogger(__name__)
KINDS = tuple(IMPORT_COLUMNS)

# Refs looked up per ``IN (...)``: each is a bound variable, and SQLite refuses a statement with more
# than 32,766 of them (999 before 3.32), which a large file reached ("too many SQL variables").
LOOKUP_CHUNK_SIZE = 500


@dataclass(frozen=True)
class NeedIntake:
    """How imported needs come in: ``classify`` labels texts without a service (service, confidence);
    ``started`` is called for each new need once it is flushed."""
    classify: Callable[[list[str]], list[tuple[str, float]]] | None = None
    started: Callable[[Session, Need], None] | None = None


NO_INTAKE = NeedIntake()


def slot_texts(text: str) -> list[str]:
    """Weekly slots of a cell in the schema's spelling; ``周一至周五 09:00-17:00`` (what the templates
    write) is read too. One item per day, so the same hours give the same list however written."""
    return format_slot_text(cells.parse_slots_cell(text))


# Cell text → value for the schema. Columns not listed pass through as text; an empty cell is left
# out so the schema's default applies (or its "必填项" error for a required column).
CELL_PARSERS: dict[str, dict[str, Callable[[str], Any]]] = {
    "grids": {"code": cells.parse_code, "party_grid": cells.parse_code, "neighbors": cells.parse_codes,
              "boundary": boundary_from_text},
    "resources": {"ref": cells.parse_code, "service": cells.parse_service, "capacity": cells.parse_int,
                  "grids": lambda t: cells.parse_grid_list(t) or ["*"], "skills": cells.split_multi,
                  "hours": slot_texts},
    "volunteers": {"ref": cells.parse_code, "kind": cells.parse_kind, "grid": cells.parse_code,
                   "skills": cells.split_multi, "services": cells.parse_services,
                   "availability": slot_texts, "capacity": cells.parse_int, "force": cells.parse_force,
                   "party_member": cells.parse_bool},
    "needs": {"ref": cells.parse_code, "grid": cells.parse_code, "urgency": cells.parse_urgency,
              "service": cells.parse_service, "channel": cells.parse_channel},
    "buildings": {"code": cells.parse_code, "aliases": cells.split_multi, "grid": cells.parse_code,
                  "head": cells.parse_code, "households": cells.parse_int, "lng": cells.parse_float,
                  "lat": cells.parse_float},
}
SCHEMAS: dict[str, type[Schema]] = {"grids": GridIn, "resources": ResourceIn, "volunteers": VolunteerIn,
                                    "needs": NeedIn, "buildings": BuildingIn}
# Columns that name grids, checked against the grids that exist (or, for grids, the file itself).
GRID_COLUMNS: dict[str, tuple[str, ...]] = {"grids": ("neighbors",), "resources": ("grids",),
                                            "volunteers": ("grid",), "needs": ("grid",), "buildings": ("grid",)}
# Kinds whose rows are upserted by ``code`` (the others by ``ref``).
CODE_KEYED = ("grids", "buildings")


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[CellError] = field(default_factory=list)
    duplicates: list[tuple[str, str, str]] = field(default_factory=list)
    rejected_rows: list[tuple[Row, list[CellError]]] = field(default_factory=list)
    imported: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "rows": self.rows, "created": self.created, "updated": self.updated,
            "unchanged": self.unchanged, "imported": self.imported, "rejected": len(self.rejected_rows),
            "errors": [{"row": e.row, "column": e.column, "reason": e.reason, "message": str(e)} for e in self.errors],
            "duplicates": [{"a": a, "b": b, "reason": r} for a, b, r in self.duplicates],
        }


def parse_row(kind: str, row: Row) -> tuple[dict[str, Any] | None, list[CellError]]:
    """One row's cells → the schema's loaded dict, or the cell errors."""
    raw: dict[str, Any] = {}
    errors: list[CellError] = []
    parsers = CELL_PARSERS[kind]
    for column, text in row.values.items():
        if column not in SCHEMAS[kind]().fields:
            continue
        if not text:
            continue
        parser = parsers.get(column)
        try:
            value = parser(text) if parser else text
        except ValueError as exc:
            errors.append(CellError(row.number, column, str(exc)))
            continue
        if value is not None:
            raw[column] = value
    if row.overflow:
        errors.append(CellError(row.number, "", "本行的单元格比表头多"))
    try:
        data = SCHEMAS[kind]().load(raw)
    except ValidationError as exc:
        unreadable = {e.column for e in errors}
        for column, reasons in exc.normalized_messages().items():
            # A cell that could not be read has its reason; the schema would only add that it is missing.
            if column in unreadable:
                continue
            errors.extend(CellError(row.number, column, r) for r in _flatten(reasons))
        return None, _dedupe(errors)
    if kind == "needs" and not data.get("ref") and not errors:
        data["ref"] = content_ref(row.values)
    return (data if not errors else None), errors


def content_ref(values: dict[str, str]) -> str:
    """A need's ref from what it says, for files without refs: the same row imported twice is
    the same need, not two."""
    import hashlib
    key = "\x1f".join(values.get(c, "").strip() for c in ("text", "grid", "window", "contact"))
    return "NI-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12].upper()


def _flatten(reasons: Any) -> list[str]:
    if isinstance(reasons, dict):
        return [r for v in reasons.values() for r in _flatten(v)]
    if isinstance(reasons, list):
        return [r for v in reasons for r in _flatten(v)]
    return [str(reasons)]


def _dedupe(errors: list[CellError]) -> list[CellError]:
    return list(dict.fromkeys(errors))


def _check_grid_refs(kind: str, number: int, data: dict[str, Any], known: set[str]) -> list[CellError]:
    errors = []
    for column in GRID_COLUMNS[kind]:
        value = data.get(column)
        codes = [value] if isinstance(value, str) else [c for c in (value or []) if c != "*"]
        errors += [CellError(number, column, f"未知网格编码 {c}") for c in codes if c not in known]
    return errors


def _check_head(number: int, data: dict[str, Any], heads: dict[str, bool]) -> list[CellError]:
    """A building's head: a volunteer that exists and is active (``heads``: ref → active)."""
    ref = data.get("head")
    if not ref:
        return []
    if ref not in heads:
        return [CellError(number, "head", f"未知志愿者编号 {ref}")]
    if not heads[ref]:
        return [CellError(number, "head", f"志愿者 {ref} 已停用")]
    return []


Progress = Callable[[str, int, int], None]  # (phase: checking | writing, rows done, rows in all)
PROGRESS_EVERY = 1000  # rows checked between two progress reports


def import_rows(session: Session, kind: str, rows: list[Row], *, skip_invalid: bool = False,
                intake: NeedIntake = NO_INTAKE, subdistrict_id: int | None = None,
                progress: Progress | None = None) -> ImportReport:
    """Validate every row, then (if all are good, or ``skip_invalid``) upsert the good ones, into the
    subdistrict ``subdistrict_id`` (or the only one): rows name only its grids and update only its records.
    ``progress`` hears how far it is (a background import shows it on its page)."""
    report = ImportReport(kind=kind, rows=len(rows))
    # Before the first subdistrict exists nothing does: it is made only if the rows are imported.
    sid = subdistrict_id if subdistrict_id is not None else getattr(only_subdistrict(session), "id", None)
    known = set(session.scalars(select(Grid.code).where(Grid.subdistrict_id == sid)))
    if kind == "grids":
        known |= {r.values.get("code", "") for r in rows}
    heads: dict[str, bool] = {}
    if kind == "buildings":
        heads = {ref: active for ref, active in session.execute(
            select(Volunteer.ref, Volunteer.active).where(Volunteer.subdistrict_id == sid))}
    good: list[tuple[Row, dict[str, Any]]] = []
    seen_keys: dict[str, int] = {}
    key_column = "code" if kind in CODE_KEYED else "ref"
    foreign = elsewhere(session, kind, [r.values.get(key_column, "") for r in rows], sid)
    for done, row in enumerate(rows):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress("checking", done, len(rows))
        data, errors = parse_row(kind, row)
        if data is not None:
            errors += _check_grid_refs(kind, row.number, data, known)
            if data.get(key_column) in foreign:
                errors.append(CellError(row.number, key_column, f"{data[key_column]} 属于另一个街道"))
            if kind == "buildings":
                errors += _check_head(row.number, data, heads)
            key = data.get(key_column)
            if key and key in seen_keys:
                errors.append(CellError(row.number, key_column, f"与第 {seen_keys[key]} 行重复：{key}"))
            elif key:
                seen_keys[key] = row.number
        if errors:
            report.errors += errors
            report.rejected_rows.append((row, errors))
        else:
            good.append((row, data))  # type: ignore[arg-type]
    report.duplicates = find_probable_duplicates(session, kind, [d for _, d in good])
    if report.errors and not skip_invalid:
        return report
    if progress is not None:
        progress("writing", len(rows), len(rows))
    owner = {"subdistrict_id": resolve_id(session, sid)} if kind in OWNED else {}
    UPSERTS[kind](session, [{**d, **owner} for _, d in good], report, intake)
    report.imported = True
    session.flush()
    log.info("import of %s: %d rows, %d created, %d updated, %d unchanged, %d rejected", kind, report.rows,
             report.created, report.updated, report.unchanged, len(report.rejected_rows))
    return report


def import_file(session: Session, kind: str, data: bytes, filename: str, **kwargs: Any) -> ImportReport:
    if kind not in KINDS:
        raise ValueError(f"未知导入类型 {kind}，应为 {'、'.join(KINDS)}")
    table = read_table(data, filename)
    spec = IMPORT_COLUMNS[kind]
    header_errors = check_columns(table, spec.required, spec.optional)
    if header_errors:
        return ImportReport(kind=kind, rows=len(table.rows), errors=header_errors)
    return import_rows(session, kind, table.rows, **kwargs)


# The kinds whose rows carry their subdistrict (buildings and needs belong to their grid's).
OWNED: dict[str, Any] = {"grids": Grid, "resources": Resource, "volunteers": Volunteer}


def elsewhere(session: Session, kind: str, keys: list[str], subdistrict_id: int | None) -> set[str]:
    """Of ``keys`` (the rows' codes or refs), those of records that exist in another subdistrict."""
    if kind in OWNED:
        model = OWNED[kind]
        column, owner = (model.code if kind == "grids" else model.ref), model.subdistrict_id
        join = None
    else:
        column, owner = (Need.ref if kind == "needs" else Building.code), Grid.subdistrict_id
        join = Need.grid if kind == "needs" else Building.grid
    found: set[str] = set()
    unique = [k for k in dict.fromkeys(keys) if k]
    for start in range(0, len(unique), LOOKUP_CHUNK_SIZE):
        query = select(column).where(column.in_(unique[start:start + LOOKUP_CHUNK_SIZE]), owner != subdistrict_id)
        found.update(session.scalars(query.join(join) if join is not None else query))
    return found


# --- upserts ------------------------------------------------------------------------------------

def _count(report: ImportReport, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
    if before is None:
        report.created += 1
    elif before == after:
        report.unchanged += 1
    else:
        report.updated += 1


def _upsert_grids(session: Session, rows: list[dict[str, Any]], report: ImportReport, _intake: NeedIntake) -> None:
    existing = {g.code: g for g in session.scalars(
        select(Grid).options(selectinload(Grid.neighbors), selectinload(Grid.community),
                             selectinload(Grid.party_grid), undefer(Grid.boundary)))}
    befores = {code: grid_snapshot(g) for code, g in existing.items()}
    listed: dict[str, set[str]] = {}
    for data in rows:
        body = {k: v for k, v in data.items() if k != "neighbors"}
        grid = existing.get(data["code"])
        if grid is None:
            existing[data["code"]] = grid_service.create_grid(session, {**body, "neighbors": []})
        else:
            grid_service.update_grid(session, grid, body)
        listed[data["code"]] = set(data["neighbors"])
    # Symmetric closure: a neighbour named on either side links both, whichever row names it.
    for code, neighbors in list(listed.items()):
        for other in neighbors:
            listed.setdefault(other, set(n.code for n in existing[other].neighbors) if other in existing else set())
            listed[other].add(code)
    for code, neighbors in listed.items():
        grid_service.set_neighbors(session, existing[code], sorted(neighbors))
    session.flush()
    for data in rows:
        _count(report, befores.get(data["code"]), grid_snapshot(existing[data["code"]]))


def grid_snapshot(grid: Grid) -> dict[str, Any]:
    return {"name": grid.name, "community": grid.community.name if grid.community else None,
            "party_grid": grid.party_grid.code if grid.party_grid else None,
            "neighbors": sorted(n.code for n in grid.neighbors), "boundary": grid.boundary}


def _upsert_by_ref(model: Any, create: Callable[..., Any], update: Callable[..., Any],
                   snapshot: Callable[[Any], dict[str, Any]]) -> Callable[..., None]:
    def upsert(session: Session, rows: list[dict[str, Any]], report: ImportReport, intake: NeedIntake) -> None:
        existing = rows_by_ref(session, model, [d["ref"] for d in rows])
        unlabelled = ([d for d in rows if not d.get("service") and d["ref"] not in existing]
                      if model is Need else [])
        # Only call the classifier for texts it must label: the first call loads (or trains) a model.
        if intake.classify is not None and unlabelled:
            for d, (service, confidence) in zip(unlabelled, intake.classify([d["text"] for d in unlabelled])):
                d["service"], d["service_confidence"] = service, confidence
        for data in rows:
            row = existing.get(data["ref"])
            before = snapshot(row) if row is not None else None
            confidence = data.pop("service_confidence", None)
            if row is None:
                if model is Need:
                    data["channel"] = data.get("channel") or Channel.IMPORT
                row = create(session, data)
                if confidence is not None:
                    row.service_confidence = confidence
                if model is Need and intake.started is not None:
                    session.flush()
                    intake.started(session, row)
            else:
                update(session, row, {k: v for k, v in data.items() if v is not None or k == "grid"})
            session.flush()
            _count(report, before, snapshot(row))
    return upsert


def rows_by_ref(session: Session, model: Any, refs: list[str]) -> dict[str, Any]:
    """The rows of ``model`` whose ref is in ``refs``, by ref, looked up :data:`LOOKUP_CHUNK_SIZE` at a time."""
    unique = list(dict.fromkeys(refs))
    found: dict[str, Any] = {}
    for start in range(0, len(unique), LOOKUP_CHUNK_SIZE):
        chunk = unique[start:start + LOOKUP_CHUNK_SIZE]
        found.update((r.ref, r) for r in session.scalars(select(model).where(model.ref.in_(chunk))))
    return found


def _upsert_buildings(session: Session, rows: list[dict[str, Any]], report: ImportReport,
                      _intake: NeedIntake) -> None:
    """Buildings by ``code``: the grids and heads of the rows are looked up once, then one flush for all."""
    existing = building_service.buildings_by_code(session, [d["code"] for d in rows])
    befores = {code: building_service.snapshot(b) for code, b in existing.items()}
    grid_codes = list(dict.fromkeys(d["grid"] for d in rows if d.get("grid")))
    grids: dict[str, Grid] = {}
    for start in range(0, len(grid_codes), LOOKUP_CHUNK_SIZE):
        chunk = grid_codes[start:start + LOOKUP_CHUNK_SIZE]
        grids.update((g.code, g) for g in session.scalars(select(Grid).where(Grid.code.in_(chunk))))
    heads = {ref: v for ref, v in rows_by_ref(session, Volunteer, [d["head"] for d in rows if d.get("head")]).items()
             if v.active}
    for data in rows:
        row = existing.get(data["code"])
        if row is None:
            row = existing[data["code"]] = Building(code=data["code"])
            building_service.apply_building(session, row, data, grids=grids, heads=heads)
            session.add(row)
        else:
            building_service.apply_building(session, row, data, grids=grids, heads=heads)
    session.flush()
    for data in rows:
        _count(report, befores.get(data["code"]), building_service.snapshot(existing[data["code"]]))


def resource_snapshot(r: Resource) -> dict[str, Any]:
    return {"name": r.name, "department": r.department, "service": r.service, "capacity": r.capacity,
            "skills": list(r.skills), "description": r.description, "hours": list(r.hours),
            "grids": ["*"] if r.covers_all else sorted(g.code for g in r.grids), "active": r.active}


def volunteer_snapshot(v: Volunteer) -> dict[str, Any]:
    return {"name": v.name, "kind": v.kind, "phone": v.phone, "grid": v.grid.code if v.grid else None,
            "skills": list(v.skills), "services": list(v.services), "availability": list(v.availability),
            "capacity": v.capacity, "force": v.force, "party_member": v.party_member,
            "description": v.description, "active": v.active}


def need_snapshot(n: Need) -> dict[str, Any]:
    return {"text": n.text, "grid": n.grid.code, "urgency": n.urgency, "window": (n.window_start, n.window_end),
            "contact": n.contact, "service": n.service}


Upsert = Callable[[Session, list[dict[str, Any]], ImportReport, NeedIntake], None]
UPSERTS: dict[str, Upsert] = {
    "grids": _upsert_grids,
    "resources": _upsert_by_ref(Resource, provider_service.create_resource, provider_service.update_resource,
                                resource_snapshot),
    "volunteers": _upsert_by_ref(Volunteer, provider_service.create_volunteer, provider_service.update_volunteer,
                                 volunteer_snapshot),
    "needs": _upsert_by_ref(Need, need_service.create_need, need_service.update_need, need_snapshot),
    "buildings": _upsert_buildings,
}


def find_probable_duplicates(session: Session, kind: str, rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Near-identical names and phones among the file's rows and the pool (reported, never merged)."""
    if kind not in ("volunteers", "resources") or not rows:
        return []
    file_refs = {d["ref"] for d in rows}
    entries = {d["ref"]: (d["ref"], d["name"], d.get("phone", "")) for d in rows}
    stored: Iterable[tuple[str, str, str]]
    if kind == "volunteers":
        stored = ((r, n, p) for r, n, p in session.execute(select(Volunteer.ref, Volunteer.name, Volunteer.phone)))
    else:  # resources have no phone
        stored = ((ref, name, "") for ref, name in session.execute(select(Resource.ref, Resource.name)))
    for ref, name, phone in stored:
        entries.setdefault(ref, (ref, name, phone))
    pairs = probable_duplicates(list(entries.values()))
    return [p for p in pairs if p[0] in file_refs or p[1] in file_refs]
