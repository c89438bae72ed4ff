"""Command line of the dispatcher: classifier training and evaluation, the export of assignments.
(``match``, which moves needs, is the workflow's.)"""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup

from core.config import setting
from core.database import get_db
from core.exports import write_csv
from core.vocab import Service
from models import Proposal

from .classifier import replace_model
from .proposals import current_assignments

classifier_group = AppGroup("classifier", help="四项服务分类器：训练与评估。")
export_group = AppGroup("export", help="导出。")


def register(app: Flask) -> None:
    app.cli.add_command(classifier_group)
    app.cli.add_command(export_group)


def _data_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--label-column", default="service", show_default=True)(f)
    f = click.option("--text-column", default="text", show_default=True,
                     help="文本列；多列用逗号分隔，按空格拼接（如 subject,detail）。")(f)
    f = click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
                     help="带标签的 CSV（默认：项目自带语料）。")(f)
    return f


def _read(data: Path | None, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    from matching import classifier as engine
    return engine.read_labelled_csv(data or engine.CORPUS_PATH, text_column=text_column, label_column=label_column)


@classifier_group.command("train")
@_data_options
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="模型文件（默认：服务所用的模型）。标签不是四项服务时必须指定。")
def classifier_train(data: Path | None, text_column: str, label_column: str, output: Path | None) -> None:
    """训练分类器并保存；失败时正在使用的模型保持不变。"""
    from matching import classifier as engine
    try:
        texts, labels = _read(data, text_column, label_column)
        if output is None and not set(labels) <= set(Service):
            raise engine.TrainingDataError("标签不是四项服务（public/social/market/volunteer），请用 --output 另存模型")
        model = engine.train(texts, labels, source="corpus" if data is None else "custom")
    except engine.TrainingDataError as exc:
        click.echo(f"训练失败：{exc}", err=True)
        sys.exit(1)
    target = str(output) if output else str(setting("CLASSIFIER_PATH"))
    if output:
        engine.save(model, target)
    else:
        replace_model(target, model)
    click.echo(f"已训练 {model.n_samples} 条、{len(model.labels)} 类；版本 {model.version}；保存到 {target}")


@classifier_group.command("evaluate")
@_data_options
@click.option("--folds", default=5, show_default=True)
@click.option("--seed", default=0, show_default=True)
def classifier_evaluate(data: Path | None, text_column: str, label_column: str, folds: int, seed: int) -> None:
    """分层 k 折交叉验证：准确率、宏平均 F1、混淆矩阵。"""
    from matching import classifier as engine
    try:
        texts, labels = _read(data, text_column, label_column)
        result = engine.evaluate(texts, labels, folds=folds, seed=seed)
    except engine.TrainingDataError as exc:
        click.echo(f"评估失败：{exc}", err=True)
        sys.exit(1)
    click.echo(result.format_table())


EXPORT_COLUMNS = ["need_ref", "provider_ref", "provider_kind", "score", "tier", "explanation"]


def _assignment_cells(p: Proposal) -> list[Any]:
    return [p.need.ref, p.provider.ref, p.provider_kind, f"{p.score:.4f}", p.tier, p.explanation]


@export_group.command("assignments")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export_assignments(file: Path) -> None:
    """导出每条已匹配需求的当前服务方（CSV，UTF-8 带 BOM；以 = + - @ 开头的单元格前加 ' 以免被当作公式）。"""
    with get_db().unit_of_work() as session:
        rows = current_assignments(session)
        # Refs and explanations are other people's text: core.exports keeps them from running in Excel.
        write_csv(file, [EXPORT_COLUMNS, *map(_assignment_cells, rows)])
    click.echo(f"已导出 {len(rows)} 条匹配到 {file}")
