"""Holding the registries still (``dispatch.views.registries_unchanged``, what the simulation does for its
month): providers are read once, their loads at every call, and the views equal a fresh read."""
from __future__ import annotations

from dispatch.views import grid_map, load_providers, registries_unchanged
from tests.factories import make_map, make_need, make_volunteer
from workflow.service import match_scope


def test_within_the_block_loads_follow_the_proposals_and_the_rest_is_read_once(app, session):
    make_map(session)
    make_volunteer(session)
    make_need(session)
    session.flush()
    with registries_unchanged():
        before = load_providers(session)
        match_scope(session)  # proposes the volunteer: one more load
        during = load_providers(session)
        make_volunteer(session, ref="V2", name="王小红", phone="13800138001")  # not seen until the block ends
        assert [p.ref for p in load_providers(session)] == ["V1"]
        assert grid_map(session) is grid_map(session)
    fresh_read_after = load_providers(session)

    assert [p.load for p in before] == [0] and [p.load for p in during] == [1]
    assert during[0] == next(p for p in fresh_read_after if p.ref == "V1")
    assert [p.ref for p in fresh_read_after] == ["V1", "V2"]
