"""What every page shares: rendering with the signed-in user and their menu, errors as pages, the
form habits (the reasons by field, the user's text kept), dates as people read them, the elderly
mode (长辈版).

A page view stays thin: read the form, load it with the API's own schema, call the service, redirect
on success or render the form again with the reasons (422). The app's unit of work commits a
success and rolls back any answer of 400 or more, so a refused form leaves nothing half-saved.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, flash, redirect, render_template, request, url_for
from flask import session as cookie_session
from marshmallow import ValidationError
from sqlalchemy import select
from werkzeug.wrappers import Response

from access.auth import current_user, signed_in
from access.guard import csrf_token
from access.policy import get_visible_need, own_buildings
from core.config import zone
from core.database import db_session
from core.errors import ApiError
from core.times import to_local, utcnow
from core.vocab import (
    CHANNEL_LABELS_ZH,
    ROLE_LABELS_ZH,
    SERVICE_LABELS_ZH,
    STAFF,
    STATUS_LABELS_ZH,
    URGENCY_LABELS_ZH,
    Role,
)
from models import Need, Subdistrict, User
from pools.needs import lock_need
from web.errors import HTML_ERRORS
from workflow.schemas import load_action
from workflow.service import apply_action

from .assets import asset_url

T = TypeVar("T")

# Where each role lands after signing in, and its menu (label, path).
HOME: Mapping[str, str] = {
    Role.RESIDENT: "/my/needs", Role.VOLUNTEER: "/tasks", Role.COORDINATOR: "/queue",
    Role.REVIEWER: "/review", Role.ADMIN: "/queue",
}
MENUS: Mapping[str, tuple[tuple[str, str], ...]] = {
    Role.RESIDENT: (("我的需求", "/my/needs"), ("提交需求", "/my/needs/new")),
    Role.VOLUNTEER: (("我的任务", "/tasks"),),
    Role.COORDINATOR: (("工作台", "/queue"), ("代居民登记", "/needs/new"), ("网格议事会", "/council"),
                       ("责任田", "/review/fields"), ("数据看板", "/dashboard")),
    Role.REVIEWER: (("审核", "/review"), ("网格议事会", "/council"), ("责任田", "/review/fields"), ("数据看板", "/dashboard")),
    Role.ADMIN: (("工作台", "/queue"), ("审核", "/review"), ("网格议事会", "/council"), ("责任田", "/review/fields"),
                 ("登记簿", "/admin"), ("数据看板", "/dashboard")),
}
# A Party member's own responsibility field (党员责任田), beside their tasks.
PARTY_MEMBER_MENU: tuple[tuple[str, str], ...] = (("我的责任田", "/field"),)
# A building head's or Party member's way to take down a household's need (民情收集).
TAKE_DOWN_MENU = (("代住户登记", "/field/need"),)
ELDER_KEY = "elder"  # the cookie session's flag of the elderly mode (长辈版)

# Status badges: a colour family per stage, always beside the words (colour is never the only signal).
BADGE: Mapping[str, str] = {
    "submitted": "wait", "triage": "wait", "proposed": "wait", "unmatched": "warn", "escalated": "warn",
    "accepted": "go", "approved": "go", "in_service": "go", "done": "done", "closed": "done", "cancelled": "off",
}


def install(app: Flask) -> None:
    """Template globals and filters, and errors outside /api/ answered as pages."""
    app.extensions[HTML_ERRORS] = error_page
    app.jinja_env.globals.update(csrf_token=csrf_token, menu=menu, elder_mode=elder_mode, asset_url=asset_url,
                                 works_in=works_in, role_label=role_label,
                                 SERVICE=SERVICE_LABELS_ZH, STATUS=STATUS_LABELS_ZH, URGENCY=URGENCY_LABELS_ZH,
                                 ROLE=ROLE_LABELS_ZH, CHANNEL=CHANNEL_LABELS_ZH, BADGE=BADGE)
    app.jinja_env.filters.update(when=when, day=day, hours=hours_text, percent=percent)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


def viewer() -> User | None:
    return current_user(required=False)


def works_in(user: User | None) -> str:
    """Where a staff account works, for the header of a city's deployment (several subdistricts): its
    subdistrict's name, or 全市 for the city's admins; nothing where there is one subdistrict."""
    if user is None or user.role not in STAFF:
        return ""
    session = db_session()
    if len(session.scalars(select(Subdistrict.id).limit(2)).all()) < 2:
        return ""
    own = session.get(Subdistrict, user.subdistrict_id) if user.subdistrict_id else None
    return own.name if own is not None else "全市"


def role_label(user: User) -> str:
    """An account's role as the pages name it: the city's admins are 市级管理员, not 街道管理员."""
    if user.role == Role.ADMIN and user.subdistrict_id is None and works_in(user) == "全市":
        return "市级管理员"
    return ROLE_LABELS_ZH.get(user.role, user.role)


def menu() -> tuple[tuple[str, str], ...]:
    user = viewer()
    if user is None:
        return ()
    if user.role == Role.VOLUNTEER:
        extra = PARTY_MEMBER_MENU if user.volunteer is not None and user.volunteer.party_member else ()
        if own_buildings(db_session(), user):
            extra += TAKE_DOWN_MENU
        return MENUS[Role.VOLUNTEER] + extra
    return MENUS.get(user.role, ())


def elder_mode() -> bool:
    return bool(cookie_session.get(ELDER_KEY))


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, user=viewer(), **context), status


# --- errors as pages ----------------------------------------------------------------------------

_TITLES = {400: "请求有误", 403: "无权访问", 404: "找不到该页面", 405: "不支持该操作", 409: "操作与当前状态冲突",
           413: "上传的内容太大", 422: "提交的内容有误", 429: "操作太频繁", 500: "服务器出错了"}


def error_page(status: int, code: str, message: str, fields: Any) -> Response | None:
    """The answer of a failed page request: the login page for a 401, else a page in words."""
    if status == 401:
        return redirect(url_for("account.login", next=safe_next(request.full_path)))
    body, _ = page("error.html", title=_TITLES.get(status, "出错了"), message=message, status=status,
                   fields=fields if isinstance(fields, Mapping) else None)
    response = Response(body, status=status, mimetype="text/html")
    return response


def safe_next(target: str | None) -> str | None:
    """A path of this site to return to after signing in; anything else (another host) is dropped."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target.rstrip("?") or None


