"""The pages' own files (/static/…) and the front-end packages installed from npm (/static/vendor/…),
served by the app itself: the intranet has no CDN. Each URL carries the file's hash, so browsers keep
it for a year and a new release is fetched at once."""
from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, abort, send_file

from core.config import ROOT
from web.routes import public
from web.security import cacheable

bp = Blueprint("assets", __name__)

STATIC = Path(__file__).resolve().parent / "static"
NODE_MODULES = ROOT / "node_modules"
# The npm packages the pages use (package.json; installed by `make install`), by the name pages load.
VENDOR: dict[str, Path] = {
    "echarts.min.js": NODE_MODULES / "echarts" / "dist" / "echarts.min.js",
}
YEAR = 365 * 24 * 3600


@cache
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def asset_url(name: str) -> str:
    """/static/app.css?v=<hash> (or /static/vendor/… for an npm package's file)."""
    path = VENDOR.get(name.removeprefix("vendor/")) if name.startswith("vendor/") else STATIC / name
    version = _digest(path) if path is not None and path.is_file() else "missing"
    return f"/static/{name}?v={version}"


def vendor_available(name: str) -> bool:
    return VENDOR[name].is_file()


def _send(path: Path | None) -> Response:
    if path is None or not path.is_file():
        abort(404)
    return send_file(path, max_age=YEAR, conditional=True)


@bp.get("/static/vendor/<name>")
@public
@cacheable
def vendor(name: str) -> Response:
    return _send(VENDOR.get(name))


@bp.get("/static/<name>")
@public
@cacheable
def static(name: str) -> Response:
    path = (STATIC / name).resolve()
    return _send(path if path.parent == STATIC else None)
