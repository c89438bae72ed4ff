"""Command line of residents' personal data: ``retention apply [--dry-run] [--now ISO]``, ``keys new``,
``keys rotate``."""
from __future__ import annotations

from datetime import datetime

import click
from flask import Flask
from flask.cli import AppGroup

from core import crypto
from core.config import setting, zone
from core.database import get_db
from core.times import to_utc, utcnow

from .keys import rotate_keys
from .retention import apply_retention

retention_group = AppGroup("retention", help="个人信息保存期限。")
keys_group = AppGroup("keys", help="加密联系方式的密钥。")


def register(app: Flask) -> None:
    app.cli.add_command(retention_group)
    app.cli.add_command(keys_group)


@retention_group.command("apply")
@click.option("--dry-run", is_flag=True, help="只报告将删除什么，不删除。")
@click.option("--now", default=None, help="以此时间计算（ISO 8601；不带时区按本街道时区；测试与补跑用）。")
def retention_command(dry_run: bool, now: str | None) -> None:
    """删除办结或撤销超过 SANKU_RETENTION_DAYS 天的需求中的联系方式、姓名、地址和照片（统计数据保留）。可定时运行。"""
    try:
        moment = to_utc(datetime.fromisoformat(now), zone()) if now else utcnow()
    except ValueError:
        raise click.BadParameter("应为 ISO 8601 时间，如 2027-12-01T00:00", param_hint="--now") from None
    with get_db().unit_of_work() as session:
        report = apply_retention(session, moment, int(setting("RETENTION_DAYS")), dry_run=dry_run)
        if dry_run:
            session.rollback()
    for line in report.lines(dry_run):
        click.echo(line)


@keys_group.command("new")
def new_key_command() -> None:
    """打印一个新的数据密钥（放在 SANKU_DATA_KEYS 最前面，再运行 keys rotate）。"""
    click.echo(crypto.new_key())


@keys_group.command("rotate")
def rotate_command() -> None:
    """用 SANKU_DATA_KEYS 的第一个密钥重新加密所有联系方式，并按 SANKU_LOOKUP_KEY 重算查找用的散列。"""
    with get_db().unit_of_work() as session:
        counts = rotate_keys(session)
    click.echo("已重新加密：" + "，".join(f"{table} {n} 行" for table, n in counts.items()))
