"""Parsing requests the same way everywhere: 415 for a wrong content type, 400 for malformed JSON,
422 with reasons by field for a schema violation."""
from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from core.errors import ApiError


class MalformedJson(ApiError):
    status = 400
    code = "malformed_json"
    message = "请求体不是有效的 JSON"


def json_object() -> dict[str, Any]:
    """The request's JSON object, unvalidated: 415 for another content type, 400 if malformed."""
    if not request.is_json:
        raise UnsupportedMediaType()
    try:
        payload = request.get_json()
    except BadRequest:
        raise MalformedJson() from None
    if not isinstance(payload, dict):
        raise MalformedJson("请求体应为 JSON 对象")
    return payload


def json_body(schema: Schema, *, partial: bool = False) -> dict[str, Any]:
    """The request's JSON object loaded by ``schema`` (422 with reasons by field)."""
    loaded: dict[str, Any] = schema.load(json_object(), partial=partial)
    return loaded


def query_args(schema: Schema) -> dict[str, Any]:
    """Query-string arguments loaded by ``schema``; an argument it does not know is a 422."""
    return schema.load(request.args.to_dict())
