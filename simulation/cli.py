"""``flask --app app simulate``: a month of the subdistrict, once per dispatching policy."""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from .params import SENSITIVITY, scenario, varied
from .policies import POLICIES

if TYPE_CHECKING:  # the runner (migrations, SimPy) loads when the command runs, not with every app
    from .runner import AppRecipe

# The settings a policy's app takes from the running one: everything that changes what the services
# do (the SLA tables, the zone, the model); never the database.
CARRIED = ("SECRET_KEY", "CLASSIFIER_PATH", "SLA_MATCH_HOURS", "SLA_CLOSE_HOURS", "AUTO_CLOSE_DAYS", "REOPEN_DAYS",
           "TIMEZONE", "COUNCIL_HEAVY_LOAD", "PHOTO_DIR")


def register(app: Flask) -> None:
    app.cli.add_command(simulate_command)


def app_recipe() -> AppRecipe:
    """The running app's factory and the settings the simulation's apps carry over from it."""
    from .runner import AppRecipe
    config = {k: current_app.config[k] for k in CARRIED if k in current_app.config}
    config["SECRET_KEY"] = config.get("SECRET_KEY") or "simulation"
    return AppRecipe(current_app.extensions["app_factory"], {**config, "LOG_LEVEL": "WARNING"})


def boundaries(database_url: str, config: AppRecipe) -> dict[str, Any]:
    from core.database import get_db
    from models import Grid

    from .runner import app_for
    with app_for(database_url, config).app_context(), get_db().unit_of_work() as session:
        return {code: b for code, b in session.execute(select(Grid.code, Grid.boundary))}


@click.command("simulate")
@with_appcontext
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 120), help="模拟天数。")
@click.option("--seed", default=2026, show_default=True, type=int, help="随机种子：同一种子结果相同。")
@click.option("--scenario", "scenario_name", default="normal", show_default=True,
              type=click.Choice(["normal", "surge", "tight"]), help="场景：正常、台风周（×3）、一半志愿者不活跃。")
@click.option("--scenario-file", type=click.Path(exists=True, dir_okay=False),
              help="场景文件（JSON 或 TOML），覆盖任一参数，base 指定所基于的场景。")
@click.option("--policy", "policies", multiple=True, type=click.Choice(list(POLICIES)),
              help="派单方式，可多次指定；默认四种都跑。")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="输出目录。")
@click.option("--database-url", default=None,
              help="模拟用的数据库（每种方式运行前清空重建）；默认临时 SQLite 文件。不能是应用自己的数据库。")
@click.option("--jobs", default=min(2, os.cpu_count() or 1), show_default=True, type=click.IntRange(1, 16),
              help="同时运行几种方式（每种一个进程）。")
@click.option("--sensitivity", is_flag=True, help="另跑敏感性表：接受率×0.7、志愿者×0.5、需求量×2，每种方式各一次。")
def simulate_command(days: int, seed: int, scenario_name: str, scenario_file: str | None, policies: tuple[str, ...],
                     out_dir: str, database_url: str | None, jobs: int, sensitivity: bool) -> None:
    """模拟街道的一个月：按各派单方式分别运行，输出 summary.json 和 report.html。"""
    from . import report
    from .runner import run_policies

    if database_url and database_url == current_app.config.get("DATABASE_URL"):
        raise click.UsageError("--database-url 不能是应用自己的数据库（DATABASE_URL）")
    label, params = scenario(scenario_name, scenario_file)
    chosen = list(policies) or list(POLICIES)
    config = app_recipe()
    out = Path(out_dir)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sanku-sim-") as work:
        workdir = Path(work)
        results = run_policies(chosen, params, seed=seed, days=days, workdir=workdir, recipe=config,
                               database_url=database_url, jobs=jobs)
        variants = {}
        if sensitivity:
            for name, change in SENSITIVITY.items():
                variants[name] = run_policies(chosen, varied(params, change), seed=seed, days=days,
                                              workdir=workdir, recipe=config, database_url=database_url,
                                              jobs=jobs)
        source = database_url or f"sqlite:///{workdir / 'template.db'}"
        data = report.write(out, results, scenario=label, seed=seed, days=days,
                            boundaries=boundaries(source, config), sensitivity=variants or None)
    click.echo(f"模拟 {label}，{days} 天，种子 {seed}：{data['needs']} 条需求，用时 {time.perf_counter() - started:.0f} 秒")
    for policy, row in data["policies"].items():
        click.echo(f"  {policy:<8} " + json.dumps({k: row[k] for k in report.SUMMARY_KEYS}, ensure_ascii=False))
    click.echo(f"报告：{out / 'report.html'}")
