"""The resident's pages (phone first): 我的需求, 提交需求, and a need's page that tells its story and
lets them cancel, confirm and rate, or reopen."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, request
from sqlalchemy import select

from access.audit import WHAT_ZH, access_log
from access.auth import signed_in
from access.policy import get_visible_need
from core.config import setting, zone
from core.database import db_session
from core.times import local_today
from core.vocab import URGENCY_LABELS_ZH, Action, NeedStatus, Role
from dispatch.addresses import locate_point
from intake.photos import MAX_PHOTO_BYTES, CleanPhoto, attach_photo, clean_photo, photos_of
from intake.service import submit_need
from models import Community, Grid, Need, User
from pools.schemas import NeedIn
from web.routes import allow
from workflow.service import allowed_for, audit_trail
from workflow.sla import load_targets

from .shell import FormErrors, act_and_return, attempt, form_text, page, take_action
from .story import tell

bp = Blueprint("resident", __name__)

# When a resident is free: a part of the day, as wall-clock hours in the subdistrict's zone.
PARTS_OF_DAY: dict[str, tuple[str, str, str] | None] = {
    "any": None, "morning": ("上午", "08:00", "12:00"), "afternoon": ("下午", "13:00", "18:00"),
    "evening": ("晚上", "18:00", "21:00"),
}
PART_CHOICES = [("any", "随时都可以"), *((k, f"{v[0]}（{v[1]}–{v[2]}）") for k, v in PARTS_OF_DAY.items() if v)]
URGENCY_CHOICES = [("normal", "一般"), ("high", "较急，这两天内"), ("urgent", "紧急，今天就要"), ("low", "不急")]
SHOWN = 100  # the newest needs on 我的需求


def grid_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Active grids grouped by community, for a picker that works without JavaScript."""
    rows = db_session().execute(select(Community.name, Grid.code, Grid.name).join(Grid.community)
                                .where(Grid.active.is_(True)).order_by(Community.code, Grid.code))
    groups: dict[str, list[tuple[str, str]]] = {}
    for community, code, name in rows:
        groups.setdefault(community, []).append((code, f"{name}（{code}）"))
    return list(groups.items())


def window_of(day_text: str, part: str) -> str | None:
    """The NeedIn window (ISO interval) of a day and a part of it; None: any time."""
    span = PARTS_OF_DAY.get(part)
    if span is None or not day_text:
        return None
    return f"{day_text}T{span[1]}/{day_text}T{span[2]}"


def check_when(day_text: str, part: str, today: date) -> FormErrors:
    errors = FormErrors()
    if part not in PARTS_OF_DAY:
        errors["part"] = ["请选择什么时候方便"]
    elif PARTS_OF_DAY[part] is not None:
        try:
            chosen = date.fromisoformat(day_text)
        except ValueError:
            errors["day"] = ["请选择哪一天方便（或选“随时都可以”）"]
        else:
            if chosen < today:
                errors["day"] = ["日期不能早于今天"]
            elif chosen > today + timedelta(days=90):
                errors["day"] = ["请选择三个月以内的日期"]
    return errors


@bp.get("/my/needs")
@allow(Role.RESIDENT)
def my_needs() -> Any:
    user = signed_in()
    needs = db_session().scalars(select(Need).where(Need.resident_id == user.id, Need.active.is_(True))
                                 .order_by(Need.created_at.desc(), Need.id.desc()).limit(SHOWN))
    return page("resident/needs.html", title="我的需求", needs=list(needs))


def _form_defaults(user: User) -> dict[str, str]:
    """Where and how to reach the resident: their home building, else as on their last need."""
    last = db_session().scalar(select(Need).where(Need.resident_id == user.id).order_by(Need.id.desc()).limit(1))
    home = user.building.name if user.building is not None else ""
    return {"text": "", "address": home or (last.address if last else ""),
            "grid": "" if home else (last.grid.code if last else ""), "urgency": "normal", "part": "any", "day": "",
            "contact": last.contact if last else ""}


def _form(values: dict[str, str], errors: FormErrors, status: int = 200) -> Any:
    today = local_today(zone())
    return page("resident/new.html", status, title="提交需求", values=values, errors=errors, grids=grid_choices(),
                parts=PART_CHOICES, urgencies=URGENCY_CHOICES, today=today.isoformat(),
                latest=(today + timedelta(days=90)).isoformat())


@bp.get("/my/needs/new")
@allow(Role.RESIDENT)
def new_need() -> Any:
    return _form(_form_defaults(signed_in()), FormErrors())


@bp.post("/my/needs/new")
@allow(Role.RESIDENT)
def submit() -> Any:
    values = {k: form_text(k) for k in ("text", "address", "grid", "urgency", "part", "day", "contact")}
    need, errors = need_from_form(values, signed_in())
    if need is None:
        # Plainer words than the schema's for the two fields a resident most often leaves empty.
        if "text" in errors and not values["text"]:
            errors["text"] = ["请写下您需要什么帮助"]
        if "grid" in errors and not values["grid"] and not values["address"]:
            errors.pop("grid")
            errors["address"] = ["请写下您住的小区和楼栋（如“金碧花园5栋”），或选择网格"]
        return _form(values, errors, 422)
    return redirect(f"/my/needs/{need.id}/submitted")


