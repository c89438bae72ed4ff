"""The OpenAPI document, generated from the routes, their marshmallow schemas and their access.

A view says what it takes and gives with ``@documented(...)`` and who may call it with
``@public`` / ``@allow(...)`` (``web.routes``); the spec walks the URL map, so a route cannot be
forgotten and a schema cannot drift from its documentation.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin, resolver
from flask import Flask
from marshmallow import Schema

from .routes import access_of

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": True}}}},
}
# A body that is one of several schemas, chosen by one of its properties: {property: {value: schema}}.
OneOf = Mapping[str, Mapping[str, type[Schema]]]


def documented(summary: str, *, body: type[Schema] | Schema | OneOf | None = None,
               response: type[Schema] | None = None,
               query: type[Schema] | None = None, status: int = 200, many: bool = False, paged: bool = False,
               tag: str | None = None, content_type: str = "application/json",
               limited: bool = False, unavailable: bool = False) -> Callable[[Any], Any]:
    """``limited``: a read with a rate limit of its own (429 past it), documented as such;
    ``unavailable``: a probe that answers 503 when a dependency is down."""
    def mark(view: Any) -> Any:
        view.__openapi__ = dict(summary=summary, body=body, response=response, query=query, status=status,
                                many=many, paged=paged, tag=tag, content_type=content_type, limited=limited,
                                unavailable=unavailable)
        return view
    return mark


def _flask_path(rule: str) -> tuple[str, list[str]]:
    # Views name their argument id_ (id is a builtin); the document says id.
    names = [n.rstrip("_") for n in re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule)]
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+?)_?>", r"{\1}", rule), names


def _schema_name(schema: Any) -> str:
    """A schema's name in the document; a partial one (the body of a PATCH) is ``<name>Patch``:
    it has the same fields, none of them required."""
    name = str(resolver(schema))
    return f"{name}Patch" if isinstance(schema, Schema) and schema.partial else name


def _body_schema(spec: APISpec, body: Any) -> Any:
    if not isinstance(body, Mapping):
        return body
    [(prop, choices)] = body.items()
    refs = {}
    for value, schema in choices.items():
        name = resolver(schema)
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
        refs[value] = f"#/components/schemas/{name}"
    return {"oneOf": [{"$ref": r} for r in refs.values()],
            "discriminator": {"propertyName": prop, "mapping": refs}}


ERROR_RESPONSE = {"description": "错误（统一的错误结构）",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _error_statuses(method: str, meta: dict[str, Any], access: Any) -> list[int]:
    """Every error status the operation can answer, each in the one envelope."""
    codes = {400, 404, 422}  # malformed, a record that does not exist, invalid by field
    if access is None or not access.public or method in WRITES:
        codes |= {401, 403}  # no or a bad login, another role; writes: a cross-site request
    if method in WRITES:
        codes |= {409, 429}  # the state moved on; rate limits (sign-in, the classifier)
    if meta.get("limited"):
        codes.add(429)
    if meta.get("unavailable"):
        codes.add(503)
    if meta["body"] is not None:
        codes |= {413, 415}  # too large; not JSON (or not a multipart upload)
    return sorted(codes)


def build_spec(app: Flask) -> dict[str, Any]:
    spec = APISpec(title="三库 Sanku API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
                   info={"description": "网格党建“三库”资源匹配服务：网格、政府资源库、社会志愿库、需求库与匹配。"})
    spec.components.schema("Error", ERROR_SCHEMA)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        meta = getattr(view, "__openapi__", None)
        if meta is None:
            continue
        access = access_of(view)
        path, names = _flask_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {"summary": meta["summary"], "operationId": rule.endpoint.replace(".", "_"),
                                  "tags": [meta["tag"] or rule.endpoint.split(".")[0]],
                                  # Public routes need no token; the others say which roles may call them.
                                  "security": [] if access is None or access.public else [{"bearer": []}]}
            if access is not None and not access.public:
                op["description"] = "需要登录；角色：" + "、".join(sorted(access.roles))
            params: list[dict[str, Any]] = [
                {"in": "path", "name": n, "required": True, "schema": {"type": "integer" if "int:" in rule.rule else "string"}}
                for n in names]
            if meta["query"] is not None:
                params.append({"in": "query", "schema": meta["query"]})
            if params:
                op["parameters"] = params
            if meta["body"] is not None:
                op["requestBody"] = {"required": True, "content": {
                    meta["content_type"]: {"schema": _body_schema(spec, meta["body"])}}}
            ok: dict[str, Any] = {"description": "成功"}
            if meta["response"] is not None:
                schema: Any = meta["response"]
                if meta["paged"]:
                    schema = {"type": "object", "properties": {
                        "items": {"type": "array", "items": meta["response"]}, "page": {"type": "integer"},
                        "per_page": {"type": "integer"}, "total": {"type": "integer"}}}
                elif meta["many"]:
                    schema = {"type": "object", "properties": {"items": {"type": "array", "items": meta["response"]}}}
                ok["content"] = {"application/json": {"schema": schema}}
            op["responses"] = {str(meta["status"]): ok,
                               **{str(code): ERROR_RESPONSE for code in _error_statuses(method, meta, access)}}
            paths.setdefault(path, {})[method.lower()] = op
    for path, ops in paths.items():
        spec.path(path=path, operations=ops)
    return spec.to_dict()
