"""Proposals that wait for a coordinator: across services, or for a need the classifier was unsure of.
The provider is neither told nor allowed to answer until a coordinator accepts; accepting sets the
need's service to the one the provider gives."""
from __future__ import annotations

from typing import Any

import pytest

from models import Need
from tests.factories import act, error_of, make_need, notices_of
from workflow.service import record_creation

NEEDS = "/api/v1/needs"


@pytest.fixture
def unsure(session: Any, cast: Any) -> int:
    """A need in G1 the classifier put under market, unsure; V1 (volunteer service) has the skill."""
    need = make_need(session, ref="N-UNSURE", text="周三上午想找人陪诊", service="market")
    need.service_confidence = 0.31
    record_creation(session, need, None)
    session.commit()
    assert need.status == "triage"
    return int(need.id)


def test_an_unsure_need_is_proposed_on_its_clear_skill_and_waits_for_a_coordinator(app, as_, cast, unsure):
    run = as_("coord_g1").post("/api/v1/match", json={"grid": "G1"}).get_json()

    [made] = [a for a in run["assignments"] if a["need_id"] == unsure]
    need = as_("coord_g1").get(f"{NEEDS}/{unsure}").get_json()
    assert need["status"] == "proposed" and need["current_proposal"]["review_required"] is True
    assert "需协调员确认" in made["explanation"]
    assert not [m for m in notices_of(app, cast.vol_1) if "N-UNSURE" in m]  # not asked yet

    refused = error_of(act(as_("vol_1"), unsure, "accept"), 403, "forbidden")
    assert refused["message"] == "该推荐需协调员先确认"


def test_a_coordinator_accepting_it_sets_the_needs_service_to_the_providers(app, as_, session, unsure):
    as_("coord_g1").post("/api/v1/match", json={"grid": "G1"})

    assert act(as_("coord_g1"), unsure, "accept").get_json()["status"] == "accepted"

    need = session.get(Need, unsure)
    session.refresh(need)
    assert need.service == "volunteer" and need.service_confidence is None
