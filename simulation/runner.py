"""The simulation's own databases and the run of each policy.

The demo subdistrict is built once into a template SQLite file (migrated by the project's migrations,
loaded by ``demo.seed.seed_demo`` without its history; the demo's own needs are removed, the month
brings its own), then copied for each policy, so all policies start from the same world. With a
``database_url`` that is not SQLite, the database is emptied, migrated and loaded again before each
policy. The app's own ``DATABASE_URL`` is never opened.
"""
from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, delete, event, func, select, text
from sqlalchemy.orm import Session

from core.database import get_db, make_engine
from migrations.runner import migrate

from .arrivals import Arrival, Place, generate
from .params import Params

if TYPE_CHECKING:
    from .world import World

STAFF = "sim-staff"
RESIDENTS = 12
PASSWORD = "simulated-month-2026"  # the accounts never sign in; a password is required to make one


@dataclass(frozen=True)
class AppRecipe:
    """How the simulation builds the app on a database of its own: the app factory and the settings carried over.
    The factory is handed in by the caller (the command takes the running app's), not imported: no room imports
    the composition root. It travels to the worker processes by reference, as any module function pickles."""
    factory: Callable[[Mapping[str, Any]], Any]
    config: Mapping[str, Any]


@dataclass(frozen=True)
class Job:
    policy: str
    params: Params
    arrivals: tuple[Arrival, ...]
    seed: int
    days: int
    database_url: str
    template: str | None  # a SQLite file to copy into database_url's file, or None: build it there
    recipe: AppRecipe


def copy_sqlite(source: str, target: str) -> None:
    """A consistent copy of a SQLite database (its write-ahead log included), by SQLite's backup API."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(target + suffix):
            os.remove(target + suffix)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def scratch(engine: Engine) -> None:
    """The month's SQLite database is thrown away after its run: no commit waits for the disk
    (``synchronous=OFF``). A month commits some 12,000 units of work, and on a shared machine each
    wait for fsync cost 2 ms and more, a fifth of the run. The services commit exactly as before."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _no_sync(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA synchronous=OFF")

    engine.dispose()  # connections opened before (creating the app) reconnect with it


def app_for(database_url: str, recipe: AppRecipe) -> Any:
    return recipe.factory({**recipe.config, "DATABASE_URL": database_url})


def build_world(database_url: str, recipe: AppRecipe) -> None:
    """Migrate ``database_url`` and load the demo subdistrict with the simulation's accounts."""
    from access.auth import create_user
    from core.vocab import Role
    from demo.seed import seed_demo
    from models import AuditEntry, Need, Notification

    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate(engine)
    engine.dispose()
    app = app_for(database_url, recipe)
    with app.app_context(), get_db().unit_of_work() as session:
        seed_demo(session, history=False)
        for model in (Notification, AuditEntry):
            session.execute(delete(model))
        session.execute(delete(Need))
        create_user(session, username=STAFF, password=PASSWORD, role=Role.ADMIN, display_name="模拟工作人员")
        for k in range(RESIDENTS):
            create_user(session, username=f"sim-resident-{k:02d}", password=PASSWORD, role=Role.RESIDENT,
                        display_name=f"模拟居民{k:02d}")


def places(session: Session) -> list[Place]:
    """Grids weighted by the households of their buildings (at least one household each)."""
    from models import Building, Community, Grid
    households = dict(session.execute(select(Building.grid_id, func.sum(Building.households))
                                      .group_by(Building.grid_id)).all())
    rows = session.execute(select(Grid.id, Grid.code, Community.name).join(Community, Community.id == Grid.community_id)
                           .where(Grid.active.is_(True)).order_by(Grid.code))
    return [Place(code, community, float(max(households.get(gid) or 0, 1))) for gid, code, community in rows]


def month_arrivals(database_url: str, recipe: AppRecipe, params: Params, *, days: int,
                   seed: int) -> list[Arrival]:
    from datetime import datetime
    app = app_for(database_url, recipe)
    with app.app_context(), get_db().unit_of_work() as session:
        where = places(session)
    return generate(params, where, days=days, seed=seed, start=datetime.fromisoformat(params.start))


def run_job(job: Job, world_class: type[World] | None = None) -> dict[str, Any]:
    """One policy's month on its own database: the measures and what the report draws (``world_class``:
    a World that also checks something, for the tests)."""
    from core.config import zone
    from models import User

    from .measures import measure
    from .policies import POLICIES
    from .world import World, inactive_volunteers

    started, cpu = time.perf_counter(), time.process_time()
    if job.template is not None:
        copy_sqlite(job.template, job.database_url.removeprefix("sqlite:///"))
    else:
        build_world(job.database_url, job.recipe)
    app = app_for(job.database_url, job.recipe)
    with app.app_context():
        scratch(get_db().engine)
        session = get_db().sessionmaker()
        try:
            inactive_volunteers(session, job.params.active_volunteer_share, job.seed)
            session.commit()
            staff = session.scalars(select(User).where(User.username == STAFF)).one()
            residents = list(session.scalars(select(User).where(User.username.like("sim-resident-%"))
                                             .order_by(User.username)))
            world = (world_class or World)(session, job.params, POLICIES[job.policy], list(job.arrivals), seed=job.seed,
                          days=job.days, zone=zone(), staff=staff, residents=residents)
            world.run((job.days + job.params.drain_days) * 24.0)
            result = measure(session, world)
        finally:
            session.close()
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["cpu_seconds"] = round(time.process_time() - cpu, 1)  # the machine may be shared: CPU time too
    return result


def run_policies(policies: list[str], params: Params, *, seed: int, days: int, workdir: Path,
                 recipe: AppRecipe, database_url: str | None = None,
                 jobs: int = 1) -> dict[str, dict[str, Any]]:
    """Every policy's month on the same arrivals and the same draws; ``jobs`` policies at once."""
    workdir.mkdir(parents=True, exist_ok=True)
    if database_url is None or database_url.startswith("sqlite:///"):
        template = str(workdir / "template.db")
        if not os.path.exists(template):
            build_world(f"sqlite:///{template}", recipe)
        arrivals = month_arrivals(f"sqlite:///{template}", recipe, params, days=days, seed=seed)
        todo = [Job(p, params, tuple(arrivals), seed, days, f"sqlite:///{workdir / f'{p}.db'}", template,
                    recipe) for p in policies]
    else:  # one database, rebuilt for each policy in turn
        build_world(database_url, recipe)
        arrivals = month_arrivals(database_url, recipe, params, days=days, seed=seed)
        todo = [Job(p, params, tuple(arrivals), seed, days, database_url, None, recipe) for p in policies]
        jobs = 1
    if jobs <= 1 or len(todo) == 1:
        return {job.policy: run_job(job) for job in todo}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return dict(zip(policies, pool.map(run_job, todo)))
