"""How does the running service answer many clients at once? Prints a table; never asserts timing.

Reproduces the load part of the security/load issue ("with 8+ clients, 71-88% of POST /needs answer
500 'database is locked' within ~100 ms on SQLite"; "16 parallel wrong logins stall every request
for 30 s") against the real server over loopback HTTP, built the way a user builds it:

1. a fresh database per engine: a SQLite file, and a PostgreSQL database of its own
   (``sanku_bench_<random>`` on 127.0.0.1:5432, user postgres, created and dropped through the
   ``postgres`` database; skipped with a note when PostgreSQL is not reachable);
2. ``flask --app app db upgrade`` and ``flask --app app seed-demo`` in subprocesses;
3. the server in a subprocess: ``flask --app app run --with-threads`` (what ``make run`` serves), or
   with ``--server gunicorn`` ``gunicorn -w 2 --threads 8 'app:create_app()'`` when installed;
4. for each operation and each number of clients, N client threads, each with its own keep-alive
   connection from its own loopback address and its own bearer token, send requests for a fixed
   time and every answer's status and latency (``time.perf_counter``) is kept.

Operations (one row each per database and client count):

- ``GET /needs``: the admin lists needs (first page, 50);
- ``POST /needs``: the admin submits a need with its service given (so no classifier work);
- ``GET /needs/<id>/proposals``: the coordinator asks instant proposals for needs of its Party grid;
- ``bad login + GET /grids/1``: half the clients send wrong sign-ins (``POST /auth/token``) back to back,
  the other half the public ``GET /grids/1`` (one client alternates the two), so the GET is timed
  while sign-ins are in flight, as a bystander meets them (at 32 clients: the issue's 16 parallel
  wrong logins). Latencies are the GET's; the sign-ins' 401s (and 429s) are expected.
  Each wrong sign-in comes from a fresh loopback address with a fresh unknown user name, as a
  password spray from many machines does: from one address the rate limiter answers 429 after a
  few tries, and the row would time the limiter instead of the password checks the issue is about
  (an unknown name costs the server the same as a wrong password: it checks a dummy hash).

Latencies count every answer, errors included; ``err`` counts requests with no HTTP answer
(refused, reset, or no answer within ``REQUEST_TIMEOUT_S``). A row's ``unexpected`` is every
answer that is not 2xx plus every ``err``, except a wrong sign-in's 401 or 429. ``notes`` names the
statuses of non-2xx answers, the wrong sign-ins' statuses and p95, and the server log's errors during
the row (the last exception of each traceback, counted). Each operation is warmed up by one untimed
request (the first proposals request builds the provider index), and clients sign in, one after
another, before the clock starts.
Client threads share the machine's cores with the server, so on a small machine the absolute times
include the clients' own work; compare rows, not machines.

    python benchmarks/bench_load.py                      # 5 s per row, SQLite and PostgreSQL
    python benchmarks/bench_load.py --quick              # 2 s per row
    python benchmarks/bench_load.py --db sqlite --clients 1,8 --seconds 3
    python benchmarks/bench_load.py --server gunicorn    # when gunicorn is installed
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import http.client
import importlib.util
import ipaddress
import itertools
import json
import math
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]

# What the demo and the brief fix.
DEMO_PASSWORD = "sanku-demo-2026"
SECRET_KEY = "bench-secret-key-0123456789abcdef"
# The benchmarks' personal-data keys (production refuses to start without them): every process of a run, the
# servers and the scripts' own apps, uses the same, or one could not read what another wrote. Fixed, not drawn
# per run: a seeded database kept for ``--template`` is read by later runs (with keys drawn per run, a later
# run's batch over the demo's needs failed to decrypt their contacts). Throwaway databases only.
DATA_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"sanku-benchmarks-data-key").digest()).decode()  # a Fernet key
LOOKUP_KEY = hashlib.sha256(b"sanku-benchmarks-lookup-key").hexdigest()[:32]
KEYS_CONFIG = {"DATA_KEYS": [DATA_KEY], "LOOKUP_KEY": LOOKUP_KEY}
CREATE_ACCOUNT = "admin"  # creates and lists: sees every need
PROPOSALS_ACCOUNT = "coordinator"  # proposals: scoped to the first demo Party grid
NEED_GRID = "G001"
NEED_SERVICE = "volunteer"  # given, so a create never runs the classifier
PROBE_GRID_ID = 1
WRONG_PASSWORD = "not-the-password-0"

# Sizes and times.
CLIENT_COUNTS = (1, 8, 32)
CELL_SECONDS = 5.0  # how long each row sends requests
QUICK_CELL_SECONDS = 2.0
REQUEST_TIMEOUT_S = 90.0  # above the 30 s stall the issue reports, so a stall is timed, not cut off
SERVER_START_TIMEOUT_S = 60.0
SERVER_POLL_INTERVAL_S = 0.2
SERVER_STOP_TIMEOUT_S = 10.0
CLI_TIMEOUT_S = 600.0  # db upgrade + seed-demo (the seed trains the classifier)
SETUP_TIMEOUT_S = 120.0  # clients signing in before a row starts
SIGN_IN_ATTEMPTS = 3  # a client's own sign-in is retried: a row measures its operation, not sign-in
SIGN_IN_RETRY_PAUSE_S = 0.5
PROPOSAL_NEEDS = 50  # the coordinator's first page of needs, cycled through
LOG_TAIL_LINES = 30
MS_PER_S = 1000.0

# PostgreSQL: trust auth on the loopback, as the test suite uses it.
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

# Clients bind their own loopback addresses (Linux routes all of 127/8 to lo), so that per-address
# limits see many clients, as they would in production; elsewhere everything comes from 127.0.0.1.
SERVER_HOST = "127.0.0.1"
CLIENT_ADDRESS_BASE = ipaddress.IPv4Address("127.1.0.1")

NEED_TEXTS = (
    "楼上老人腿脚不便，想请志愿者每周陪她去菜市场买菜",
    "独居老人家里灯泡坏了，够不着，希望有人帮忙换一下",
    "孩子放学后家里没人，想找志愿者辅导一下作业",
    "我母亲行动不便，下周三上午要去社区医院复诊，需要有人陪同",
    "小区门口的共享单车堆得太乱，想组织几位志愿者一起整理",
    "社区活动室周六要办敬老活动，需要几名志愿者帮忙布置场地",
    "家里老人不会用智能手机挂号，想请人教一教",
    "楼道里堆了很多杂物，想请志愿者和楼栋长一起清理",
    "独居老人最近情绪低落，希望有人定期上门聊聊天",
    "想给楼里的残疾邻居送一下米和油，东西太重搬不动",
    "老人想学写毛笔字，问问有没有志愿者愿意教",
    "下雪后单元门口台阶很滑，想请志愿者帮忙铲雪撒盐",
)


# ---------------------------------------------------------------------------------------------
# Measurements


@dataclass(frozen=True)
class Sample:
    """One request: ``probe`` is the request a row's latency is about; 0 status: no HTTP answer."""

    probe: bool
    status: int
    seconds: float


