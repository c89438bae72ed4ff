"""``flask --app app seed-demo``: the demo subdistrict."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from core.database import get_db

from .seed import seed_demo


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)


@click.command("seed-demo")
@with_appcontext
@click.option("--seed", default=2026, show_default=True, help="随机种子：同一种子生成相同数据。")
@click.option("--if-empty", is_flag=True, help="数据库已有网格时什么也不做。")
@click.option("--history/--no-history", default=True, show_default=True,
              help="让需求走过最近一个月的办理流程（匹配、接单、审核、服务、办结），页面和看板才有内容。")
@click.option("--subdistricts", default=1, show_default=True, type=click.IntRange(1, 70),
              help="生成几个街道（同一城市）：第 2 个起编码带前缀 S2-、账号带编号（admin2…），另建市级账号 city。")
def seed_demo_command(seed: int, if_empty: bool, history: bool, subdistricts: int) -> None:
    """生成演示街道：13 个社区、158 个网格、34 个党建网格、资源、志愿者与需求（可生成多个街道）。"""
    with get_db().unit_of_work() as session:
        summary = seed_demo(session, seed=seed, if_empty=if_empty, history=history, subdistricts=subdistricts)
    if summary is None:
        click.echo("数据库中已有网格，跳过演示数据。")
        return
    for line in summary:
        click.echo(line)
