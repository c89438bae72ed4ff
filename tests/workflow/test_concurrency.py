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
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.factories import bearer_for
from tests.workflow.committed import THREADS, World
from workflow import effects

pytestmark = pytest.mark.postgres

ROUNDS = 10
BARRIER_TIMEOUT_SECONDS = 10  # both requests are lined up well before this
# How long a request that has counted the provider's load waits for the other to count too. With
# the lock the other is blocked on it, so the wait runs out; without it both count before either
# commits, which is the race made certain.
SIDE_BY_SIDE_SECONDS = 0.5


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
