"""Requests racing for one need, and writers racing for the database, with real commits.

On PostgreSQL each transition locks the need first (then the provider), so of two moves made at
once exactly one wins and the other answers 409 with the need's current state: never a deadlock
surfacing as a 500, never two audit entries or two rounds of notices. On SQLite writing requests
take the write lock when they begin and queue for it, so many writers at once all succeed.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from models import AuditEntry, Need, Notification, Proposal, Volunteer
from tests.factories import bearer_for
from tests.workflow.committed import World

ROUNDS = 50
WRITERS = 32
BARRIER_TIMEOUT_SECONDS = 10


def one_proposed_need(world: World, round_: int) -> int:
    """A need proposed to a volunteer of capacity 2, the only provider there is."""
    with Session(world.engine, expire_on_commit=False) as s:
        volunteer = Volunteer(ref=f"V1-{world.tag}-{round_}", name=f"志愿者{round_}", grid_id=world.ids["grid"],
                              subdistrict_id=world.ids["subdistrict"],
                              skills=["理发"], services=["market"], capacity=2)
        s.add(volunteer)
        s.flush()
        need = Need(ref=f"N1-{world.tag}-{round_}", text="想请人上门理发", grid_id=world.ids["grid"],
                    service="market", status="proposed", contact="王先生 13900139000")
        need.proposals.append(Proposal(volunteer_id=volunteer.id, rank=1, score=0.9, tier=1, status="proposed"))
        s.add(need)
        s.commit()
        world.volunteer_ids.append(volunteer.id)
        world.need_ids.append(need.id)
        return need.id


def at_once(app: Any, world: World, need_id: int, actions: list[str]) -> list[Any]:
    """Each coordinator takes one of ``actions`` on the need, all released together."""
    start = threading.Barrier(len(actions), timeout=BARRIER_TIMEOUT_SECONDS)
    headers = [{"Authorization": bearer_for(app, u)} for u in world.coordinators]
    with Session(world.engine) as s:
        proposals = {need_id: s.scalar(select(Proposal.id).where(Proposal.need_id == need_id))}

    def take(i: int) -> Any:
        client = app.test_client()
        start.wait()
        # Each coordinator answers the proposal their page showed them.
        body = {"action": actions[i], "proposal": proposals[need_id],
                **({"reason": "没空"} if actions[i] == "decline" else {})}
        return client.post(f"/api/v1/needs/{need_id}/actions", json=body, headers=headers[i])

    with ThreadPoolExecutor(max_workers=len(actions)) as pool:
        return list(pool.map(take, range(len(actions))))


def entries_from_proposed(engine: Engine, need_id: int) -> list[str]:
    with Session(engine) as s:
        return list(s.scalars(select(AuditEntry.to_status).where(AuditEntry.need_id == need_id,
                                                                 AuditEntry.from_status == "proposed")))


def notices(engine: Engine, need_id: int) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(Notification).where(Notification.need_id == need_id)) or 0


@pytest.mark.postgres
@pytest.mark.parametrize("actions", [["accept", "accept"], ["accept", "decline"], ["decline", "accept"]])
def test_of_two_moves_at_once_on_one_need_exactly_one_wins_and_the_other_gets_409(committed_app, world, actions):
    wrong = []
    for round_ in range(ROUNDS):
        need_id = one_proposed_need(world, round_)
        before = notices(world.engine, need_id)

        responses = at_once(committed_app, world, need_id, actions)

        codes = sorted(r.status_code for r in responses)
        entries = entries_from_proposed(world.engine, need_id)
        loser = next((r.get_json()["error"] for r in responses if r.status_code == 409), {})
        told_the_truth = loser.get("code") == "illegal_transition" and loser.get("status") == world.statuses([need_id])[0]
        if codes != [200, 409] or len(entries) != 1 or not told_the_truth:
            wrong.append((round_, codes, entries, [r.get_json() for r in responses]))
        elif notices(world.engine, need_id) - before > 2:  # one move tells at most the reviewer (and a provider)
            wrong.append((round_, "notices", notices(world.engine, need_id) - before))

    assert wrong == []


def test_thirty_two_writers_at_once_all_succeed(committed_app, world, own_engine):
    start = threading.Barrier(WRITERS, timeout=BARRIER_TIMEOUT_SECONDS)
    header = {"Authorization": bearer_for(committed_app, world.admin)}
    grid = f"G-{world.tag}"

    def submit(i: int) -> int:
        client = committed_app.test_client()
        start.wait()
        response = client.post("/api/v1/needs", headers=header, json={
            "text": f"第{i}号楼道的灯坏了，晚上很黑", "grid": grid, "service": "public", "channel": "hotline"})
        return int(response.status_code)

    try:
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            codes = list(pool.map(submit, range(WRITERS)))
        assert codes == [201] * WRITERS
    finally:
        with Session(own_engine) as s:
            world.need_ids += list(s.scalars(select(Need.id).where(Need.grid_id == world.ids["grid"])))
        with own_engine.begin() as conn:  # the notices of coordinators outside the world: none, but be sure
            conn.execute(delete(Notification).where(Notification.need_id.in_(world.need_ids)))
