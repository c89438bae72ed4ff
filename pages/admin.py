"""Subdistrict staff's pages (管理员, under /admin): the registries — grids, government resources,
volunteers and organisations — to search, create, edit and deactivate; file imports as upload →
preview (every bad row in a table, nothing kept) → confirm; the import templates; accounts and roles.

Every field is loaded through the API's own schema (``pools.schemas``; edits with ``partial=True``),
so a form accepts exactly what ``POST``/``PATCH /api/v1/...`` accept; list fields are typed as text
separated by commas, 、 or ；. A deactivated record stays in the lists, marked, and cannot be edited
(the API answers 404 for it, and so do these pages).

An import preview runs the real import inside the request and rolls it back before answering (the app's
unit of work would commit a 200), so it counts what would be created, updated or left unchanged without
keeping anything. The uploaded bytes wait for the confirm step in ``instance/uploads/<token>.<ext>``
(a random hex token in a hidden field; refused unless it is exactly that) and are deleted once imported,
or after a day.
"""
from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, flash, redirect, request
from marshmallow import Schema
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from access import auth, policy
from access.auth import signed_in
from core import config
from core.database import db_session
from core.errors import ApiError, InvalidData, NotFound
from core.vocab import (
    FORCE_LABELS_ZH,
    ROLE_LABELS_ZH,
    SCOPE_LABELS_ZH,
    SERVICE_LABELS_ZH,
    VOLUNTEER_KIND_LABELS_ZH,
    Role,
    VolunteerKind,
)
from intake.service import import_records
from models import Community, Grid, PartyGrid, Resource, User, Volunteer
from pools import grids as grid_service
from pools import providers as provider_service
from pools import subdistricts as subdistrict_service
from pools.imports import ImportReport, slot_texts
from pools.lookup import Page
from pools.schemas import GridIn, ResourceIn, VolunteerIn
from pools.tabular import TableError
from web.routes import allow

from .resident import grid_choices
from .shell import FormErrors, attempt, form_text, page, safe_next

bp = Blueprint("admin", __name__)

