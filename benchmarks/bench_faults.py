"""Faults while the load runs: what survives them? Prints a report; never asserts.

The production set (gunicorn with gunicorn.conf.py, a Celery worker, Celery beat; SANKU_ENV=production)
on a copy of a seeded PostgreSQL database and a Redis database, with a webhook receiver in this
process. Residents submit needs and cancel or reopen their own from ``--clients`` threads for the
whole run, while, one after the other:

1. every connection of the service to the database is killed (``pg_terminate_backend``);
2. batch jobs are queued for six grids, and the Celery worker is killed (SIGKILL, its whole process
   group) while they run, then started again;
3. the webhook receiver is down for ``--outage`` seconds (connections refused), then back.

Afterwards: every submission answered 2xx is in the database; each batch job ended once (one match
run per task id) and no need holds two live proposals; every notification reached the receiver once
it was back (duplicates and dead letters counted). Errors are counted per fault window.

    python benchmarks/bench_faults.py --template sanku_ops_bench              # 60 s outage
    python benchmarks/bench_faults.py --template sanku_ops_bench --outage 20  # a short run
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import KEYS_CONFIG, PG_ADMIN_DSN, REPO_ROOT, SECRET_KEY, SERVER_HOST, git_state, log_tail  # noqa: E402
from load_mix import copied_database, free_port, running, server_env, submit_first_needs  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/1"
HOOK_SECRET = "bench-faults-hook-secret"
GRIDS = [f"G{i:03d}" for i in range(1, 7)]
SETTLE_TIMEOUT_S = 240.0


class Receiver:
    """A webhook receiver that can go down (its socket closed: connections refused) and come back."""

    def __init__(self, port: int) -> None:
        self.port, self.ids, self.lock, self.server = port, Counter[int](), threading.Lock(), None
        self.up()

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.ids[json.loads(body)["id"]] += 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()
        self.server = None


class Load:
    """Residents submitting needs and cancelling or reopening their own, until stopped."""

    def __init__(self, port: int, accounts: list[dict[str, Any]], clients: int) -> None:
        self.port, self.accounts, self.clients = port, accounts, clients
        self.created: list[int] = []
        self.events: list[tuple[float, str]] = []  # (time, "ok" | error)
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self, index: int) -> None:
        account = self.accounts[index % len(self.accounts)]
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {account['token']}"}
        conn = http.client.HTTPConnection(SERVER_HOST, self.port, timeout=30)
        n = 0
        while not self.stop.is_set():
            n += 1
            if n % 3:
                path, body = "/api/v1/needs", {"text": "楼道灯坏了好几天了", "grid": GRIDS[n % len(GRIDS)]}
            else:
                action = "reopen" if account["status"] == "cancelled" else "cancel"
                path, body = f"/api/v1/needs/{account['need_id']}/actions", {"action": action}
            try:
                conn.request("POST", path, body=json.dumps(body), headers=headers)
                response = conn.getresponse()
                data = response.read()
                outcome = "ok" if response.status < 300 else f"HTTP {response.status}"
                if response.status < 300:
                    answer = json.loads(data)
                    if path == "/api/v1/needs":
                        with self.lock:
                            self.created.append(int(answer["id"]))
                    else:
                        account["status"] = answer["status"]
                elif response.status == 409:  # another thread moved the same need: resync
                    account["status"] = "cancelled" if account["status"] != "cancelled" else "submitted"
            except (OSError, http.client.HTTPException) as exc:
                outcome = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection(SERVER_HOST, self.port, timeout=30)
            with self.lock:
                self.events.append((time.monotonic(), outcome))
        conn.close()


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def worker_command() -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "worker", "worker", "--concurrency", "2", "--loglevel", "INFO",
            "-n", f"bench-faults-{secrets.token_hex(2)}@%h"]


def wait_for(text: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise RuntimeError(f"{text!r} not seen in {log}:\n{log_tail(log)}")


def pg(url: str, query: str) -> list[tuple[Any, ...]]:
    import psycopg
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        return list(conn.execute(query))  # type: ignore[arg-type]


def kill_connections(database: str) -> int:
    import psycopg
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = %s AND pid <> pg_backend_pid()", (database,)).fetchall()
    return len(rows)


def api(port: int, token: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    conn = http.client.HTTPConnection(SERVER_HOST, port, timeout=30)
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    data = json.loads(response.read() or b"null")
    conn.close()
    return response.status, data


def make_accounts(url: str, workdir: Path, residents: int) -> tuple[list[dict[str, Any]], str]:
    sys.path.insert(0, str(REPO_ROOT))
    from access.auth import create_user, issue_token
    from app import create_app
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "ENV": "development", "LOG_LEVEL": "WARNING", **KEYS_CONFIG,
                      "CLASSIFIER_PATH": str(workdir / "classifier.joblib")})
    with app.app_context():
        db = app.extensions["sanku_db"]
        with db.unit_of_work() as s:
            users = [create_user(s, username=f"fault-res-{i}-{secrets.token_hex(2)}",
                                 password="bench-resident-password-2026", role="resident") for i in range(residents)]
            admin = create_user(s, username=f"fault-admin-{secrets.token_hex(2)}",
                                password="bench-admin-password-2026", role="admin")
            s.flush()
            tokens = [{"token": issue_token(u)} for u in users]
            admin_token = issue_token(admin)
        db.engine.dispose()
    return tokens, admin_token


def server_errors(log: Path) -> Counter[str]:
    """The exceptions the server logged (JSON lines: the last line of each traceback), counted."""
    found: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("level") == "ERROR":
            trace = [t for t in str(record.get("exc_info") or record.get("message", "")).strip().splitlines()
                     if t and not t.startswith("(Background on this error")]  # SQLAlchemy's link, not the error
            errors = [t for t in trace if "Error" in t or "Exception" in t] or trace
            found[(errors[-1] if errors else "?")[:120]] += 1
    return found


def errors_between(load: Load, start: float, end: float) -> tuple[int, int, Counter[str]]:
    window = [o for t, o in load.events if start <= t < end]
    errors = Counter(o for o in window if o != "ok")
    return len(window), sum(errors.values()), errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--template", required=True, help="a seeded database to copy (seed-demo)")
    parser.add_argument("--outage", type=float, default=60.0, help="seconds the webhook receiver is down")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--redis", default=REDIS_URL)
    args = parser.parse_args(argv)
    print(f"# {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %z}; {git_state()}; {args.clients} clients; "
          f"receiver down {args.outage:g} s; load average {os.getloadavg()[0]:.1f}", flush=True)
    receiver = Receiver(free_port())
    report: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sanku-bench-faults-") as tmp, copied_database(args.template) as url:
        workdir = Path(tmp)
        database = url.rsplit("/", 1)[1]
        accounts, admin_token = make_accounts(url, workdir, args.clients)
        env = server_env("gunicorn", url, workdir)
        metrics_dir = workdir / "prometheus"
        metrics_dir.mkdir()
        env.update({"REDIS_URL": args.redis, "SANKU_NOTIFY_WEBHOOK_URL": f"http://127.0.0.1:{receiver.port}/hook",
                    "SANKU_WEBHOOK_SECRET": HOOK_SECRET, "SANKU_DELIVER_EVERY": "2", "SANKU_NOTIFY_BACKOFF": "2",
                    "SANKU_NOTIFY_BACKOFF_MAX": "10", "SANKU_NOTIFY_MAX_ATTEMPTS": "30", "SANKU_NOTIFY_LEASE": "30",
                    "SANKU_TASK_VISIBILITY_TIMEOUT": "20", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                    # a queue of this run's own: no other worker on this Redis takes its tasks, nor it theirs
                    "SANKU_TASK_QUEUE": f"sanku-faults-{secrets.token_hex(4)}"})
        worker_log, beat_log = workdir / "worker.log", workdir / "beat.log"
        worker = start(worker_command(), env, worker_log)
        beat = start([sys.executable, "-m", "celery", "-A", "worker", "beat", "--schedule",
                      str(workdir / "beat-schedule")], env, beat_log)
        try:
            wait_for("ready.", worker_log, 120)
            with running("gunicorn", env, workdir / "gunicorn.log") as port:
                submit_first_needs(port, accounts)
                load = Load(port, accounts, args.clients)
                threads = [threading.Thread(target=load.run, args=(i,)) for i in range(args.clients)]
                t0 = time.monotonic()
                for t in threads:
                    t.start()
                time.sleep(5)
                killed_at = time.monotonic()
                killed = kill_connections(database)
                time.sleep(5)
                jobs_at = time.monotonic()
                # The whole subdistrict first (seconds of work: the kill finds it running), then six grids.
                jobs = [api(port, admin_token, "POST", "/api/v1/match/jobs", body)[1]["id"]
                        for body in ({}, *({"grid": g} for g in GRIDS))]
                time.sleep(0.5)
                stop(worker, signal.SIGKILL)
                worker_killed = time.monotonic() - jobs_at
                worker = start(worker_command(), env, worker_log)
                time.sleep(9)
                outage_at = time.monotonic()
                receiver.down()
                time.sleep(args.outage)
                receiver.up()
                back_at = time.monotonic()
                time.sleep(10)
                load.stop.set()
                for t in threads:
                    t.join()
                end = time.monotonic()
                # --- settle: the jobs end, the notifications drain -----------------------------------
                deadline = time.monotonic() + SETTLE_TIMEOUT_S
                states: dict[str, str] = {}
                while time.monotonic() < deadline:
                    states = {j: api(port, admin_token, "GET", f"/api/v1/jobs/{j}")[1]["state"] for j in jobs}
                    pending = pg(url, "SELECT count(*) FROM notifications WHERE NOT delivered AND dead_at IS NULL")[0][0]
                    if all(s in ("SUCCESS", "FAILURE") for s in states.values()) and pending == 0:
                        break
                    time.sleep(2)
                settled = time.monotonic() - back_at
                # --- checks ---------------------------------------------------------------------------
                created = set(load.created)
                stored = {r[0] for r in pg(url, "SELECT id FROM needs")}
                runs = pg(url, "SELECT task_id, count(*) FROM match_runs WHERE task_id IS NOT NULL GROUP BY task_id")
                doubled = pg(url, "SELECT need_id, count(*) FROM proposals WHERE status IN ('proposed', 'accepted') "
                                  "GROUP BY need_id HAVING count(*) > 1")
                rows = pg(url, "SELECT id, delivered, dead_at IS NOT NULL FROM notifications")
                undelivered = [r[0] for r in rows if not r[1]]
                dead = sum(1 for r in rows if r[2])
                missing_at_receiver = [r[0] for r in rows if r[1] and r[0] not in receiver.ids]
                duplicates = sum(c - 1 for c in receiver.ids.values() if c > 1)
                windows = [("before any fault", t0, killed_at), (f"connections killed ({killed})", killed_at, jobs_at),
                           (f"worker killed {worker_killed:.1f} s after 7 jobs queued", jobs_at, outage_at),
                           (f"receiver down {args.outage:g} s", outage_at, back_at), ("after", back_at, end)]
                report.append(f"{'window':<45} {'requests':>8} {'errors':>6}  kinds")
                for name, a, b in windows:
                    n, e, kinds = errors_between(load, a, b)
                    report.append(f"{name:<45} {n:>8} {e:>6}  {dict(kinds) if kinds else ''}")
                received = Counter(re.findall(r"Task jobs\.match_scope\[([0-9a-f-]+)\] received", worker_log.read_text()))
                failed = Counter(m[:160] for m in re.findall(r"Task jobs\.\w+\[[0-9a-f-]+\] raised unexpected: (.*)",
                                                            worker_log.read_text()))
                report += [
                    f"server errors logged: {dict(server_errors(workdir / 'gunicorn.log')) or 'none'}",
                    f"batch jobs taken by a worker more than once (redelivered after the kill): "
                    f"{sum(1 for c in received.values() if c > 1)} of {len(jobs)}",
                    f"submissions answered 2xx: {len(created)}; in the database: {len(created & stored)}"
                    f" (missing {len(created - stored)})",
                    f"batch jobs: {Counter(states.values())}; match runs per task id: "
                    f"{Counter(c for _, c in runs)} over {len(runs)} task ids; needs with two live proposals: {len(doubled)}",
                    f"batch jobs failed, as the worker logged them: {dict(failed) or 'none'}",
                    f"notifications: {len(rows)}; delivered {len(rows) - len(undelivered)}; still pending "
                    f"{len(undelivered)}; dead {dead}; delivered but never received {len(missing_at_receiver)}; "
                    f"received more than once {duplicates}; all settled {settled:.0f} s after the receiver came back",
                ]
        finally:
            stop(worker)
            stop(beat)
            if receiver.server is not None:
                receiver.down()
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
