"""The app's SQLAlchemy URL turned into what pg_dump and pg_restore take."""
from __future__ import annotations

import pytest

from backup.manifest import BackupError
from backup.postgres import libpq


def test_a_url_becomes_a_connection_string_and_the_password_an_environment_variable() -> None:
    conninfo, env = libpq("postgresql+psycopg://sanku:p%40ss'w@db.example:5433/sanku_prod?sslmode=require")
    assert conninfo == "host='db.example' port='5433' user='sanku' dbname='sanku_prod' sslmode='require'"
    assert env == {"PGPASSWORD": "p@ss'w"}
    assert "p@ss" not in conninfo


def test_no_password_no_environment_and_quotes_are_escaped() -> None:
    conninfo, env = libpq("postgresql://postgres@127.0.0.1/o'brien")
    assert conninfo == "host='127.0.0.1' user='postgres' dbname='o\\'brien'" and env == {}


def test_a_sqlite_url_is_refused() -> None:
    with pytest.raises(BackupError):
        libpq("sqlite:///x.db")