@dataclass(frozen=True)
class Row:
    database: str
    operation: str
    clients: int
    requests: int
    throughput: float  # requests per second, every request of the row
    p50_ms: float
    p95_ms: float
    client_errors: int  # 4xx
    server_errors: int  # 5xx
    no_answer: int
    unexpected: int
    notes: str


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile; NaN when there is nothing to rank."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(fraction * len(sorted_values))))
    return sorted_values[rank - 1]


def is_ok(status: int) -> bool:
    return 200 <= status < 300


def status_counts(statuses: Sequence[int]) -> str:
    """``401x20 500x3``; 0 is a request with no HTTP answer."""
    return " ".join(f"{code}x{n}" for code, n in sorted(Counter(statuses).items()))


# ---------------------------------------------------------------------------------------------
# HTTP clients


class AddressBook:
    """Hands out distinct loopback source addresses, thread-safely."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._next = itertools.count()
        self._lock = threading.Lock()

    def take(self) -> str | None:
        if not self.enabled:
            return None
        with self._lock:
            return str(CLIENT_ADDRESS_BASE + next(self._next))


def loopback_aliases_work() -> bool:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((str(CLIENT_ADDRESS_BASE), 0))
        return True
    except OSError:
        return False


class Client:
    """One keep-alive connection to the server from one source address."""

    def __init__(self, port: int, source: str | None) -> None:
        self.port = port
        self.source = source
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            source = (self.source, 0) if self.source else None
            self._conn = http.client.HTTPConnection(SERVER_HOST, self.port, timeout=REQUEST_TIMEOUT_S,
                                                    source_address=source)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                token: str | None = None) -> tuple[int, bytes, float]:
        """(status, body, seconds); status 0 when no HTTP answer came."""
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        started = time.perf_counter()
        for attempt in range(2):
            reused = self._conn is not None
            try:
                conn = self._connection()
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if response.will_close:
                    self.close()
                return response.status, data, time.perf_counter() - started
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                # A kept-alive connection the server had closed: retry once on a new one, as
                # HTTP clients do; a fresh connection failing is the server's answer.
                if not reused or attempt:
                    break
            except (OSError, http.client.HTTPException):
                self.close()
                break
        return 0, b"", time.perf_counter() - started


def sign_in(client: Client, username: str) -> str:
    """A bearer token for ``username``; raises after ``SIGN_IN_ATTEMPTS`` failed tries."""
    status, data = 0, b""
    for _ in range(SIGN_IN_ATTEMPTS):
        status, data, _seconds = client.request("POST", "/api/v1/auth/token",
                                                {"username": username, "password": DEMO_PASSWORD})
        if status == 200:
            token: str = json.loads(data)["access_token"]
            return token
        time.sleep(SIGN_IN_RETRY_PAUSE_S)
    raise RuntimeError(f"sign-in as {username}: HTTP {status} {data[:120]!r}")


# ---------------------------------------------------------------------------------------------
# Operations


@dataclass
class Worker:
    """One simulated client of a row."""

    index: int
    clients: int  # in the row
    client: Client
    addresses: AddressBook
    port: int
    need_ids: Sequence[int]
    token: str | None = None
    sent: int = 0


@dataclass(frozen=True)
class Operation:
    name: str
    account: str | None  # whom each client signs in as; None: public requests only
    step: Callable[[Worker], list[Sample]]
    expected_other: frozenset[int] = frozenset()  # non-probe statuses that are the right answer


def _probe(worker: Worker, method: str, path: str, body: dict[str, Any] | None = None) -> list[Sample]:
    status, _data, seconds = worker.client.request(method, path, body, worker.token)
    return [Sample(True, status, seconds)]


def list_needs(worker: Worker) -> list[Sample]:
    return _probe(worker, "GET", "/api/v1/needs")


def need_body(worker: Worker) -> dict[str, Any]:
    # Varied texts, as residents write them; the building number keeps each text apart.
    text = NEED_TEXTS[(worker.index + worker.sent) % len(NEED_TEXTS)]
    return {"text": f"{text}（{worker.index + 1}号楼{worker.sent + 1}单元）", "grid": NEED_GRID,
            "service": NEED_SERVICE}


def create_need(worker: Worker) -> list[Sample]:
    samples = _probe(worker, "POST", "/api/v1/needs", need_body(worker))
    worker.sent += 1
    return samples


def need_proposals(worker: Worker) -> list[Sample]:
    need_id = worker.need_ids[(worker.index + worker.sent) % len(worker.need_ids)]
    worker.sent += 1
    return _probe(worker, "GET", f"/api/v1/needs/{need_id}/proposals")


_spray_names = itertools.count()


def wrong_sign_in(worker: Worker) -> Sample:
    """A wrong sign-in from a fresh address with a fresh name (see the module's docstring)."""
    intruder = Client(worker.port, worker.addresses.take())
    try:
        status, _data, seconds = intruder.request(
            "POST", "/api/v1/auth/token", {"username": f"bench-nobody-{next(_spray_names)}",
                                           "password": WRONG_PASSWORD})
    finally:
        intruder.close()
    return Sample(False, status, seconds)


def wrong_sign_ins_beside_gets(worker: Worker) -> list[Sample]:
    # Split, not alternated per client: a client alternating would send its GET only after its own
    # sign-in returned, and never see what the sign-ins in flight do to everyone else.
    grid = f"/api/v1/grids/{PROBE_GRID_ID}"
    if worker.clients == 1:
        return [wrong_sign_in(worker), *_probe(worker, "GET", grid)]
    return [wrong_sign_in(worker)] if worker.index % 2 == 0 else _probe(worker, "GET", grid)


OPERATIONS = (
    Operation("GET /needs", CREATE_ACCOUNT, list_needs),
    Operation("POST /needs", CREATE_ACCOUNT, create_need),
    Operation("GET /needs/<id>/proposals", PROPOSALS_ACCOUNT, need_proposals),
    # Last: the wrong sign-ins are what the limiter remembers; nothing signs in after them.
    Operation("bad login + GET /grids/1", None, wrong_sign_ins_beside_gets, expected_other=frozenset({401, 429})),
)


# ---------------------------------------------------------------------------------------------
# One row


@dataclass
class RowRun:
    samples: list[Sample] = field(default_factory=list)
    setup_failures: list[str] = field(default_factory=list)


def run_row(op: Operation, clients: int, seconds: float, port: int, addresses: AddressBook,
            need_ids: Sequence[int]) -> tuple[RowRun, float]:
    """N clients sign in, wait for each other, then send ``op`` for ``seconds``; (run, wall seconds)."""
    started: list[float] = []
    barrier = threading.Barrier(clients + 1, action=lambda: started.append(time.perf_counter()),
                                timeout=SETUP_TIMEOUT_S)
    # Clients sign in one at a time: they all share one demo account, and N parallel sign-ins of one
    # account are what the per-account limit is there to refuse (429), which is not this row's subject.
    sign_in_turn = threading.Lock()

    def client_thread(index: int) -> tuple[list[Sample], str | None]:
        worker = Worker(index, clients, Client(port, addresses.take()), addresses, port, need_ids)
        problem = None
        try:
            if op.account:
                with sign_in_turn:
                    worker.token = sign_in(worker.client, op.account)
        except RuntimeError as exc:
            problem = str(exc)
        barrier.wait()  # every client waits, signed in or not, so no one waits for it forever
        samples: list[Sample] = []
        if problem is None:
            deadline = started[0] + seconds
            while time.perf_counter() < deadline:
                samples.extend(op.step(worker))
        worker.client.close()
        return samples, problem

    run = RowRun()
    with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="client") as pool:
        futures = [pool.submit(client_thread, i) for i in range(clients)]
        barrier.wait()
        for future in futures:
            samples, problem = future.result()
            run.samples.extend(samples)
            if problem:
                run.setup_failures.append(problem)
    return run, time.perf_counter() - started[0]


