"""``bench_load.py --mixed``: the production server under a mixed load, from 50 requests/s up to the
point where it no longer keeps up, beside the development server on the same data. Prints a table;
never asserts timing.

1. A seeded template database on the local PostgreSQL (``seed-demo``: 158 grids, ~3,050 providers,
   400 needs with a month of history), made once (or ``--template NAME``, an existing seeded one),
   copied for each server (``CREATE DATABASE … TEMPLATE``), so both start from the same data.
2. The server in a subprocess: ``gunicorn --config gunicorn.conf.py`` (4 processes × 1 thread,
   ``SANKU_ENV=production``: what ``make prod`` serves) or ``flask run --with-threads`` (``make run``).
3. Residents with a bearer token each (made in this process, as the CLI does) submit one need each
   over HTTP (one per user, so that no two users move one need); then ``benchmarks/loadgen.py`` runs
   them, each at Poisson times 2 requests/s on average (users = rate ÷ 2): 70% reads, 20% submissions,
   10% cancel/reopen of their own need. Each worker of the server has served a few requests first.
4. One row per offered rate, each ``--step`` seconds; the curve stops one step after saturation
   (answered within the step below 90% of the offered rate, a p99 of sends over a second late, or
   more than 1% errors).

The generator shares the two cores with the server (about a tenth of one at 200 requests/s), so the
figures are the service and its load generator together on one small machine. ``--calibrate`` measures
what the generator itself adds (``/healthz``, this generator beside locust).

    python benchmarks/bench_load.py --mixed                        # both servers, 30 s a step
    python benchmarks/bench_load.py --mixed --step 15 --rates 50,100,200 --servers gunicorn
    python benchmarks/bench_load.py --mixed --sustain 120 --rates 200 --servers gunicorn
    python benchmarks/bench_load.py --mixed --calibrate --rates 100,200 --step 20
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import loadgen  # type: ignore[import-not-found]
from bench_load import (  # type: ignore[import-not-found]
    KEYS_CONFIG,
    PG_ADMIN_DSN,
    PG_URL,
    REPO_ROOT,
    SECRET_KEY,
    SERVER_HOST,
    app_env,
    free_port,
    git_state,
    log_tail,
    run_cli,
    stop_server,
)
from bench_load import (
    percentile as nearest_rank,
)

RATE_PER_USER = 2.0  # requests a second each user sends
DEFAULT_RATES = (50, 100, 150, 200, 300, 400, 600)
STEP_SECONDS = 30
RESIDENTS = 40
SATURATED_SHARE = 0.9  # served below this share of the offered rate: saturated
MAX_ERROR_SHARE = 0.01
MAX_LATE_MS = 1000.0  # sends this late (users waiting on their previous answers): the server no longer keeps up
SERVER_START_TIMEOUT_S = 90.0
BENCH_PASSWORD = "bench-resident-password-2026"
DB_PREFIX = "sanku_ops_bench"  # the databases this script makes and drops


@dataclass(frozen=True)
class Step:
    server: str
    offered: float
    seconds: float
    requests: int
    failures: int
    served: float
    p50: float
    p95: float
    p99: float
    late_p99: float  # how late the generator sent (due → sent): large means the figures are the generator's
    by_operation: tuple[tuple[str, int, int, float, float], ...] = ()  # (name, requests, errors, p50, p99)

    @property
    def saturated(self) -> bool:
        return (self.served < SATURATED_SHARE * self.offered or self.late_p99 > MAX_LATE_MS
                or self.failures > MAX_ERROR_SHARE * max(1, self.requests))


def _pg_admin(statement: str) -> None:
    import psycopg
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(statement)  # type: ignore[arg-type]


@contextmanager
def copied_database(template: str) -> Iterator[str]:
    name = f"{DB_PREFIX}_{secrets.token_hex(4)}"
    _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield PG_URL.format(name=name)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def seeded_template(given: str | None, workdir: Path) -> Iterator[str]:
    if given:
        yield given
        return
    name = f"{DB_PREFIX}_tpl_{secrets.token_hex(4)}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        env = app_env(PG_URL.format(name=name), workdir)
        run_cli(["db", "upgrade"], env)
        run_cli(["seed-demo"], env)
        yield name
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(kind: str, url: str, workdir: Path) -> dict[str, str]:
    env = app_env(url, workdir)
    if kind == "gunicorn":
        env["SANKU_ENV"] = "production"
        env["SANKU_LOG_LEVEL"] = "WARNING"  # one line per write would be the load's own noise
    return env


def server_command(kind: str, port: int) -> list[str]:
    if kind == "gunicorn":
        return [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--bind", f"{SERVER_HOST}:{port}",
                "--access-logfile", "/dev/null"]
    return [sys.executable, "-m", "flask", "--app", "app", "run", "--with-threads", "--host", SERVER_HOST,
            "--port", str(port)]


@contextmanager
def running(kind: str, env: dict[str, str], log_path: Path) -> Iterator[int]:
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(server_command(kind, port), cwd=REPO_ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{kind} exited {proc.returncode}:\n{log_tail(log_path)}")
            try:
                with urllib.request.urlopen(f"http://{SERVER_HOST}:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} did not answer /healthz:\n{log_tail(log_path)}")
            time.sleep(0.3)
        yield port
    finally:
        stop_server(proc)


def make_residents(url: str, workdir: Path, count: int) -> list[dict[str, Any]]:
    """``count`` resident accounts with a token each (as ``users create`` makes them)."""
    sys.path.insert(0, str(REPO_ROOT))
    from access.auth import create_user, issue_token
    from app import create_app
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "ENV": "development", **KEYS_CONFIG,
                      "CLASSIFIER_PATH": str(workdir / "classifier.joblib"), "LOG_LEVEL": "WARNING"})
    accounts = []
    with app.app_context():
        db = app.extensions["sanku_db"]
        with db.unit_of_work() as session:
            users = [create_user(session, username=f"bench-res-{i}-{secrets.token_hex(2)}", password=BENCH_PASSWORD,
                                 role="resident", display_name=f"压测居民{i}") for i in range(count)]
            session.flush()
            accounts = [{"token": issue_token(u)} for u in users]
        db.engine.dispose()
    return accounts


def submit_first_needs(port: int, accounts: list[dict[str, Any]], count: int | None = None) -> list[dict[str, Any]]:
    """One need of their own for each of ``count`` locust users (residents take several in turn), submitted
    over HTTP; answers [{"token", "need_id", "status"}] and, without ``count``, fills ``accounts`` in place."""
    entries = []
    for i in range(count if count is not None else len(accounts)):
        account = accounts[i % len(accounts)]
        body = json.dumps({"text": "老人一个人住，希望有人定期来看看", "grid": f"G{1 + i % 158:03d}"}).encode()
        req = urllib.request.Request(f"http://{SERVER_HOST}:{port}/api/v1/needs", data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {account['token']}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            need = json.loads(r.read())
        entries.append({"token": account["token"], "need_id": need["id"], "status": need["status"]})
        if count is None:
            account.update(need_id=need["id"], status=need["status"])
    return entries


def run_locust_probe(port: int, rate: float, seconds: float, prefix: Path) -> dict[str, dict[str, str]]:
    """locust (``benchmarks/locustfile.py``'s ``Prober``: ``/healthz`` at Poisson times), for the calibration."""
    users = max(1, round(rate / RATE_PER_USER))
    env = dict(os.environ, SANKU_BENCH_RATE_PER_USER=str(rate / users))
    command = [sys.executable, "-m", "locust", "-f", str(REPO_ROOT / "benchmarks" / "locustfile.py"), "--headless",
               "-u", str(users), "-r", str(users), "--run-time", f"{int(seconds)}s", "--stop-timeout", "5",
               "--host", f"http://{SERVER_HOST}:{port}", "--csv", str(prefix), "--only-summary", "--loglevel", "ERROR",
               "Prober"]
    subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=seconds + 120)
    with open(f"{prefix}_stats.csv", encoding="utf-8") as fh:
        return {row["Name"]: row for row in csv.DictReader(fh)}


