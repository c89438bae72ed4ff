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
from sqlalchemy import CheckConstraint, Connection, Engine, inspect, text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.exc import IntegrityError

import models
from core.database import make_engine
from core.vocab import ACTORS, NeedStatus
from migrations.runner import alembic_config, downgrade, upgrade
from migrations.runner import migrate as migrate_with_runner

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


# --- the vocabulary in the database ------------------------------------------------------------------

def vocabulary_columns() -> list[tuple[str, str, tuple[str, ...]]]:
    """(table, column, allowed codes) of every column the models constrain to a vocabulary."""
    out = []
    for table in models.Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, SAEnum):
                out.append((table.name, column.name, tuple(column.type.enums)))
    out += [("audit_entries", "actor_role", ACTORS), ("audit_entries", "to_status", tuple(NeedStatus)),
            ("audit_entries", "from_status", ("", *NeedStatus))]
    return out


def seed_one_of_each(conn: Connection) -> None:
    """One valid row in every constrained table (id 1), written in SQL as a script would."""
    for statement in (
        "INSERT INTO subdistricts (id, code, name) VALUES (1, 'S1', '新安街道')",
        "INSERT INTO communities (id, code, name, subdistrict_id) VALUES (1, 'C1', '海滨社区', 1)",
        "INSERT INTO grids (id, code, name, community_id, active, subdistrict_id) VALUES (1, 'G1', '第1网格', 1, true, 1)",
        "INSERT INTO resources (id, ref, name, department, service, covers_all, capacity, skills, description, hours,"
        " active, created_at, updated_at, subdistrict_id) VALUES (1, 'R1', '社保窗口', '', 'public', true, 1, '[]', '',"
        " '[]', true, '2026-12-01 00:00', '2026-12-01 00:00', 1)",
        "INSERT INTO volunteers (id, ref, name, kind, phone, skills, services, availability, capacity, force,"
        " party_member, description, active, created_at, updated_at, subdistrict_id) VALUES (1, 'V1', '张小明',"
        " 'person', '', '[]', '[\"volunteer\"]', '[]', 1, 'selfgov', false, '', true, '2026-12-01 00:00',"
        " '2026-12-01 00:00', 1)",
        "INSERT INTO users (id, username, password_hash, role, display_name, scope_type, scope_codes, active,"
        " created_at) VALUES (1, 'u1', 'x', 'coordinator', '', 'grid', '[\"G1\"]', true, '2026-12-01 00:00')",
        "INSERT INTO needs (id, ref, text, grid_id, urgency, contact, service, status, channel, active,"
        " unmatched_reason, escalation_level, feedback, created_at, updated_at, status_changed_at)"
        " VALUES (1, 'N1', '陪诊', 1, 'normal', '', 'volunteer', 'submitted', 'app', true, '', 0, '',"
        " '2026-12-01 00:00', '2026-12-01 00:00', '2026-12-01 00:00')",
        "INSERT INTO proposals (id, need_id, volunteer_id, rank, score, tier, features, explanation, status,"
        " created_at, decline_reason) VALUES (1, 1, 1, 1, 0.9, 1, '{}', '', 'proposed', '2026-12-01 00:00', '')",
        "INSERT INTO audit_entries (id, need_id, actor_role, at, from_status, to_status, reason)"
        " VALUES (1, 1, 'system', '2026-12-01 00:00', '', 'submitted', '')",
    ):
        conn.exec_driver_sql(statement)


def writes(conn: Connection, table: str, column: str, value: str) -> bool:
    """Whether the database takes ``value`` in ``table.column`` (tried in a savepoint, then undone)."""
    savepoint = conn.begin_nested()
    try:
        conn.execute(text(f"UPDATE {table} SET {column} = :value WHERE id = 1"), {"value": value})
    except IntegrityError:
        savepoint.rollback()
        return False
    savepoint.rollback()
    return True


def test_an_unknown_status_written_through_sql_is_refused_by_the_database(empty_engine):
    migrate(empty_engine)
    with empty_engine.connect() as conn, conn.begin():
        seed_one_of_each(conn)

        with pytest.raises(IntegrityError):
            conn.exec_driver_sql("UPDATE needs SET status = 'lost' WHERE id = 1")


