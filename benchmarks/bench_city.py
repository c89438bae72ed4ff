"""A city's batch through Celery (issue 11): k subdistricts matched by 2 workers, end to end. Prints a
table; never asserts timing.

1. A PostgreSQL database (``--database``, made afresh and migrated with ``flask --app app db upgrade``)
   is loaded with k subdistricts, each 5,000 submitted, classified needs and 15,000 providers on a grid
   map of its own: the content of ``benchmarks/synthetic.py`` (seed = the subdistrict's number), its
   codes and refs prefixed ``S01-``… since codes are unique city-wide. Rows are inserted in bulk with
   SQLAlchemy Core (:func:`load_subdistrict`), but they are the rows the services write: a file import's
   needs (channel ``import``, status ``submitted``, the creation entry in the audit trail, the
   coordinator told), communities, Party grids of five grids, neighbours both ways, resources with the
   grids they cover, volunteers in their home grid, and the demo's staff accounts for each subdistrict
   (an admin, a coordinator and a reviewer of its first Party grid). Providers start with no proposal:
   their whole capacity is free (the synthetic generator's loads are not written; a load is a live
   proposal in the database).
2. ``--workers`` Celery workers (``celery -A worker worker --pool solo``, each one process, so its
   peak resident memory, VmHWM, is the tasks'; development mode, Redis DB 7 and queue ``citybench`` unless
   ``--redis-db``/``--queue`` say otherwise, so that two runs on one machine stay apart) are
   started; each first runs a small batch of a warm-up subdistrict on a queue of its own (imports,
   the segmenter's dictionary), then its peak memory is reset (``/proc/<pid>/clear_refs``).
3. **cold**: one ``jobs.match_scope`` per subdistrict is queued (``jobs.tasks.fan_out``, what
   ``jobs.match_city`` does after listing the subdistricts), and the clock stops at the last result:
   every index is built in the worker that takes the subdistrict, and the proposals, audit entries and
   notifications are written. The needs are then reset (the run's proposals, match runs, audit entries
   and notifications deleted, the needs ``submitted`` again).
4. **warm**: the same again on the same workers, each subdistrict's task sent to the worker that built
   its index in the cold run (that worker's own queue): every index is found cached
   (``dispatch.index_cache``) and only brought up to date in place; the rest of the work is the same.

k grows 1, 2, 5, 10, 20 (``--quick``: 1, 2, 5); subdistricts are added to the same database as k
grows, and the workers are started afresh for each k. The baseline is the same k with one worker
(``--baseline``: the largest k, every k, one k, or none), in this same script: ``2 workers ×`` is its cold
time over the 2 workers' cold time.

    python benchmarks/bench_city.py                      # k = 1, 2, 5, 10, 20; baseline at k = 20
    python benchmarks/bench_city.py --quick              # k = 1, 2, 5;         baseline at k = 5
    python benchmarks/bench_city.py --counts 1 2 --size 500 1500 --baseline none   # a smoke run
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import Connection, func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

SIZE = (5_000, 15_000)  # needs, providers of one subdistrict (the city: 20 of them)
COUNTS = (1, 2, 5, 10, 20)
QUICK_COUNTS = (1, 2, 5)
DATABASE = "sanku_citybench"
PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
REDIS_DB = 7
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"  # set from --redis-db by main()
QUEUE = "citybench"  # set from --queue by main()
WARMUP_NUMBER = 99  # the warm-up subdistrict's number (and seed): a small one, never in the timed runs
WARMUP_SIZE = (50, 150)
RUN_TIMEOUT_S = 3600.0
WORKER_START_TIMEOUT_S = 120.0
KIB_PER_MIB = 1024

# The map around the synthetic grids, as a subdistrict has it: 13 communities (domain.md), Party grids of
# about five grids (158 grids, 34 Party grids).
COMMUNITIES = 13
GRIDS_PER_PARTY_GRID = 5
# The five forces (五大力量) a volunteer of each primary service belongs to.
FORCE_OF_SERVICE = {"volunteer": "selfgov", "social": "professional", "market": "cobuilding", "public": "governance"}
CONFIDENCE_RANGE = (0.6, 0.99)  # a classified need: the classifier was sure enough (TRIAGE_CONFIDENCE is 0.55)
STAFF_PASSWORD = "bench-city-staff-2026"  # noqa: S105 (a benchmark's throwaway accounts)


# --- the loader -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Loaded:
    """One subdistrict written: its id and code, and how many rows of each kind."""

    subdistrict_id: int
    code: str
    needs: int
    providers: int
    grids: int


def prefix_of(number: int) -> str:
    return f"S{number:02d}-"


def _slot_texts() -> dict[Any, list[str]]:
    """The texts of the synthetic generator's weekly slots, by their parsed form (what a view holds)."""
    from benchmarks.synthetic import OFFICE_HOURS, OFFICE_HOURS_TEXT, SLOT_PATTERNS, SLOT_TEXTS
    texts: dict[Any, list[str]] = {(): [], OFFICE_HOURS: list(OFFICE_HOURS_TEXT)}
    texts.update({parsed: list(raw) for parsed, raw in zip(SLOT_PATTERNS, SLOT_TEXTS)})
    return texts


