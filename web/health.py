"""Health and metrics, for the load balancer and for Prometheus.

- ``/healthz``: the process is up and answers (no database, no broker: a liveness probe must not
  restart a healthy process because PostgreSQL is away).
- ``/readyz``: the database and the broker answer; 503 otherwise, with each check's result, so a
  load balancer sends no traffic to an instance that cannot serve it.
- ``/metrics``: request latency by endpoint (prometheus-flask-exporter), the batches, the classifier's
  confidence, notifications pending and dead, tasks by state (``core.metrics``). Under gunicorn and
  Celery every process writes to the multiprocess folder and this reads them all. With ``METRICS_TOKEN`` set
  it answers only a scraper sending that token (404 to anyone else: the page is not there for them).
"""
from __future__ import annotations

import hmac
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from marshmallow import Schema, fields
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_flask_exporter import PrometheusMetrics
from sqlalchemy import text

from core.config import broker_url
from core.database import get_db
from core.errors import ApiError, NotFound

from .openapi import documented
from .routes import public

bp = Blueprint("health", __name__)
PROBE_TIMEOUT_SECONDS = 1.0


class NotReady(ApiError):
    status = 503
    code = "not_ready"
    message = "服务暂不可用：数据库或消息队列无法连接"


class HealthOut(Schema):
    status = fields.String(required=True, metadata={"description": "ok"})


class ReadyOut(Schema):
    status = fields.String(required=True, metadata={"description": "ready"})
    checks = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                         metadata={"description": "each dependency: ok, or why not"})


@bp.get("/healthz")
@public
@documented("进程存活检查", response=HealthOut, tag="health")
def healthz() -> Any:
    return {"status": "ok"}


@bp.get("/readyz")
@public
@documented("就绪检查：数据库与消息队列均可连接时 200，否则 503", response=ReadyOut, tag="health",
            unavailable=True)
def readyz() -> Any:
    checks = {"database": _check_database(), "broker": _check_broker()}
    if any(result != "ok" for result in checks.values()):
        # The API's envelope, answered here: outside /api/ a raised error would be rendered as a page,
        # and a probe reads JSON.
        error = NotReady(fields={name: [result] for name, result in checks.items() if result != "ok"})
        return error.to_dict(), error.status
    return {"status": "ready", "checks": checks}


def _check_database() -> str:
    try:
        # A connection of its own, outside the request's transaction; pre-ping replaces a dead one.
        with get_db().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure is "not ready", whatever the driver raises
        return f"unreachable ({type(exc).__name__})"
    return "ok"


def _check_broker() -> str:
    if current_app.config["TASKS_EAGER"]:
        return "ok"  # tasks run in the caller's process: no broker to reach
    url = broker_url(current_app.config)
    if url.startswith("memory://"):
        return "ok"
    import redis
    try:
        client = redis.Redis.from_url(url, socket_timeout=PROBE_TIMEOUT_SECONDS,
                                      socket_connect_timeout=PROBE_TIMEOUT_SECONDS)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # any failure is "not ready"
        return f"unreachable ({type(exc).__name__})"
    return "ok"


def install_metrics(app: Flask) -> None:
    """Request metrics by endpoint on a registry of this app's own (the tests make many apps), and
    ``/metrics`` showing them with the service's own (``core.metrics``)."""
    registry = CollectorRegistry()
    PrometheusMetrics(app, registry=registry, path=None, group_by="endpoint",
                      excluded_paths=["^/metrics$"], defaults_prefix="sanku")
    multiproc_dir = str(app.config.get("METRICS_MULTIPROC_DIR") or "")

    @app.get("/metrics")
    @public
    def metrics() -> Response:
        token = str(current_app.config.get("METRICS_TOKEN") or "")
        if token and not hmac.compare_digest(request.headers.get("Authorization", "").encode(),
                                             f"Bearer {token}".encode()):
            raise NotFound("找不到该页面")
        _count_notifications()
        if multiproc_dir:
            merged = CollectorRegistry()
            prometheus_multiprocess.MultiProcessCollector(merged, path=multiproc_dir)
            body = generate_latest(merged)
        else:
            body = generate_latest(registry) + generate_latest(REGISTRY)
        return Response(body, mimetype="text/plain; version=0.0.4")


def _count_notifications() -> None:
    from core.metrics import NOTIFICATIONS
    started = time.monotonic()
    try:
        with get_db().session(writes=False) as session:
            pending, retrying, dead = session.execute(text(
                "SELECT COALESCE(SUM(CASE WHEN delivered = false AND dead_at IS NULL THEN 1 ELSE 0 END), 0),"
                " COALESCE(SUM(CASE WHEN delivered = false AND dead_at IS NULL AND attempts > 0 THEN 1 ELSE 0 END), 0),"
                " COALESCE(SUM(CASE WHEN dead_at IS NOT NULL THEN 1 ELSE 0 END), 0) FROM notifications")).one()
    except Exception:  # metrics never fail for want of the database; /readyz says why
        current_app.logger.warning("notification counts unavailable (%.3f s)", time.monotonic() - started)
        return
    NOTIFICATIONS.labels("pending").set(int(pending))
    NOTIFICATIONS.labels("retrying").set(int(retrying))  # pending after at least one failed try
    NOTIFICATIONS.labels("dead").set(int(dead))
