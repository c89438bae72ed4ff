"""The process's provider index (dispatch.index_cache) is kept current in place, and is always the
index a fresh build from the database would give."""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.vocab import LIVE_PROPOSAL, NeedStatus
from dispatch import index_cache
from dispatch.index_cache import CACHE_KEY, ProviderIndexCache, current_entry
from dispatch.proposals import instant_proposals, set_aside
from dispatch.views import grid_map, load_providers, need_view, provider_history
from matching.index import ProviderIndex
from matching.scoring import propose
from matching.types import GridMap
from models import Grid, Need, Volunteer
from tests.factories import csv_bytes, make_map, make_need, make_volunteer
from tests.matching.test_index_updates import served

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
from benchmarks.bench_hard_cases import import_cases  # noqa: E402

ESCORT = "我妈周三上午要去医院复查，想找人陪诊"
RANKED_PER_CHECK = 3  # needs of each kind (holding a provider or not) ranked both ways at each check


def provider_refs(client, need_id):  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/needs/{need_id}/proposals")
    assert response.status_code == 200, response.get_json()
    return [p["provider_ref"] for p in response.get_json()["items"]]


def cache_of(app: Any) -> ProviderIndexCache:
    cache = app.extensions[CACHE_KEY]
    assert isinstance(cache, ProviderIndexCache)
    return cache


def only(session: Session) -> int:
    """The test's one subdistrict: the cache's key, as a need's proposals and a batch use it."""
    from models import Subdistrict
    return session.scalars(select(Subdistrict.id)).one()


def fresh_index(session: Session) -> ProviderIndex:
    return ProviderIndex.build(load_providers(session, subdistrict_id=only(session)))


def assert_same_index(cached: ProviderIndex, fresh: ProviderIndex) -> None:
    """Every table the matcher reads, equal; the cells by what they serve (an updated index keeps a cell it
    emptied, which a fresh build does not have)."""
    assert cached.providers == fresh.providers
    for name in ("capacity", "load", "free", "is_resource", "home", "pattern", "tag_ids",
                 "t3_provider", "t3_service", "t3_tag", "offer_provider", "offer_service"):
        assert np.array_equal(getattr(cached, name), getattr(fresh, name)), name
    assert np.array_equal(cached.reliability, fresh.reliability, equal_nan=True)
    assert served(cached, GridMap()) == served(fresh, GridMap())


def ranked(session: Session, index: ProviderIndex, need: Need) -> list[tuple[Any, ...]]:
    return [(m.provider_key, m.score, m.tier, m.explanation, tuple(sorted(m.features.items())))
            for m in propose(need_view(need), index, grid_map(session), limit=10)]


# --- through the API ----------------------------------------------------------------------------

def test_the_index_is_built_once_while_nothing_changes(app, client, session):
    make_map(session)
    make_volunteer(session, ref="V1", grid="G1")
    need = make_need(session, text=ESCORT, grid="G1")
    session.commit()

    assert provider_refs(client, need.id) == ["V1"]
    assert provider_refs(client, need.id) == ["V1"]
    assert cache_of(app).rebuilds == 1


def test_a_new_volunteer_is_proposed_at_once(app, client, session):
    make_map(session)
    make_volunteer(session, ref="V1", grid="G2")
    need = make_need(session, text=ESCORT, grid="G1")
    session.commit()
    assert provider_refs(client, need.id) == ["V1"]

    make_volunteer(session, ref="V2", name="李四", phone="13800138009", grid="G1")
    session.commit()
    assert provider_refs(client, need.id)[0] == "V2"


def test_a_provider_that_fills_up_drops_out_without_a_rebuild(app, client, session):
    make_map(session)
    make_volunteer(session, ref="V1", grid="G1", capacity=1)
    first = make_need(session, ref="N1", text=ESCORT, grid="G1")
    second = make_need(session, ref="N2", text=ESCORT, grid="G1")
    session.commit()
    assert provider_refs(client, second.id) == ["V1"]

    response = client.post("/api/v1/match", json={"grid": "G1"})
    assert response.status_code == 200
    matched = {a["need_id"] for a in response.get_json()["assignments"]}
    other = second if first.id in matched else first
    assert provider_refs(client, other.id) == []
    assert cache_of(app).rebuilds == 1  # the batch reused the index, and its proposal was applied in place


