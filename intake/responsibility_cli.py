"""Command line of Party members' responsibility fields (党员责任田):
``flask --app app fields assign MEMBER BUILDING...``, ``fields stale``, ``fields report``."""
from __future__ import annotations

import sys
from datetime import datetime

import click
from flask import Flask
from flask.cli import AppGroup

from core.config import zone
from core.database import get_db
from core.errors import ApiError
from core.times import local_today

from .responsibility import DEFAULT_STALE_DAYS, member_fields, party_grid_visits, party_member, set_field

fields_group = AppGroup("fields", help="党员责任田：分配楼栋、久未走访的楼栋、按党建网格统计走访。")


def register(app: Flask) -> None:
    app.cli.add_command(fields_group)


def _fail(exc: ApiError) -> None:
    reasons = "；".join(f"{k}: {'、'.join(map(str, v))}" for k, v in (exc.fields or {}).items()) or exc.message
    click.echo(f"失败：{reasons}", err=True)
    sys.exit(1)


@fields_group.command("assign")
@click.argument("member")
@click.argument("buildings", nargs=-1)
def assign_command(member: str, buildings: tuple[str, ...]) -> None:
    """党员 MEMBER（志愿者编号）的责任田设为楼栋 BUILDINGS（编码，替换原有的；不给楼栋则清空）。"""
    try:
        with get_db().unit_of_work() as session:
            done = set_field(session, party_member(session, member), list(buildings), None)
            codes = [b.code for b in done]
    except ApiError as exc:
        _fail(exc)
    click.echo(f"{member} 的责任田：{len(codes)} 个楼栋 {'、'.join(codes)}")


@fields_group.command("stale")
@click.option("--days", default=DEFAULT_STALE_DAYS, show_default=True, type=click.IntRange(1, 366),
              help="超过多少天未走访算久未走访。")
def stale_command(days: int) -> None:
    """每位党员：本月走访次数和户数，以及久未走访的楼栋。"""
    with get_db().unit_of_work() as session:
        members = member_fields(session, None, local_today(zone()), days)
    for m in members:
        stale = "、".join(f"{b.name}（{b.last_visited_on or '从未走访'}）" for b in m.stale) or "无"
        click.echo(f"{m.ref} {m.name}（{m.party_grid or '-'}）：楼栋 {len(m.buildings)}，本月走访 "
                   f"{m.visits_this_month} 次 {m.households_this_month} 户；超过 {days} 天未走访：{stale}")


@fields_group.command("report")
@click.option("--month", default=None, help="YYYY-MM；不填为本月。")
@click.option("--days", default=DEFAULT_STALE_DAYS, show_default=True, type=click.IntRange(1, 366))
def report_command(month: str | None, days: int) -> None:
    """按党建网格统计：党员、楼栋、本月走访覆盖率、走访次数和户数、收集的需求、久未走访的楼栋。"""
    try:
        first = datetime.strptime(month, "%Y-%m").date() if month else local_today(zone())
    except ValueError:
        raise click.BadParameter("月份应为 YYYY-MM，如 2026-11", param_hint="--month") from None
    with get_db().unit_of_work() as session:
        rows = party_grid_visits(session, None, first, local_today(zone()), days)
    click.echo("党建网格\t党员\t楼栋\t走访到\t覆盖率\t走访次数\t户数\t收集需求\t久未走访")
    for r in rows:
        coverage = f"{r.coverage:.0%}" if r.coverage is not None else "-"
        click.echo(f"{r.code} {r.name}\t{r.members}\t{r.buildings}\t{r.buildings_visited}\t{coverage}\t{r.visits}\t"
                   f"{r.households}\t{r.needs_raised}\t{r.stale_buildings}")
