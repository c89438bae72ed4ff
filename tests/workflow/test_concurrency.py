"""Two coordinators accepting for the same provider at the same moment, on PostgreSQL.

A provider of capacity 1 has two needs proposed to it; two coordinators press "accept" at once. The
row lock taken on the provider (workflow.effects._provider_for_update) must let exactly one
through and answer the other 409, so the provider never holds more than its capacity.

This cannot run inside the per-test rolled-back transaction: the two requests need connections of
their own and real commits. So the tests use an engine of their own, create their data in committed
transactions under unique codes, and delete it afterwards.
"""
from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, or_, select
from sqlalchemy.orm import Session

from app import create_app
from core.database import make_engine
from core.vocab import SERVING
from models import AuditEntry, Community, Grid, MatchRun, Need, Notification, PartyGrid, Proposal, User, Volunteer
from tests.factories import bearer_for, make_account
from workflow import effects

pytestmark = pytest.mark.postgres

ROUNDS = 10
THREADS = 2
BARRIER_TIMEOUT_SECONDS = 10  # both requests are lined up well before this
# How long a request that has counted the provider's load waits for the other to count too. With
# the lock the other is blocked on it, so the wait runs out; without it both count before either
# commits, which is the race made certain.
SIDE_BY_SIDE_SECONDS = 0.5


