"""A request id for every request: the caller's ``X-Request-ID`` when it is a sane token (a proxy or a
client that already names the request), else a new one; set for the logs (``core.logs``), handed to
any task the request queues, and answered in the response's ``X-Request-ID``."""
from __future__ import annotations

import re

from flask import Flask, Response, g, request

from core.logs import REQUEST_ID, new_request_id

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._-]{8,64}")


def install_request_id(app: Flask) -> None:
    @app.before_request
    def _take_request_id() -> None:
        given = request.headers.get(HEADER, "")
        rid = given if _SANE.fullmatch(given) else new_request_id()
        g.request_id_token = REQUEST_ID.set(rid)

    @app.after_request
    def _answer_request_id(response: Response) -> Response:
        rid = REQUEST_ID.get()
        if rid:
            response.headers[HEADER] = rid
        return response

    @app.teardown_request
    def _forget_request_id(_exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            REQUEST_ID.reset(token)
