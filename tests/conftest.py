"""Test fixtures: one migrated database per run, one rolled-back transaction per test.

SQLite by default; set TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)
to run the same suite on PostgreSQL. Tests marked ``postgres`` skip without it.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from core.database import make_engine
from migrations.runner import migrate

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
# Fixtures for requests racing on connections of their own (own_engine, world, committed_app).
pytest_plugins = ["tests.workflow.committed"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if TEST_DATABASE_URL.startswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set TEST_DATABASE_URL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def reset_database(engine: Engine) -> None:
    """An empty database, then every migration."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate(engine)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    reset_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def classifier_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    # Shared by the whole run, so the default model is trained once.
    return str(tmp_path_factory.mktemp("model") / "classifier.joblib")


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("photos"))


@pytest.fixture
def app(engine: Engine, connection: Connection, classifier_path: str, database_url: str,  # type: ignore[no-untyped-def]
        photo_dir: str):
    # Tasks run eagerly, in the test's transaction (tests/jobs/test_worker.py runs a real worker).
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": engine,
                      "CLASSIFIER_PATH": classifier_path, "SECRET_KEY": "test", "PHOTO_DIR": photo_dir,
                      "TASKS_EAGER": True, "WEBHOOK_SECRET": "test-webhook-secret"})
    # Every session of the app joins the test's transaction; its commits become savepoints.
    app.extensions["sanku_db"].sessionmaker = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    return app


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    # argon2's production cost is deliberate; tests only need the same algorithm, not the cost.
    from argon2 import PasswordHasher

    from access import auth
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(auth, "_hasher", cheap)
    monkeypatch.setattr(auth, "_DUMMY_HASH", cheap.hash("not-a-real-password"))


@pytest.fixture
def anon_client(app):  # type: ignore[no-untyped-def]
    """A client that has not logged in."""
    return app.test_client()


@pytest.fixture
def admin_user(app):  # type: ignore[no-untyped-def]
    from tests.factories import make_user
    with app.app_context():
        db = app.extensions["sanku_db"]
        with db.unit_of_work() as s:
            user = make_user(s, "admin", role="admin")
            return user.id


@pytest.fixture
def client(app, admin_user):  # type: ignore[no-untyped-def]
    """A client logged in as an admin (bearer token), for tests of the registry itself."""
    from tests.factories import bearer_client
    return bearer_client(app, "admin")


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def session(app) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    s = app.extensions["sanku_db"].sessionmaker()
    yield s
    s.close()


@pytest.fixture
def data_dir() -> Path:
    return Path(__file__).parent / "data"


@pytest.fixture
def cast(session: Session) -> Any:
    """The accounts and volunteers of :func:`tests.factories.make_cast`, committed."""
    from tests.factories import make_cast
    return make_cast(session)


@pytest.fixture
def as_(app, cast):  # type: ignore[no-untyped-def]
    """``as_("res_a")``: a test client signed in as that member of the cast."""
    from tests.factories import signed_in
    return lambda key: signed_in(app.test_client(), app, getattr(cast, key))
