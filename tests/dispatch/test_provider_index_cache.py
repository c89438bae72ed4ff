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
