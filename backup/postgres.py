"""The PostgreSQL side: ``pg_dump`` (custom format) of one snapshot, and ``pg_restore`` in one transaction.

The manifest's row counts must describe the dump, not the database a moment later: a REPEATABLE READ
transaction exports its snapshot, ``pg_dump --snapshot`` dumps exactly that snapshot, and the rows are
counted in the same transaction. The connection is the app's ``DATABASE_URL``, turned into libpq's
connection string; a password travels in ``PGPASSWORD``, never on a command line.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, make_url, text

from .manifest import BackupError

# libpq's names for the URL's parts; the query string (sslmode=…) passes through under its own names.
_URL_PARTS = {"host": "host", "port": "port", "username": "user", "database": "dbname"}


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """(libpq connection string, extra environment) for a SQLAlchemy URL such as
    ``postgresql+psycopg://user:secret@host:5432/sanku?sslmode=require``."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise BackupError(f"不是 PostgreSQL 的连接：{parsed.drivername}")
    words = {key: str(getattr(parsed, part)) for part, key in _URL_PARTS.items() if getattr(parsed, part)}
    for key, value in parsed.query.items():
        words[key] = value if isinstance(value, str) else value[-1]
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    return " ".join(f"{k}={_quote(v)}" for k, v in words.items()), env


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _tool(name: str) -> str:
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if found is None:
        raise BackupError(f"找不到 {name}：请安装 PostgreSQL 客户端（Debian/Ubuntu：apt-get install postgresql-client）。")
    return found


def _run(args: list[str], extra_env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env={**os.environ, **extra_env}, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what}失败（退出码 {done.returncode}）：{done.stderr.strip()[-2000:]}")


def dump(engine: Engine, url: str, target: Path) -> tuple[dict[str, int], str | None]:
    """Dump the database to ``target``; returns (rows per table, Alembic revision) of the same snapshot."""
    conninfo, env = libpq(url)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        rows = counts(conn)
        revision = None
        if "alembic_version" in rows:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
              f"--file={target}", f"--dbname={conninfo}"], env, "pg_dump ")
    return rows, revision


def counts(conn: Connection) -> dict[str, int]:
    names = inspect(conn).get_table_names()
    return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}


def restore(url: str, source: Path) -> None:
    """Restore the dump ``source`` into the (empty) database of ``url`` in a single transaction: on any
    error nothing of it stays. ``--clean --if-exists`` first drops what the dump creates, if there (an
    empty alembic_version left by a bare ``db upgrade`` of nothing), inside the same transaction."""
    conninfo, env = libpq(url)
    _run([_tool("pg_restore"), "--single-transaction", "--exit-on-error", "--no-owner", "--no-privileges",
          "--clean", "--if-exists", f"--dbname={conninfo}", str(source)], env, "pg_restore ")


def empty_out(engine: Engine, tables: list[str]) -> None:
    """Drop what a restore made (after it did not verify)."""
    with engine.begin() as conn:
        for name in tables:
            conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