def test_a_need_with_an_open_proposal_leaves_its_own_load_out_without_reloading(app, client, session, monkeypatch):
    """Its provider (capacity 1, full only because of this need) is still proposed, exactly as when the
    providers are loaded again from the database without the need."""
    make_map(session)
    make_volunteer(session, ref="V1", grid="G1", capacity=1)
    make_volunteer(session, ref="V2", name="李四", phone="13800138009", grid="G2", capacity=1)
    need = make_need(session, text=ESCORT, grid="G1")
    session.commit()
    assert client.post("/api/v1/match", json={"grid": "G1"}).status_code == 200
    provider_refs(client, need.id)  # the index of the pools as they are now
    loads = []
    real_load = index_cache.load_providers
    monkeypatch.setattr(index_cache, "load_providers", lambda *a, **k: loads.append(1) or real_load(*a, **k))

    body = client.get(f"/api/v1/needs/{need.id}/proposals").get_json()["items"]

    assert [p["provider_ref"] for p in body][:1] == ["V1"]
    assert body[0]["features"]["load"] == 1.0  # its own proposal is not counted against it
    assert loads == [] and cache_of(app).rebuilds == 1
    rebuilt = ProviderIndex.build(real_load(session, except_need=need.id))
    again = propose(need_view(session.get(Need, need.id)), rebuilt, grid_map(session), limit=10)
    assert [(m.provider_ref, round(m.score, 4)) for m in again] == [(p["provider_ref"], p["score"]) for p in body]


def test_a_capacity_edit_is_applied_in_place_and_a_skill_edit_rebuilds(app, client, session):
    make_map(session)
    volunteer = make_volunteer(session, ref="V1", grid="G1", capacity=1)
    first = make_need(session, text=ESCORT, grid="G1")
    second = make_need(session, ref="N2", text=ESCORT, grid="G1")
    session.commit()
    response = client.post("/api/v1/match", json={"grid": "G1"})
    assert response.status_code == 200
    need = first if first.id in {a["need_id"] for a in response.get_json()["assignments"]} else second
    other = second if need is first else first
    assert provider_refs(client, other.id) == []  # V1 is full

    assert client.patch(f"/api/v1/volunteers/{volunteer.id}", json={"capacity": 2}).status_code == 200
    assert provider_refs(client, other.id) == ["V1"]
    assert cache_of(app).rebuilds == 1
    with app.app_context():
        assert_same_index(current_entry(session, only(session)).index, fresh_index(session))

    assert client.patch(f"/api/v1/volunteers/{volunteer.id}", json={"skills": ["理发"]}).status_code == 200
    assert provider_refs(client, need.id) == []  # no longer an escort: the no-filler rule
    assert cache_of(app).rebuilds == 2
    with app.app_context():
        assert_same_index(current_entry(session, only(session)).index, fresh_index(session))


# --- a series of transitions, imports and edits -------------------------------------------------

def act(client: Any, need_id: int, action: str, **fields: Any) -> None:
    response = client.post(f"/api/v1/needs/{need_id}/actions", json={"action": action, **fields})
    assert response.status_code == 200, response.get_json()


def test_a_grid_map_edit_is_seen_by_the_next_proposals_and_nothing_else_reads_the_map_again(app, client, session,
                                                                                          monkeypatch):
    make_map(session)  # G1–G2–G3 in a row, G9 alone
    make_volunteer(session, ref="V9", grid="G9")
    need = make_need(session, text=ESCORT, grid="G1")
    session.commit()

    def tiers() -> list[int]:
        response = client.get(f"/api/v1/needs/{need.id}/proposals")
        assert response.status_code == 200, response.get_json()
        return [p["tier"] for p in response.get_json()["items"]]
    reads: list[Any] = []
    real = index_cache.neighbor_map
    monkeypatch.setattr(index_cache, "neighbor_map", lambda *a: reads.append(a) or real(*a))
    assert tiers() == [3]  # V9 is elsewhere in the subdistrict
    assert tiers() == [3] and len(reads) == 1  # the map is read once, not per request
    g1 = session.scalar(select(Grid).where(Grid.code == "G1"))
    assert client.patch(f"/api/v1/grids/{g1.id}", json={"neighbors": ["G2", "G9"]}).status_code == 200
    assert tiers() == [2]  # now a neighbour
    assert len(reads) == 2


