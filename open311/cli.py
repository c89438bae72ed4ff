"""``flask --app app open311 keys create NAME | revoke NAME | list``: the API keys of external systems."""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from core.database import get_db
from core.errors import ApiError

from .keys import create_key, list_keys, revoke_key

open311_group = AppGroup("open311", help="Open311 GeoReport v2 接口。")
keys_group = AppGroup("keys", help="外部系统的 API 密钥（每个系统一个）。")
open311_group.add_command(keys_group)


def register(app: Flask) -> None:
    app.cli.add_command(open311_group)


@keys_group.command("create")
@click.argument("name")
def create_command(name: str) -> None:
    """为外部系统 NAME 创建密钥并打印（只显示这一次）。"""
    try:
        with get_db().unit_of_work() as session:
            _key, plain = create_key(session, name)
    except ApiError as exc:
        click.echo(f"创建失败：{exc.message}", err=True)
        sys.exit(1)
    click.echo(f"已为 {name} 创建 Open311 密钥（只显示这一次，请妥善保存）：")
    click.echo(plain)


@keys_group.command("revoke")
@click.argument("name")
def revoke_command(name: str) -> None:
    """停用外部系统 NAME 的密钥。"""
    try:
        with get_db().unit_of_work() as session:
            revoke_key(session, name)
    except ApiError as exc:
        click.echo(f"停用失败：{exc.message}", err=True)
        sys.exit(1)
    click.echo(f"已停用 {name} 的 Open311 密钥")


@keys_group.command("list")
def list_command() -> None:
    """列出所有密钥（名称、状态、创建和最近使用时间）。"""
    with get_db().unit_of_work() as session:
        rows = [(k.name, "有效" if k.active else "已停用", k.created_at, k.last_used_at) for k in list_keys(session)]
    for name, state, created, used in rows:
        click.echo(f"{name}\t{state}\t创建 {created:%Y-%m-%d %H:%M}\t最近使用 "
                   f"{used.strftime('%Y-%m-%d %H:%M') if used else '—'}")
