"""How long do a backup and a restore take, and how big is the archive? Prints a table; never asserts timing.

Data: the demo subdistrict (``seed-demo`` with its month of history), then the same plus 100,000 needs
(bulk inserts) and 1,000 photo files of 80 KB. For each, on SQLite (and on PostgreSQL when a URL is given):

- ``backup s`` / ``enc s``: ``backup create`` plain and ``--encrypt`` (dump, checksums, tar, AES-GCM);
- ``restore s`` / ``enc s``: ``backup restore`` into a fresh database and photo folder (checksums of every
  member, the restore, the row counts checked against the manifest), plain and encrypted;
- each time is the best of 3 runs for the demo, of 1 for the larger data;
- ``x base``: ours divided by the simple thing an operator would script, timed in the same process: on
  SQLite a copy with the online backup API plus a copy of the photo folder (and back: the file copied over an
  empty database, the folder copied); on PostgreSQL ``pg_dump -Fc`` plus the folder (and ``pg_restore``).
  Neither baseline has a manifest, checksums, encryption or any check of what came back.

    python benchmarks/bench_backup.py                     # SQLite, both sizes
    python benchmarks/bench_backup.py --quick             # the demo only
    python benchmarks/bench_backup.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/sanku_backup
        # also PostgreSQL, on scratch databases <name>_bench_source and <name>_bench_restore (made and dropped)
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from argon2 import PasswordHasher  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import Engine, insert, make_url, select, text  # noqa: E402

from access import auth  # noqa: E402
from app import create_app  # noqa: E402
from backup.postgres import libpq  # noqa: E402
from backup.service import create_backup, restore_backup, table_rows  # noqa: E402
from core.database import get_db, make_engine  # noqa: E402
from demo.seed import seed_demo  # noqa: E402
from migrations.runner import migrate  # noqa: E402
from models import Need, NeedPhoto  # noqa: E402

KEY = "bench-" + "x" * 40
NEEDS = 100_000
PHOTOS, PHOTO_BYTES = 1_000, 80_000


def make(url: str, photo_dir: Path, classifier: str) -> Flask:
    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "bench", "PHOTO_DIR": str(photo_dir),
                       "CLASSIFIER_PATH": classifier, "BACKUP_KEY": KEY})


def engine_of(app: Flask) -> Engine:
    with app.app_context():
        return get_db().engine


def seed(app: Flask) -> None:
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # accounts are not measured
    with app.app_context():
        migrate(get_db().engine)
        with get_db().unit_of_work() as s:
            seed_demo(s, history=True)


def add_needs_and_photos(app: Flask) -> None:
    """100,000 needs copied from the demo's shapes in bulk, and 1,000 photos with their rows."""
    rng = random.Random(7)
    photo_dir = Path(app.config["PHOTO_DIR"])
    photo_dir.mkdir(parents=True, exist_ok=True)
    with app.app_context(), get_db().unit_of_work() as s:
        grids = s.scalars(select(Need.grid_id).distinct()).all()
        texts = s.scalars(select(Need.text).limit(200)).all()
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for offset in range(0, NEEDS, 10_000):
            s.execute(insert(Need), [
                {"ref": f"BULK-{i:06d}", "text": rng.choice(texts), "grid_id": rng.choice(grids), "urgency": "normal",
                 "contact": f"居民 139{i:08d}", "service": "volunteer", "status": "closed", "channel": "app",
                 "address_candidates": [], "created_at": start + timedelta(minutes=i),
                 "updated_at": start + timedelta(minutes=i), "status_changed_at": start + timedelta(minutes=i)}
                for i in range(offset, offset + 10_000)])
        first = s.scalars(select(Need.id).where(Need.ref.like("BULK-%")).order_by(Need.id).limit(PHOTOS)).all()
        rows = []
        for need_id in first:
            data = rng.randbytes(PHOTO_BYTES)
            name = hashlib.sha256(data).hexdigest() + ".jpg"
            (photo_dir / name).write_bytes(data)
            rows.append({"need_id": need_id, "stored_name": name, "content_type": "image/jpeg", "width": 1024,
                         "height": 768, "size_bytes": PHOTO_BYTES})
        s.execute(insert(NeedPhoto), rows)


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


class Scratch:
    """Fresh restore targets: SQLite files in a folder, or one PostgreSQL database made anew each time."""

    def __init__(self, source_url: str, folder: Path, classifier: str, postgres: str) -> None:
        self.source_url, self.folder, self.classifier, self.n = source_url, folder, classifier, 0
        self.postgres = postgres  # the URL beside which PostgreSQL scratch databases are made

    def target(self) -> Flask:
        self.n += 1
        photos = self.folder / f"photos-{make_url(self.source_url).get_backend_name()}-{self.n}"
        if self.source_url.startswith("sqlite"):
            return make(f"sqlite:///{self.folder / f'target-{self.n}.db'}", photos, self.classifier)
        url = scratch_db(self.postgres, "restore")
        return make(url, photos, self.classifier)


