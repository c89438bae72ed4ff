"""``flask --app app db upgrade|downgrade``: build or migrate the database (Alembic)."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from core.database import get_db

from .runner import migrate

db_group = AppGroup("db", help="数据库迁移 (Alembic)。")


def register(app: Flask) -> None:
    app.cli.add_command(db_group)


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """建立或升级数据库到最新结构。"""
    migrate(get_db().engine, revision)
    click.echo(f"数据库已升级到 {revision}")


@db_group.command("downgrade")
@click.option("--revision", default="-1", show_default=True)
def db_downgrade(revision: str) -> None:
    """回退数据库结构。"""
    migrate(get_db().engine, revision, down=True)
    click.echo(f"数据库已回退到 {revision}")
