"""``flask --app app backup create FILE [--encrypt]``, ``backup restore FILE``, ``backup keygen``."""
from __future__ import annotations

import secrets
import sys
from collections.abc import Callable, Collection
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from core.database import get_db

from .crypto import MIN_KEY_CHARS
from .manifest import BackupError
from .service import create_backup, restore_backup

backup_group = AppGroup("backup", help="备份与恢复：数据库、全部照片与带校验和的清单。")


KNOWN_REVISIONS = "sanku_known_revisions"  # app.extensions: what answers the schema revisions this code knows


def register(app: Flask, known_revisions: Callable[[], Collection[str]]) -> None:
    """``known_revisions`` answers the schema revisions of this code's migrations (the app passes them in:
    the migrations are a room beside this one)."""
    app.extensions[KNOWN_REVISIONS] = known_revisions
    app.cli.add_command(backup_group)


def _key() -> str | None:
    return str(current_app.config.get("BACKUP_KEY") or "") or None


def _fail(what: str, exc: BackupError) -> None:
    click.echo(f"{what}失败：{exc}", err=True)
    sys.exit(1)


@backup_group.command("create")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--encrypt", is_flag=True, help="用 SANKU_BACKUP_KEY 加密整个备份文件（AES-256-GCM）。")
def create_command(file: Path, encrypt: bool) -> None:
    """把数据库（一致的快照）、全部照片和清单写进 FILE。"""
    key = _key()
    if encrypt and key is None:
        click.echo("备份失败：--encrypt 需要密钥，请先设置 SANKU_BACKUP_KEY（可用 backup keygen 生成）。", err=True)
        sys.exit(1)
    try:
        summary = create_backup(get_db().engine, current_app.config["DATABASE_URL"],
                                Path(current_app.config["PHOTO_DIR"]), file, key if encrypt else None)
    except BackupError as exc:
        _fail("备份", exc)
        return
    click.echo(f"备份完成：{file}")
    click.echo(summary.line())


@backup_group.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def restore_command(file: Path) -> None:
    """把备份 FILE 恢复进空数据库与空照片目录，并核对每张表的行数。"""
    try:
        summary = restore_backup(get_db().engine, current_app.config["DATABASE_URL"],
                                 Path(current_app.config["PHOTO_DIR"]), file, _key(),
                                 known_revisions=current_app.extensions[KNOWN_REVISIONS]())
    except BackupError as exc:
        _fail("恢复", exc)
        return
    click.echo(f"恢复完成，行数与清单一致：{file}")
    click.echo(summary.line())
    click.echo("若本程序比备份更新，接着运行 flask --app app db upgrade。")


@backup_group.command("keygen")
def keygen_command() -> None:
    """生成一个新的备份密钥（设为 SANKU_BACKUP_KEY，并另外妥善保存）。"""
    key = secrets.token_urlsafe(32)
    assert len(key) >= MIN_KEY_CHARS
    click.echo(key)
