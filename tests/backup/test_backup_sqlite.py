"""Backup → restore on SQLite: identical rows and photos; every damaged, foreign, tampered or misdirected
file is refused with a clear message and leaves the target empty."""
from __future__ import annotations

import io
import json
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from backup.manifest import MANIFEST
from backup.service import create_backup, table_rows
from core.config import ConfigError, load_config

from .conftest import BACKUP_KEY, Source, all_rows, cli, engine_of, make_app, photo_sums

MakeTarget = Callable[..., Flask]


@pytest.fixture
def target(tmp_path: Path, classifier_path: str) -> MakeTarget:
    """An app on an empty SQLite database and an absent photo folder, fresh for each call."""
    made = iter(range(100))

    def make(**extra: object) -> Flask:
        n = next(made)
        return make_app(f"sqlite:///{tmp_path / f'target{n}.db'}", tmp_path / f"photos{n}", classifier_path, **extra)
    return make


@pytest.fixture(scope="module")
def archive(sqlite_source: Source, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("archive") / "sanku.backup"
    result = cli(sqlite_source.app, "create", str(path))
    assert result.exit_code == 0, result.output
    return path


def assert_untouched(app: Flask) -> None:
    """A failed restore leaves the target as it was: no table, no photo folder."""
    assert table_rows(engine_of(app)) == {}
    assert not Path(app.config["PHOTO_DIR"]).exists()


def refused(app: Flask, path: Path, *words: str) -> str:
    result = cli(app, "restore", str(path))
    assert result.exit_code != 0
    assert "恢复失败" in result.output
    for word in words:
        assert word in result.output, result.output
    assert_untouched(app)
    return result.output


def test_restore_gives_identical_rows_and_photos(sqlite_source: Source, archive: Path, target: MakeTarget) -> None:
    app = target()
    result = cli(app, "restore", str(archive))
    assert result.exit_code == 0, result.output
    assert "恢复完成" in result.output and "照片 6 张" in result.output  # 3 photos, each with its thumbnail
    before, after = all_rows(engine_of(sqlite_source.app)), all_rows(engine_of(app))
    assert after == before
    assert len(before["needs"]) == 12 and len(before["need_photos"]) == 3
    assert len([t for t, rows in before.items() if rows]) >= 8  # grids, communities, users, volunteers, …
    assert photo_sums(Path(app.config["PHOTO_DIR"])) == photo_sums(sqlite_source.photo_dir)
    assert len(photo_sums(sqlite_source.photo_dir)) == 6


def test_create_prints_a_summary_and_a_manifest_of_every_member(sqlite_source: Source, archive: Path) -> None:
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile(MANIFEST).read())  # type: ignore[union-attr]
    assert names[0] == MANIFEST
    assert manifest["format"] == "sanku-backup" and manifest["dialect"] == "sqlite"
    assert manifest["alembic_revision"] and manifest["created_at"]
    assert manifest["tables"] == table_rows(engine_of(sqlite_source.app))
    assert set(manifest["members"]) == set(names[1:])
    assert {n.removeprefix("photos/") for n in names if n.startswith("photos/")} == set(
        photo_sums(sqlite_source.photo_dir))
    result = cli(sqlite_source.app, "create", str(archive))
    assert result.exit_code != 0 and "已存在" in result.output  # an existing backup is never overwritten


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.97])
def test_a_truncated_backup_is_refused(archive: Path, target: MakeTarget, tmp_path: Path, keep: float) -> None:
    data = archive.read_bytes()
    cut = tmp_path / "cut.backup"
    cut.write_bytes(data[:int(len(data) * keep)])
    output = refused(target(), cut)
    assert "不完整" in output or "截断" in output


