"""How fast are a need's proposals through the API, whatever the need's state and right after a
transition elsewhere? Prints a table; never asserts timing.

The demo subdistrict (seed 2026, with its month of history: needs waiting, proposed, served...) in a
database of its own, with about 3,000 providers (the demo's) and 30,000 (the demo's plus volunteers
drawn by the demo's own generator with other seeds). For each size, ``GET /api/v1/needs/<id>/proposals``
as an admin through the app (Flask's test client: routing, the bearer token, the scope check, the
JSON), timed per request:

- ``fresh need``: needs waiting with no provider (unmatched), the cache warm;
- ``first view (new words)``: the sampled needs again, each with the index's analyses of need texts
  (kept per text, ``matching.scoring._text_work``) dropped first, as for a need nobody has looked at yet;
- ``open proposal``: needs with a live proposal (proposed): their own provider must not count as busy;
- ``fresh, after a transition`` / ``open, after a transition``: each request right after one
  transition on another need, made through the API and not timed (a decline, which moves a
  provider's load; an accept; a new need submitted), so the pools changed before every request.

Two methods in the same process and on the same database: ``cached`` (``dispatch.index_cache``:
the index kept per process and updated in place) and ``old rebuild`` (``benchmarks/legacy_proposals.py``:
the code before issue 11, which built the index again from ORM objects after any change, and for a
need with an open proposal on every request). The target is p95 <= 20 ms for every row of ``cached``.

    python benchmarks/bench_api_proposals.py                       # 3,000 and 30,000 providers, SQLite
    python benchmarks/bench_api_proposals.py --sizes 3000 --quick
    python benchmarks/bench_api_proposals.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/DB
      (the database's public schema is dropped and made again: give one of your own)
"""
from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import Engine, insert, select, text  # noqa: E402

from app import create_app  # noqa: E402
from benchmarks import legacy_proposals  # noqa: E402
from core.database import get_db, make_engine  # noqa: E402
from core.times import utcnow  # noqa: E402
from core.vocab import LIVE_PROPOSAL, NeedStatus  # noqa: E402
from demo.data import GRID_POPULATION_RANGE, build_demo, build_volunteers  # noqa: E402
from demo.seed import DEMO_PASSWORD, seed_demo  # noqa: E402
from dispatch import api as dispatch_api  # noqa: E402
from dispatch.index_cache import CACHE_KEY  # noqa: E402
from migrations.runner import migrate  # noqa: E402
from models import Grid, Need, Resource, Volunteer  # noqa: E402

SEED = 2026
SIZES = (3_000, 30_000)
SAMPLE = 12  # needs of each state
ROUNDS = 4  # requests per sampled need in the warm rows
TRANSITIONS = 36  # transitions (each followed by a timed request) per method and state
OLD_TRANSITIONS_BIG = 4  # the old path rebuilds for seconds at 30,000 providers: fewer samples
OLD_SAMPLE_BIG = 4
TARGET_MS = 20.0
NEW_NEED_TEXT = "家里老人腿脚不便，想找人周末陪他去社区医院量血压"


@contextmanager
def quiet() -> Iterator[None]:
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def fresh_database(url: str) -> Engine:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate(engine)
    return engine


def add_volunteers(app: Any, total: int) -> int:
    """Volunteers drawn by the demo's generator with other seeds, until ``total`` providers."""
    demo = build_demo(SEED)
    with app.app_context(), get_db().unit_of_work() as session:
        have = (session.scalar(select(text("count(*)")).select_from(Volunteer)) or 0) + \
            (session.scalar(select(text("count(*)")).select_from(Resource)) or 0)
        grid_ids: dict[str, int] = {code: id_ for code, id_ in session.execute(select(Grid.code, Grid.id))}
        subdistrict = session.scalars(select(Grid.subdistrict_id).limit(1)).one()  # the demo's one
        batch = 0
        rows: list[dict[str, Any]] = []
        while have + len(rows) < total:
            batch += 1
            rng = random.Random(f"bench-volunteers-{batch}")
            population = {g["code"]: rng.uniform(*GRID_POPULATION_RANGE) for g in demo.grids}
            drawn, _ = build_volunteers(rng, demo.communities, demo.grids, population)
            now = utcnow()
            for i, v in enumerate(drawn[: total - have - len(rows)]):
                rows.append({"ref": f"X{batch:02d}{i:05d}", "name": v["name"], "kind": v["kind"],
                             "phone": v["phone"], "grid_id": grid_ids[v["grid"]], "skills": v["skills"],
                             "services": v["services"], "availability": v["availability"],
                             "capacity": v["capacity"], "force": v["force"], "party_member": v["party_member"],
                             "description": v["description"], "active": True, "created_at": now,
                             "updated_at": now, "subdistrict_id": subdistrict})
        if rows:
            session.execute(insert(Volunteer), rows)
        return have + len(rows)