def summarise(database: str, op: Operation, clients: int, run: RowRun, wall_s: float, log_note: str) -> Row:
    probes = sorted(s.seconds for s in run.samples if s.probe)
    statuses = [s.status for s in run.samples]
    unexpected = sum(1 for s in run.samples
                     if not is_ok(s.status) and (s.probe or s.status not in op.expected_other))
    notes = []
    failed_probes = [s.status for s in run.samples if s.probe and not is_ok(s.status)]
    others = [s for s in run.samples if not s.probe]
    if failed_probes:
        notes.append(f"{'GET ' if others else ''}non-2xx {status_counts(failed_probes)}")
    if others:
        other_p95 = percentile(sorted(s.seconds for s in others), 0.95) * MS_PER_S
        notes.append(f"logins {status_counts([s.status for s in others])}, p95 {other_p95:.0f} ms")
    if run.setup_failures:
        notes.append(f"{len(run.setup_failures)} of {clients} clients could not sign in: {run.setup_failures[0]}")
        unexpected += len(run.setup_failures)
    if log_note:
        notes.append(log_note)
    return Row(database=database, operation=op.name, clients=clients, requests=len(statuses),
               throughput=len(statuses) / wall_s if wall_s > 0 else 0.0,
               p50_ms=percentile(probes, 0.50) * MS_PER_S, p95_ms=percentile(probes, 0.95) * MS_PER_S,
               client_errors=sum(1 for s in statuses if 400 <= s < 500),
               server_errors=sum(1 for s in statuses if s >= 500),
               no_answer=sum(1 for s in statuses if s == 0), unexpected=unexpected, notes="; ".join(notes))