class World:
    """Committed rows of one test, under a unique suffix, and their removal."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.tag = engine, uuid.uuid4().hex[:10]
        self.need_ids: list[int] = []
        self.volunteer_ids: list[int] = []
        with Session(engine, expire_on_commit=False) as s:
            community = Community(code=f"C-{self.tag}", name="并发测试社区")
            party = PartyGrid(code=f"PG-{self.tag}", name="并发测试党建网格")
            grid = Grid(code=f"G-{self.tag}", name="并发测试网格", community=community, party_grid=party)
            s.add_all([community, party, grid])
            s.flush()
            self.ids = {"community": community.id, "party": party.id, "grid": grid.id}
            self.coordinators = [make_account(s, "coordinator", f"coord-{i}-{self.tag}", scope_type="grid",
                                              scope_codes=[grid.code]) for i in range(THREADS)]
            self.admin = make_account(s, "admin", f"admin-{self.tag}")
            s.commit()

    def provider_with_two_proposed_needs(self, round_: int) -> tuple[int, list[int]]:
        """A volunteer of capacity 1 and two needs proposed to it; returns (volunteer id, need ids)."""
        with Session(self.engine, expire_on_commit=False) as s:
            volunteer = Volunteer(ref=f"V-{self.tag}-{round_}", name=f"志愿者{round_}", grid_id=self.ids["grid"],
                                  skills=["陪诊"], services=["volunteer"], capacity=1)
            s.add(volunteer)
            s.flush()
            needs = []
            for i in range(THREADS):
                need = Need(ref=f"N-{self.tag}-{round_}-{i}", text="周三上午想找人陪同去医院复查",
                            grid_id=self.ids["grid"], service="volunteer", status="proposed",
                            contact="李女士 13900139000")
                need.proposals.append(Proposal(volunteer_id=volunteer.id, rank=1, score=0.9, tier=1,
                                               status="proposed"))
                s.add(need)
                needs.append(need)
            s.commit()
            self.volunteer_ids.append(volunteer.id)
            self.need_ids += [n.id for n in needs]
            return volunteer.id, [n.id for n in needs]

    def occupied(self, volunteer_id: int) -> int:
        """Needs holding the volunteer: accepted proposals of needs accepted, approved or in service."""
        with Session(self.engine, expire_on_commit=False) as s:
            return s.scalar(select(func.count()).select_from(Proposal).join(Need, Need.id == Proposal.need_id)
                            .where(Proposal.volunteer_id == volunteer_id, Proposal.status == "accepted",
                                   Need.status.in_(SERVING))) or 0

    def statuses(self, need_ids: list[int]) -> list[str]:
        with Session(self.engine, expire_on_commit=False) as s:
            return [s.get(Need, i).status for i in need_ids]  # type: ignore[union-attr]

    def remove(self) -> None:
        user_ids = [u.id for u in (*self.coordinators, self.admin)]
        with self.engine.begin() as conn:
            conn.execute(delete(Notification).where(or_(Notification.need_id.in_(self.need_ids),
                                                        Notification.user_id.in_(user_ids))))
            conn.execute(delete(AuditEntry.__table__).where(AuditEntry.need_id.in_(self.need_ids)))
            conn.execute(delete(Proposal).where(Proposal.need_id.in_(self.need_ids)))
            conn.execute(delete(Need).where(Need.id.in_(self.need_ids)))
            conn.execute(delete(Volunteer).where(Volunteer.id.in_(self.volunteer_ids)))
            conn.execute(delete(User).where(User.id.in_(user_ids)))
            conn.execute(delete(Grid).where(Grid.id == self.ids["grid"]))
            conn.execute(delete(PartyGrid).where(PartyGrid.id == self.ids["party"]))
            conn.execute(delete(Community).where(Community.id == self.ids["community"]))
            conn.execute(delete(MatchRun).where(MatchRun.scope == f"grid:G-{self.tag}"))


@pytest.fixture
def own_engine(engine: Engine, database_url: str) -> Iterator[Engine]:
    """Connections of their own (``engine`` is asked for only so the database is migrated first)."""
    own = make_engine(database_url, pool_size=THREADS + 2)
    yield own
    own.dispose()


@pytest.fixture
def world(own_engine: Engine) -> Iterator[World]:
    world = World(own_engine)
    yield world
    world.remove()


@pytest.fixture
def committed_app(own_engine: Engine, classifier_path: str, database_url: str) -> Any:
    """The app on ``own_engine``: every request its own session and connection, committed for real."""
    return create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": own_engine,
                       "CLASSIFIER_PATH": classifier_path, "SECRET_KEY": "test"})


def accept_at_once(app: Any, world: World, need_ids: list[int]) -> list[Any]:
    """Each coordinator accepts one of the needs, both requests released together by a barrier."""
    start = threading.Barrier(THREADS, timeout=BARRIER_TIMEOUT_SECONDS)
    headers = [{"Authorization": bearer_for(app, u)} for u in world.coordinators]

    def accept(i: int) -> Any:
        client = app.test_client()
        start.wait()
        return client.post(f"/api/v1/needs/{need_ids[i]}/actions", json={"action": "accept"},
                           headers=headers[i])

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(accept, range(THREADS)))


def assert_one_accepted_and_one_refused(world: World, volunteer_id: int, need_ids: list[int],
                                        responses: list[Any]) -> None:
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409], [r.get_json() for r in responses]
    refused = next(r for r in responses if r.status_code == 409).get_json()["error"]
    assert refused["code"] == "conflict" and "已满" in refused["message"]
    assert sorted(world.statuses(need_ids)) == ["accepted", "proposed"]
    assert world.occupied(volunteer_id) == 1


def test_two_coordinators_accepting_for_a_provider_of_capacity_one_at_once_get_one_success_and_one_409(
        committed_app, world):
    for round_ in range(ROUNDS):
        volunteer_id, need_ids = world.provider_with_two_proposed_needs(round_)

        responses = accept_at_once(committed_app, world, need_ids)

        assert_one_accepted_and_one_refused(world, volunteer_id, need_ids, responses)


def test_the_lock_holds_even_when_both_requests_count_the_providers_load_side_by_side(
        committed_app, world, monkeypatch):
    """Widens the race on purpose: a request that has counted waits for the other to count too.
    Without the lock both count 0 and both accept; with it the second waits on the lock instead."""
    counted = threading.Barrier(THREADS)
    count = effects._serving

    def count_then_wait(session: Any, proposal: Any) -> int:
        load = count(session, proposal)
        try:
            counted.wait(timeout=SIDE_BY_SIDE_SECONDS)
        except threading.BrokenBarrierError:
            pass  # the other request is held by the lock: the point of it
        return load

    monkeypatch.setattr(effects, "_serving", count_then_wait)
    for round_ in range(3):
        counted.reset()
        volunteer_id, need_ids = world.provider_with_two_proposed_needs(round_)

        responses = accept_at_once(committed_app, world, need_ids)

        assert_one_accepted_and_one_refused(world, volunteer_id, need_ids, responses)


def test_the_refused_need_can_be_accepted_once_the_provider_is_free_again(committed_app, world):
    volunteer_id, need_ids = world.provider_with_two_proposed_needs(0)
    responses = accept_at_once(committed_app, world, need_ids)
    codes = [r.status_code for r in responses]
    winner, loser = need_ids[codes.index(200)], need_ids[codes.index(409)]
    coordinator = committed_app.test_client()
    coordinator.environ_base["HTTP_AUTHORIZATION"] = bearer_for(committed_app, world.coordinators[0])
    admin = committed_app.test_client()
    admin.environ_base["HTTP_AUTHORIZATION"] = bearer_for(committed_app, world.admin)

    assert coordinator.post(f"/api/v1/needs/{loser}/actions", json={"action": "accept"}).status_code == 409
    assert admin.post(f"/api/v1/needs/{winner}/actions", json={"action": "cancel"}).status_code == 200

    response = coordinator.post(f"/api/v1/needs/{loser}/actions", json={"action": "accept"})
    assert response.status_code == 200, response.get_json()
    assert world.occupied(volunteer_id) == 1
