"""/api/v1/openapi.json and a Swagger UI page served from the installed package's own assets (offline)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from .openapi import build_spec
from .routes import public
from .security import cacheable

bp = Blueprint("docs", __name__)

# The page has no inline script, so it works under the Content-Security-Policy (web.security) that allows
# only this origin's scripts: Swagger UI is started by /api/docs/init.js.
_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>三库 API 文档</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body></html>"""

# validatorUrl: null — by default Swagger UI sends the spec's URL to validator.swagger.io and shows
# its badge, a call out of the subdistrict's network; the page must work offline.
_INIT_JS = """window.ui = SwaggerUIBundle({url: "/api/v1/openapi.json", dom_id: "#swagger-ui",
  validatorUrl: null});
"""


_INDEX = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>三库 Sanku</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:40rem;margin:2rem auto;
padding:0 1rem;line-height:1.6}a{color:#b00020}</style></head><body>
<h1>三库 · 网格党建资源匹配</h1>
<p>政府资源库、社会志愿库、需求库，按网格匹配四项服务。</p>
<ul><li><a href="/api/docs">API 文档（Swagger UI）</a></li>
<li><a href="/api/v1/openapi.json">OpenAPI 文档（JSON）</a></li>
<li><a href="/api/v1/grids">网格列表</a></li></ul>
</body></html>"""


@bp.get("/api")
@public
def index() -> Response:
    return Response(_INDEX, mimetype="text/html")


@bp.get("/api/v1/openapi.json")
@public
def openapi_json() -> Any:
    return build_spec(current_app)


@bp.get("/api/docs")
@public
def docs_page() -> Response:
    return Response(_PAGE, mimetype="text/html")


@bp.get("/api/docs/init.js")
@public
def docs_init() -> Response:
    return Response(_INIT_JS, mimetype="text/javascript")


@bp.get("/api/docs/assets/<path:name>")
@public
@cacheable
def docs_asset(name: str) -> Any:
    return send_from_directory(swagger_ui_path, name, max_age=86400)
