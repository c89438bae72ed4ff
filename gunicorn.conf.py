"""gunicorn's settings for Sanku in production (``make prod``), tuned for a 2-core machine.

Four worker processes of one request thread each (gthread, for its kept-alive connections). A
request here is mostly Python (SQLAlchemy, marshmallow, the classifier), which holds the interpreter's
lock: threads of one process take turns on one core, and each turn a request waits for is latency.
Measured under the mixed load (``benchmarks/bench_load.py --mixed``, 2 cores, PostgreSQL): at 200
requests/s, p99 97 ms with 4 × 1, 126 ms with 3 × 2, 150 ms with 2 × 2, 162 ms with 6 × 1; at 100/s,
24 ms with 4 × 1 and 38 ms with 2 × 2. Two processes a core keep both cores busy while one waits on
PostgreSQL. Memory: each process holds the classifier and its provider indexes (about 400 MB with
the demo). 4 connections in use at once, within the SQLAlchemy pool (5 + 10 overflow per process)
and far within PostgreSQL's 100.

The address comes from the command line (``--bind``, the Makefile's PROD_HOST and PROD_PORT); every
other setting of the service comes from the environment through core.config.
"""
from __future__ import annotations

from typing import Any

wsgi_app = "app:create_app()"
bind = "127.0.0.1:8000"
workers = 4
worker_class = "gthread"
threads = 1
# A batch of a whole subdistrict through POST /match takes seconds; nothing legitimate takes a minute.
timeout = 60
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (with jitter, so not all at once): memory that creeps
# up (caches, fragmentation) is given back without a restart of the service. Not too often: a new
# worker loads the classifier and builds its indexes again (5,000 was a restart a minute at 200/s).
max_requests = 200000
max_requests_jitter = 20000
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
errorlog = "-"
proc_name = "sanku-web"


def post_worker_init(worker: Any) -> None:
    """Warm the worker before it takes a request (its first submission would load the classifier), then
    take what it holds from the garbage collector's view: a worker holds about 450,000 long-lived objects
    (the classifier, the models, the libraries), and a full collection walked them all (160 ms measured,
    during which the worker answers nothing). ``gc.freeze()`` moves them to a generation that is never
    collected, so a collection walks only what requests made since."""
    import gc

    from app import warm_up
    warm_up(worker.wsgi)
    gc.collect()
    gc.freeze()


def child_exit(_server: Any, worker: Any) -> None:
    """A worker that exits leaves its metric files: mark it dead so its live gauges stop counting."""
    import os

    from prometheus_client import multiprocess
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # else not in multiprocess mode: nothing to mark
        multiprocess.mark_process_dead(worker.pid)
