"""Deny by default: before any view runs, the route's declared access (``web.routes``) is enforced.

A route that declares nothing is refused (and logged), so forgetting is never an open door; a
``@public`` route lets anyone in; any other asks for a signed-in user of one of its roles (401
without a login, 403 for another role).
"""
from __future__ import annotations

import logging

from flask import Flask, request

from core.errors import Forbidden
from web.routes import access_of

from .auth import signed_in

log = logging.getLogger(__name__)


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
        if rule.public:
            return
        user = signed_in()
        if user.role not in rule.roles:
            raise Forbidden()