ADMIN = Role.ADMIN
PER_PAGE = 50
SEARCH_LIMIT = 50  # fuzzy search: the closest this many
STATUSES = [("active", "在用"), ("inactive", "已停用")]
# Multi-valued fields are typed as one line: items separated by commas, 、, semicolons or new lines.
_SEPARATORS = re.compile(r"[,，、;；\r\n]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def split_list(text: str) -> list[str]:
    """Items of a list field typed as text, in order, without blanks or repeats."""
    items: list[str] = []
    for part in _SEPARATORS.split(text or ""):
        item = part.strip()
        if item and item not in items:
            items.append(item)
    return items


def slot_list(text: str) -> list[str]:
    """Weekly slots typed as text; ``周一至周五 09:00-17:00`` is read as the import reads it, anything
    else goes to the schema as typed (which says what is wrong with it)."""
    slots: list[str] = []
    for item in split_list(text):
        if _CJK.search(item):
            try:
                slots.extend(s for s in slot_texts(item) if s not in slots)
                continue
            except ValueError:
                pass
        slots.append(item)
    return slots


def joined(items: list[str] | None) -> str:
    return "、".join(items or [])


def _page_no() -> int:
    raw = request.args.get("page", "")
    return max(1, min(int(raw), 10_000)) if raw.isdigit() else 1


def _url(path: str, params: Mapping[str, Any]) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"{path}?{query}" if query else path


# --- the registries ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Registry:
    """One registry's pages: what it is called, its schema and services, and its form's fields."""
    kind: str  # the URL's segment
    label: str  # 网格, 政府资源, 志愿者和组织
    model: Any
    schema: type[Schema]
    key: str  # "code" or "ref": set when created, never changed
    fields: tuple[str, ...]  # the editable fields, as the API's PATCH accepts them
    lists: tuple[str, ...] = ()
    slots: tuple[str, ...] = ()
    optional_codes: tuple[str, ...] = ()  # an empty choice means none (null)

    def noun(self, row: Any) -> str:
        """What a record is called in a sentence: 志愿者 张三（V0012）."""
        if self.kind == "volunteers":
            word = "组织" if row.kind == VolunteerKind.ORGANIZATION else "志愿者"
        else:
            word = self.label
        return f"{word} {row.name}（{getattr(row, self.key)}）"


REGISTRIES: dict[str, Registry] = {
    "grids": Registry("grids", "网格", Grid, GridIn, "code", ("name", "community", "party_grid", "neighbors"),
                      lists=("neighbors",), optional_codes=("party_grid",)),
    "resources": Registry("resources", "政府资源", Resource, ResourceIn, "ref",
                          ("name", "department", "service", "grids", "capacity", "skills", "description", "hours"),
                          lists=("grids", "skills"), slots=("hours",)),
    "volunteers": Registry("volunteers", "志愿者和组织", Volunteer, VolunteerIn, "ref",
                           ("name", "kind", "phone", "grid", "skills", "services", "availability", "capacity",
                            "force", "party_member", "description"),
                           lists=("skills",), slots=("availability",), optional_codes=("grid",)),
}
YES_NO = [("yes", "是"), ("no", "否")]


def _registry(kind: str) -> Registry:
    if kind not in REGISTRIES:
        raise NotFound("没有这个登记簿")
    return REGISTRIES[kind]


def _get(session: Session, registry: Registry, id_: int) -> Any:
    row = session.get(registry.model, id_)
    # Another subdistrict's records do not exist for a subdistrict's admin.
    if row is None or not policy.in_subdistrict(signed_in(), row.subdistrict_id):
        raise NotFound(f"找不到编号为 {id_} 的记录")
    return row


def _editable(session: Session, registry: Registry, id_: int) -> Any:
    """The record, if it may still be changed: a deactivated one is gone, as in the API (404)."""
    row = _get(session, registry, id_)
    if not row.active:
        raise NotFound(f"{registry.noun(row)}已停用，不能再修改")
    return row


def _values_of(registry: Registry, row: Any | None) -> dict[str, Any]:
    """The form's values: a record's as text (lists joined with 、), or a new record's defaults."""
    if row is None:
        defaults: dict[str, dict[str, Any]] = {
            "grids": {}, "resources": {"capacity": "1", "grids": "*"},
            "volunteers": {"kind": VolunteerKind.PERSON.value, "capacity": "1", "force": "selfgov",
                           "party_member": "no", "services": []},
        }
        values: dict[str, Any] = {name: "" for name in (registry.key, *registry.fields)}
        values.update(defaults[registry.kind])
        return values
    values = {registry.key: getattr(row, registry.key)}
    if registry.kind == "grids":
        values.update(name=row.name, community=row.community.name,
                      party_grid=row.party_grid.code if row.party_grid else "",
                      neighbors=joined([n.code for n in row.neighbors]))
    elif registry.kind == "resources":
        values.update(name=row.name, department=row.department, service=row.service,
                      grids="*" if row.covers_all else joined([g.code for g in row.grids]),
                      capacity=str(row.capacity), skills=joined(row.skills), description=row.description,
                      hours=joined(row.hours))
    else:
        values.update(name=row.name, kind=row.kind, phone=row.phone, grid=row.grid.code if row.grid else "",
                      skills=joined(row.skills), services=list(row.services or []),
                      availability=joined(row.availability), capacity=str(row.capacity), force=row.force,
                      party_member="yes" if row.party_member else "no", description=row.description)
    return values


def _read_form(registry: Registry, creating: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form as typed (to show again) and as the schema's input (lists split, empty choices null)."""
    names = (registry.key, *registry.fields, "subdistrict") if creating else registry.fields
    values: dict[str, Any] = {}
    body: dict[str, Any] = {}
    for name in names:
        if name == "services":
            values[name] = [s.strip()[:32] for s in request.form.getlist("services")][:10]
            body[name] = values[name]
            continue
        if name not in request.form:  # an unchosen radio: the schema's default, or 必填项 (or no 街道 to choose)
            values[name] = ""
            continue
        text = form_text(name)
        values[name] = text
        if name == "subdistrict" and not text:
            continue
        if name in registry.lists:
            body[name] = split_list(text)
        elif name in registry.slots:
            body[name] = slot_list(text)
        elif name in registry.optional_codes:
            body[name] = text or None
        elif name == "party_member":
            body[name] = {"yes": True, "no": False}.get(text, text)
        else:
            body[name] = text
    return values, body


def _subdistrict_choices(session: Session) -> list[tuple[str, str]]:
    """The subdistricts a new record may go into, offered to the city's admins when there are several (a
    subdistrict's admin writes into their own)."""
    if not policy.city_wide(signed_in()):
        return []
    rows = subdistrict_service.list_subdistricts(session)
    return [(r.code, f"{r.name}（{r.code}）") for r in rows] if len(rows) > 1 else []


def _form_context(registry: Registry) -> dict[str, Any]:
    """The choices a form offers (the schema still decides what is accepted)."""
    session = db_session()
    context: dict[str, Any] = {"services": list(SERVICE_LABELS_ZH.items()),
                               "subdistricts": _subdistrict_choices(session)}
    if registry.kind == "grids":
        context["communities"] = [(n, n) for n in session.scalars(select(Community.name).order_by(Community.code))]
        context["party_grids"] = [(c, n) for c, n in session.execute(select(PartyGrid.code, PartyGrid.name)
                                                                    .order_by(PartyGrid.code))]
    if registry.kind == "volunteers":
        context.update(grids=grid_choices(), kinds=list(VOLUNTEER_KIND_LABELS_ZH.items()),
                       forces=list(FORCE_LABELS_ZH.items()), yes_no=YES_NO)
    return context


def _record_form(registry: Registry, row: Any | None, values: dict[str, Any], errors: FormErrors,
                 status: int = 200) -> Any:
    back = safe_next(request.values.get("back")) or f"/admin/{registry.kind}"
    title = f"修改{registry.noun(row)}" if row is not None else f"新建{registry.label}"
    context = _form_context(registry)
    if registry.kind == "volunteers" and values.get("grid"):
        offered = {code for _, options in context["grids"] for code, _ in options}
        if values["grid"] not in offered:  # a deactivated grid stays chosen until someone changes it
            context["grids"] = [*context["grids"], ("已停用的网格", [(values["grid"], f"{values['grid']}（已停用）")])]
    return page(f"admin/{registry.kind[:-1]}_form.html", status, title=title, registry=registry, row=row,
                values=values, errors=errors, back=back, **context)


@bp.get("/admin")
@allow(ADMIN)
def index() -> Any:
    session = db_session()

    own = None if policy.city_wide(signed_in()) else signed_in().subdistrict_id

    def count(model: Any, *where: Any) -> int:
        mine = [] if own is None else [model.subdistrict_id == own]
        return session.scalar(select(func.count()).select_from(model).where(*where, *mine)) or 0

    figures = {
        "grids": count(Grid, Grid.active.is_(True)), "grids_off": count(Grid, Grid.active.is_(False)),
        "resources": count(Resource, Resource.active.is_(True)),
        "resources_off": count(Resource, Resource.active.is_(False)),
        "people": count(Volunteer, Volunteer.active.is_(True), Volunteer.kind == VolunteerKind.PERSON),
        "organizations": count(Volunteer, Volunteer.active.is_(True), Volunteer.kind == VolunteerKind.ORGANIZATION),
        "volunteers_off": count(Volunteer, Volunteer.active.is_(False)),
        "accounts": count(User, User.active.is_(True)), "accounts_off": count(User, User.active.is_(False)),
    }
    by_role = dict(session.execute(select(User.role, func.count()).where(
        User.active.is_(True), *([] if own is None else [User.subdistrict_id == own])).group_by(User.role)).all())
    return page("admin/index.html", title="登记簿管理", figures=figures, by_role=by_role, roles=ROLE_LABELS_ZH)


@bp.get("/admin/<kind>")
@allow(ADMIN)
def registry_list(kind: str) -> Any:
    registry = _registry(kind)
    session = db_session()
    q = (request.args.get("q") or "").strip()[:100]
    status = request.args.get("status", "active") if request.args.get("status") in dict(STATUSES) else "active"
    active = status == "active"
    vkind = request.args.get("kind_filter", "")
    vkind = vkind if vkind in VOLUNTEER_KIND_LABELS_ZH else ""
    page_no = _page_no()
    hits: dict[int, str] = {}
    rows: list[Any]
    listed: Page[Any]
    own = None if policy.city_wide(signed_in()) else signed_in().subdistrict_id
    own_code = subdistrict_service.subdistrict_for(session, signed_in()).code if own is not None else None
    if kind != "grids" and q and active:
        # The fuzzy search, by characters and pinyin (张晓明 ≈ zhangxiaoming ≈ 张小明), best first.
        found = provider_service.search(session, registry.model, q, SEARCH_LIMIT * (4 if vkind else 1),
                                        subdistrict_id=own)
        found = [(h, r) for h, r in found if not vkind or getattr(r, "kind", "") == vkind][:SEARCH_LIMIT]
        rows = [r for _, r in found]
        hits = {r.id: h.matched for h, r in found}
        total, more = len(rows), False
    else:
        if kind == "grids":
            listed = grid_service.list_grids(session, page=page_no, per_page=PER_PAGE, active=active, q=q or None,
                                             subdistrict=own_code)
        elif kind == "resources":
            listed = provider_service.list_resources(session, page=page_no, per_page=PER_PAGE, active=active,
                                                     q=q or None, subdistrict=own_code)
        else:
            listed = provider_service.list_volunteers(session, page=page_no, per_page=PER_PAGE, active=active,
                                                      q=q or None, kind=vkind or None, subdistrict=own_code)
        rows, total = listed.items, listed.total
        more = total > page_no * PER_PAGE
    filters = {"q": q, "status": "" if active else status, "kind_filter": vkind}
    here = _url(f"/admin/{kind}", {**filters, "page": page_no if page_no > 1 else ""})
    return page(f"admin/{kind}.html", title=f"{registry.label}登记簿", registry=registry, rows=rows, hits=hits,
                total=total, q=q, state_filter=status, statuses=STATUSES, vkind=vkind,
                kinds=list(VOLUNTEER_KIND_LABELS_ZH.items()), page_no=page_no, more=more, here=here,
                prev_url=_url(f"/admin/{kind}", {**filters, "page": page_no - 1 if page_no > 2 else ""}),
                next_url=_url(f"/admin/{kind}", {**filters, "page": page_no + 1}), searching=bool(hits) or (
                    kind != "grids" and bool(q) and active))


@bp.get("/admin/<kind>/new")
@allow(ADMIN)
def new_record(kind: str) -> Any:
    registry = _registry(kind)
    return _record_form(registry, None, _values_of(registry, None), FormErrors())


@bp.post("/admin/<kind>/new")
@allow(ADMIN)
def create_record(kind: str) -> Any:
    registry = _registry(kind)
    session = db_session()
    values, body = _read_form(registry, creating=True)
    creators: dict[str, Callable[[Session, dict[str, Any]], Any]] = {
        "grids": grid_service.create_grid, "resources": provider_service.create_resource,
        "volunteers": provider_service.create_volunteer,
    }
    def create() -> Any:
        data = registry.schema().load(body)
        into = subdistrict_service.subdistrict_for(session, signed_in(), data.pop("subdistrict", None))
        return creators[kind](session, {**data, "subdistrict_id": into.id})

    row, errors = attempt(create)
    if row is None:
        return _record_form(registry, None, values, errors, 422)
    flash(f"已新建{registry.noun(row)}。", "ok")
    return redirect(safe_next(form_text("back", 500)) or f"/admin/{kind}")


@bp.get("/admin/<kind>/<int:id_>/edit")
@allow(ADMIN)
def edit_record(kind: str, id_: int) -> Any:
    registry = _registry(kind)
    row = _editable(db_session(), registry, id_)
    return _record_form(registry, row, _values_of(registry, row), FormErrors())


@bp.post("/admin/<kind>/<int:id_>/edit")
@allow(ADMIN)
def update_record(kind: str, id_: int) -> Any:
    registry = _registry(kind)
    session = db_session()
    row = _editable(session, registry, id_)
    values, body = _read_form(registry, creating=False)
    updaters: dict[str, Callable[[Session, Any, dict[str, Any]], Any]] = {
        "grids": grid_service.update_grid, "resources": provider_service.update_resource,
        "volunteers": provider_service.update_volunteer,
    }
    saved, errors = attempt(lambda: updaters[kind](session, row, registry.schema(partial=True).load(body)))
    if saved is None:
        values[registry.key] = getattr(row, registry.key)
        return _record_form(registry, row, values, errors, 422)
    flash(f"已保存{registry.noun(saved)}。", "ok")
    return redirect(safe_next(form_text("back", 500)) or f"/admin/{kind}")


@bp.get("/admin/<kind>/<int:id_>/deactivate")
@allow(ADMIN)
def confirm_deactivate(kind: str, id_: int) -> Any:
    registry = _registry(kind)
    row = _editable(db_session(), registry, id_)
    back = safe_next(request.args.get("back")) or f"/admin/{kind}"
    what = {"grids": "停用后不能再选这个网格，已有的需求和记录保留，用于统计和审计。",
            "resources": "停用后不再参与匹配，已有的记录保留，用于统计和审计。",
            "volunteers": "停用后不再参与匹配，已有的记录保留，用于统计和审计。"}[kind]
    return page("admin/deactivate.html", title=f"停用{registry.noun(row)}",
                question=f"确定停用{registry.noun(row)}吗？", consequence=what + "停用后不能再修改。",
                action=f"/admin/{kind}/{id_}/deactivate", back=back, refusal="")


@bp.post("/admin/<kind>/<int:id_>/deactivate")
@allow(ADMIN)
def deactivate_record(kind: str, id_: int) -> Any:
    registry = _registry(kind)
    session = db_session()
    row = _editable(session, registry, id_)
    if kind == "grids":
        grid_service.deactivate_grid(session, row)
    else:
        provider_service.deactivate(session, row)
    flash(f"已停用{registry.noun(row)}。", "ok")
    return redirect(safe_next(form_text("back", 500)) or f"/admin/{kind}")


# --- imports -------------------------------------------------------------------------------------

IMPORT_KINDS = [("grids", "网格"), ("resources", "政府资源"), ("volunteers", "志愿者和组织"), ("buildings", "楼栋"),
                ("needs", "需求")]
UPLOADS: Path = config.INSTANCE / "uploads"
UPLOAD_EXTENSIONS = (".csv", ".xlsx")
UPLOAD_TTL_SECONDS = 24 * 3600
TOKEN_BYTES = 16
_TOKEN = re.compile(rf"[0-9a-f]{{{TOKEN_BYTES * 2}}}")
SHOWN_PROBLEMS = 5000  # problems listed on one page; a file with more is corrected in turns


def _uploads() -> Path:
    UPLOADS.mkdir(parents=True, exist_ok=True)
    return UPLOADS


def _sweep_uploads() -> None:
    """Uploads older than a day are forgotten (a preview nobody confirmed)."""
    limit = time.time() - UPLOAD_TTL_SECONDS
    for path in _uploads().iterdir():
        if path.suffix in UPLOAD_EXTENSIONS and _TOKEN.fullmatch(path.stem):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
            except FileNotFoundError:
                pass


def _keep_upload(data: bytes, extension: str) -> str:
    token = secrets.token_hex(TOKEN_BYTES)
    (_uploads() / f"{token}{extension}").write_bytes(data)
    return token


def _kept_upload(token: str) -> Path | None:
    """The stored upload of ``token``, if it is still there; None when it expired or was imported.
    Anything but a plain hex token of the right length is refused before touching the disk."""
    if not _TOKEN.fullmatch(token):
        raise BadToken()
    for extension in UPLOAD_EXTENSIONS:
        path = _uploads() / f"{token}{extension}"
        if path.is_file():
            if path.stat().st_mtime < time.time() - UPLOAD_TTL_SECONDS:
                path.unlink(missing_ok=True)
                return None
            return path
    return None


class BadToken(ApiError):
    """A confirm whose token (or kind) is not one a preview gives: forged or garbled."""
    status = 400
    code = "bad_request"
    message = "上传文件的编号无效，请重新上传"


def _problems(report: ImportReport) -> list[dict[str, Any]]:
    """Every problem of the file as a table row: row, column, what was in the cell, why."""
    cells = {row.number: row.values for row, _ in report.rejected_rows}
    return [{"row": e.row, "column": e.column, "value": cells.get(e.row, {}).get(e.column, ""), "reason": e.reason}
            for e in report.errors]


def _import_form(values: dict[str, str], errors: FormErrors, status: int = 200) -> Any:
    return page("admin/import.html", status, title="导入数据", kinds=IMPORT_KINDS, values=values, errors=errors,
                subdistricts=_subdistrict_choices(db_session()))


def _importing_into(session: Session) -> int | None:
    """The subdistrict a file is imported into: the admin's own, or (the city's admins) the one chosen."""
    if not policy.city_wide(signed_in()):
        return signed_in().subdistrict_id
    code = form_text("subdistrict", 32)
    return subdistrict_service.subdistrict_by_code(session, code).id if code else None


def _report_page(template: str, status: int, report: ImportReport, **context: Any) -> Any:
    problems = _problems(report)
    return page(template, status, title="导入预览" if template.endswith("preview.html") else "导入结果",
                report=report, problems=problems[:SHOWN_PROBLEMS], hidden_problems=max(0, len(problems) - SHOWN_PROBLEMS),
                bad_rows=len(report.rejected_rows), kind_label=dict(IMPORT_KINDS)[report.kind], **context)


@bp.get("/admin/import")
@allow(ADMIN)
def import_start() -> Any:
    kind = request.args.get("kind", "")
    return _import_form({"kind": kind if kind in dict(IMPORT_KINDS) else ""}, FormErrors())


@bp.post("/admin/import/preview")
@allow(ADMIN)
def import_preview() -> Any:
    kind = form_text("kind", 16)
    upload = request.files.get("file")
    errors = FormErrors()
    if kind not in dict(IMPORT_KINDS):
        errors["kind"] = ["请选择导入哪一类数据"]
    if upload is None or not upload.filename:
        errors["file"] = ["请选择要导入的文件（.csv 或 .xlsx）"]
    if errors or upload is None:
        return _import_form({"kind": kind}, errors, 422)
    filename = Path(upload.filename or "").name[:200]
    extension = Path(filename).suffix.lower()
    data = upload.read()
    session = db_session()
    try:
        # The real import, good rows and all, so the counts are what a confirm would do; then undone.
        report = import_records(session, kind, data, filename, skip_invalid=True,
                                subdistrict_id=_importing_into(session))
    except TableError as exc:
        return _import_form({"kind": kind}, FormErrors(file=[str(exc)]), 422)
    except InvalidData as exc:  # no subdistrict chosen where there are several
        return _import_form({"kind": kind}, FormErrors.of(exc.fields), 422)
    finally:
        session.rollback()
    _sweep_uploads()
    importable = report.imported and report.rows > len(report.rejected_rows)
    token = _keep_upload(data, extension) if importable and extension in UPLOAD_EXTENSIONS else ""
    return _report_page("admin/preview.html", 200, report, token=token, filename=filename, confirmed=False,
                        subdistrict=form_text("subdistrict", 32))


@bp.post("/admin/import/confirm")
@allow(ADMIN)
def import_confirm() -> Any:
    kind = form_text("kind", 16)
    if kind not in dict(IMPORT_KINDS):
        raise BadToken("导入类型无效，请重新上传")
    path = _kept_upload(form_text("token", 100))
    filename = Path(form_text("filename", 200)).name
    if path is None:
        return _import_form({"kind": kind}, FormErrors(file=["上传的文件已导入或已过期（保留一天），请重新上传"]), 422)
    skip_invalid = request.form.get("skip_invalid") == "1"
    session = db_session()
    try:
        report = import_records(session, kind, path.read_bytes(), path.name, skip_invalid=skip_invalid,
                                subdistrict_id=_importing_into(session))
    except TableError as exc:  # the file was read at the preview; kept for safety
        path.unlink(missing_ok=True)
        return _import_form({"kind": kind}, FormErrors(file=[str(exc)]), 422)
    if not report.imported:
        # Bad rows and no 只导入合格的行: nothing imported (422 rolls back), the table again.
        return _report_page("admin/preview.html", 422, report, token=path.stem, filename=filename, confirmed=True,
                            subdistrict=form_text("subdistrict", 32))
    path.unlink(missing_ok=True)
    return _report_page("admin/imported.html", 200, report, filename=filename)


# --- accounts ------------------------------------------------------------------------------------

ROLE_CHOICES = [(r.value, ROLE_LABELS_ZH[r]) for r in (Role.COORDINATOR, Role.REVIEWER, Role.VOLUNTEER,
                                                      Role.RESIDENT, Role.ADMIN)]
SCOPE_CHOICES = [("", "不限定（居民、志愿者、管理员）"), *SCOPE_LABELS_ZH.items()]
ACCOUNT_FIELDS = {"scope": "scope_codes", "volunteer": "volunteer_ref"}  # create_user's names → the form's


def _get_account(id_: int) -> User:
    account = db_session().get(User, id_)
    # Another subdistrict's accounts do not exist for a subdistrict's admin.
    if account is None or not policy.in_subdistrict(signed_in(), account.subdistrict_id):
        raise NotFound(f"找不到编号为 {id_} 的账号")
    return account


def _scope_text(account: User) -> str:
    if not account.scope_codes:
        return ""
    label = SCOPE_LABELS_ZH.get(account.scope_type or "", "")
    return f"{label} {joined(account.scope_codes)}".strip()


@bp.get("/admin/accounts")
@allow(ADMIN)
def accounts() -> Any:
    session = db_session()
    role = request.args.get("role", "")
    role = role if role in ROLE_LABELS_ZH else ""
    status = request.args.get("status", "active") if request.args.get("status") in dict(STATUSES) else "active"
    page_no = _page_no()
    # A subdistrict's admin sees its accounts; the city's admins all of them.
    scope = [] if policy.city_wide(signed_in()) else [User.subdistrict_id == signed_in().subdistrict_id]
    where: list[ColumnElement[bool]] = [User.active.is_(status == "active"), *scope]
    if role:
        where.append(User.role == role)
    total = session.scalar(select(func.count()).select_from(User).where(*where)) or 0
    rows = list(session.scalars(select(User).options(selectinload(User.volunteer)).where(*where)
                                .order_by(User.role, User.username).limit(PER_PAGE).offset((page_no - 1) * PER_PAGE)))
    filters = {"role": role, "status": "" if status == "active" else status}
    counts = dict(session.execute(select(User.role, func.count()).where(User.active.is_(status == "active"), *scope)
                                  .group_by(User.role)).all())
    return page("admin/accounts.html", title="账号管理", accounts=rows, total=total, role=role, state_filter=status,
                statuses=STATUSES, roles=ROLE_CHOICES, counts=counts, scope_text=_scope_text, me=signed_in().id,
                page_no=page_no, more=total > page_no * PER_PAGE, here=_url("/admin/accounts", filters),
                prev_url=_url("/admin/accounts", {**filters, "page": page_no - 1 if page_no > 2 else ""}),
                next_url=_url("/admin/accounts", {**filters, "page": page_no + 1}))


def _account_form(values: dict[str, str], errors: FormErrors, status: int = 200) -> Any:
    return page("admin/account_form.html", status, title="新建账号", values=values, errors=errors,
                roles=ROLE_CHOICES, scopes=SCOPE_CHOICES, subdistricts=_subdistrict_choices(db_session()))


@bp.get("/admin/accounts/new")
@allow(ADMIN)
def new_account() -> Any:
    values = {"username": "", "display_name": "", "phone": "", "role": Role.COORDINATOR.value, "scope_type": "grid",
              "scope_codes": "", "volunteer_ref": "", "subdistrict": ""}
    return _account_form(values, FormErrors())


@bp.post("/admin/accounts/new")
@allow(ADMIN)
def create_account() -> Any:
    values = {name: form_text(name, 500) for name in ("username", "display_name", "phone", "role", "scope_type",
                                                       "scope_codes", "volunteer_ref", "subdistrict")}
    password = (request.form.get("password") or "")[:256]
    errors = FormErrors()
    # The users table's own limits (create_user leaves them to the caller, as the CLI does).
    if not values["username"]:
        errors["username"] = ["请输入用户名"]
    elif len(values["username"]) > 64:
        errors["username"] = ["用户名最多 64 个字符"]
    if len(values["display_name"]) > 100:
        errors["display_name"] = ["姓名最多 100 个字符"]
    def create() -> User:
        session = db_session()
        # A subdistrict's admin opens accounts of their own; the city's admins of the one chosen, or (none
        # chosen) the one the scope lies in, or a city account.
        into = (signed_in().subdistrict_id if not policy.city_wide(signed_in())
                else auth.subdistrict_id_of(session, values["subdistrict"]) if values["subdistrict"] else None)
        return auth.create_user(
            session, username=values["username"], password=password, role=values["role"],
            display_name=values["display_name"], scope_type=values["scope_type"] or None,
            scope_codes=split_list(values["scope_codes"]), volunteer_ref=values["volunteer_ref"] or None,
            phone=values["phone"], subdistrict_id=into)

    account, refused = attempt(create, rename=ACCOUNT_FIELDS) if not errors else (None, FormErrors())
    for name, messages in refused.items():
        errors.setdefault(name, []).extend(messages)
    if account is None or errors:
        return _account_form(values, errors, 422)
    flash(f"已新建账号 {account.username}（{ROLE_LABELS_ZH[account.role]}），请把初始密码当面告诉本人。", "ok")
    return redirect("/admin/accounts")


def _role_form(account: User, values: dict[str, str], errors: FormErrors, status: int = 200) -> Any:
    return page("admin/account_role.html", status, title=f"修改账号 {account.username} 的角色和范围",
                account=account, values=values, errors=errors, roles=ROLE_CHOICES, scopes=SCOPE_CHOICES,
                myself=account.id == signed_in().id)


@bp.get("/admin/accounts/<int:id_>/role")
@allow(ADMIN)
def edit_role(id_: int) -> Any:
    account = _get_account(id_)
    if not account.active:
        raise NotFound(f"账号 {account.username} 已停用，不能再修改")
    values = {"role": account.role, "scope_type": account.scope_type or "", "scope_codes": joined(account.scope_codes),
              "volunteer_ref": account.volunteer.ref if account.volunteer else ""}
    return _role_form(account, values, FormErrors())


@bp.post("/admin/accounts/<int:id_>/role")
@allow(ADMIN)
def change_role(id_: int) -> Any:
    account = _get_account(id_)
    if not account.active:
        raise NotFound(f"账号 {account.username} 已停用，不能再修改")
    values = {name: form_text(name, 500) for name in ("role", "scope_type", "scope_codes", "volunteer_ref")}
    try:  # one's own account is refused as a page (403), not as a field
        changed = auth.change_role(db_session(), account, signed_in(), role=values["role"],
                                   scope_type=values["scope_type"] or None,
                                   scope_codes=split_list(values["scope_codes"]),
                                   volunteer_ref=values["volunteer_ref"] or None)
    except InvalidData as exc:
        db_session().rollback()
        return _role_form(account, values, FormErrors.of(exc.fields, ACCOUNT_FIELDS), 422)
    flash(f"已修改账号 {changed.username} 的角色和范围：{ROLE_LABELS_ZH[changed.role]}"
          f"{'，' + _scope_text(changed) if changed.scope_codes else ''}。", "ok")
    return redirect("/admin/accounts")


@bp.get("/admin/accounts/<int:id_>/deactivate")
@allow(ADMIN)
def confirm_deactivate_account(id_: int) -> Any:
    account = _get_account(id_)
    if not account.active:
        raise NotFound(f"账号 {account.username} 已停用")
    name = f"{account.display_name or account.username}（{account.username}，{ROLE_LABELS_ZH[account.role]}）"
    refusal = "不能停用自己的账号。如需停用，请另一位管理员操作。" if account.id == signed_in().id else ""
    question = f"停用账号 {name}" if refusal else f"确定停用账号 {name}吗？"
    return page("admin/deactivate.html", title=f"停用账号 {account.username}", question=question,
                consequence="停用后此账号不能再登录，已登录的设备会立即退出；账号的记录保留。",
                action=f"/admin/accounts/{id_}/deactivate", back="/admin/accounts", refusal=refusal)


@bp.post("/admin/accounts/<int:id_>/deactivate")
@allow(ADMIN)
def deactivate_account(id_: int) -> Any:
    account = _get_account(id_)
    if not account.active:
        raise NotFound(f"账号 {account.username} 已停用")
    auth.deactivate_user(account, signed_in())  # refuses one's own account (403)
    flash(f"已停用账号 {account.username}。", "ok")
    return redirect("/admin/accounts")
