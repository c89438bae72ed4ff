"""Create and restore a backup, end to end.

Create: the database first (a consistent dump and its row counts), then the photos — a photo's file is
written before its row is committed, so every photo row in the dump finds its file in the archive.

Restore: refuse early (a database or photo folder that is not empty, a foreign file, another dialect, a schema
revision this code does not know: a backup from a newer Sanku), then
read and check the whole archive into a staging folder beside the photo folder before touching the target;
restore the database in one transaction, check its rows against the manifest, and only then move the photos
into place. Whatever fails, the target is left empty, as it was.
"""
from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, inspect, text

from . import postgres, sqlite
from .archive import file_member, read_archive, write_archive
from .manifest import DATABASE_MEMBERS, PHOTO_NAME, PHOTO_PREFIX, BackupError, Manifest

SUPPORTED = tuple(DATABASE_MEMBERS)


@dataclass(frozen=True)
class Summary:
    tables: int
    rows: int
    photos: int
    bytes: int
    seconds: float
    alembic_revision: str | None
    encrypted: bool

    def line(self) -> str:
        return (f"表 {self.tables} 张，行 {self.rows}，照片 {self.photos} 张，备份文件 {self.bytes} 字节"
                f"（{self.bytes / 1024 / 1024:.1f} MB），用时 {self.seconds:.1f} 秒"
                f"{'，已加密' if self.encrypted else ''}；数据库版本 {self.alembic_revision or '无'}")


def _dialect(engine: Engine) -> str:
    if engine.dialect.name not in SUPPORTED:
        raise BackupError(f"不支持备份 {engine.dialect.name} 数据库（支持 SQLite 与 PostgreSQL）。")
    return engine.dialect.name


def photo_files(folder: Path) -> list[Path]:
    """The photo store's files (named by their hash); its temporary files (dot-named) are not photos."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and PHOTO_NAME.match(p.name))


def create_backup(engine: Engine, url: str, photo_dir: Path, target: Path, key: str | None) -> Summary:
    started = time.perf_counter()
    dialect = _dialect(engine)
    target = target.resolve()
    if target.exists():
        raise BackupError(f"文件已存在：{target}（不覆盖已有备份，请换一个文件名）。")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".sanku-backup-", dir=target.parent) as staging:
        database = Path(staging) / "database"
        if dialect == "sqlite":
            tables, revision = sqlite.dump(engine, database)
        else:
            tables, revision = postgres.dump(engine, url, database)
        sources = {DATABASE_MEMBERS[dialect]: database}
        sources |= {PHOTO_PREFIX + p.name: p for p in photo_files(photo_dir)}
        manifest = Manifest(created_at=datetime.now(UTC).isoformat(timespec="seconds"), dialect=dialect,
                            alembic_revision=revision, tables=tables,
                            members={name: file_member(path) for name, path in sources.items()},
                            encrypted=key is not None)
        size = write_archive(target, manifest, sources, key)
    return _summary(manifest, size, started)


def _summary(manifest: Manifest, size: int, started: float) -> Summary:
    return Summary(tables=len(manifest.tables), rows=manifest.rows, photos=len(manifest.photos), bytes=size,
                   seconds=time.perf_counter() - started, alembic_revision=manifest.alembic_revision,
                   encrypted=manifest.encrypted)


def table_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        names = inspect(conn).get_table_names()
        return {n: conn.execute(text(f'SELECT count(*) FROM "{n}"')).scalar_one() for n in names}


def check_empty_database(engine: Engine) -> None:
    """Refuse a database with tables (an empty ``alembic_version`` alone is empty)."""
    rows = table_rows(engine)
    full = sorted(n for n in rows if n != "alembic_version")
    if full or rows.get("alembic_version"):
        example = full[0] if full else "alembic_version"
        raise BackupError(f"目标数据库不是空的（已有 {len(full) or 1} 张表，如 {example}）：恢复只能进入空数据库，"
                          "以免覆盖现有数据。请新建一个空数据库，把 DATABASE_URL 指向它后再恢复。")


def check_empty_photos(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(f"照片目录不是空的：{folder}。恢复只能进入空的或不存在的照片目录（SANKU_PHOTO_DIR）。")


def restore_backup(engine: Engine, url: str, photo_dir: Path, source: Path, key: str | None,
                   known_revisions: Collection[str] | None = None) -> Summary:
    """Restore ``source`` into the empty database and photo folder. ``known_revisions``: the schema revisions
    this code can run on (its migrations); a backup made at another one is refused before anything is written:
    restored, it would leave a database that neither this code nor ``db upgrade`` can use."""
    started = time.perf_counter()
    dialect = _dialect(engine)
    check_empty_database(engine)
    photo_dir = photo_dir.resolve()
    check_empty_photos(photo_dir)

    def usable_here(manifest: Manifest) -> None:
        if manifest.dialect != dialect:
            raise BackupError(f"此备份来自 {manifest.dialect} 数据库，当前数据库是 {dialect}：不能跨数据库类型恢复。")
        revision = manifest.alembic_revision
        if known_revisions is not None and revision is not None and revision not in known_revisions:
            raise BackupError(f"此备份的数据库版本 {revision} 不是本程序认识的版本（备份来自更新的三库）："
                              "请先把本程序升级到做备份时的版本或更新的版本，再恢复。")

    photo_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".sanku-restore-", dir=photo_dir.parent) as staging_dir:
        staging = Path(staging_dir)
        manifest = read_archive(source, staging, key, usable_here)
        database = staging / manifest.database_member
        if dialect == "sqlite":
            sqlite.restore(engine, database)
        else:
            postgres.restore(url, database)
        try:
            _verify(engine, manifest)
            _place_photos(staging / PHOTO_PREFIX.rstrip("/"), photo_dir)
        except BaseException:
            if dialect == "sqlite":
                sqlite.empty_out(engine)
            else:
                postgres.empty_out(engine, list(manifest.tables))
            raise
    return _summary(manifest, source.stat().st_size, started)


def _verify(engine: Engine, manifest: Manifest) -> None:
    got = table_rows(engine)
    wrong = sorted(n for n in set(got) | set(manifest.tables) if got.get(n) != manifest.tables.get(n))
    if wrong:
        name = wrong[0]
        raise BackupError(f"恢复后核对行数不符：{name} 表清单中为 {manifest.tables.get(name)} 行，"
                          f"恢复后为 {got.get(name)} 行（共 {len(wrong)} 张表不符）。已撤销恢复。")
    with engine.connect() as conn:
        revision = (conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                    if "alembic_version" in got else None)
    if revision != manifest.alembic_revision:
        raise BackupError(f"恢复后数据库版本为 {revision}，清单中为 {manifest.alembic_revision}。已撤销恢复。")


def _place_photos(staged: Path, photo_dir: Path) -> None:
    """Move the staged photos into place in one rename (the staging folder is on the same disk)."""
    if photo_dir.exists():
        photo_dir.rmdir()  # checked empty before
    if staged.is_dir():
        os.replace(staged, photo_dir)
    else:
        photo_dir.mkdir()