# ---------------------------------------------------------------------------------------------
# Databases, the CLI and the server


def app_env(database_url: str, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url,
        "SANKU_ENV": "development",
        "SECRET_KEY": SECRET_KEY,
        "SANKU_DATA_KEYS": DATA_KEY,
        "SANKU_LOOKUP_KEY": LOOKUP_KEY,
        "SANKU_CLASSIFIER_PATH": str(workdir / "classifier.joblib"),
        "FLASK_DEBUG": "0",  # no reloader: the server is one process we can stop
        "PYTHONUNBUFFERED": "1",
    })
    return env


def run_cli(args: list[str], env: dict[str, str]) -> str:
    """``flask --app app ARGS`` in the repository, as a user runs it; its output, or an error."""
    command = [sys.executable, "-m", "flask", "--app", "app", *args]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-LOG_TAIL_LINES:])
        raise RuntimeError(f"flask {' '.join(args)} exited {done.returncode}:\n{tail}")
    return done.stdout


def build_database(env: dict[str, str]) -> None:
    run_cli(["db", "upgrade"], env)
    run_cli(["seed-demo"], env)


@contextmanager
def sqlite_database(workdir: Path) -> Iterator[str]:
    # Lives in the temporary directory, removed with it.
    yield f"sqlite:///{workdir / 'sanku.db'}"


