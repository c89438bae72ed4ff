"""Parsing requests the same way everywhere: 415 for a wrong content type, 400 for malformed JSON,
422 with reasons by field for a schema violation.

Bad input is refused here, at the root, before any view or query sees it (``install_input_checks``):
ids in the path beyond what the database holds are no match (404); text the database or the JSON encoder
cannot take — NUL (PostgreSQL refuses it in text), lone UTF-16 surrogates and invalid UTF-8 (neither can be
encoded back to UTF-8) — is a 422 naming the field, in the query string, form fields and JSON bodies alike.
Uploaded file content is binary and never inspected.
"""
from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Flask, request
from marshmallow import Schema
from marshmallow import ValidationError as InvalidFields
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import BadRequest, UnsupportedMediaType
from werkzeug.exceptions import NotFound as HTTPNotFound
from werkzeug.routing import IntegerConverter, Map, ValidationError

from core.errors import ApiError, InvalidData, NotFound

from .schemas import MAX_ID


class MalformedJson(ApiError):
    status = 400
    code = "malformed_json"
    message = "请求体不是有效的 JSON"


class BadQueryString(ApiError):
    status = 400
    code = "bad_request"
    message = "查询参数名含有无效字符"


# No request body of this service nests beyond three levels; the cap makes "too deep" one clear 400 whatever
# the stack depth at parse time (the parser itself gives up near 1,000 with a RecursionError).
MAX_JSON_DEPTH = 32

_NUL = "\x00"
_UNSAFE_TEXT = re.compile("[\x00\ud800-\udfff]")
NUL_MESSAGE = "不能包含空字符（\\u0000）"
INVALID_TEXT_MESSAGE = "含有无效的 Unicode 字符"
NOT_FINITE_MESSAGE = "数值超出范围"
UNKNOWN_FIELD = "未知字段"


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route is an id: at most ``MAX_ID`` unless the route says otherwise. A larger
    number names nothing: 404, where it used to overflow the database's query (500)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)

    def to_python(self, value: str) -> Any:
        try:
            return super().to_python(value)
        except ValidationError:
            # Not werkzeug's "no match": it answers 405 when a rule of the same path for another method was
            # tried first, so DELETE /grids/<huge> would claim DELETE is not allowed.
            raise HTTPNotFound() from None


def install_input_checks(app: Flask) -> None:
    """Bound every ``<int:…>`` of the URL map and check the text of every request once, before its view.

    Must run before the first route is added: werkzeug picks a rule's converter when the rule is added."""
    if any(True for _ in app.url_map.iter_rules()):
        raise RuntimeError("install_input_checks must run before any route is registered")
    app.url_map.converters["int"] = IdConverter
    app.before_request(check_request_text)


def _text_problem(text: str) -> str | None:
    found = _UNSAFE_TEXT.search(text)
    if found is None:
        return None
    return NUL_MESSAGE if found.group() == _NUL else INVALID_TEXT_MESSAGE


def _strict_utf8(raw: bytes) -> str | None:
    """A percent-encoded query-string part decoded strictly; None if it is not UTF-8. (werkzeug would keep
    the bad bytes percent-encoded, so a search for ``%ED%A0%80`` would quietly look for those nine characters.)"""
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return None


def check_request_text() -> None:
    """Refuse a request whose path, query string or form fields carry text no column can hold."""
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and _text_problem(value):
            raise NotFound()  # no code or name holds such characters, so nothing is there
    problems: dict[str, list[str]] = {}
    for pair in request.query_string.split(b"&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        name = _strict_utf8(raw_name)
        if name is None or _text_problem(name):
            raise BadQueryString()
        value = _strict_utf8(raw_value)
        problem = INVALID_TEXT_MESSAGE if value is None else _text_problem(value)
        if problem:
            problems.setdefault(name, []).append(problem)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        # A part may come without a name (werkzeug gives None): it is text like any other, named "".
        for name, value in request.form.items(multi=True):
            problem = _text_problem(name or "") or _text_problem(value or "")
            if problem:
                problems.setdefault(name or "", []).append(problem)
        for name, upload in request.files.items(multi=True):
            problem = _text_problem(upload.filename or "")  # the name is text; the content stays binary
            if problem:
                problems.setdefault(name or "", []).append(problem)
    if problems:
        raise InvalidData(fields=problems)


def _check_json(payload: Any) -> None:
    """Walk the body once (iteratively: its depth is the client's choice): too deep or a bad key is a 400,
    a string or number no column can hold is a 422 at its place, ``{"need": {"text": [...]}}``."""
    problems: dict[Any, Any] = {}
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(payload, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_JSON_DEPTH:
            raise MalformedJson("请求体嵌套过深")
        problem = None
        if isinstance(value, dict):
            for key, item in value.items():
                if _text_problem(key):
                    raise MalformedJson("请求体的字段名含有无效字符")
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(value))
        elif isinstance(value, str):
            problem = _text_problem(value)
        elif isinstance(value, float) and not math.isfinite(value):  # NaN, Infinity, 1e400
            problem = NOT_FINITE_MESSAGE
        if problem:
            node = problems
            for step in path[:-1]:
                node = node.setdefault(step, {})
            node.setdefault(path[-1] if path else "_schema", []).append(problem)
    if problems:
        raise InvalidData(fields=problems)


def json_object() -> dict[str, Any]:
    """The request's JSON object, unvalidated: 415 for another content type, 400 if malformed or nested too
    deep, 422 for text or numbers no column can hold (see ``_check_json``)."""
    if not request.is_json:
        raise UnsupportedMediaType()
    try:
        payload = request.get_json()
    except BadRequest:
        raise MalformedJson() from None
    except RecursionError:  # the parser's own limit, near 1,000 levels
        raise MalformedJson("请求体嵌套过深") from None
    if not isinstance(payload, dict):
        raise MalformedJson("请求体应为 JSON 对象")
    _check_json(payload)
    return payload


def json_body(schema: Schema, *, partial: bool = False) -> dict[str, Any]:
    """The request's JSON object loaded by ``schema`` (422 with reasons by field)."""
    loaded: dict[str, Any] = schema.load(json_object(), partial=partial)
    return loaded


def query_args(schema: Schema) -> dict[str, Any]:
    """Query-string arguments loaded by ``schema``; an argument it does not know, or one given
    twice (which of the two would count?), is a 422 naming it."""
    repeated = {key: ["参数只能给一次"] for key, values in request.args.lists() if len(values) > 1}
    if repeated:
        raise InvalidFields(repeated)
    loaded: dict[str, Any] = schema.load(request.args.to_dict())
    return loaded


def uploaded_file(field: str, missing: str) -> FileStorage:
    """The one file of a multipart upload, in ``field``: 415 for another content type; 422 naming any other
    field sent (the document lists only this one) or the file when it is missing (``missing`` says so)."""
    if not request.mimetype.startswith("multipart/form-data"):
        raise UnsupportedMediaType()
    problems = {name or "": [UNKNOWN_FIELD] for name in [*request.form, *request.files] if name != field}
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        problems[field] = [missing]
    if problems:
        raise InvalidData(fields=problems)
    assert upload is not None
    return upload