def _ms(row: dict[str, str], key: str) -> float:
    value = row.get(key, "") or "0"
    return float(value) if value != "N/A" else float("nan")


def step_of(server: str, rate: float, seconds: float, run: loadgen.Run) -> Step:
    answers = run.answers
    latencies = [a.latency_ms for a in answers]
    by_operation = []
    for name, _ in loadgen.OPERATIONS:
        mine = [a for a in answers if a.operation == name]
        if mine:
            ms = [a.latency_ms for a in mine]
            by_operation.append((name, len(mine), sum(not a.ok for a in mine), percentile(ms, 0.5), percentile(ms, 0.99)))
    return Step(server, rate, seconds, len(answers), sum(not a.ok for a in answers), run.served_per_s,
                percentile(latencies, 0.5), percentile(latencies, 0.95), percentile(latencies, 0.99),
                percentile([a.late_ms for a in answers], 0.99), tuple(by_operation))


def percentile(values: Sequence[float], fraction: float) -> float:
    return round(nearest_rank(sorted(values), fraction), 1)


def measure(kind: str, template: str, rates: Sequence[float], seconds: float, workdir: Path,
            residents: int, stop_at_saturation: bool) -> list[Step]:
    steps: list[Step] = []
    with copied_database(template) as url:
        accounts = make_residents(url, workdir, residents)
        with running(kind, server_env(kind, url, workdir), workdir / f"{kind}.log") as port:
            # Each user acts on a need of its own: no two users cancel one need at once.
            users = max(1, round(max(rates) / RATE_PER_USER))
            entries = submit_first_needs(port, accounts, users)
            loadgen.run(port, entries, min(users, 20), RATE_PER_USER, 5.0)  # every worker serves once first
            saturated_seen = False
            for rate in rates:
                run = loadgen.run(port, entries, max(1, round(rate / RATE_PER_USER)), RATE_PER_USER, seconds)
                step = step_of(kind, rate, seconds, run)
                steps.append(step)
                print(f"# {kind} {rate:g}/s: served {step.served:.1f}/s, p99 {step.p99:g} ms, "
                      f"{step.failures} failures", flush=True)
                if stop_at_saturation and saturated_seen:
                    break
                saturated_seen = saturated_seen or step.saturated
    return steps