def _ids(db: Session | Connection, table: Any, key: Any, *where: Any) -> dict[str, int]:
    return {k: i for k, i in db.execute(select(key, table.c.id).where(*where))}


def load_subdistrict(db: Session | Connection, number: int, n_needs: int, n_providers: int, *,
                     password_hash: str, now: dt.datetime | None = None) -> Loaded:
    """Write subdistrict ``number`` (``benchmarks/synthetic.py``'s content for seed ``number``) in bulk, as
    the services would have written it; flushes nothing of an ORM session (plain inserts), commits nothing."""
    from benchmarks.synthetic import make_subdistrict
    from core.vocab import STATUS_LABELS_ZH, NeedStatus
    from demo.city import identity
    from models import (
        AuditEntry,
        Community,
        Grid,
        Need,
        Notification,
        PartyGrid,
        Resource,
        Subdistrict,
        User,
        Volunteer,
        grid_neighbors,
        resource_grids,
    )

    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    sub = make_subdistrict(n_needs, n_providers, seed=number)
    rng = random.Random(f"city-{number}")
    prefix = prefix_of(number)
    code, name = identity(number)
    s_t, c_t, pg_t, g_t = Subdistrict.__table__, Community.__table__, PartyGrid.__table__, Grid.__table__
    r_t, v_t, n_t, u_t = Resource.__table__, Volunteer.__table__, Need.__table__, User.__table__
    a_t, note_t = AuditEntry.__table__, Notification.__table__

    sid = db.execute(insert(s_t).values(code=code, name=name).returning(s_t.c.id)).scalar_one()
    grids = sorted(sub.grid_map.neighbors)
    communities = min(COMMUNITIES, len(grids))
    db.execute(insert(c_t), [{"subdistrict_id": sid, "code": f"{prefix}C{c + 1:02d}", "name": f"{name}第{c + 1}社区"}
                             for c in range(communities)])
    community_ids = _ids(db, c_t, c_t.c.code, c_t.c.subdistrict_id == sid)
    party_grids = -(-len(grids) // GRIDS_PER_PARTY_GRID)
    db.execute(insert(pg_t), [{"subdistrict_id": sid, "code": f"{prefix}PG{p + 1:03d}", "name": f"第{p + 1}党建网格",
                               "branch": f"第{p + 1}网格党支部"} for p in range(party_grids)])
    party_ids = _ids(db, pg_t, pg_t.c.code, pg_t.c.subdistrict_id == sid)
    db.execute(insert(g_t), [
        {"subdistrict_id": sid, "code": prefix + g, "name": f"{name}{g}网格",
         "community_id": community_ids[f"{prefix}C{k * communities // len(grids) + 1:02d}"],
         "party_grid_id": party_ids[f"{prefix}PG{k // GRIDS_PER_PARTY_GRID + 1:03d}"], "active": True, "boundary": None}
        for k, g in enumerate(grids)])
    grid_ids = _ids(db, g_t, g_t.c.code, g_t.c.subdistrict_id == sid)
    # Stored in both directions (the synthetic lattice's neighbourhoods already are symmetric).
    db.execute(insert(grid_neighbors), [{"grid_id": grid_ids[prefix + g], "neighbor_id": grid_ids[prefix + h]}
                                        for g in grids for h in sorted(sub.grid_map.neighbors[g])])

    slots = _slot_texts()
    resources = [p for p in sub.providers if p.kind == "resource"]
    volunteers = [p for p in sub.providers if p.kind == "volunteer"]
    if resources:
        db.execute(insert(r_t), [
            {"ref": prefix + p.ref, "subdistrict_id": sid, "name": p.name, "department": "",
             "service": next(iter(p.services)), "covers_all": p.grids_covered is None, "capacity": p.capacity,
             "skills": list(p.skills), "description": p.description, "hours": slots[p.slots], "active": True,
             "created_at": now, "updated_at": now} for p in resources])
        resource_ids = _ids(db, r_t, r_t.c.ref, r_t.c.subdistrict_id == sid)
        covered = [{"resource_id": resource_ids[prefix + p.ref], "grid_id": grid_ids[prefix + g]}
                   for p in resources for g in sorted(p.grids_covered or ())]
        if covered:
            db.execute(insert(resource_grids), covered)
    db.execute(insert(v_t), [
        {"ref": prefix + p.ref, "subdistrict_id": sid, "name": p.name, "kind": "person", "phone": "",
         "grid_id": grid_ids[prefix + p.home_grid] if p.home_grid else None, "skills": list(p.skills),
         "services": sorted(p.services), "availability": slots[p.slots], "capacity": p.capacity,
         "force": FORCE_OF_SERVICE[_primary(p)], "party_member": p.name.startswith("党员"),
         "description": p.description, "active": True, "created_at": now, "updated_at": now} for p in volunteers])

    # The demo's accounts of a subdistrict (demo/seed.py): an admin, and a coordinator and a reviewer of its
    # first Party grid, who hear of that Party grid's needs.
    first_pg = f"{prefix}PG001"
    db.execute(insert(u_t), [
        {"username": f"{role}-{number:02d}", "password_hash": password_hash, "role": role,
         "display_name": f"{name}{label}", "subdistrict_id": sid, "phone": None, "phone_hash": None,
         "scope_type": None if role == "admin" else "party_grid", "scope_codes": [] if role == "admin" else [first_pg],
         "volunteer_id": None, "building_id": None, "active": True, "session_version": 0, "created_at": now}
        for role, label in (("admin", "管理员"), ("coordinator", "协调员"), ("reviewer", "网格党支部"))])
    coordinator = db.execute(select(u_t.c.id).where(u_t.c.username == f"coordinator-{number:02d}")).scalar_one()

    # A file import's needs (pools.imports: channel "import", the system as actor), each submitted a second
    # after the one before.
    first = now - dt.timedelta(seconds=len(sub.needs))
    db.execute(insert(n_t), [
        {"ref": prefix + n.ref, "text": n.text, "grid_id": grid_ids[prefix + n.grid], "urgency": n.urgency,
         "window_start": n.window[0] if n.window else None, "window_end": n.window[1] if n.window else None,
         "contact": "", "service": n.service, "service_confidence": round(rng.uniform(*CONFIDENCE_RANGE), 4),
         "status": "submitted", "channel": "import", "active": True, "resident_id": None, "resident_name": "",
         "resident_phone": "", "resident_phone_hash": "", "visit_id": None, "unmatched_reason": "",
         "escalation_level": 0, "address": "", "building_id": None, "place_unsure": False, "address_candidates": [],
         "rating": None, "feedback": "", "volunteer_hours": None,
         "created_at": first + dt.timedelta(seconds=k), "updated_at": first + dt.timedelta(seconds=k),
         "status_changed_at": first + dt.timedelta(seconds=k), "matched_at": None, "done_at": None, "closed_at": None}
        for k, n in enumerate(sub.needs)])
    written = list(db.execute(select(n_t.c.id, n_t.c.text, n_t.c.ref, n_t.c.created_at, g_t.c.party_grid_id)
                              .join(g_t, g_t.c.id == n_t.c.grid_id).where(g_t.c.subdistrict_id == sid)
                              .order_by(n_t.c.id)))
    # workflow.service.record_creation: the first entry of each need's trail, and the coordinator told.
    db.execute(insert(a_t), [{"need_id": row.id, "actor_id": None, "actor_role": "system", "at": row.created_at,
                              "from_status": "", "to_status": "submitted", "reason": "提交需求"} for row in written])
    label = STATUS_LABELS_ZH[NeedStatus.SUBMITTED]
    told = [{"user_id": coordinator, "need_id": row.id, "message": f"需求 {row.ref}：{label} —— {row.text[:30]}",
             "created_at": row.created_at, "read_at": None, "delivered": False, "attempts": 0, "next_attempt_at": None,
             "last_error": None, "dead_at": None}
            for row in written if row.party_grid_id == party_ids[first_pg]]
    if told:
        db.execute(insert(note_t), told)
    return Loaded(subdistrict_id=sid, code=code, needs=len(written), providers=len(sub.providers), grids=len(grids))


def _primary(provider: Any) -> str:
    """A volunteer's first service: the one its first skill belongs to (a second service adds one tag)."""
    from matching.taxonomy import SKILLS_BY_SERVICE
    first = provider.skills[0]
    return next((s for s in sorted(provider.services) if first in SKILLS_BY_SERVICE[s]), sorted(provider.services)[0])


def reset_needs(db: Session | Connection, audit_after: int, notifications_after: int) -> None:
    """Undo what batches wrote: their proposals and runs, the audit entries and notifications after the
    given ids (those of the load stay), and every need submitted again as the load left it."""
    db.execute(text("DELETE FROM notifications WHERE id > :n"), {"n": notifications_after})
    db.execute(text("DELETE FROM audit_entries WHERE id > :a"), {"a": audit_after})
    db.execute(text("DELETE FROM proposals"))
    db.execute(text("DELETE FROM match_runs"))
    db.execute(text("UPDATE needs SET status = 'submitted', matched_at = NULL, unmatched_reason = '', "
                    "escalation_level = 0, status_changed_at = created_at, updated_at = created_at "
                    "WHERE status <> 'submitted' OR matched_at IS NOT NULL OR escalation_level <> 0"))


def high_water(db: Session | Connection) -> tuple[int, int]:
    """The last audit entry's and the last notification's ids."""
    row = db.execute(text("SELECT (SELECT coalesce(max(id), 0) FROM audit_entries), "
                          "(SELECT coalesce(max(id), 0) FROM notifications)")).one()
    return int(row[0]), int(row[1])


# --- the processes --------------------------------------------------------------------------------------

def _pg_admin(statement: str) -> None:
    import psycopg
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(statement)  # type: ignore[arg-type]


def unavailable() -> str | None:
    """Why this benchmark cannot run here (PostgreSQL or Redis not answering), or None."""
    import psycopg
    import redis
    try:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True):
            pass
    except psycopg.Error as exc:
        return f"PostgreSQL at 127.0.0.1:5432 does not answer: {str(exc).strip().splitlines()[0]}"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} does not answer: {exc}"
    return None