def test_an_empty_file_is_refused(target: MakeTarget, tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    refused(target(), tmp_path / "empty", "空的")


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_foreign_file_is_refused(target: MakeTarget, tmp_path: Path, sqlite_source: Source) -> None:
    photo = next(sqlite_source.photo_dir.iterdir())
    refused(target(), photo, "不是三库备份文件")
    refused(target(), _tar(tmp_path / "other.tar", {"readme.txt": b"hello", MANIFEST: b"{}"}), "不是三库备份文件")
    refused(target(), _tar(tmp_path / "other2.tar", {MANIFEST: json.dumps({"format": "other"}).encode()}),
            "不是三库备份文件")


def _tampered(archive: Path, tmp_path: Path, member: str, edit: Callable[[bytes], bytes]) -> Path:
    """A copy of ``archive`` with the bytes of ``member`` replaced in place (same length)."""
    data = bytearray(archive.read_bytes())
    with tarfile.open(archive) as tar:
        info = tar.getmember(member)
    start, end = info.offset_data, info.offset_data + info.size
    new = edit(bytes(data[start:end]))
    assert len(new) == info.size and new != data[start:end]
    data[start:end] = new
    path = tmp_path / "tampered.backup"
    path.write_bytes(bytes(data))
    return path


def test_a_tampered_member_is_refused(archive: Path, target: MakeTarget, tmp_path: Path) -> None:
    with tarfile.open(archive) as tar:
        photo = next(n for n in tar.getnames() if n.startswith("photos/"))

    def flip(raw: bytes) -> bytes:
        return raw[:100] + bytes([raw[100] ^ 1]) + raw[101:]
    refused(target(), _tampered(archive, tmp_path, "database/sanku.sqlite3", flip), "校验和", "database/sanku.sqlite3")
    refused(target(), _tampered(archive, tmp_path, photo, flip), "校验和", photo)


def test_rows_that_do_not_match_the_manifest_undo_the_restore(archive: Path, target: MakeTarget,
                                                              tmp_path: Path) -> None:
    """The manifest says 12 needs, the database has 12: make it say 13 and the restore checks, fails and
    leaves the target empty (the database was written, then emptied again)."""
    def lie(raw: bytes) -> bytes:
        assert b'"needs": 12,' in raw
        return raw.replace(b'"needs": 12,', b'"needs": 13,')
    refused(target(), _tampered(archive, tmp_path, MANIFEST, lie), "核对行数不符", "needs")


def test_a_backup_from_a_newer_schema_is_refused_before_anything_is_written(archive: Path, target: MakeTarget,
                                                                            tmp_path: Path) -> None:
    """A backup made by a newer Sanku (a schema revision this code's migrations do not have) would leave a
    database that neither this code nor ``db upgrade`` can use: refused, the target left empty."""
    def newer(raw: bytes) -> bytes:
        revision = json.loads(raw)["alembic_revision"]
        unknown = "9" * len(revision)
        return raw.replace(f'"alembic_revision": "{revision}"'.encode(), f'"alembic_revision": "{unknown}"'.encode())
    output = refused(target(), _tampered(archive, tmp_path, MANIFEST, newer), "不是本程序认识的版本", "升级")
    assert "9999" in output


def test_restore_into_a_database_with_tables_is_refused(sqlite_source: Source, archive: Path,
                                                        target: MakeTarget) -> None:
    before = all_rows(engine_of(sqlite_source.app))
    result = cli(sqlite_source.app, "restore", str(archive))
    assert result.exit_code != 0 and "不是空的" in result.output
    assert all_rows(engine_of(sqlite_source.app)) == before
    app = target()
    with engine_of(app).begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"))
    result = cli(app, "restore", str(archive))
    assert result.exit_code != 0 and "不是空的" in result.output


def test_an_empty_alembic_version_counts_as_empty_but_a_full_photo_folder_does_not(
        archive: Path, target: MakeTarget, sqlite_source: Source) -> None:
    app = target()
    with engine_of(app).begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
    photos = Path(app.config["PHOTO_DIR"])
    photos.mkdir()
    (photos / "old.jpg").write_bytes(b"x")
    result = cli(app, "restore", str(archive))
    assert result.exit_code != 0 and "照片目录不是空的" in result.output
    (photos / "old.jpg").unlink()
    result = cli(app, "restore", str(archive))
    assert result.exit_code == 0, result.output
    assert all_rows(engine_of(app)) == all_rows(engine_of(sqlite_source.app))


def test_an_encrypted_backup_round_trips_and_refuses_a_wrong_or_missing_key(
        sqlite_source: Source, target: MakeTarget, tmp_path: Path, classifier_path: str) -> None:
    keyed = make_app(sqlite_source.url, sqlite_source.photo_dir, classifier_path, BACKUP_KEY=BACKUP_KEY)
    path = tmp_path / "sealed.backup"
    result = cli(keyed, "create", str(path), "--encrypt")
    assert result.exit_code == 0, result.output
    assert "已加密" in result.output
    data = path.read_bytes()
    assert b"sanku-backup" not in data and b"alembic_version" not in data  # nothing readable inside
    refused(target(), path, "已加密", "SANKU_BACKUP_KEY")
    refused(target(BACKUP_KEY=BACKUP_KEY[::-1]), path, "密钥不对")
    cut = tmp_path / "cut.backup"
    cut.write_bytes(data[:-7])
    refused(target(BACKUP_KEY=BACKUP_KEY), cut, "截断")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    (tmp_path / "flipped.backup").write_bytes(bytes(flipped))
    refused(target(BACKUP_KEY=BACKUP_KEY), tmp_path / "flipped.backup", "被改动过")
    (tmp_path / "tail.backup").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # the last chunk, past tar's end
    refused(target(BACKUP_KEY=BACKUP_KEY), tmp_path / "tail.backup", "被改动过")
    (tmp_path / "longer.backup").write_bytes(data + data[-40:])  # something appended after the last chunk
    refused(target(BACKUP_KEY=BACKUP_KEY), tmp_path / "longer.backup", "已损坏")
    app = target(BACKUP_KEY=BACKUP_KEY)
    result = cli(app, "restore", str(path))
    assert result.exit_code == 0, result.output
    assert all_rows(engine_of(app)) == all_rows(engine_of(sqlite_source.app))
    assert photo_sums(Path(app.config["PHOTO_DIR"])) == photo_sums(sqlite_source.photo_dir)


def test_encrypt_without_a_key_is_refused(sqlite_source: Source, tmp_path: Path) -> None:
    result = cli(sqlite_source.app, "create", str(tmp_path / "x.backup"), "--encrypt")
    assert result.exit_code != 0 and "SANKU_BACKUP_KEY" in result.output
    assert not (tmp_path / "x.backup").exists()


def test_a_short_backup_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="BACKUP_KEY"):
        load_config({"ENV": "test"}, environ={"SANKU_BACKUP_KEY": "too-short"})
    assert load_config({"ENV": "test"}, environ={"SANKU_BACKUP_KEY": BACKUP_KEY})["BACKUP_KEY"] == BACKUP_KEY


