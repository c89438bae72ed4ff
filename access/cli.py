"""``flask --app app users create``: accounts from the command line."""
from __future__ import annotations

import secrets
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from core.database import get_db
from core.errors import ApiError
from core.vocab import Role, ScopeType

from .auth import create_user, subdistrict_id_of

users_group = AppGroup("users", help="账号管理。")


def register(app: Flask) -> None:
    app.cli.add_command(users_group)


@users_group.command("create")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--scope", "scope", multiple=True,
              help="范围编码：协调员为网格或党建网格或组织编号，支部审核人为党建网格编码；可重复。")
@click.option("--scope-type", type=click.Choice([t.value for t in ScopeType]), default=None,
              help="协调员的范围类型（默认按编码推断：PG 开头为党建网格）。")
@click.option("--volunteer", "volunteer_ref", default=None, help="志愿者账号关联的社会志愿库编号。")
@click.option("--password", default=None, help="不填则生成随机密码并打印。")
@click.option("--display-name", default="")
@click.option("--phone", default="", help="本人手机号（核实过是本人的）：可用手机号登录，代登记在此号码下的需求归入此账号。")
@click.option("--subdistrict", default=None,
              help="所属街道编码。有范围的账号按范围推断；管理员不填则为市级管理员（看到所有街道）。")
def create_user_command(name: str, role: str, scope: tuple[str, ...], scope_type: str | None,
                        volunteer_ref: str | None, password: str | None, display_name: str, phone: str,
                        subdistrict: str | None) -> None:
    """创建账号 NAME。"""
    password = password or secrets.token_urlsafe(9)
    if scope and scope_type is None:
        scope_type = (ScopeType.PARTY_GRID if role == Role.REVIEWER or all(c.upper().startswith("PG") for c in scope)
                      else ScopeType.GRID)
    try:
        with get_db().unit_of_work() as session:
            subdistrict_id = subdistrict_id_of(session, subdistrict) if subdistrict else None
            user = create_user(session, username=name, password=password, role=role, display_name=display_name,
                               scope_type=scope_type if scope else None, scope_codes=list(scope),
                               volunteer_ref=volunteer_ref, phone=phone, subdistrict_id=subdistrict_id)
            role_ = user.role
    except ApiError as exc:
        reasons = "；".join(f"{k}: {'、'.join(v)}" for k, v in (exc.fields or {}).items()) or exc.message
        click.echo(f"创建失败：{reasons}", err=True)
        sys.exit(1)
    click.echo(f"已创建账号 {name}（{role_}），密码：{password}")
