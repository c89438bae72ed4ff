"""Deny by default: before any view runs, the route's declared access (``web.routes``) is enforced,
and a write that a browser could have been tricked into sending is refused.

- A route that declares nothing is refused (and logged), so forgetting is never an open door; a
  ``@public`` route lets anyone in; any other asks for a signed-in user of one of its roles (401
  without a login, 403 for another role).
- Cross-site requests: a write whose ``Origin`` (or, without one, ``Referer``) is another site is
  refused; a write signed in by the login cookie must also carry the session's CSRF token (header
  ``X-CSRF-Token`` or form field ``csrf_token``). Bearer tokens are never sent by a browser on its
  own, so requests signed in with one need neither. A form post (urlencoded or multipart, what any
  site can make a browser send) carries the token even to a public route such as the login page, unless the
  route takes its credential in the body (``@public_with_key``: Open311's ``api_key``).
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, request
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms import ValidationError

from core.config import setting
from core.errors import Forbidden
from web.routes import access_of

from .auth import signed_in, signed_in_by_cookie

log = logging.getLogger(__name__)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


class CrossSiteRequest(Forbidden):
    code = "csrf_failed"
    message = "请求来源无法确认，请刷新页面后重试"


def install_access_guard(app: Flask) -> None:
    @app.before_request
    def _enforce_route_access() -> None:
        if request.endpoint is None:  # no route matched: Flask answers 404 or 405
            return
        view = app.view_functions.get(request.endpoint)
        rule = access_of(view)
        if rule is None:
            log.error("route %s declares no access; refused", request.endpoint)
            raise Forbidden("该接口未声明访问权限")
        writes = request.method not in SAFE_METHODS
        if writes:
            _refuse_other_sites()
        if rule.public:
            # No login to ride on, but a form any site can post (the login page's): its token all the same.
            if writes and _browser_form() and not request.headers.get("Authorization") and not rule.key_in_body:
                _require_csrf_token()
            return
        user = signed_in()
        if user.role not in rule.roles:
            raise Forbidden()
        if writes and signed_in_by_cookie():
            _require_csrf_token()


def _browser_form() -> bool:
    return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _refuse_other_sites() -> None:
    claimed = request.headers.get("Origin") or request.headers.get("Referer")
    if claimed and _origin(claimed) != _origin(request.host_url):
        log.warning("cross-site %s %s from %s refused", request.method, request.path, claimed)
        raise CrossSiteRequest()


def _require_csrf_token() -> None:
    token = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    try:
        validate_csrf(token, time_limit=int(setting("TOKEN_TTL_SECONDS")))
    except ValidationError:
        raise CrossSiteRequest() from None


def csrf_token() -> str:
    """The token a page or script signed in by cookie sends back with its writes."""
    return str(generate_csrf())
