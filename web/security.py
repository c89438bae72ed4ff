"""The app's edge, in one place: bad input refused at the root (``web.http.install_input_checks``) and the
security headers on every response, errors included.

- ``Content-Security-Policy``: only this origin's scripts, none inline (the Swagger UI page loads its
  initialisation from /api/docs/init.js); inline styles stay allowed because Swagger UI and the printable
  council agenda use them; no framing, no foreign ``<base>`` or form targets.
- ``X-Content-Type-Options``, ``X-Frame-Options`` (for browsers without ``frame-ancestors``), ``Referrer-Policy``.
- ``Server: sanku``: werkzeug's server only names itself (and its Python version) when the app did not.
- ``Cache-Control: no-store`` on everything — needs, contacts, reports, agendas, tokens are personal data
  and must not sit in a shared proxy or the browser's cache — except views marked ``@cacheable`` (the Swagger
  UI assets, the same files for everyone), which keep their own caching.
"""
from __future__ import annotations

from typing import TypeVar

from flask import Flask, Response, current_app, request

from .http import install_input_checks

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "img-src 'self' data:",  # Swagger UI's icons are data: URIs in its stylesheet
    "style-src 'self' 'unsafe-inline'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
))
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Server": "sanku",
}
CACHEABLE = "__cacheable__"

View = TypeVar("View")


def cacheable(view: View) -> View:
    """The view serves the same public bytes to everyone: keep the caching it sets instead of ``no-store``."""
    setattr(view, CACHEABLE, True)
    return view


def install_security_headers(app: Flask) -> None:
    """Called before the blueprints are registered: the input checks bound ``<int:…>`` with a URL converter,
    which werkzeug binds to each route as the route is added."""
    install_input_checks(app)
    app.after_request(add_security_headers)
    _development_server_keeps_its_version_to_itself()


def _development_server_keeps_its_version_to_itself() -> None:
    # werkzeug's development server (``flask run``) adds ``Server: Werkzeug/x Python/y`` to every answer,
    # whatever the app says; a caller has no business knowing versions to look up exploits for.
    from werkzeug.serving import WSGIRequestHandler

    def version_string(_handler: WSGIRequestHandler) -> str:
        return HEADERS["Server"]

    setattr(WSGIRequestHandler, "version_string", version_string)


def add_security_headers(response: Response) -> Response:
    response.headers.update(HEADERS)
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if not getattr(view, CACHEABLE, False):
        response.headers["Cache-Control"] = "no-store"
    return response
