"""Command line of the workflow: batch matching, the scheduled SLA job, notification delivery."""
from __future__ import annotations

import sys
from datetime import datetime

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from core.config import zone
from core.database import get_db
from core.errors import ApiError
from core.times import to_utc
from models import Subdistrict

from .notify import configured_sender, deliver_pending, revive_dead
from .service import batch_subdistricts, match_scope
from .sla import run_escalation

notify_group = AppGroup("notify", help="通知发送。")


def register(app: Flask) -> None:
    app.cli.add_command(notify_group)
    app.cli.add_command(escalate_command)
    app.cli.add_command(match_command)


@click.command("match")
@with_appcontext
@click.option("--grid", default=None, help="只匹配这个网格的需求。")
@click.option("--party-grid", default=None, help="只匹配这个党建网格的需求。")
@click.option("--subdistrict", default=None, help="只匹配这个街道的需求（默认：每个街道各匹配一批）。")
def match_command(grid: str | None, party_grid: str | None, subdistrict: str | None) -> None:
    """批量匹配待匹配的需求，保存推荐及评分明细。每个街道一批，各自提交。"""
    try:
        with get_db().unit_of_work() as session:
            targets = batch_subdistricts(session, None, grid=grid, party_grid=party_grid, subdistrict=subdistrict)
        for subdistrict_id in targets:
            with get_db().unit_of_work() as session:
                run, result = match_scope(session, grid=grid, party_grid=party_grid, subdistrict_id=subdistrict_id)
                scope, stats = run.scope, dict(run.stats)
                where = session.get(Subdistrict, subdistrict_id)
            label = f"{where.name}（{where.code}）" if where and len(targets) > 1 else ""
            click.echo(f"{label}范围 {scope}：需求 {stats['needs']} 条，匹配 {stats['matched']} 条，"
                       f"未匹配 {stats['unmatched']} 条")
            for need_id, u in sorted(result.unmatched.items()):
                click.echo(f"  未匹配 #{need_id}：{u.reason_zh}")
    except ApiError as exc:
        click.echo(f"匹配失败：{exc.message}", err=True)
        sys.exit(1)


def _moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("应为 ISO 8601 时间，如 2026-12-09T09:00 或 2026-12-09T09:00+08:00") from None


@click.command("escalate")
@with_appcontext
@click.option("--now", default=None,
              help="以此时间计算（ISO 8601；不带时区时按本街道时区理解；测试与补跑用）。")
def escalate_command(now: str | None) -> None:
    """按时限处理逾期需求：未匹配的提交网格议事会，逾期未确认的自动办结。可定时运行，重复运行无副作用。"""
    moment = to_utc(_moment(now), zone()) if now else None
    with get_db().unit_of_work() as session:
        summary = run_escalation(session, now=moment)
    click.echo(f"提交议事会 {summary['escalated']} 条，自动办结 {summary['auto_closed']} 条，"
               f"标记逾期 {summary['overdue']} 条")


@notify_group.command("deliver")
def deliver_command() -> None:
    """把到期待发送的通知推送到 NOTIFY_WEBHOOK_URL（每条一次尝试；失败的按退避时间重试，超过次数转入死信）。"""
    sender = configured_sender()
    if sender is None:
        click.echo("未配置 NOTIFY_WEBHOOK_URL，通知只在应用内显示。")
        return
    with get_db().unit_of_work() as session:
        sent, failed = deliver_pending(session, sender)
    click.echo(f"已发送 {sent} 条，失败 {failed} 条（失败的按退避时间重试）")


@notify_group.command("retry-dead")
def retry_dead_command() -> None:
    """把死信（多次发送失败的通知）重新排队发送，例如接收方修复之后。"""
    with get_db().unit_of_work() as session:
        count = revive_dead(session)
    click.echo(f"已重新排队 {count} 条死信通知")
