"""locust beside ``benchmarks/loadgen.py``, for ``bench_load.py --mixed --calibrate`` only (run headless by
that script): ``Prober`` users ask ``/healthz`` (about 1 ms of the server's work) at Poisson times, the
rate per user in SANKU_BENCH_RATE_PER_USER, so the latency locust reports is mostly its own. The mixed
load itself runs on ``loadgen.py``: on these two cores locust added tens of ms to its slowest answers.
"""
from __future__ import annotations

import os
import random
import time

from locust import FastHttpUser, task

RATE_PER_USER = float(os.environ.get("SANKU_BENCH_RATE_PER_USER", "2"))


class Prober(FastHttpUser):
    _next_start = 0.0

    def wait_time(self) -> float:
        """Poisson times: each user independently, not all in step."""
        now = time.monotonic()
        self._next_start = max(self._next_start, now - 1.0) + random.expovariate(RATE_PER_USER)
        return max(0.0, self._next_start - now)

    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="GET /healthz")