def test_the_backup_is_consistent_while_the_app_writes(tmp_path: Path, target: MakeTarget,
                                                       classifier_path: str) -> None:
    source = make_app(f"sqlite:///{tmp_path / 'busy.db'}", tmp_path / "busy-photos", classifier_path)
    busy_round_trip(source, target(), tmp_path)


def busy_round_trip(source: Flask, target: Flask, tmp_path: Path) -> None:
    """A writer commits rows to two tables in one transaction throughout the backup: the archive holds
    both or neither of each pair, and its manifest counts what it holds (the restore checks them)."""
    engine = engine_of(source)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE a (id INTEGER PRIMARY KEY, payload TEXT)"))
        conn.execute(text("CREATE TABLE b (id INTEGER PRIMARY KEY, payload TEXT)"))
        conn.execute(text("INSERT INTO a (id, payload) VALUES (:i, :p)"), [{"i": i, "p": "x" * 2000} for i in range(5000)])
        conn.execute(text("INSERT INTO b (id, payload) VALUES (:i, :p)"), [{"i": i, "p": "x" * 2000} for i in range(5000)])
    stop, written = threading.Event(), [0]

    def write() -> None:
        while not stop.is_set():
            n = 5000 + written[0]
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO a (id, payload) VALUES (:i, 'y')"), {"i": n})
                conn.execute(text("INSERT INTO b (id, payload) VALUES (:i, 'y')"), {"i": n})
            written[0] += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while written[0] < 5:
            threading.Event().wait(0.01)
        summary = create_backup(engine, source.config["DATABASE_URL"], Path(source.config["PHOTO_DIR"]),
                                tmp_path / "busy.backup", None)
    finally:
        stop.set()
        writer.join()
    assert written[0] > 5 and summary.rows >= 10_010
    result = cli(target, "restore", str(tmp_path / "busy.backup"))
    assert result.exit_code == 0, result.output
    rows = table_rows(engine_of(target))
    assert rows["a"] == rows["b"] and rows["a"] + rows["b"] == summary.rows


def test_keygen_prints_a_new_key_each_time_that_the_configuration_accepts(sqlite_source: Source) -> None:
    keys = {cli(sqlite_source.app, "keygen").output.strip() for _ in range(2)}
    assert len(keys) == 2
    for key in keys:
        assert load_config({"ENV": "test"}, environ={"SANKU_BACKUP_KEY": key})["BACKUP_KEY"] == key