def fresh_database(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]*bench[a-z0-9_]*", name):
        raise SystemExit(f"--database {name!r}: this script drops and makes it again, so its name must contain 'bench'")
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{name}"')
    return PG_URL.format(name=name)


def app_env(url: str, workdir: Path) -> dict[str, str]:
    """Development mode (SANKU_ENV unset) against PostgreSQL and this run's Redis DB, with keys of this run."""
    from cryptography.fernet import Fernet
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANKU_", "PROMETHEUS_"))}
    env.update({"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "SANKU_TASK_QUEUE": QUEUE,
                "SECRET_KEY": secrets.token_hex(32), "SANKU_DATA_KEYS": Fernet.generate_key().decode(),
                "SANKU_LOOKUP_KEY": secrets.token_hex(16), "SANKU_CLASSIFIER_PATH": str(workdir / "classifier.joblib"),
                "SANKU_LOG_LEVEL": "INFO", "FLASK_DEBUG": "0", "PYTHONUNBUFFERED": "1"})
    return env


def migrate(env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"db upgrade exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


@dataclass
class Worker:
    number: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def queue(self) -> str:
        return f"{QUEUE}-w{self.number}"

    def status(self, key: str) -> int:
        """A figure of /proc/<pid>/status, in KiB (VmHWM: the peak resident memory; VmRSS: now)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)

    def reset_peak(self) -> bool:
        """Set VmHWM back to the current RSS (Linux: ``5`` into clear_refs), so the next reading is the next run's."""
        try:
            Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")
        except OSError:
            return False
        return True

    def task_seconds(self) -> dict[str, float]:
        """Task id → seconds, of the match_scope tasks this worker finished (Celery's "succeeded in" lines)."""
        found = re.findall(r"Task jobs\.match_scope\[([0-9a-f-]+)\] succeeded in ([0-9.]+)s",
                           self.log.read_text(errors="replace"))
        return {task: float(seconds) for task, seconds in found}


def start_workers(count: int, env: dict[str, str], workdir: Path, tag: str) -> list[Worker]:
    workers = []
    for n in range(1, count + 1):
        log = workdir / f"worker-{tag}-{n}.log"
        command = [sys.executable, "-m", "celery", "-A", "worker", "worker", "--pool", "solo", "--loglevel", "INFO",
                   "-Q", f"{QUEUE},{QUEUE}-w{n}", "-n", f"{QUEUE}-{tag}-{n}@%h",
                   "--without-gossip", "--without-mingle", "--without-heartbeat"]
        with log.open("wb") as fh:
            proc = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        workers.append(Worker(n, proc, log))
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    for w in workers:
        while "ready." not in w.log.read_text(errors="replace"):
            if w.proc.poll() is not None or time.monotonic() > deadline:
                stop_workers(workers)
                raise RuntimeError(f"worker {w.number} did not start:\n{w.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.3)
    return workers


def stop_workers(workers: list[Worker]) -> None:
    for w in workers:
        if w.proc.poll() is None:
            os.killpg(w.proc.pid, signal.SIGTERM)
    for w in workers:
        try:
            w.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(w.proc.pid, signal.SIGKILL)
            w.proc.wait()


# --- the runs -------------------------------------------------------------------------------------------

@dataclass
class Run:
    seconds: float
    needs: int
    matched: int
    peak_kib: list[int]  # per worker, VmHWM over the run
    rss_kib: list[int]  # per worker, at the end
    tasks: Counter[int] = field(default_factory=Counter)  # worker number → subdistricts it matched
    busy: dict[int, float] = field(default_factory=dict)  # worker number → seconds in match_scope
    taken: dict[int, int] = field(default_factory=dict)  # subdistrict id → worker number


def city_batch(celery: Any, workers: list[Worker], subdistricts: list[int], route: dict[int, int] | None = None) -> Run:
    """One batch per subdistrict, timed from queueing to the last result. ``route`` (subdistrict id → worker
    number): each task on that worker's own queue; otherwise on the shared queue, as ``jobs.tasks.fan_out``
    queues them (whichever worker is free takes the next)."""
    from jobs.tasks import fan_out, subtask_id
    for w in workers:
        w.reset_peak()
    before = [w.task_seconds() for w in workers]
    parent = str(uuid.uuid4())
    start = time.perf_counter()
    if route is None:
        ids = fan_out(celery, parent, subdistricts)
    else:
        ids = [subtask_id(parent, sid) for sid in subdistricts]
        for sid, task_id in zip(subdistricts, ids):
            celery.tasks["jobs.match_scope"].apply_async(kwargs={"subdistrict_id": sid}, task_id=task_id,
                                                         queue=f"{QUEUE}-w{route[sid]}")
    results = [celery.AsyncResult(i).get(timeout=RUN_TIMEOUT_S) for i in ids]
    seconds = time.perf_counter() - start
    run = Run(seconds=seconds, needs=sum(r["stats"]["needs"] for r in results),
              matched=sum(r["stats"]["matched"] for r in results),
              peak_kib=[w.status("VmHWM") for w in workers], rss_kib=[w.status("VmRSS") for w in workers])
    time.sleep(0.5)  # the "succeeded" line is logged right after the result is stored
    by_id = dict(zip(ids, subdistricts))
    for w, done in zip(workers, before):
        new = {t: s for t, s in w.task_seconds().items() if t not in done and t in by_id}
        run.tasks[w.number] = len(new)
        run.busy[w.number] = sum(new.values())
        run.taken.update({by_id[t]: w.number for t in new})
    return run


def warm_up(celery: Any, workers: list[Worker], warmup_grid: str) -> float:
    """One small batch per worker on its own queue: imports, the segmenter, the first connections."""
    start = time.perf_counter()
    task = celery.tasks["jobs.match_scope"]
    pending = [task.apply_async(kwargs={"grid": warmup_grid}, queue=w.queue) for w in workers]
    for p in pending:
        p.get(timeout=RUN_TIMEOUT_S)
    return time.perf_counter() - start


def vacuum(url: str) -> None:
    import psycopg
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


@dataclass
class Row:
    k: int
    workers: int
    needs: int
    providers: int
    cold: Run
    warm: Run
    warmup_s: float
    cached_tasks: int  # warm-run tasks taken by the worker that had built that subdistrict's index


def measure(app: Any, url: str, env: dict[str, str], workdir: Path, subdistricts: list[Loaded], workers: int,
            warmup_grid: str, marks: tuple[int, int]) -> Row:
    db = app.extensions["sanku_db"]
    celery = app.extensions["celery"]
    ids = [s.subdistrict_id for s in subdistricts]
    running = start_workers(workers, env, workdir, f"k{len(ids)}x{workers}")
    try:
        warmup_s = warm_up(celery, running, warmup_grid)
        with db.unit_of_work() as s:
            reset_needs(s, *marks)
        vacuum(url)
        cold = city_batch(celery, running, ids)
        with db.unit_of_work() as s:
            reset_needs(s, *marks)
        vacuum(url)
        # Each subdistrict to the worker that built its index: the second run with every index cached.
        warm = city_batch(celery, running, ids, route=cold.taken)
        with db.unit_of_work() as s:
            reset_needs(s, *marks)
    finally:
        stop_workers(running)
    cached = sum(1 for sid, w in warm.taken.items() if cold.taken.get(sid) == w)
    return Row(k=len(ids), workers=workers, needs=cold.needs, providers=sum(s.providers for s in subdistricts),
               cold=cold, warm=warm, warmup_s=warmup_s, cached_tasks=cached)


def phases(app: Any, subdistrict_id: int, marks: tuple[int, int]) -> list[tuple[str, float, int]]:
    """Where one subdistrict's batch spends its time, in this process: ``workflow.service.match_scope``'s
    steps (``dispatch.batch.run_batch``, then each outcome recorded), each timed, with the SQL statements
    it sent; committed, then the needs reset."""
    from sqlalchemy import event

    from dispatch.batch import needs_in_scope, store_batch
    from dispatch.index_cache import current_entry
    from dispatch.views import need_view
    from matching.engine import match_batch
    from workflow.notify import next_actors_of_many
    from workflow.service import record_match_outcomes

    db = app.extensions["sanku_db"]
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1
    event.listen(db.engine, "before_cursor_execute", count)
    out: list[tuple[str, float, int]] = []
    mark = [time.perf_counter(), 0]

    def step(name: str) -> None:
        now = time.perf_counter()
        out.append((name, now - mark[0], statements[0] - mark[1]))
        mark[:] = [now, statements[0]]
    try:
        with app.app_context(), db.unit_of_work() as s:
            mark[:] = [time.perf_counter(), statements[0]]
            needs = needs_in_scope(s, subdistrict_id=subdistrict_id)
            views = [need_view(n) for n in needs]
            step(f"read the {len(needs):,} needs")
            entry = current_entry(s, subdistrict_id)
            index, grids = entry.index, entry.grid_map
            step(f"build the provider index and read the grid map ({len(index.providers):,} providers, "
                 f"{len(grids.neighbors):,} grids)")
            result = match_batch(views, index, grids)
            step(f"match (engine; {result.stats.edges_kept:,} edges kept)")
            _run, outcomes = store_batch(s, needs, result, "all", subdistrict_id)
            step(f"store the run and {result.stats.matched:,} proposals")
            # As workflow.service.match_scope does: every move recorded at once, everyone told at once.
            moves = record_match_outcomes(s, outcomes)
            step("record the outcomes (audit entries, statuses)")
            next_actors_of_many(s, moves)
            s.flush()
            step("tell whoever acts next (notifications)")
        step("commit")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    with db.unit_of_work() as s:
        reset_needs(s, *marks)
    return out


def git_state() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
    changed = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    return f"commit {git('rev-parse', '--short', 'HEAD')}, " + (
        f"uncommitted changes in {len(changed)} paths" if changed else "clean working tree")


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


HEADER = (f"{'k':>3} {'needs':>8} {'providers':>9} {'workers':>7} {'cold s':>8} {'warm s':>8} {'µs/need cold':>12} "
          f"{'µs/need warm':>12} {'peak MiB':>8} {'matched':>7} {'2 workers ×':>11}")


def print_row(row: Row, baseline: Row | None) -> None:
    peak = max(max(row.cold.peak_kib), max(row.warm.peak_kib)) / KIB_PER_MIB
    ratio = f"{baseline.cold.seconds / row.cold.seconds:.2f}" if baseline is not None and row is not baseline else ""
    print(f"{row.k:>3} {row.needs:>8,} {row.providers:>9,} {row.workers:>7} {row.cold.seconds:>8.1f} "
          f"{row.warm.seconds:>8.1f} {1e6 * row.cold.seconds / row.needs:>12.0f} {1e6 * row.warm.seconds / row.needs:>12.0f} "
          f"{peak:>8.0f} {row.cold.matched / max(row.cold.needs, 1):>7.1%} {ratio:>11}", flush=True)


def detail(row: Row) -> str:
    def per_worker(run: Run) -> str:
        return "; ".join(f"w{n}: {run.tasks[n]} subdistricts, busy {run.busy.get(n, 0):.1f} s, "
                         f"peak {run.peak_kib[n - 1] / KIB_PER_MIB:.0f} MiB, end RSS {run.rss_kib[n - 1] / KIB_PER_MIB:.0f} MiB"
                         for n in sorted(run.tasks))
    return (f"#   k={row.k} × {row.workers} worker(s): warm-up {row.warmup_s:.1f} s; cold [{per_worker(row.cold)}]; "
            f"warm [{per_worker(row.warm)}]; warm tasks on the worker that built their index: "
            f"{row.cached_tasks} of {row.k}; load average {load_average()}")


def _use_redis(db: int, queue: str) -> None:
    """The run's Redis DB and queue, read by the functions above (module globals: set once, before any use)."""
    global REDIS_DB, REDIS_URL, QUEUE
    REDIS_DB, QUEUE = db, queue
    REDIS_URL = f"redis://127.0.0.1:6379/{db}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="k = 1, 2, 5")
    parser.add_argument("--counts", type=int, nargs="+", help="numbers of subdistricts, ascending")
    parser.add_argument("--size", type=int, nargs=2, default=SIZE, metavar=("NEEDS", "PROVIDERS"),
                        help="of one subdistrict")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline", default="largest",
                        help="the same k with one worker: 'largest' (k), 'all', 'none', or one k of --counts")
    parser.add_argument("--database", default=DATABASE, help="made afresh (its name must contain 'bench')")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument("--phases", action="store_true",
                        help="first, one subdistrict's batch step by step in this process (where the time goes)")
    parser.add_argument("--redis-db", type=int, default=REDIS_DB, help="the Redis DB of the workers (flushed)")
    parser.add_argument("--queue", default=QUEUE, help="the Celery queue (workers' own: <queue>-w<n>)")
    parser.add_argument("--cache-entries", type=int, default=None,
                        help="SANKU_INDEX_CACHE_ENTRIES of the workers (default: the subdistricts a worker takes at "
                             "the largest k, at least the app's default 8), as a city sizes it")
    args = parser.parse_args(argv)
    _use_redis(args.redis_db, args.queue)
    counts = sorted(set(args.counts or (QUICK_COUNTS if args.quick else COUNTS)))
    n_needs, n_providers = args.size

    import tempfile

    import redis

    from access.auth import hash_password
    from app import create_app
    from models import Grid

    why = unavailable()
    if why is not None:
        print(f"# skipped: {why}")
        return 0
    print(f"# {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %z}; {git_state()}; subdistricts of {n_needs:,} needs "
          f"x {n_providers:,} providers; {args.workers} workers (solo pool) on Redis DB {REDIS_DB} "
          f"(queue {QUEUE}) and PostgreSQL "
          f"{args.database}; load average at start {load_average()}", flush=True)
    url = fresh_database(args.database)
    with tempfile.TemporaryDirectory(prefix="sanku-bench-city-") as tmp:
        workdir = Path(tmp)
        env = app_env(url, workdir)
        per_worker = -(-max(counts) // args.workers)
        env["SANKU_INDEX_CACHE_ENTRIES"] = str(args.cache_entries or max(8, per_worker))
        print(f"# each worker keeps the indexes of {env['SANKU_INDEX_CACHE_ENTRIES']} subdistricts", flush=True)
        try:
            migrate(env)
            redis.Redis.from_url(REDIS_URL).flushdb()
            config = {k: v for k, v in env.items() if k in ("SECRET_KEY",)}
            app = create_app({**config, "ENV": "development", "DATABASE_URL": url, "REDIS_URL": REDIS_URL,
                              "TASK_QUEUE": QUEUE, "TASKS_EAGER": False, "LOG_LEVEL": "WARNING",
                              "CLASSIFIER_PATH": str(workdir / "classifier.joblib"),
                              "DATA_KEYS": [env["SANKU_DATA_KEYS"]], "LOOKUP_KEY": env["SANKU_LOOKUP_KEY"]})
            db = app.extensions["sanku_db"]
            password_hash = hash_password(STAFF_PASSWORD)
            with app.app_context():
                with db.unit_of_work() as s:
                    warm = load_subdistrict(s, WARMUP_NUMBER, *WARMUP_SIZE, password_hash=password_hash)
                    warmup_grid = s.scalar(select(Grid.code).where(Grid.subdistrict_id == warm.subdistrict_id)
                                           .order_by(Grid.code).limit(1))
                loaded: list[Loaded] = []
                rows: list[Row] = []
                if args.phases:
                    with db.unit_of_work() as s:
                        loaded.append(load_subdistrict(s, 1, n_needs, n_providers, password_hash=password_hash))
                        marks = high_water(s)
                    vacuum(url)
                    print(f"# one subdistrict's batch in this process, step by step (load average {load_average()}):")
                    for name, seconds, sent in phases(app, loaded[0].subdistrict_id, marks):
                        print(f"#   {name:<72} {seconds:>7.2f} s {sent:>7,} statements")
                    vacuum(url)
                print(HEADER)
                print("-" * len(HEADER), flush=True)
                for k in counts:
                    started, before = time.perf_counter(), len(loaded)
                    while len(loaded) < k:
                        with db.unit_of_work() as s:
                            loaded.append(load_subdistrict(s, len(loaded) + 1, n_needs, n_providers,
                                                           password_hash=password_hash))
                    load_s = time.perf_counter() - started
                    vacuum(url)
                    with db.unit_of_work() as s:
                        marks = high_water(s)
                        total = s.scalar(select(func.count()).select_from(text("needs")))
                    print(f"#   k={k}: {total:,} needs in the database (the warm-up's {WARMUP_SIZE[0]} included); "
                          f"{len(loaded) - before} loaded for this row in {load_s:.1f} s", flush=True)
                    row = measure(app, url, env, workdir, loaded[:k], args.workers, warmup_grid, marks)
                    rows.append(row)
                    baseline = None
                    if args.workers > 1 and (args.baseline == "all" or (args.baseline == "largest" and k == counts[-1])
                                             or args.baseline == str(k)):
                        baseline = measure(app, url, env, workdir, loaded[:k], 1, warmup_grid, marks)
                    print_row(row, baseline)
                    print(detail(row), flush=True)
                    if baseline is not None:
                        print_row(baseline, None)
                        print(detail(baseline), flush=True)
            db.engine.dispose()
        finally:
            if not args.keep:
                _pg_admin(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    print(f"# load average at the end {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
