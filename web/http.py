"""Parsing requests the same way everywhere: 415 for a wrong content type, 400 for malformed JSON,
422 with reasons by field for a schema violation."""
from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from errors import ApiError


class MalformedJson(ApiError):
    status = 400
    code = "malformed_json"
    message = "请求体不是有效的 JSON"


def json_body(schema: Schema, *, partial: bool = False) -> dict[str, Any]:
    if not request.is_json:
        raise UnsupportedMediaType()
    try:
        payload = request.get_json()
    except BadRequest:
        raise MalformedJson() from None
    if not isinstance(payload, dict):
        raise MalformedJson("请求体应为 JSON 对象")
    return schema.load(payload, partial=partial)


def query_args(schema: Schema) -> dict[str, Any]:
    """Query-string arguments loaded by ``schema``; an argument it does not know is a 422."""
    return schema.load(request.args.to_dict())


def page_body(page: Any, out: Schema) -> dict[str, Any]:
    return {"items": out.dump(page.items, many=True), "page": page.page, "per_page": page.per_page,
            "total": page.total}
