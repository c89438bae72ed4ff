"""gunicorn's settings for Sanku in production (``make prod``), tuned for a 2-core machine.

Two worker processes, one per core: the matcher's scoring and the classifier hold the GIL, so only
processes use both cores. Four threads in each (gthread): a request mostly waits on PostgreSQL, and
threads let a worker serve others meanwhile, at the cost of a thread's stack, not a process's memory
(each process holds the classifier and the provider index). 2 × 4 = 8 requests at once, within the
SQLAlchemy pool (5 + 10 overflow per process) and far within PostgreSQL's 100 connections.

The address comes from the command line (``--bind``, the Makefile's PROD_HOST and PROD_PORT); every
other setting of the service comes from the environment through core.config.
"""
from __future__ import annotations

from typing import Any

wsgi_app = "app:create_app()"
bind = "127.0.0.1:8000"
workers = 2
worker_class = "gthread"
threads = 4
# A batch of a whole subdistrict through POST /match takes seconds; nothing legitimate takes a minute.
timeout = 60
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (with jitter, so both are not at once): memory that
# creeps up (caches, fragmentation) is given back without a restart of the service.
max_requests = 5000
max_requests_jitter = 500
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
errorlog = "-"
proc_name = "sanku-web"


def child_exit(_server: Any, worker: Any) -> None:
    """A worker that exits leaves its metric files: mark it dead so its live gauges stop counting."""
    import os

    from prometheus_client import multiprocess
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # else not in multiprocess mode: nothing to mark
        multiprocess.mark_process_dead(worker.pid)
