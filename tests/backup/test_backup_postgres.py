"""Backup → restore on PostgreSQL (pg_dump / pg_restore): a source and a restore target, scratch databases
made beside TEST_DATABASE_URL's and dropped afterwards."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import make_url, text

from backup.service import create_backup, table_rows
from core.database import make_engine

from .conftest import BACKUP_KEY, Source, all_rows, cli, engine_of, fill, make_app, photo_sums
from .test_backup_sqlite import _tampered, busy_round_trip

pytestmark = pytest.mark.postgres
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


def _scratch(suffix: str) -> str:
    url = make_url(TEST_DATABASE_URL)
    return url.set(database=f"{url.database}_backup_{suffix}").render_as_string(hide_password=False)


def _recreate(url: str, *, drop_only: bool = False) -> None:
    admin = make_engine(TEST_DATABASE_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = make_url(url).database
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop_only:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


@pytest.fixture(scope="module")
def pg_source(tmp_path_factory: pytest.TempPathFactory, classifier_path: str) -> Iterator[Source]:
    url = _scratch("source")
    _recreate(url)
    folder = tmp_path_factory.mktemp("pg-source")
    app = make_app(url, folder / "photos", classifier_path, BACKUP_KEY=BACKUP_KEY)
    with pytest.MonkeyPatch.context() as mp:
        from argon2 import PasswordHasher

        from access import auth
        mp.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        fill(app)
    yield Source(app, url, folder / "photos")
    engine_of(app).dispose()
    _recreate(url, drop_only=True)


@pytest.fixture
def pg_target(tmp_path: Path, classifier_path: str) -> Iterator[Flask]:
    """An app on an empty scratch database and an absent photo folder."""
    url = _scratch("restore")
    _recreate(url)
    app = make_app(url, tmp_path / "photos", classifier_path, BACKUP_KEY=BACKUP_KEY)
    yield app
    engine_of(app).dispose()
    _recreate(url, drop_only=True)


@pytest.mark.parametrize("encrypt", [False, True], ids=["plain", "encrypted"])
def test_restore_gives_identical_rows_and_photos(pg_source: Source, pg_target: Flask, tmp_path: Path,
                                                 encrypt: bool) -> None:
    path = tmp_path / "pg.backup"
    result = cli(pg_source.app, "create", str(path), *(["--encrypt"] if encrypt else []))
    assert result.exit_code == 0, result.output
    result = cli(pg_target, "restore", str(path))
    assert result.exit_code == 0, result.output
    before, after = all_rows(engine_of(pg_source.app)), all_rows(engine_of(pg_target))
    assert after == before and len(before["needs"]) == 12
    assert photo_sums(Path(pg_target.config["PHOTO_DIR"])) == photo_sums(pg_source.photo_dir)
    # Sequences come back too: the next row gets a new id, not one of the restored ones.
    with engine_of(pg_target).begin() as conn:
        new_id = conn.execute(text("INSERT INTO communities (code, name, subdistrict_id)"
                                    " VALUES ('C-new', '新社区', (SELECT min(id) FROM subdistricts)) RETURNING id"))
        assert new_id.scalar_one() > max(r[0] for r in before["communities"])


def test_an_empty_alembic_version_is_an_empty_database(pg_source: Source, pg_target: Flask, tmp_path: Path) -> None:
    with engine_of(pg_target).begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
    path = tmp_path / "pg.backup"
    assert cli(pg_source.app, "create", str(path)).exit_code == 0
    result = cli(pg_target, "restore", str(path))
    assert result.exit_code == 0, result.output
    assert table_rows(engine_of(pg_target)) == table_rows(engine_of(pg_source.app))


def test_refusals_leave_the_target_empty(pg_source: Source, pg_target: Flask, tmp_path: Path,
                                         classifier_path: str) -> None:
    path = tmp_path / "pg.backup"
    assert cli(pg_source.app, "create", str(path)).exit_code == 0
    # Into a database with rows.
    before = all_rows(engine_of(pg_source.app))
    result = cli(pg_source.app, "restore", str(path))
    assert result.exit_code != 0 and "不是空的" in result.output
    assert all_rows(engine_of(pg_source.app)) == before
    # A backup of another dialect.
    lite = make_app(f"sqlite:///{tmp_path / 'lite.db'}", tmp_path / "lite-photos", classifier_path)
    create_backup(engine_of(lite), lite.config["DATABASE_URL"], tmp_path / "lite-photos", tmp_path / "lite.backup",
                  None)
    result = cli(pg_target, "restore", str(tmp_path / "lite.backup"))
    assert result.exit_code != 0 and "来自 sqlite" in result.output
    # Rows that do not match the manifest: restored, checked, dropped again.
    lie = _tampered(path, tmp_path, "manifest.json", lambda raw: raw.replace(b'"needs": 12,', b'"needs": 13,'))
    result = cli(pg_target, "restore", str(lie))
    assert result.exit_code != 0 and "核对行数不符" in result.output
    # A truncated dump.
    cut = tmp_path / "cut.backup"
    cut.write_bytes(path.read_bytes()[:path.stat().st_size // 2])
    result = cli(pg_target, "restore", str(cut))
    assert result.exit_code != 0 and "截断" in result.output
    assert table_rows(engine_of(pg_target)) == {}
    assert not Path(pg_target.config["PHOTO_DIR"]).exists()


def test_a_dump_that_pg_restore_cannot_apply_changes_nothing(pg_source: Source, pg_target: Flask, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """pg_restore runs in one transaction: when it fails half-way, nothing of the dump stays. Here a table
    of the dump and a view on it slipped in after the emptiness check: its ``--clean`` (there to replace an
    empty alembic_version) drops without CASCADE, so it fails on the view instead of destroying it."""
    from backup import service
    path = tmp_path / "pg.backup"
    assert cli(pg_source.app, "create", str(path)).exit_code == 0
    engine = engine_of(pg_target)

    def no_check(_engine: object) -> None:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE needs (id INTEGER PRIMARY KEY, note TEXT)"))
            conn.execute(text("CREATE VIEW needs_view AS SELECT id FROM needs"))
    monkeypatch.setattr(service, "check_empty_database", no_check)
    result = cli(pg_target, "restore", str(path))
    assert result.exit_code != 0 and "pg_restore" in result.output
    assert table_rows(engine) == {"needs": 0}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM needs_view")).scalar_one() == 0


def test_the_backup_is_consistent_while_the_app_writes(pg_target: Flask, tmp_path: Path, classifier_path: str) -> None:
    url = _scratch("busy")
    _recreate(url)
    source = make_app(url, tmp_path / "busy-photos", classifier_path)
    try:
        busy_round_trip(source, pg_target, tmp_path)
    finally:
        engine_of(source).dispose()
        _recreate(url, drop_only=True)
