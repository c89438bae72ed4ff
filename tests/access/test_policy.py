"""The policy's two renderings of "who sees which need" agree, and whoever sees a need is told when
it is their turn — the organisation-scoped coordinator included."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from access.policy import need_facts, need_filter, recipients, sees
from core.vocab import NeedStatus, Role, ScopeType
from models import Need, Notification, Proposal
from tests.factories import make_account, make_map, make_need, make_volunteer, notices_of
from workflow.service import record, record_creation


@pytest.fixture
def world(session: Any) -> Any:
    """Needs in G1 (PG1), G3 and G9 (PG2); one proposed to the organisation ORG1, one to V1; accounts
    of every kind of scope."""
    make_map(session)
    v1 = make_volunteer(session, ref="V1", grid="G1")
    org = make_volunteer(session, ref="ORG1", name="海滨社工服务社", kind="organization", grid="G3",
                         phone="0755-27880000", skills=["心理咨询"], services=["social"])
    needs = {ref: make_need(session, ref=ref, grid=grid) for ref, grid in
             (("N-G1", "G1"), ("N-G3", "G3"), ("N-G9", "G9"), ("N-ORG", "G9"))}
    resident = make_account(session, Role.RESIDENT, "res")
    needs["N-G1"].resident_id = resident.id
    session.add(Proposal(need=needs["N-ORG"], volunteer_id=org.id, rank=1, score=0.8, tier=2))
    session.add(Proposal(need=needs["N-G3"], volunteer_id=v1.id, rank=1, score=0.7, tier=3, status="declined"))
    users = [
        resident, make_account(session, Role.RESIDENT, "res-other"),
        make_account(session, Role.VOLUNTEER, "vol-1", volunteer_id=v1.id),
        make_account(session, Role.COORDINATOR, "coord-g1", scope_type=ScopeType.GRID, scope_codes=["G1"]),
        make_account(session, Role.COORDINATOR, "coord-pg2", scope_type=ScopeType.PARTY_GRID, scope_codes=["PG2"]),
        make_account(session, Role.COORDINATOR, "coord-org", scope_type=ScopeType.ORGANIZATION,
                     scope_codes=["ORG1"]),
        make_account(session, Role.REVIEWER, "rev-pg1", scope_type=ScopeType.PARTY_GRID, scope_codes=["PG1"]),
        make_account(session, Role.ADMIN, "boss"),
    ]
    session.flush()
    return {"users": users, "needs": needs, "org": org}


def test_the_sql_filter_and_the_predicate_give_the_same_answer_for_every_user_and_need(session, world):
    for user in world["users"]:
        listed = set(session.scalars(select(Need.ref).where(need_filter(user))))
        predicted = {ref for ref, need in world["needs"].items() if sees(user, need_facts(session, need))}
        assert listed == predicted, user.username


def test_each_scope_sees_what_it_should(session, world):
    seen = {u.username: set(session.scalars(select(Need.ref).where(need_filter(u)))) for u in world["users"]}

    assert seen == {
        "res": {"N-G1"}, "res-other": set(), "vol-1": {"N-G3"},  # declined, still visible to them
        "coord-g1": {"N-G1"}, "coord-pg2": {"N-G3", "N-G9", "N-ORG"}, "coord-org": {"N-ORG"},
        "rev-pg1": {"N-G1"}, "boss": {"N-G1", "N-G3", "N-G9", "N-ORG"},
    }


def test_a_coordinator_scoped_to_an_organisation_is_told_of_a_need_proposed_to_it(session, world):
    need = world["needs"]["N-ORG"]
    need.status = NeedStatus.SUBMITTED

    told = {u.username for u in recipients(session, need, NeedStatus.PROPOSED)}

    assert "coord-org" in told and "coord-pg2" in told
    assert "coord-g1" not in told


def test_the_organisation_coordinator_gets_the_notice_in_the_app(app, session, world):
    need = world["needs"]["N-ORG"]
    record_creation(session, need, None)
    record(session, need, NeedStatus.PROPOSED, None, "推荐 海滨社工服务社")
    session.commit()
    coordinator = next(u for u in world["users"] if u.username == "coord-org")

    assert [m for m in notices_of(app, coordinator) if "N-ORG" in m and "已推荐" in m]


def test_nobody_outside_a_needs_scope_is_notified(session, world):
    need = world["needs"]["N-G9"]
    record(session, need, NeedStatus.UNMATCHED, None, "暂无")
    session.flush()

    told = set(session.scalars(select(Notification.user_id).where(Notification.need_id == need.id)))
    names = {u.username for u in world["users"] if u.id in told}
    assert names == {"coord-pg2"}  # PG2 has no reviewer account; the G1 coordinator never hears of G9
