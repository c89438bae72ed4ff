"""Command line of the pools: database, import, demo data.

Each command is one unit of work: it commits at the end and rolls back on any error.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from database import get_db

from .imports import KINDS, ImportReport, import_file
from .tabular import TableError, write_rejects_csv


def register(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(import_command)
    app.cli.add_command(seed_demo_command)


db_group = AppGroup("db", help="数据库迁移 (Alembic)。")


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """建立或升级数据库到最新结构。"""
    from migrations.runner import upgrade
    with get_db().engine.begin() as conn:
        upgrade(connection=conn, revision=revision)
    click.echo(f"数据库已升级到 {revision}")


@db_group.command("downgrade")
@click.option("--revision", default="-1", show_default=True)
def db_downgrade(revision: str) -> None:
    """回退数据库结构。"""
    from migrations.runner import downgrade
    with get_db().engine.begin() as conn:
        downgrade(connection=conn, revision=revision)
    click.echo(f"数据库已回退到 {revision}")


def print_report(report: ImportReport) -> None:
    click.echo(f"{report.kind}: 共 {report.rows} 行；新增 {report.created}，更新 {report.updated}，"
               f"未变 {report.unchanged}，有误 {len(report.rejected_rows)} 行")
    for error in report.errors:
        click.echo(f"  ✗ {error}", err=True)
    for a, b, reason in report.duplicates:
        click.echo(f"  ? 疑似重复：{a} 与 {b}（{reason}），未合并，请人工核对")


@click.command("import")
@with_appcontext
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="导入合格的行，把有误的行写入 rejects 文件。")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="有误行的输出文件（默认：FILE 旁的 *.rejects.csv）。")
def import_command(kind: str, file: Path, skip_invalid: bool, rejects: Path | None) -> None:
    """导入 KIND（grids/resources/volunteers/needs）的 CSV 或 XLSX 文件。"""
    from .classify import current_model
    classify = None
    if kind == "needs":
        def classify(texts: list[str]) -> list[tuple[str, float]]:
            return [(p.label, round(float(p.confidence), 4)) for p in current_model().predict_many(texts)]
    try:
        with get_db().unit_of_work() as session:
            report = import_file(session, kind, file.read_bytes(), file.name, skip_invalid=skip_invalid,
                                 classify=classify)
            if not report.imported:
                session.rollback()
    except TableError as exc:
        click.echo(f"无法读取文件：{exc}", err=True)
        sys.exit(2)
    print_report(report)
    if report.rejected_rows and report.imported:
        target = rejects or file.with_suffix(".rejects.csv")
        columns = list(report.rejected_rows[0][0].values)
        write_rejects_csv(target, columns, [(row, errors) for row, errors in report.rejected_rows])
        click.echo(f"有误的 {len(report.rejected_rows)} 行已写入 {target}")
    if not report.imported:
        click.echo("文件有误，未导入任何数据。修正后重新导入，或使用 --skip-invalid 只导入合格的行。", err=True)
        sys.exit(1)


@click.command("seed-demo")
@with_appcontext
@click.option("--seed", default=2026, show_default=True, help="随机种子：同一种子生成相同数据。")
@click.option("--if-empty", is_flag=True, help="数据库已有网格时什么也不做。")
def seed_demo_command(seed: int, if_empty: bool) -> None:
    """生成演示街道：13 个社区、158 个网格、34 个党建网格、资源、志愿者与需求。"""
    from .seed import seed_demo
    with get_db().unit_of_work() as session:
        summary = seed_demo(session, seed=seed, if_empty=if_empty)
    if summary is None:
        click.echo("数据库中已有网格，跳过演示数据。")
        return
    for line in summary:
        click.echo(line)
