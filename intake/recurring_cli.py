"""Command line of recurring needs: ``flask --app app recurring spawn [--now ISO]``, for a scheduler."""
from __future__ import annotations

from datetime import datetime

import click
from flask import Flask
from flask.cli import AppGroup

from core.config import zone
from core.database import get_db
from core.times import to_utc

from .recurring import spawn_due

recurring_group = AppGroup("recurring", help="周期性需求。")


def register(app: Flask) -> None:
    app.cli.add_command(recurring_group)


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("应为 ISO 8601 时间，如 2026-12-09T09:00 或 2026-12-09T09:00+08:00") from None


@recurring_group.command("spawn")
@click.option("--now", default=None,
              help="以此时间计算（ISO 8601；不带时区时按本街道时区理解；测试与补跑用）。")
def spawn_command(now: str | None) -> None:
    """生成未来 7 天内（HORIZON）开始的周期性需求。可定时运行，重复运行不会重复生成。"""
    moment = to_utc(_moment(now), zone()) if now else None
    with get_db().unit_of_work() as session:
        summary = spawn_due(session, now=moment)
    click.echo(f"生成需求 {summary['made']} 条，跳过已过期 {summary['skipped']} 次（规则 {summary['recurrences']} 条）")
