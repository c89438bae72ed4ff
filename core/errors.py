"""The domain's exceptions. Services raise them; ``web.errors`` turns each into the one JSON error
envelope, and the CLI prints its message. No Flask here: jobs and the CLI raise them too.

    {"error": {"code": "validation_error", "message": "…", "fields": {"grid": ["未知网格编码 G999"]}}}

``fields`` holds reasons that belong to a field; ``extra`` adds keys beside code and message.
"""
from __future__ import annotations

from typing import Any


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
