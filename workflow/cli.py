"""Command line of the workflow: accounts, scheduled escalation, notification delivery."""
from __future__ import annotations

import secrets
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from database import get_db
from errors import ApiError
from models import ROLES

users_group = AppGroup("users", help="账号管理。")
notify_group = AppGroup("notify", help="通知发送。")


def register(app: Flask) -> None:
    app.cli.add_command(users_group)
    app.cli.add_command(notify_group)
    app.cli.add_command(escalate_command)


@users_group.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--scope", "scope", multiple=True,
              help="范围编码：协调员为网格或党建网格或组织编号，支部审核人为党建网格编码；可重复。")
@click.option("--scope-type", type=click.Choice(["grid", "party_grid", "organization"]), default=None,
              help="协调员的范围类型（默认按编码推断：PG 开头为党建网格）。")
@click.option("--volunteer", "volunteer_ref", default=None, help="志愿者账号关联的社会志愿库编号。")
@click.option("--password", default=None, help="不填则生成随机密码并打印。")
@click.option("--display-name", default="")
def create_user_command(name: str, role: str, scope: tuple[str, ...], scope_type: str | None,
                        volunteer_ref: str | None, password: str | None, display_name: str) -> None:
    """创建账号 NAME。"""
    from .auth import create_user
    password = password or secrets.token_urlsafe(9)
    if scope and scope_type is None:
        scope_type = "party_grid" if role == "reviewer" or all(c.upper().startswith("PG") for c in scope) else "grid"
    try:
        with get_db().unit_of_work() as session:
            user = create_user(session, username=name, password=password, role=role, display_name=display_name,
                               scope_type=scope_type if scope else None, scope_codes=list(scope),
                               volunteer_ref=volunteer_ref)
            role_ = user.role
    except ApiError as exc:
        reasons = "；".join(f"{k}: {'、'.join(v)}" for k, v in (exc.fields or {}).items()) or exc.message
        click.echo(f"创建失败：{reasons}", err=True)
        sys.exit(1)
    click.echo(f"已创建账号 {name}（{role_}），密码：{password}")


@click.command("escalate")
@with_appcontext
@click.option("--now", default=None, help="以此时间计算（ISO 8601，测试与补跑用）。")
def escalate_command(now: str | None) -> None:
    """按时限处理逾期需求：未匹配的提交网格议事会，逾期未确认的自动办结。可定时运行，重复运行无副作用。"""
    from datetime import datetime

    from .sla import run_escalation
    moment = datetime.fromisoformat(now) if now else None
    with get_db().unit_of_work() as session:
        summary = run_escalation(session, now=moment, config=current_app.config)
    click.echo(f"提交议事会 {summary['escalated']} 条，自动办结 {summary['auto_closed']} 条，"
               f"标记逾期 {summary['overdue']} 条")


@notify_group.command("deliver")
def deliver_command() -> None:
    """把待发送的通知推送到 NOTIFY_WEBHOOK_URL。"""
    from .notify import WebhookSender, deliver_pending
    url = current_app.config.get("NOTIFY_WEBHOOK_URL")
    if not url:
        click.echo("未配置 NOTIFY_WEBHOOK_URL，通知只在应用内显示。")
        return
    with get_db().unit_of_work() as session:
        sent, failed = deliver_pending(session, WebhookSender(url))
    click.echo(f"已发送 {sent} 条，失败 {failed} 条（失败的下次重试）")
