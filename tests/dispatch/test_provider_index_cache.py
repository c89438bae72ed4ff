"""Instant proposals reuse the provider index until the pools change."""
from __future__ import annotations

from dispatch import proposals as matcher
from tests.factories import make_map, make_need, make_volunteer

ESCORT = "我妈周三上午要去医院复查，想找人陪诊"


def provider_refs(client, need_id):  # type: ignore[no-untyped-def]
    response = client.get(f"/api/v1/needs/{need_id}/proposals")
    assert response.status_code == 200, response.get_json()
    return [p["provider_ref"] for p in response.get_json()["items"]]


def test_the_index_is_built_once_while_nothing_changes(app, client, session, monkeypatch):
    make_map(session)
    make_volunteer(session, ref="V1", grid="G1")
    need = make_need(session, text=ESCORT, grid="G1")
    session.commit()
    builds = []
    real_build = matcher.ProviderIndex.build
    monkeypatch.setattr(matcher.ProviderIndex, "build", lambda providers: builds.append(1) or real_build(providers))

    assert provider_refs(client, need.id) == ["V1"]
    assert provider_refs(client, need.id) == ["V1"]
    assert len(builds) == 1


def test_a_new_volunteer_is_proposed_at_once(app, client, session):
    make_map(session)
    make_volunteer(session, ref="V1", grid="G2")
    need = make_need(session, text=ESCORT, grid="G1")
    session.commit()
    assert provider_refs(client, need.id) == ["V1"]

    make_volunteer(session, ref="V2", name="李四", phone="13800138009", grid="G1")
    session.commit()
    assert provider_refs(client, need.id)[0] == "V2"


def test_a_provider_that_fills_up_drops_out(app, client, session):
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
    real_load = matcher.load_providers
    monkeypatch.setattr(matcher, "load_providers", lambda *a, **k: loads.append(1) or real_load(*a, **k))

    body = client.get(f"/api/v1/needs/{need.id}/proposals").get_json()["items"]

    assert [p["provider_ref"] for p in body][:1] == ["V1"]
    assert body[0]["features"]["load"] == 1.0  # its own proposal is not counted against it
    assert loads == []
    rebuilt = matcher.ProviderIndex.build(real_load(session, except_need=need.id))
    again = matcher.propose(matcher.need_view(session.get(matcher.Need, need.id)), rebuilt,
                            matcher.grid_map(session), limit=10)
    assert [(m.provider_ref, round(m.score, 4)) for m in again] == [(p["provider_ref"], p["score"]) for p in body]