def test_every_vocabulary_column_takes_each_of_its_codes_and_nothing_else(empty_engine):
    migrate(empty_engine)
    refused_codes, taken_bogus = [], []
    with empty_engine.connect() as conn, conn.begin():
        seed_one_of_each(conn)
        for table, column, codes in vocabulary_columns():
            refused_codes += [(table, column, c) for c in codes if not writes(conn, table, column, c)]
            if writes(conn, table, column, "bogus"):
                taken_bogus.append((table, column))

    assert refused_codes == []  # the migrations allow every code the models know
    assert taken_bogus == []  # and nothing else
    assert {t for t, _c, _v in vocabulary_columns()} == {
        "needs", "proposals", "resources", "volunteers", "users", "audit_entries"}


def test_the_migrated_database_has_every_check_constraint_of_the_models(empty_engine):
    migrate(empty_engine)
    expected = {(t.name, c.name) for t in models.Base.metadata.sorted_tables for c in t.constraints
                if isinstance(c, CheckConstraint)}
    with empty_engine.connect() as conn:
        inspector = inspect(conn)
        found = {(t, c["name"]) for t in models.Base.metadata.tables for c in inspector.get_check_constraints(t)}

    assert expected <= found, expected - found


def test_upgrading_a_sqlite_database_that_holds_cases_keeps_every_row(tmp_path):
    # SQLite rebuilds tables to add constraints; with foreign keys on, dropping the old needs table
    # would cascade into proposals and the audit trail. The runner keeps them.
    engine = make_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    migrate_with_runner(engine, "0002")
    with engine.begin() as conn:
        for statement in (
            "INSERT INTO communities (id, code, name) VALUES (1, 'C1', '海滨社区')",
            "INSERT INTO grids (id, code, name, community_id, active) VALUES (1, 'G1', '第1网格', 1, 1)",
            "INSERT INTO volunteers (id, ref, name, kind, phone, skills, services, availability, capacity, force,"
            " party_member, description, active, created_at, updated_at) VALUES (1, 'V1', '张', 'person', '',"
            " '[]', '[]', '[]', 1, 'selfgov', 0, '', 1, '2026-12-01', '2026-12-01')",
            "INSERT INTO needs (id, ref, text, grid_id, urgency, contact, service, status, active,"
            " unmatched_reason, escalation_level, feedback, created_at, updated_at, status_changed_at)"
            " VALUES (1, 'N1', '陪诊', 1, 'normal', '', 'volunteer', 'proposed', 1, '', 0, '',"
            " '2026-12-01', '2026-12-01', '2026-12-01')",
            "INSERT INTO proposals (id, need_id, volunteer_id, rank, score, tier, features, explanation, status,"
            " created_at, decline_reason) VALUES (1, 1, 1, 1, 0.9, 1, '{}', '', 'proposed', '2026-12-01', '')",
            "INSERT INTO audit_entries (id, need_id, actor_role, at, from_status, to_status, reason)"
            " VALUES (1, 1, 'system', '2026-12-01', 'submitted', 'proposed', '')",
        ):
            conn.exec_driver_sql(statement)

    migrate_with_runner(engine)

    with engine.connect() as conn:
        counts = {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() for t in
                  ("needs", "proposals", "audit_entries")}
        channel = conn.exec_driver_sql("SELECT channel FROM needs").scalar()
        fk_on = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
        subdistricts = conn.exec_driver_sql("SELECT id, code, name FROM subdistricts").all()
        owners = {t: conn.exec_driver_sql(f"SELECT subdistrict_id FROM {t}").scalars().all()
                  for t in ("communities", "grids", "volunteers")}
    assert counts == {"needs": 1, "proposals": 1, "audit_entries": 1}
    assert channel == "app" and fk_on == 1
    # A deployment holding data was one subdistrict: 0016 names it and puts its records there.
    assert [(code, name) for _, code, name in subdistricts] == [("main", "本街道")]
    assert owners == {t: [subdistricts[0][0]] for t in owners}
    engine.dispose()