def scratch_db(base: str, suffix: str, *, drop_only: bool = False) -> str:
    parsed = make_url(base)
    name = f"{parsed.database}_bench_{suffix}"
    admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop_only:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def baseline_backup(app: Flask, out: Path) -> None:
    engine, photos = engine_of(app), Path(app.config["PHOTO_DIR"])
    out.mkdir()
    if engine.dialect.name == "sqlite":
        with sqlite3.connect(out / "db.sqlite3") as copy:
            live = engine.raw_connection()
            live.driver_connection.backup(copy)  # type: ignore[union-attr]
            live.close()
    else:
        conninfo, env = libpq(app.config["DATABASE_URL"])
        subprocess.run(["pg_dump", "-Fc", f"--file={out / 'db.pgdump'}", f"--dbname={conninfo}"],
                       env={**os.environ, **env}, check=True)
    if photos.is_dir():
        shutil.copytree(photos, out / "photos")


def baseline_restore(app: Flask, out: Path) -> None:
    engine, photos = engine_of(app), Path(app.config["PHOTO_DIR"])
    if engine.dialect.name == "sqlite":
        with sqlite3.connect(out / "db.sqlite3") as copy:
            live = engine.raw_connection()
            copy.backup(live.driver_connection)  # type: ignore[arg-type]
            live.close()
    else:
        conninfo, env = libpq(app.config["DATABASE_URL"])
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={conninfo}", str(out / "db.pgdump")],
                       env={**os.environ, **env}, check=True)
    if (out / "photos").is_dir():
        shutil.copytree(out / "photos", photos)


def measure(label: str, source: Flask, scratch: Scratch, work: Path, repeat: int) -> list[str]:
    """Best of ``repeat`` runs of each step (the first run also warms the file cache)."""
    engine, url, photos = engine_of(source), source.config["DATABASE_URL"], Path(source.config["PHOTO_DIR"])
    best: dict[str, float] = {}
    archives: dict[str, Path] = {}

    def keep(step: str, seconds: float) -> None:
        best[step] = min(seconds, best.get(step, seconds))

    for run in range(repeat):
        tag = f"{engine.dialect.name}-{scratch.n}-{run}"
        archives = {"plain": work / f"{tag}.backup", "enc": work / f"{tag}-enc.backup"}
        keep("backup", timed(lambda: create_backup(engine, url, photos, archives["plain"], None)))
        keep("backup enc", timed(lambda: create_backup(engine, url, photos, archives["enc"], KEY)))
        keep("base backup", timed(lambda: baseline_backup(source, work / f"{tag}-base")))
        for step, key in (("plain", None), ("enc", KEY)):
            target = scratch.target()
            keep(f"restore {step}", timed(lambda: restore_backup(
                engine_of(target), target.config["DATABASE_URL"], Path(target.config["PHOTO_DIR"]),
                archives[step], key)))
            engine_of(target).dispose()
        target = scratch.target()
        keep("base restore", timed(lambda: baseline_restore(target, work / f"{tag}-base")))
        engine_of(target).dispose()
    rows = sum(table_rows(engine).values())
    n_photos = len(list(photos.iterdir())) if photos.is_dir() else 0
    return [f"{engine.dialect.name:10} {label:22} {rows:>8} {n_photos:>6} "
            f"{archives['plain'].stat().st_size / 2**20:>10.1f} {best['backup']:>8.2f} {best['backup enc']:>6.2f} "
            f"{best['backup'] / best['base backup']:>6.1f} {best['restore plain']:>9.2f} {best['restore enc']:>6.2f} "
            f"{best['restore plain'] / best['base restore']:>6.1f}"]


def run(source_url: str, work: Path, classifier: str, quick: bool, postgres: str = "") -> list[str]:
    source = make(source_url, work / f"source-photos-{make_url(source_url).get_backend_name()}", classifier)
    seed(source)
    scratch = Scratch(source_url, work, classifier, postgres)
    lines = measure("demo subdistrict", source, scratch, work, repeat=3)
    print(lines[-1], flush=True)
    if not quick:
        add_needs_and_photos(source)
        lines += measure(f"demo + {NEEDS:,} needs", source, scratch, work, repeat=1)
        print(lines[-1], flush=True)
    engine_of(source).dispose()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the demo only, not 100,000 needs")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL", ""),
                        help="a PostgreSQL URL beside which scratch databases are made")
    args = parser.parse_args()
    header = (f"{'dialect':10} {'data':22} {'rows':>8} {'photos':>6} {'archive MB':>10} {'backup s':>8} "
              f"{'enc s':>6} {'x base':>6} {'restore s':>9} {'enc s':>6} {'x base':>6}")
    print(header, "-" * len(header), sep="\n", flush=True)
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        work = Path(tmp)
        classifier = str(work / "classifier.joblib")
        lines += run(f"sqlite:///{work / 'source.db'}", work, classifier, args.quick)
        if args.postgres:
            source_url = scratch_db(args.postgres, "source")
            try:
                lines += run(source_url, work, classifier, args.quick, args.postgres)
            finally:
                scratch_db(args.postgres, "source", drop_only=True)
                scratch_db(args.postgres, "restore", drop_only=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