def postgres_reachable() -> str | None:
    """None when a database can be created; else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    try:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True):
            return None
    except psycopg.Error as exc:
        return f"cannot connect to 127.0.0.1:5432 as postgres: {str(exc).strip().splitlines()[0]}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A database of our own on the local PostgreSQL, dropped afterwards even when connections remain."""
    import psycopg
    from psycopg import sql

    name = f"sanku_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield PG_URL.format(name=name)
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((SERVER_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_command(kind: str, port: int) -> list[str]:
    if kind == "gunicorn":
        return [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "8", "-b", f"{SERVER_HOST}:{port}",
                "app:create_app()"]
    return [sys.executable, "-m", "flask", "--app", "app", "run", "--with-threads", "--host", SERVER_HOST,
            "--port", str(port)]


def log_tail(path: Path) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])


@contextmanager
def running_server(kind: str, env: dict[str, str], log_path: Path) -> Iterator[int]:
    """The server in its own process group, answering on a free port; stopped on the way out."""
    port = free_port()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(server_command(kind, port), cwd=REPO_ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_serving(proc, port, log_path)
        yield port
    finally:
        stop_server(proc)


def wait_until_serving(proc: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    client = Client(port, None)
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}:\n{log_tail(log_path)}")
            status, _data, _seconds = client.request("GET", "/api/v1/grids")
            if status == 200:
                return
            time.sleep(SERVER_POLL_INTERVAL_S)
    finally:
        client.close()
    raise RuntimeError(f"the server did not answer /api/v1/grids within {SERVER_START_TIMEOUT_S:.0f} s:\n"
                       f"{log_tail(log_path)}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    # The process group is the one we started (start_new_session), so gunicorn's workers go too.
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=SERVER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")  # a new line of the server's log
EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_]\w*\.)*(\w*(?:Error|Exception|Timeout)\w*): (.*)$")
LOG_MESSAGE_CHARS = 48


