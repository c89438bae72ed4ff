"""Fuzz the HTTP API from its own OpenAPI document with schemathesis, as an admin and as a resident.

    python scripts/fuzz_api.py                      # SQLite in a temporary folder
    python scripts/fuzz_api.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python scripts/fuzz_api.py --max-examples 50 --seed 7

Builds a database the way a user does (``db upgrade``, ``seed-demo``), serves the app on a free
local port, and runs ``schemathesis run`` with every check (``schemathesis.toml`` says which
statuses each check accepts and why) against every operation, once with an admin's token and once
with a resident's. Exits non-zero if either run finds a server error or a response that does not
match the document. With ``--postgres SERVER_URL`` it makes a database of its own on that server
and drops it afterwards (PostgreSQL refuses text SQLite takes, so it is the sterner test). Used by
``.ci/run`` (``make fuzz``).

Signing out and changing the password revoke the token the run signs in with (on purpose: see
tests/access/test_signin.py), so those two operations are left out; everything after them would
answer 401.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DEMO_PASSWORD = "sanku-demo-2026"
ROLES = ("admin", "resident")
SERVER_START_SECONDS = 60
DEFAULT_SEED = 2026
DEFAULT_MAX_EXAMPLES = 25
DEFAULT_MAX_TIME_SECONDS = 150  # per role: the two runs stay within a few minutes
REVOKING_OPERATIONS = ("access_logout", "access_change_password")


@contextmanager
def database(postgres: str | None, tmp: str) -> Iterator[str]:
    """The URL of an empty database: a SQLite file, or a PostgreSQL database made for this run."""
    if postgres is None:
        yield f"sqlite:///{tmp}/fuzz.db"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    name = f"sanku_fuzz_{uuid.uuid4().hex[:8]}"
    server = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def flask(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "flask"), "--app", "app", *args], cwd=REPO, env=env, check=True,
                   stdout=subprocess.DEVNULL)


@contextmanager
def serving(env: dict[str, str], port: int) -> Iterator[str]:
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(BIN / "flask"), "--app", "app", "run", "--with-threads", "--port", str(port)],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the app did not start") from None
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)


def token(base: str, username: str) -> str:
    request = urllib.request.Request(f"{base}/api/v1/auth/token", method="POST",
                                     data=json.dumps({"username": username, "password": DEMO_PASSWORD}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["access_token"])


def fuzz(base: str, role: str, bearer: str, args: argparse.Namespace) -> int:
    print(f"\n=== schemathesis as {role}", flush=True)
    command = [str(BIN / "schemathesis"), "run", f"{base}/api/v1/openapi.json", "--checks", "all",
               "--seed", str(args.seed), "--max-examples", str(args.max_examples), "--workers", "1",
               "--max-time", str(args.max_time), "--generation-deterministic", "--no-color",
               "-H", f"Authorization: Bearer {bearer}"]
    for operation_id in REVOKING_OPERATIONS:
        command += ["--exclude-operation-id", operation_id]
    return subprocess.call(command, cwd=REPO)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=None, metavar="SERVER_URL",
                        help="a PostgreSQL server to make a temporary database on (default: SQLite in a temporary folder)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES)
    parser.add_argument("--max-time", type=int, default=DEFAULT_MAX_TIME_SECONDS, help="seconds per role")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sanku-fuzz-") as tmp, database(args.postgres, tmp) as url:
        env = {**os.environ, "SANKU_ENV": "development", "SECRET_KEY": "fuzz-secret-key-0123456789abcdef",
               "DATABASE_URL": url, "SANKU_CLASSIFIER_PATH": f"{tmp}/classifier.joblib",
               "SANKU_LOG_LEVEL": "WARNING",
               # Jobs run inside the request that queues them: no broker to start, nothing left in a shared Redis.
               "SANKU_TASKS_EAGER": "true"}
        flask(env, "db", "upgrade")
        flask(env, "seed-demo")
        with serving(env, free_port()) as base:
            # Every token first: the first run's guesses at /auth/token use up this address's sign-ins.
            tokens = {role: token(base, role) for role in ROLES}
            results = {role: fuzz(base, role, tokens[role], args) for role in ROLES}
    print("\n" + ", ".join(f"{role}: {'passed' if code == 0 else 'FAILED'}" for role, code in results.items()))
    return 0 if all(code == 0 for code in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