# --- forms ---------------------------------------------------------------------------------------

class FormErrors(dict[str, list[str]]):
    """Reasons by field, flattened from a schema's (nested) messages to the form's field names."""

    @classmethod
    def of(cls, messages: Any, rename: Mapping[str, str] | None = None) -> FormErrors:
        out = cls()
        rename = rename or {}
        if isinstance(messages, Mapping):
            for key, value in messages.items():
                name = rename.get(str(key), str(key))
                out.setdefault(name, []).extend(_flatten(value))
        elif messages:
            out.setdefault("_form", []).extend(_flatten(messages))
        return out


def _flatten(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [m for v in value.values() for m in _flatten(v)]
    if isinstance(value, (list, tuple)):
        return [m for v in value for m in _flatten(v)]
    return [str(value)]


def attempt(work: Callable[[], T], rename: Mapping[str, str] | None = None) -> tuple[T | None, FormErrors]:
    """Run ``work``; a refusal (schema or domain) becomes reasons by field, and whatever it wrote so
    far is rolled back, so the page can render the form again."""
    try:
        return work(), FormErrors()
    except ValidationError as exc:
        db_session().rollback()
        return None, FormErrors.of(exc.normalized_messages(), rename)
    except ApiError as exc:
        db_session().rollback()
        errors = FormErrors.of(exc.fields, rename) if exc.fields else FormErrors()
        if not exc.fields:
            errors["_form"] = [exc.message]
        return None, errors


def act_and_return(work: Callable[[], Any], to: str, done: str) -> Response:
    """A button's action: on success say ``done``; on refusal say why; back to ``to`` either way."""
    _, errors = attempt(work)
    if errors:
        for messages in errors.values():
            for message in messages:
                flash(message, "error")
    else:
        flash(done, "ok")
    return redirect(to)


def take_action(need_id: int, payload: dict[str, Any]) -> Need:
    """A workflow action from a page, as the API takes it: the need as the user may see it (404
    otherwise), locked, the action's fields loaded by its own schema, then the workflow's move."""
    session = db_session()
    user = signed_in()
    need = lock_need(session, get_visible_need(session, user, need_id))
    action, fields = load_action(payload)
    return apply_action(session, need, action, user, **fields)


def form_text(name: str, limit: int = 4000) -> str:
    return (request.form.get(name) or "").strip()[:limit]


# --- how people read dates ---------------------------------------------------------------------

def when(stored: datetime | None) -> str:
    """A stored timestamp as 12-03 09:14 in the subdistrict's zone (with the year when not this year)."""
    if stored is None:
        return ""
    local = to_local(stored, zone())
    now = to_local(utcnow(), zone())
    return f"{local:%m-%d %H:%M}" if local.year == now.year else f"{local:%Y-%m-%d %H:%M}"


def day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value, zone()).date()
    return f"{value.year}年{value.month}月{value.day}日"


def hours_text(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{round(value * 60)} 分钟"
    if value < 48:
        return f"{value:.1f} 小时"
    return f"{value / 24:.1f} 天"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"
