"""/api/v1/openapi.json and a Swagger UI page served from the installed package's own assets (offline)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from .openapi import build_spec

bp = Blueprint("docs", __name__)

# validatorUrl: null — by default Swagger UI sends the spec's URL to validator.swagger.io and shows
# its badge, a call out of the subdistrict's network; the page must work offline.
_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>三库 API 文档</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#swagger-ui",
  validatorUrl: null});</script>
</body></html>"""


@bp.get("/api/v1/openapi.json")
def openapi_json() -> Any:
    return build_spec(current_app)


@bp.get("/api/docs")
def docs_page() -> Response:
    return Response(_PAGE, mimetype="text/html")


@bp.get("/api/docs/assets/<path:name>")
def docs_asset(name: str) -> Any:
    return send_from_directory(swagger_ui_path, name, max_age=86400)
