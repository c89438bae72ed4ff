"""Run Alembic from code, so the app, the CLI and the tests share one way to build a database."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent


class ForeignKeyViolation(RuntimeError):
    pass


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def known_revisions() -> frozenset[str]:
    """Every schema revision of this code's migrations (a database at another one is from a newer Sanku)."""
    return frozenset(script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def upgrade(url: str | None = None, connection: Connection | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url, connection), revision)


def downgrade(url: str | None = None, connection: Connection | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url, connection), revision)


def migrate(engine: Engine, revision: str = "head", *, down: bool = False) -> None:
    """Upgrade (or downgrade) the database of ``engine`` in one transaction.

    SQLite rebuilds a table to change its constraints (Alembic's batch mode): it copies the rows
    to a new table and drops the old one, and dropping a table with foreign keys on deletes its
    children through ON DELETE CASCADE. So foreign keys are off while the migration runs (SQLite
    only honours that outside a transaction) and checked once at the end.
    """
    step = downgrade if down else upgrade
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                step(connection=conn, revision=revision)
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise ForeignKeyViolation("the migration left rows whose foreign keys point nowhere")
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