def logged_errors(text: str) -> Counter[str]:
    """The final exception of each logged traceback, as ``Class: message`` (cut short).

    A chained traceback names its causes first ("The above exception was the direct cause..."),
    so only the last exception line before the next log record counts: one per failed request.
    """
    found: Counter[str] = Counter()
    pending = None
    for line in text.splitlines():
        if LOG_RECORD.match(line):
            if pending:
                found[pending] += 1
            pending = None
        elif match := EXCEPTION_LINE.match(line):
            pending = f"{match[1]}: {match[2][:LOG_MESSAGE_CHARS]}"
    if pending:
        found[pending] += 1
    return found


class LogWatch:
    """What the server logged since the last look (its log file only grows)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size

    def note(self) -> str:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            text = log.read().decode(errors="replace")
            self.offset = log.tell()
        errors = logged_errors(text)
        return "; ".join(f"log: {n} x {what}" for what, n in errors.most_common())


def coordinator_need_ids(port: int) -> list[int]:
    """Needs the coordinator sees (its Party grid), for its proposals."""
    client = Client(port, None)
    try:
        token = sign_in(client, PROPOSALS_ACCOUNT)
        status, data, _seconds = client.request("GET", f"/api/v1/needs?per_page={PROPOSAL_NEEDS}", token=token)
    finally:
        client.close()
    if status != 200:
        raise RuntimeError(f"listing the coordinator's needs: HTTP {status} {data[:200]!r}")
    ids = [int(item["id"]) for item in json.loads(data)["items"]]
    if not ids:
        raise RuntimeError("the coordinator sees no needs")
    return ids


def warm_up(op: Operation, port: int, need_ids: Sequence[int]) -> None:
    """One untimed request, so one-time costs (the provider index, imports) stay out of the table."""
    if op.account is None:
        return  # a wrong sign-in now would count against the limiter for nothing
    worker = Worker(0, 1, Client(port, None), AddressBook(enabled=False), port, need_ids)
    try:
        worker.token = sign_in(worker.client, op.account)
        op.step(worker)
    finally:
        worker.client.close()


def measure_database(label: str, url: str, args: argparse.Namespace, workdir: Path, addresses: AddressBook,
                     rows: list[Row]) -> None:
    """Appends each row as it is measured, so a failure later keeps the rows before it."""
    env = app_env(url, workdir)
    progress(f"{label}: db upgrade + seed-demo")
    build_database(env)
    log_path = workdir / f"server-{label}.log"
    progress(f"{label}: starting {args.server}")
    with running_server(args.server, env, log_path) as port:
        need_ids = coordinator_need_ids(port)
        watch = LogWatch(log_path)
        for op in OPERATIONS:
            warm_up(op, port, need_ids)
            for clients in args.clients:
                watch.note()  # what the warm-up or sign-ins logged is not the row's
                run, wall_s = run_row(op, clients, args.seconds, port, addresses, need_ids)
                row = summarise(label, op, clients, run, wall_s, watch.note())
                progress(f"{label}: {op.name} x{clients}: {row.requests} requests, {row.unexpected} unexpected")
                rows.append(row)


# ---------------------------------------------------------------------------------------------
# Output


COLUMNS = (("database", 9, "<"), ("operation", 26, "<"), ("clients", 7, ">"), ("requests", 8, ">"),
           ("req/s", 7, ">"), ("p50 ms", 8, ">"), ("p95 ms", 8, ">"), ("4xx", 5, ">"), ("5xx", 5, ">"),
           ("err", 4, ">"), ("unexpected", 10, ">"), ("notes", 0, "<"))


def format_row(values: Sequence[str]) -> str:
    return "  ".join(f"{v:{align}{width}}" for v, (_name, width, align) in zip(values, COLUMNS)).rstrip()


def print_table(rows: Sequence[Row]) -> None:
    header = format_row([name for name, _width, _align in COLUMNS])
    print(header)
    print("-" * len(header))
    for r in rows:
        print(format_row([r.database, r.operation, str(r.clients), str(r.requests), f"{r.throughput:.1f}",
                          f"{r.p50_ms:.1f}", f"{r.p95_ms:.1f}", str(r.client_errors), str(r.server_errors),
                          str(r.no_answer), str(r.unexpected), r.notes]))


def progress(message: str) -> None:
    print(f"  ... {message}", file=sys.stderr, flush=True)


def git_state() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return f"{REPO_ROOT} is not a git checkout"
    changed = [line for line in git("status", "--porcelain").splitlines() if line]
    dirty = f"uncommitted changes in {len(changed)} paths" if changed else "clean working tree"
    return f"commit {commit}, {dirty}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CELL_SECONDS:g} s per row")
    parser.add_argument("--seconds", type=float, help=f"seconds per row (default {CELL_SECONDS:g})")
    parser.add_argument("--db", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--clients", default=",".join(map(str, CLIENT_COUNTS)), help="comma-separated client counts")
    parser.add_argument("--server", choices=("flask", "gunicorn"), default="flask")
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (QUICK_CELL_SECONDS if args.quick else CELL_SECONDS)
    args.clients = [int(c) for c in args.clients.split(",")]
    args.db = [d.strip() for d in args.db.split(",") if d.strip()]
    unknown = set(args.db) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown database {', '.join(sorted(unknown))}")
    if args.server == "gunicorn" and importlib.util.find_spec("gunicorn") is None:
        parser.error("gunicorn is not installed in this environment")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    addresses = AddressBook(enabled=loopback_aliases_work())
    print(f"# {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %z}; {git_state()}; server: {args.server}; "
          f"{args.seconds:g} s per row; clients {', '.join(map(str, args.clients))}")
    if not addresses.enabled:
        print("# note: cannot bind loopback aliases (127.1.x.x); every client comes from 127.0.0.1, so per-address"
              " limits see one client")
    rows: list[Row] = []
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sanku-bench-load-") as tmp:
        for label in args.db:
            workdir = Path(tmp) / label
            workdir.mkdir()
            if label == "postgres":
                reason = postgres_reachable()
                if reason:
                    print(f"# note: PostgreSQL skipped: {reason}")
                    continue
            database = postgres_database() if label == "postgres" else sqlite_database(workdir)
            try:
                with database as url:
                    measure_database(label, url, args, workdir, addresses, rows)
            except Exception as exc:  # one database failing to set up must not hide the other's rows
                failures.append(label)
                print(f"# {label}: not measured ({type(exc).__name__}): {exc}")
    print(f"# at the end: {git_state()}")
    print_table(rows)
    print(verdict(rows, failures))
    return 1 if failures else 0


def verdict(rows: Sequence[Row], failures: Sequence[str]) -> str:
    bad = [r for r in rows if r.unexpected]
    missing = f"; not measured: {', '.join(failures)}" if failures else ""
    if bad:
        return (f"every row had 0 unexpected non-2xx: NO ({len(bad)} of {len(rows)} rows had some, "
                f"{sum(r.unexpected for r in bad)} answers in all){missing}")
    if not rows:
        return f"every row had 0 unexpected non-2xx: no rows were measured{missing}"
    return f"every row had 0 unexpected non-2xx: yes ({len(rows)} rows){missing}"


if __name__ == "__main__":
    if "--mixed" in sys.argv[1:]:
        # The production issue's mixed load (locust; 70% reads, 20% submissions, 10% transitions),
        # gunicorn beside the development server: benchmarks/load_mix.py.
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from load_mix import main as mixed_main
        sys.exit(mixed_main())
    sys.exit(main())
