"""A source database with rows in many tables and photos on disk, committed (a backup reads what is
committed), and the helpers that compare two databases row by row."""
from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import Engine, MetaData, select

from app import create_app
from core.database import get_db
from migrations.runner import migrate

BACKUP_KEY = "k" * 16 + "-a-test-key-of-enough-length"


@dataclass
class Source:
    app: Flask
    url: str
    photo_dir: Path


def make_app(url: str, photo_dir: Path, classifier_path: str, **extra: Any) -> Flask:
    return create_app({"TESTING": True, "DATABASE_URL": url, "CLASSIFIER_PATH": classifier_path,
                       "SECRET_KEY": "test", "PHOTO_DIR": str(photo_dir), **extra})


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return out.getvalue()


def fill(app: Flask) -> None:
    """Grids, providers, accounts, needs (Chinese text, JSON columns, nulls), their audit, and photos."""
    from intake.photos import attach_photo, clean_photo
    from tests.factories import make_account, make_cast, make_need, make_resource
    with app.app_context():
        migrate(get_db().engine)
        with get_db().unit_of_work() as s:
            cast = make_cast(s)
            make_resource(s)
            make_account(s, "resident", "居民-甲", phone="13912345678")
            needs = [make_need(s, ref=f"N{i}", text=f"第{i}号：楼道灯坏了，晚上看不见路", service="public",
                               grid="G1" if i % 2 else "G3", contact=f"王先生 1390013{i:04d}")
                     for i in range(1, 13)]
            for i, need in enumerate(needs[:3]):
                attach_photo(s, need, clean_photo(_png((40 * i, 90, 200))), cast.admin)


@pytest.fixture(scope="module")
def sqlite_source(tmp_path_factory: pytest.TempPathFactory, classifier_path: str) -> Iterator[Source]:
    folder = tmp_path_factory.mktemp("source")
    url = f"sqlite:///{folder / 'source.db'}"
    app = make_app(url, folder / "photos", classifier_path)
    with pytest.MonkeyPatch.context() as mp:
        from argon2 import PasswordHasher

        from access import auth
        mp.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        fill(app)
    yield Source(app, url, folder / "photos")
    with app.app_context():
        get_db().engine.dispose()


def cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["backup", *args])


def all_rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order (all columns where there is none)."""
    meta = MetaData()
    meta.reflect(engine)
    rows = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    return rows


def photo_sums(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


def engine_of(app: Flask) -> Engine:
    with app.app_context():
        return get_db().engine