def need_from_form(values: dict[str, str], user: User) -> tuple[Need | None, FormErrors]:
    """A need from the submission form (the resident's, or staff's on a resident's behalf with its
    ``channel``): every field checked at once by the API's schema, then submitted with its photo."""
    errors = check_when(values["day"], values["part"], local_today(zone()))
    body = {"text": values["text"], "grid": values["grid"] or None, "address": values.get("address") or None,
            "urgency": values["urgency"] or "normal",
            "window": window_of(values["day"], values["part"])}
    for name in ("contact", "channel", "resident_name", "resident_phone"):  # the ones this form has
        if name in values:
            body[name] = values[name]
    photo, refused = read_photo()
    errors.update(refused)
    snapshot = photo is not None and photo.position is not None and not body["grid"] and not body["address"]
    if snapshot:  # a photo taken where the problem is: its position says where
        assert photo is not None and photo.position is not None
        point = locate_point(db_session(), *photo.position)
        body["grid"] = point.grid if point is not None else None
    loaded, refused = attempt(lambda: NeedIn().load(body), rename={"window": "day"})
    errors.update(refused)
    need = None
    if not errors:
        data = dict(loaded or {})
        if snapshot and photo is not None:
            data["position"] = photo.position
        need, refused = attempt(lambda: enter(data, photo, user), rename={"window": "day"})
        errors.update(refused)
    if need is None and photo is not None and "photo" not in errors:
        errors["photo"] = ["照片没问题，但页面重新打开后需要再选一次"]
    return need, errors


def read_photo() -> tuple[CleanPhoto | None, FormErrors]:
    """The form's optional photo, checked and cleaned (``intake.photos``), or why it cannot be taken."""
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        return None, FormErrors()
    data = upload.read(MAX_PHOTO_BYTES + 1)
    return attempt(lambda: clean_photo(data))


def enter(data: dict[str, Any], photo: CleanPhoto | None, user: User) -> Need:
    """A need submitted from a form, with its photo if one came."""
    session = db_session()
    need = submit_need(session, data, user)
    if photo is not None:
        attach_photo(session, need, photo, user)
    return need


@bp.get("/my/needs/<int:id_>/submitted")
@allow(Role.RESIDENT)
def submitted(id_: int) -> Any:
    need = get_visible_need(db_session(), signed_in(), id_)
    targets = load_targets()
    return page("resident/submitted.html", title="需求已提交", need=need, match_hours=targets.match_for(need),
                close_hours=targets.close_for(need))


def _need_page(need: Need, errors: FormErrors | None = None, values: dict[str, str] | None = None,
               status: int = 200) -> Any:
    user = signed_in()
    session = db_session()
    allowed = allowed_for(need, user.role)
    return page("resident/need.html", status, title=f"需求 {need.ref}", need=need, allowed=allowed,
                photos=photos_of(session, need),
                story=tell(need, audit_trail(session, need), for_resident=True), errors=errors or FormErrors(),
                values=values or {}, reopen_days=setting("REOPEN_DAYS"), urgency=URGENCY_LABELS_ZH,
                looks=access_log(session, need), what=WHAT_ZH)


@bp.get("/my/needs/<int:id_>")
@allow(Role.RESIDENT)
def need_page(id_: int) -> Any:
    return _need_page(get_visible_need(db_session(), signed_in(), id_))


@bp.get("/my/needs/<int:id_>/cancel")
@allow(Role.RESIDENT)
def cancel_page(id_: int) -> Any:
    need = get_visible_need(db_session(), signed_in(), id_)
    return page("resident/cancel.html", title="撤销需求", need=need, errors=FormErrors())


@bp.post("/my/needs/<int:id_>/cancel")
@allow(Role.RESIDENT)
def cancel(id_: int) -> Any:
    reason = form_text("reason", 1000)
    return act_and_return(lambda: take_action(id_, {"action": Action.CANCEL, "reason": reason or "居民撤销"}),
                          f"/my/needs/{id_}", "需求已撤销。如需帮助，可以随时重新提交。")


@bp.post("/my/needs/<int:id_>/confirm")
@allow(Role.RESIDENT)
def confirm(id_: int) -> Any:
    rating_text, comment = form_text("rating", 8), form_text("comment", 1000)
    rating: Any = int(rating_text) if rating_text.isdigit() else (rating_text or None)
    payload = {"action": Action.CONFIRM, "reason": comment}
    if rating is not None:
        payload["rating"] = rating
    need, errors = attempt(lambda: take_action(id_, payload), rename={"reason": "comment"})
    if need is None:
        fresh = get_visible_need(db_session(), signed_in(), id_)
        return _need_page(fresh, errors, {"rating": rating_text, "comment": comment}, 422)
    flash("谢谢您的评价，需求已办结。", "ok")
    return redirect(f"/my/needs/{id_}")


@bp.post("/my/needs/<int:id_>/reopen")
@allow(Role.RESIDENT)
def reopen(id_: int) -> Any:
    reason = form_text("reason", 1000)
    return act_and_return(lambda: take_action(id_, {"action": Action.REOPEN, "reason": reason or "居民重新打开"}),
                          f"/my/needs/{id_}", "需求已重新打开，工作人员会再次为您匹配。")


# What a resident reads beside their need's status: what happens next.
NEXT_STEP: dict[str, str] = {
    NeedStatus.SUBMITTED: "正在为您寻找合适的服务方。", NeedStatus.TRIAGE: "工作人员正在确认该由哪类服务办理。",
    NeedStatus.PROPOSED: "已找到服务方，等待对方确认。", NeedStatus.ACCEPTED: "服务方已接单，等待网格党支部审核。",
    NeedStatus.APPROVED: "服务方会按约定时间为您服务。", NeedStatus.IN_SERVICE: "服务正在进行。",
    NeedStatus.DONE: "服务方说已经完成，请您确认并评价。", NeedStatus.CLOSED: "需求已办结。",
    NeedStatus.UNMATCHED: "暂时没有合适的服务方，工作人员会继续协调。",
    NeedStatus.ESCALATED: "已提交网格议事会商议解决。", NeedStatus.CANCELLED: "需求已撤销。",
}
