"""Sanku (三库): the application factory.

    flask --app app run            # the service
    flask --app app db upgrade     # build or migrate the database
    flask --app app seed-demo      # a demo subdistrict
"""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from database import Database, make_engine
from errors import register_error_handlers

ROOT = Path(__file__).resolve().parent
DEFAULT_SQLITE = ROOT / "instance" / "sanku.db"


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Configuration from the environment, then ``overrides`` (tests pass a mapping)."""
    env = os.environ
    config: dict[str, Any] = {
        "DATABASE_URL": env.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE}",
        "SECRET_KEY": env.get("SECRET_KEY") or "dev-only-change-me",
        "MAX_CONTENT_LENGTH": int(env.get("SANKU_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)),
        "CLASSIFIER_PATH": env.get("SANKU_CLASSIFIER_PATH") or str(ROOT / "instance" / "classifier.joblib"),
        "NOTIFY_WEBHOOK_URL": env.get("SANKU_NOTIFY_WEBHOOK_URL", ""),
        "REOPEN_DAYS": int(env.get("SANKU_REOPEN_DAYS", 7)),
        "AUTO_CLOSE_DAYS": int(env.get("SANKU_AUTO_CLOSE_DAYS", 7)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
    }
    config.update(overrides or {})
    return config


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(ROOT / "instance"))
    app.config.update(load_config(overrides))
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if app.config["DATABASE_URL"].startswith("sqlite:///") and ":memory:" not in app.config["DATABASE_URL"]:
        Path(app.config["DATABASE_URL"].removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    logging.basicConfig(level=logging.INFO)
    return app


def register_extensions(app: Flask) -> None:
    engine = app.config.get("ENGINE") or make_engine(app.config["DATABASE_URL"])
    Database(engine).init_app(app)


def register_blueprints(app: Flask) -> None:
    from pools.api import bp as pools_bp
    from pools.imports_api import bp as imports_bp
    from pools.matching_api import bp as matching_bp
    from web.docs import bp as docs_bp
    from web.transaction import install_unit_of_work
    from workflow.api import bp as workflow_bp
    from workflow.reports_api import bp as reports_bp

    for bp in (pools_bp, imports_bp, matching_bp, workflow_bp, reports_bp, docs_bp):
        app.register_blueprint(bp)
    install_unit_of_work(app)


def register_commands(app: Flask) -> None:
    from pools.cli import register as register_pool_commands
    from pools.matching_cli import register as register_matching_commands
    from workflow.cli import register as register_workflow_commands

    register_pool_commands(app)
    register_matching_commands(app)
    register_workflow_commands(app)
