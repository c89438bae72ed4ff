"""Signing in and out on the pages, the first page of each role, and the elderly mode (长辈版)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, request
from flask import session as cookie_session

from access import auth
from core.errors import ApiError
from web.routes import SIGNED_IN, allow, public

from .shell import ELDER_KEY, HOME, FormErrors, form_text, page, safe_next, viewer

bp = Blueprint("account", __name__, template_folder="templates")  # every page's templates


@bp.get("/")
@public
def home() -> Any:
    user = viewer()
    if user is None:
        return redirect("/login")
    return redirect(HOME.get(user.role, "/login"))


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return page("login.html", next=target, username="", errors=FormErrors())
    username, password = form_text("username", 64), request.form.get("password") or ""
    errors = FormErrors()
    if not username:
        errors["username"] = ["请输入用户名或手机号"]
    if not password:
        errors["password"] = ["请输入密码"]
    if not errors:
        try:
            user = auth.authenticate(username, password[:256])
        except ApiError as exc:
            errors["password"] = [exc.message]
        else:
            elder = cookie_session.get(ELDER_KEY)
            auth.login_session(user)
            if elder:
                cookie_session[ELDER_KEY] = True
            return redirect(target or HOME.get(user.role, "/"))
    return page("login.html", 422, next=target, username=username, errors=errors)


@bp.post("/logout")
@allow(*SIGNED_IN)
def logout() -> Any:
    auth.logout_session()
    return redirect("/login")


@bp.post("/display-mode")
@public
def display_mode() -> Any:
    """Switch the elderly mode (larger text and targets) on or off, and go back where one was."""
    cookie_session[ELDER_KEY] = request.form.get("elder") == "1"
    return redirect(safe_next(request.form.get("back")) or "/")
