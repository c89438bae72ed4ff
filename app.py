"""Sanku (三库): the application factory.

    flask --app app run            # the service
    flask --app app db upgrade     # build or migrate the database
    flask --app app seed-demo      # a demo subdistrict
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from core.config import INSTANCE, load_config
from core.database import Database, make_engine
from core.logs import configure_logging


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """The app, configured from the environment (``core.config``) and then ``overrides``."""
    config = load_config(overrides)
    # No static folder yet: every route, static files included, must declare who may call it.
    app = Flask(__name__, instance_path=str(INSTANCE), static_folder=None)
    app.config.update(config)
    app.extensions["app_factory"] = create_app  # for whoever must build another (the simulation, per database)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    register_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def warm_up(app: Flask) -> None:
    """Load now what the first requests would otherwise wait for: the classifier (a submission's first
    use loads or trains it) and the ORM's mappers. A production worker calls this before it serves
    (``gunicorn.conf.py``)."""
    from sqlalchemy.orm import configure_mappers

    from dispatch.classifier import current_model
    configure_mappers()
    with app.app_context():
        current_model()


def register_logging(app: Flask) -> None:
    """One line per event on stderr (text, or JSON with ``LOG_FORMAT=json``), set up once; tests keep
    pytest's own capture."""
    if app.testing:
        return
    configure_logging(str(app.config["LOG_LEVEL"]), str(app.config["LOG_FORMAT"]))


def register_extensions(app: Flask) -> None:
    from core import crypto
    crypto.configure(app.config["DATA_KEYS"], app.config["LOOKUP_KEY"])  # residents' contacts at rest
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = app.config.get("ENGINE") or make_engine(url, pool_recycle=app.config["DB_POOL_RECYCLE_SECONDS"])
    Database(engine).init_app(app)
    from access.limits import init_limits
    init_limits(app)
    from jobs.queue import init_celery
    init_celery(app)
    if app.config["PROXY_COUNT"]:
        # Behind a reverse proxy: the caller's address and scheme are the ones it reports.
        hops = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]


def register_blueprints(app: Flask) -> None:
    from access.api import bp as access_bp
    from access.audit import install_read_audit
    from access.guard import install_access_guard
    from dispatch.api import bp as dispatch_bp
    from intake.api import bp as intake_bp
    from intake.recurring_api import bp as recurring_bp
    from intake.responsibility_api import bp as responsibility_bp
    from jobs.api import bp as jobs_bp
    from jobs.pages import bp as job_pages_bp
    from open311.api import bp as open311_bp
    from pools.api import bp as pools_bp
    from privacy.api import bp as privacy_bp
    from web.docs import bp as docs_bp
    from web.health import bp as health_bp
    from web.health import install_metrics
    from web.request_id import install_request_id
    from web.security import install_security_headers
    from web.transaction import install_unit_of_work
    from workflow.api import bp as workflow_bp
    from workflow.reports_api import bp as reports_bp

    install_request_id(app)  # first: every later hook and log line of the request carries its id
    install_security_headers(app)  # first: it bounds <int:…> ids with a URL converter, bound as each route is added
    install_metrics(app)
    for bp in (access_bp, pools_bp, intake_bp, dispatch_bp, recurring_bp, responsibility_bp, workflow_bp, reports_bp,
               docs_bp, open311_bp, privacy_bp, health_bp, jobs_bp, job_pages_bp):
        app.register_blueprint(bp)
    from pages import register as register_pages
    register_pages(app)
    install_access_guard(app)
    install_read_audit(app)  # before the unit of work: Flask runs after_request hooks last-registered first
    install_unit_of_work(app)


def register_error_handlers(app: Flask) -> None:
    from web.errors import register_error_handlers as register
    register(app)


def register_commands(app: Flask) -> None:
    from access.cli import register as register_access
    from backup.cli import register as register_backup
    from demo.cli import register as register_demo
    from dispatch.cli import register as register_dispatch
    from intake.cli import register as register_intake
    from intake.recurring_cli import register as register_recurring
    from intake.responsibility_cli import register as register_responsibility
    from migrations.cli import register as register_migrations
    from migrations.runner import known_revisions
    from open311.cli import register as register_open311
    from privacy.cli import register as register_privacy
    from simulation.cli import register as register_simulation
    from workflow.cli import register as register_workflow

    for register in (register_migrations, register_access, register_intake, register_recurring,
                     register_responsibility, register_dispatch, register_workflow, register_demo, register_open311,
                     register_privacy, register_simulation):
        register(app)
    register_backup(app, known_revisions)  # a backup from a newer schema is refused, not restored