def check_against_fresh(app: Any, session: Session) -> None:
    """The cached index (updated in place) against a fresh build, and every open need's ranking
    with each (the need's own proposal left out, as instant proposals do)."""
    session.expire_all()
    with app.app_context():
        entry = current_entry(session, only(session))
    fresh = fresh_index(session)
    assert_same_index(entry.index, fresh)
    assert entry.grid_map == grid_map(session, only(session))
    needs = list(session.scalars(select(Need).where(Need.service.is_not(None)).order_by(Need.id)))
    holding = [n for n in needs if any(p.status in LIVE_PROPOSAL for p in n.proposals)]
    free = [n for n in needs if n not in holding]
    for need in holding[::max(1, len(holding) // RANKED_PER_CHECK)]:
        own = ProviderIndex.build(load_providers(session, except_need=need.id))
        assert ranked(session, entry.with_history(entry.history.without(need)), need) == \
            ranked(session, own, need), need.ref
    for need in free[::max(1, len(free) // RANKED_PER_CHECK)]:
        assert ranked(session, entry.index, need) == ranked(session, fresh, need), need.ref


@pytest.mark.slow
def test_the_cached_index_equals_a_fresh_build_through_transitions_imports_and_edits(app, client, runner, session):
    import_cases(runner)
    session.commit()
    check_against_fresh(app, session)
    cache = cache_of(app)
    assert cache.rebuilds == 1

    assert client.post("/api/v1/match", json={}).status_code == 200
    check_against_fresh(app, session)
    proposed = list(session.scalars(select(Need.id).where(Need.status == NeedStatus.PROPOSED).order_by(Need.id)))
    assert len(proposed) >= 40

    for need_id in proposed[:12]:  # answers: some decline (the next best is proposed), some accept and go on
        if need_id % 3 == 0:
            act(client, need_id, "decline", reason="没空")
        else:
            act(client, need_id, "accept")
            act(client, need_id, "approve")
            if need_id % 3 == 1:
                act(client, need_id, "start")
                act(client, need_id, "report_done", hours=2)
        check_against_fresh(app, session)
    for need_id in proposed[12:16]:
        act(client, need_id, "cancel", reason="不需要了")
    check_against_fresh(app, session)
    assert cache.rebuilds == 1  # transitions only: every change was applied in place

    volunteer = session.scalar(select(Volunteer).where(Volunteer.ref == "HV0101"))
    assert volunteer is not None
    assert client.patch(f"/api/v1/volunteers/{volunteer.id}", json={"capacity": 0}).status_code == 200
    check_against_fresh(app, session)
    assert client.patch(f"/api/v1/volunteers/{volunteer.id}", json={"capacity": 3}).status_code == 200
    check_against_fresh(app, session)
    assert cache.rebuilds == 1

    header = ["ref", "name", "kind", "phone", "grid", "skills", "services", "availability", "capacity", "force",
              "party_member", "description"]
    upload = csv_bytes(header, [["HV9001", "陈新来", "个人", "13300469001", "HC01", "陪诊;理发", "志愿服务", "",
                                 "1", "自治力量", "否", "新登记的志愿者，会理发"]])
    response = client.post("/api/v1/import/volunteers", data={"file": (__import__("io").BytesIO(upload), "v.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    check_against_fresh(app, session)
    assert cache.rebuilds == 2  # a new provider: the vocabulary changed

    assert client.delete(f"/api/v1/volunteers/{volunteer.id}").status_code in (200, 204)
    check_against_fresh(app, session)
    assert client.post("/api/v1/match", json={}).status_code == 200
    check_against_fresh(app, session)
    assert cache.rebuilds == 3


def test_a_transition_inside_the_transaction_does_not_publish_its_index(app, session):
    make_map(session)
    make_volunteer(session, ref="V1", grid="G1", capacity=1)
    need = make_need(session, text=ESCORT, grid="G1")
    session.commit()
    with app.app_context():
        published = current_entry(session, only(session))
        session.commit()
        need.urgency = "high"
        session.flush()  # this transaction has now written: what it sees is its own
        assert index_cache.wrote_in_transaction(session)
        assert instant_proposals(session, need, exclude=set_aside(need))
        assert app.extensions[CACHE_KEY]._entries[only(session)] is published
        session.rollback()
        assert not index_cache.wrote_in_transaction(session)


# --- threads ------------------------------------------------------------------------------------

def test_threads_asking_at_once_after_a_change_build_the_index_once(monkeypatch):
    """Eight threads, a slow load of the providers: one build, and every thread gets that index."""
    from dispatch.views import ProviderHistory
    from matching.types import ProviderView

    views = [ProviderView(kind="volunteer", id=i, ref=f"V{i}", name="志愿者", services=frozenset({"volunteer"}),
                          skills=("陪诊",), home_grid="G1") for i in range(1, 30)]
    state = index_cache.PoolState(providers=(0, None, 29, None), activity=(1, 1))
    monkeypatch.setattr(index_cache, "pool_state", lambda session, subdistrict=None: state)
    monkeypatch.setattr(index_cache, "provider_history", lambda session, subdistrict_id=None: ProviderHistory())
    monkeypatch.setattr(index_cache, "neighbor_map", lambda session, subdistrict=None: {})

    def slow_load(session: Any, history: Any = None, subdistrict_id: Any = None) -> list[ProviderView]:
        time.sleep(0.05)
        return views
    monkeypatch.setattr(index_cache, "load_providers", slow_load)
    cache = ProviderIndexCache()
    got: list[ProviderIndex] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        got.append(cache.entry(Session()).index)
    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert cache.rebuilds == 1 and len(got) == 8 and all(index is got[0] for index in got)


def test_history_without_a_need_equals_the_history_read_without_it(app, client, session):
    make_map(session)
    make_volunteer(session, ref="V1", grid="G1", capacity=1)
    need = make_need(session, text=ESCORT, grid="G1")
    session.commit()
    assert client.post("/api/v1/match", json={"grid": "G1"}).status_code == 200
    act(client, need.id, "decline", reason="没空")
    session.expire_all()
    need = session.get(Need, need.id)
    assert need is not None and need.proposals
    assert provider_history(session).without(need) == provider_history(session, except_need=need.id)


def test_a_change_the_maxima_miss_is_seen_once_the_entry_is_old_enough(app, client, session, monkeypatch):
    """A transaction committing late under an earlier id leaves the maxima as they were: the loads
    are read again anyway once the entry is RECHECK_SECONDS old."""
    make_map(session)
    make_volunteer(session, ref="V1", grid="G1", capacity=1)
    first = make_need(session, ref="N1", text=ESCORT, grid="G1")
    second = make_need(session, ref="N2", text=ESCORT, grid="G1")
    session.commit()
    monkeypatch.setattr(index_cache, "RECHECK_SECONDS", 3600.0)
    assert provider_refs(client, second.id) == ["V1"]
    frozen = app.extensions[CACHE_KEY]._entries[only(session)].state
    monkeypatch.setattr(index_cache, "pool_state", lambda s, subdistrict=None: frozen)  # the maxima say nothing moved
    assert client.post(f"/api/v1/needs/{first.id}/actions", json={"action": "propose", "provider": {
        "kind": "volunteer", "id": session.scalar(select(Volunteer.id))}}).status_code == 200
    assert provider_refs(client, second.id) == ["V1"]  # within RECHECK_SECONDS: not seen yet

    monkeypatch.setattr(index_cache, "RECHECK_SECONDS", 0.0)
    assert provider_refs(client, second.id) == []  # V1 is full now


def test_a_process_keeps_the_indexes_of_its_most_recent_subdistricts_only(monkeypatch):
    from dispatch.views import ProviderHistory
    state = index_cache.PoolState(providers=(0, None, 0, None), activity=(1, 1))
    monkeypatch.setattr(index_cache, "pool_state", lambda session, subdistrict=None: state)
    monkeypatch.setattr(index_cache, "provider_history", lambda session, subdistrict_id=None: ProviderHistory())
    monkeypatch.setattr(index_cache, "neighbor_map", lambda session, subdistrict=None: {})
    monkeypatch.setattr(index_cache, "load_providers", lambda session, history=None, subdistrict_id=None: [])
    cache = ProviderIndexCache(max_entries=2)

    for subdistrict in (1, 2, 1, 3):  # 1 was used after 2: 2 is the one to go
        cache.entry(Session(), subdistrict)

    assert list(cache._entries) == [1, 3] and cache.rebuilds == 3
