"""One JSON error shape for every failure:

    {"error": {"code": "validation_error", "message": "…", "fields": {"grid": ["未知网格编码 G999"]}}}

Services raise the domain exceptions below; the HTTP layer turns them (and marshmallow's and
werkzeug's) into the envelope. ``fields`` appears only where a reason belongs to a field.
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    status = 400
    code = "bad_request"
    message = "请求无效"

    def __init__(self, message: str | None = None, *, fields: dict[str, Any] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.fields = fields
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.extra)
        return {"error": body}


class InvalidData(ApiError):
    """Well-formed but invalid: a schema violation or an unknown code. Reasons by field."""
    status = 422
    code = "validation_error"
    message = "提交的数据无效"


class NotFound(ApiError):
    status = 404
    code = "not_found"
    message = "找不到该记录"


class Conflict(ApiError):
    status = 409
    code = "conflict"
    message = "与当前状态冲突"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"
    message = "请先登录"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"
    message = "无权进行此操作"


class TooManyRequests(ApiError):
    status = 429
    code = "too_many_requests"
    message = "尝试次数过多，请稍后再试"


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


def _envelope(status: int, code: str, message: str, fields: Any = None) -> tuple[Any, int]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return jsonify({"error": body}), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):  # type: ignore[no-untyped-def]
        return jsonify(exc.to_dict()), exc.status

    @app.errorhandler(ValidationError)
    def _schema_error(exc: ValidationError):  # type: ignore[no-untyped-def]
        return _envelope(422, InvalidData.code, InvalidData.message, exc.normalized_messages())

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        status = exc.code or 500
        code, message = _HTTP_MESSAGES_ZH.get(status, ("http_error", exc.description or exc.name))
        return _envelope(status, code, message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error")
        return _envelope(500, "internal_error", "服务器内部错误，请稍后再试")