def calibrate(template: str, rates: Sequence[float], seconds: float, workdir: Path) -> None:
    """Both generators against ``/healthz`` of the production server (about 1 ms of work): what each adds."""
    print(f"{'generator':<10} {'offered/s':>9} {'served/s':>9} {'requests':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    with copied_database(template) as url, running("gunicorn", server_env("gunicorn", url, workdir),
                                                   workdir / "calibrate.log") as port:
        probe = [{"token": "", "need_id": 0, "status": ""}]
        for rate in rates:
            users = max(1, round(rate / RATE_PER_USER))
            run = loadgen.run(port, probe, users, RATE_PER_USER, seconds, operations=(("GET /healthz", 1),))
            ms = [a.latency_ms for a in run.answers]
            print(f"{'sanku':<10} {rate:>9g} {run.served_per_s:>9.1f} {len(run.answers):>8} {percentile(ms, .5):>7g} "
                  f"{percentile(ms, .95):>7g} {percentile(ms, .99):>7g}", flush=True)
            row = run_locust_probe(port, rate, seconds, workdir / f"probe-{int(rate)}")["Aggregated"]
            print(f"{'locust':<10} {rate:>9g} {float(row['Requests/s']):>9.1f} {row['Request Count']:>8} "
                  f"{_ms(row, '50%'):>7g} {_ms(row, '95%'):>7g} {_ms(row, '99%'):>7g}", flush=True)


def print_table(steps: Sequence[Step]) -> None:
    header = (f"{'server':<9} {'offered/s':>9} {'served/s':>9} {'seconds':>7} {'requests':>8} {'errors':>6} "
              f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'late p99':>8}  note")
    print(header)
    print("-" * len(header))
    for s in steps:
        note = "saturated" if s.saturated else ""
        print(f"{s.server:<9} {s.offered:>9g} {s.served:>9.1f} {s.seconds:>7g} {s.requests:>8} {s.failures:>6} "
              f"{s.p50:>7g} {s.p95:>7g} {s.p99:>7g} {s.late_p99:>8g}  {note}")
    # Where the time goes: each operation at each server's highest rate it kept up with.
    print()
    print(f"{'server':<9} {'offered/s':>9} {'operation':<30} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7}")
    for server in dict.fromkeys(s.server for s in steps):
        kept = [s for s in steps if s.server == server and not s.saturated] or [s for s in steps if s.server == server][:1]
        best = kept[-1]
        for name, requests, errors, p50, p99 in best.by_operation:
            print(f"{server:<9} {best.offered:>9g} {name:<30} {requests:>8} {errors:>6} {p50:>7g} {p99:>7g}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="mixed load, gunicorn vs the development server")
    parser.add_argument("--mixed", action="store_true")
    parser.add_argument("--servers", default="gunicorn,flask")
    parser.add_argument("--rates", default=",".join(map(str, DEFAULT_RATES)))
    parser.add_argument("--step", type=float, default=STEP_SECONDS, help="seconds per offered rate")
    parser.add_argument("--sustain", type=float, default=None,
                        help="run each rate this long and do not stop at saturation (the 2-minute run)")
    parser.add_argument("--template", default=None, help="an existing seeded database to copy")
    parser.add_argument("--residents", type=int, default=RESIDENTS)
    parser.add_argument("--calibrate", action="store_true",
                        help="instead: /healthz at --rates from this script's generator and from locust")
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")]
    seconds = args.sustain or args.step
    load = os.getloadavg()
    print(f"# {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %z}; {git_state()}; {seconds:g} s a step; "
          f"{args.residents} residents, {RATE_PER_USER:g} req/s a user; load average at start "
          f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
    steps: list[Step] = []
    with tempfile.TemporaryDirectory(prefix="sanku-bench-mixed-") as tmp, seeded_template(args.template, Path(tmp)) as tpl:
        if args.calibrate:
            calibrate(tpl, rates, seconds, Path(tmp))
            return 0
        for kind in [s.strip() for s in args.servers.split(",") if s.strip()]:
            workdir = Path(tmp) / kind
            workdir.mkdir()
            steps += measure(kind, tpl, rates, seconds, workdir, args.residents, stop_at_saturation=not args.sustain)
    load = os.getloadavg()
    print(f"# load average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print_table(steps)
    return 0
