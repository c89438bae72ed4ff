"""The SQLite side: a consistent copy of the live database with SQLite's online backup API, and the copy back.

``Connection.backup`` with all pages in one step copies the database as of one read transaction; in WAL mode
the app's writers go on meanwhile, and what they commit after the copy began is simply not in it. The rows
and the Alembic revision are counted from the copy, so the manifest describes exactly what was dumped.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from .manifest import BackupError


def _driver(engine: Engine) -> Any:
    """A raw sqlite3 connection of ``engine``'s pool (its pragmas set), with the pool's connection."""
    pooled = engine.raw_connection()
    return pooled, pooled.driver_connection


def dump(engine: Engine, target: Path) -> tuple[dict[str, int], str | None]:
    """Copy the database of ``engine`` to the file ``target``; returns (rows per table, Alembic revision)."""
    pooled, live = _driver(engine)
    try:
        copy = sqlite3.connect(target)
        try:
            live.backup(copy)  # pages=-1: every page in one step, one consistent read
        finally:
            copy.close()
    finally:
        pooled.close()
    with sqlite3.connect(target) as copy:
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        return counts(copy), revision(copy)

def counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


def revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else str(row[0])


def check_copy(path: Path) -> None:
    """Refuse a database file SQLite itself finds broken (the checksums already passed: this is the last word)."""
    try:
        with sqlite3.connect(path) as conn:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"备份中的 SQLite 数据库无法打开：{exc}") from None
    if result != "ok":
        raise BackupError(f"备份中的 SQLite 数据库未通过完整性检查：{result}")


def restore(engine: Engine, source: Path) -> None:
    """Copy the database file ``source`` over the (empty) database of ``engine``, in one step: SQLite writes
    the destination in one transaction, so a failure leaves it as it was."""
    check_copy(source)
    pooled, live = _driver(engine)
    try:
        with sqlite3.connect(source) as copy:
            copy.backup(live)
    finally:
        pooled.close()
    engine.dispose()  # pooled connections may hold the old schema


def empty_out(engine: Engine) -> None:
    """Make the database of ``engine`` empty again (after a restore that did not verify)."""
    pooled, live = _driver(engine)
    try:
        sqlite3.connect(":memory:").backup(live)
    finally:
        pooled.close()
    engine.dispose()

