"""The migrations build exactly the models' schema, from one head, and can be undone and redone.

Each test migrates a database of its own: a fresh SQLite file, and on PostgreSQL (TEST_DATABASE_URL)
a fresh schema of the test database, so the suite's shared database is never touched.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

import models
from core.database import make_engine
from migrations.runner import alembic_config, downgrade, upgrade

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'migrations.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"migrations_{uuid.uuid4().hex[:12]}"
    admin = make_engine(TEST_DATABASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    # Every connection of this engine resolves names in the new schema only.
    engine = make_engine(TEST_DATABASE_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def migrate(engine: Engine, to: str = "head") -> None:
    with engine.begin() as conn:
        upgrade(connection=conn, revision=to)


def unmigrate(engine: Engine, to: str = "base") -> None:
    with engine.begin() as conn:
        downgrade(connection=conn, revision=to)


def differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), models.Base.metadata)


def table_names(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_the_migrations_have_a_single_head():
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()

    assert len(heads) == 1, heads


def test_every_revision_but_the_first_follows_another():
    script = ScriptDirectory.from_config(alembic_config())
    revisions = list(script.walk_revisions())

    assert [r.revision for r in revisions if r.down_revision is None] == [revisions[-1].revision]


def test_migrating_an_empty_database_to_head_gives_exactly_the_models_schema(empty_engine):
    migrate(empty_engine)

    assert differences(empty_engine) == []
    assert table_names(empty_engine) == set(models.Base.metadata.tables) | {"alembic_version"}


def test_downgrading_to_base_leaves_only_the_version_table_and_upgrading_again_works(empty_engine):
    migrate(empty_engine)

    unmigrate(empty_engine)
    assert table_names(empty_engine) <= {"alembic_version"}

    migrate(empty_engine)
    assert differences(empty_engine) == []


def test_each_revision_downgrades_one_step_and_upgrades_again(empty_engine):
    migrate(empty_engine)
    script = ScriptDirectory.from_config(alembic_config())

    for revision in script.walk_revisions():  # newest first
        unmigrate(empty_engine, to=revision.down_revision or "base")  # type: ignore[arg-type]
        migrate(empty_engine, to=revision.revision)
        unmigrate(empty_engine, to=revision.down_revision or "base")  # type: ignore[arg-type]

    assert table_names(empty_engine) <= {"alembic_version"}
    migrate(empty_engine)
    assert differences(empty_engine) == []


def test_the_suites_database_is_at_head(engine):
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()

    assert set(current) == set(ScriptDirectory.from_config(alembic_config()).get_heads())
