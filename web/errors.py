"""One JSON error shape for every failure, whatever raised it: a domain exception (``core.errors``),
marshmallow's field errors, werkzeug's HTTP errors, or a bug (a logged 500).

    {"error": {"code": "validation_error", "message": "…", "fields": {"grid": ["未知网格编码 G999"]}}}
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from core.errors import ApiError, InvalidData

log = logging.getLogger(__name__)

_HTTP_MESSAGES_ZH = {
    400: ("bad_request", "请求格式错误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "无权进行此操作"),
    404: ("not_found", "找不到该资源"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "与当前状态冲突"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型，请使用 application/json"),
    429: ("too_many_requests", "请求过于频繁"),
}


# Pages (a room above this one) answer their own errors as HTML: they register a renderer here,
# ``renderer(status, code, message, fields) -> Response | None``, asked for every request outside /api/
# (the page's status may differ: a 401 redirects to the login page).
HTML_ERRORS = "sanku.html_errors"


def _envelope(status: int, code: str, message: str, fields: Any = None,
              extra: dict[str, Any] | None = None) -> tuple[Response, int]:
    if not request.path.startswith("/api/") and (renderer := current_app.extensions.get(HTML_ERRORS)):
        try:
            page = renderer(status, code, message, fields)
        except Exception:  # a page that cannot render its own error still answers, in JSON
            log.exception("error page failed")
            page = None
        if page is not None:
            return page, page.status_code
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    body.update(extra or {})
    return jsonify({"error": body}), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int]:
        return _envelope(exc.status, exc.code, exc.message, exc.fields, exc.extra)

    @app.errorhandler(ValidationError)
    def _schema_error(exc: ValidationError) -> tuple[Response, int]:
        return _envelope(422, InvalidData.code, InvalidData.message, exc.normalized_messages())

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        code, message = _HTTP_MESSAGES_ZH.get(status, ("http_error", exc.description or exc.name))
        response, status = _envelope(status, code, message)
        # Keep what the exception says beyond its body: Allow on a 405, Retry-After on a 429.
        response.headers.extend([(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"])
        return response, status

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return _envelope(500, "internal_error", "服务器内部错误，请稍后再试")