def prepare(url: str, providers: int, workdir: Path) -> tuple[Any, int]:
    engine = fresh_database(url)
    app = create_app({"DATABASE_URL": url, "ENGINE": engine, "SECRET_KEY": "bench",
                      "CLASSIFIER_PATH": str(workdir / "classifier.joblib"), "PHOTO_DIR": str(workdir / "photos")})
    with quiet():
        with app.app_context(), get_db().unit_of_work() as session:
            seed_demo(session, seed=SEED, history=True)
        total = add_volunteers(app, providers)
    return app, total


def admin_client(app: Any) -> Any:
    client = app.test_client()
    response = client.post("/api/v1/auth/token", json={"username": "admin", "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.get_json()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {response.get_json()['access_token']}"
    return client


def needs_by_state(app: Any) -> tuple[list[int], list[int]]:
    """Ids of needs waiting without a provider, and of needs with a live proposal (proposed)."""
    with app.app_context(), get_db().unit_of_work() as session:
        rows = session.scalars(select(Need).where(Need.service.is_not(None)).order_by(Need.id))
        fresh, open_ = [], []
        for need in rows:
            live = any(p.status in LIVE_PROPOSAL for p in need.proposals)
            if need.status == NeedStatus.UNMATCHED and not live:
                fresh.append(need.id)
            elif need.status == NeedStatus.PROPOSED and live:
                open_.append(need.id)
        return fresh, open_


class Transitions:
    """One transition at a time on needs outside the timed samples: decline, submit, accept, in turn."""

    def __init__(self, app: Any, client: Any, spare: list[int]) -> None:
        self.app, self.client, self.spare = app, client, list(spare)
        self.turn = 0
        self.made: dict[str, int] = {}

    def proposed(self) -> int | None:
        with self.app.app_context(), get_db().unit_of_work() as session:
            while self.spare:
                need = session.get(Need, self.spare[0])
                if need is not None and need.status == NeedStatus.PROPOSED:
                    return need.id
                self.spare.pop(0)
        return None

    def one(self) -> None:
        kind = ("decline", "submit", "accept")[self.turn % 3]
        self.turn += 1
        need_id = self.proposed() if kind != "submit" else None
        if need_id is None:
            kind = "submit"
        if kind == "submit":
            response = self.client.post("/api/v1/needs", json={"text": NEW_NEED_TEXT, "grid": "G001",
                                                               "service": "volunteer"})
        elif kind == "decline":
            response = self.client.post(f"/api/v1/needs/{need_id}/actions",
                                        json={"action": "decline", "reason": "没空"})
        else:
            response = self.client.post(f"/api/v1/needs/{need_id}/actions", json={"action": "accept"})
            self.spare.pop(0)
        assert response.status_code in (200, 201), (kind, response.get_json())
        self.made[kind] = self.made.get(kind, 0) + 1


CPU_MS: list[float] = []  # the CPU time of each timed request, in the order of the rows' wall times


def timed_get(client: Any, need_id: int) -> float:
    """Wall time of one request, in ms; its CPU time (this thread's: the test client serves the
    request in it, SQLite included) goes to CPU_MS, a figure other processes' load does not inflate."""
    start, cpu = time.perf_counter(), time.thread_time()
    response = client.get(f"/api/v1/needs/{need_id}/proposals")
    seconds = time.perf_counter() - start
    CPU_MS.append((time.thread_time() - cpu) * 1000)
    assert response.status_code == 200, response.get_json()
    return seconds * 1000


Row = tuple[int, str, str, list[float], list[float]]  # providers, need, method, wall ms, CPU ms


def measure(app: Any, providers: int, method: str, fresh: list[int], open_: list[int], spare: list[int],
            transitions: int, rounds: int) -> list[Row]:
    client = admin_client(app)
    for need_id in fresh + open_:  # warm: the index of the pools as they are
        timed_get(client, need_id)
    rows: list[Row] = []
    for label, sample in (("fresh need", fresh), ("open proposal", open_)):
        CPU_MS.clear()
        wall = [timed_get(client, n) for _ in range(rounds) for n in sample]
        rows.append((providers, label, method, wall, list(CPU_MS)))
    if method == "cached":
        # A need whose words the index has not analysed yet (the first view of a new need): the
        # analyses the index keeps per text are dropped before each request (not timed).
        CPU_MS.clear()
        wall = []
        for n in fresh + open_:
            for entry in app.extensions[CACHE_KEY]._entries.values():
                entry.index.text_memo.clear()
            wall.append(timed_get(client, n))
        rows.append((providers, "first view (new words)", method, wall, list(CPU_MS)))
    moves = Transitions(app, client, spare)
    after: dict[str, tuple[list[float], list[float]]] = {"fresh, after a transition": ([], []),
                                                         "open, after a transition": ([], [])}
    for i in range(transitions):
        for label, sample in (("fresh, after a transition", fresh), ("open, after a transition", open_)):
            moves.one()
            CPU_MS.clear()
            after[label][0].append(timed_get(client, sample[i % len(sample)]))
            after[label][1].append(CPU_MS[0])
    rows += [(providers, label, method, wall, cpu) for label, (wall, cpu) in after.items()]
    print(f"# {providers} providers, {method}: transitions made {moves.made}", file=sys.stderr)
    return rows


@contextmanager
def old_path() -> Iterator[None]:
    real = dispatch_api.instant_proposals
    dispatch_api.instant_proposals = legacy_proposals.instant_proposals  # type: ignore[assignment]
    try:
        yield
    finally:
        dispatch_api.instant_proposals = real


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def print_table(rows: list[Row]) -> None:
    header = (f"{'providers':>9}  {'need':<26} {'method':<12} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'max ms':>8} {'CPU p50':>8} {'CPU p95':>8} {'old / cached (p95)':>19}")
    print(header)
    print("-" * len(header))
    cached = {(p, label): percentile(t, 95) for p, label, m, t, _ in rows if m == "cached"}
    for providers, label, method, times, cpu in rows:
        p95 = percentile(times, 95)
        ratio = f"{p95 / cached[(providers, label)]:.1f}" if method != "cached" and (providers, label) in cached else ""
        print(f"{providers:>9,}  {label:<26} {method:<12} {len(times):>8} {statistics.median(times):>8.1f} "
              f"{p95:>8.1f} {max(times):>8.1f} {statistics.median(cpu):>8.1f} {percentile(cpu, 95):>8.1f} "
              f"{ratio:>19}")
    mine = [r for r in rows if r[2] == "cached"]
    if mine:
        print(f"worst p95 of the cached path: {max(percentile(r[3], 95) for r in mine):.1f} ms wall, "
              f"{max(percentile(r[4], 95) for r in mine):.1f} ms CPU (target <= {TARGET_MS:.0f} ms)")


def run_size(url: str, providers: int, workdir: Path, *, quick: bool, cached_only: bool = False) -> list[Row]:
    start = time.perf_counter()
    app, total = prepare(url, providers, workdir)
    fresh, open_ = needs_by_state(app)
    rng = random.Random(providers)
    fresh_sample = sorted(rng.sample(fresh, min(SAMPLE, len(fresh))))
    open_sample = sorted(rng.sample(open_, min(SAMPLE, len(open_))))
    spare = [n for n in open_ if n not in open_sample]
    half = len(spare) // 2
    print(f"# {total} providers ready in {time.perf_counter() - start:.0f} s; {len(fresh)} needs unmatched, "
          f"{len(open_)} proposed", file=sys.stderr)
    transitions = 8 if quick else TRANSITIONS
    rounds = 1 if quick else ROUNDS
    rows = measure(app, total, "cached", fresh_sample, open_sample, spare[:half], transitions, rounds)
    old_transitions = min(transitions, OLD_TRANSITIONS_BIG) if providers > 10_000 else transitions
    big = providers > 10_000
    if cached_only:
        return rows
    with old_path():
        rows += measure(app, total, "old rebuild", fresh_sample[:OLD_SAMPLE_BIG] if big else fresh_sample,
                        open_sample[:OLD_SAMPLE_BIG] if big else open_sample, spare[half:], old_transitions,
                        1 if big else rounds)
    cache = app.extensions[CACHE_KEY]
    print(f"# cached path: {cache.rebuilds} full builds, {cache.updates} in-place updates", file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="providers")
    parser.add_argument("--database-url", default="", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    parser.add_argument("--cached-only", action="store_true", help="skip the old path (no ratios)")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sanku-bench-") as tmp:
        for size in args.sizes:
            url = args.database_url or f"sqlite:///{Path(tmp) / f'bench-{size}.db'}"
            rows += run_size(url, size, Path(tmp), quick=args.quick, cached_only=args.cached_only)
    db = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite"
    print(f"# GET /api/v1/needs/<id>/proposals through the app, {db}, demo seed {SEED}")
    print_table(rows)


if __name__ == "__main__":
    main()

