"""``flask --app app import KIND FILE``: a file of grids, resources, volunteers, buildings or needs."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from core.database import get_db
from pools.imports import KINDS, ImportReport
from pools.subdistricts import subdistrict_for
from pools.tabular import TableError, write_rejects_csv

from .service import import_records


def register(app: Flask) -> None:
    app.cli.add_command(import_command)


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
@click.option("--subdistrict", default=None, help="导入到哪个街道（编码）；只有一个街道时可不填。")
def import_command(kind: str, file: Path, skip_invalid: bool, rejects: Path | None, subdistrict: str | None) -> None:
    """导入 KIND（grids/resources/volunteers/buildings/needs）的 CSV 或 XLSX 文件。"""
    try:
        with get_db().unit_of_work() as session:
            into = subdistrict_for(session, None, subdistrict).id if subdistrict else None
            report = import_records(session, kind, file.read_bytes(), file.name, skip_invalid=skip_invalid,
                                    subdistrict_id=into)
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
