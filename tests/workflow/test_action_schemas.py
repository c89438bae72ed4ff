"""Each action of the workflow is validated by a schema of its own before anything happens: a bad
field is a 422 naming it, and the need is left as it was."""
from __future__ import annotations

from typing import Any

import pytest
from marshmallow import ValidationError

from core.vocab import Action
from tests.factories import ESCORT_TEXT, act, error_of, make_need, table_counts
from workflow.schemas import ACTION_SCHEMAS, load_action
from workflow.service import record_creation

NEEDS = "/api/v1/needs"



@pytest.fixture
def triaged(session: Any, cast: Any) -> int:
    """A need the classifier was unsure of, waiting for a coordinator to set its service."""
    need = make_need(session, ref="N-TRIAGE", text="那个事情麻烦帮忙看看", service=None)
    need.service_confidence = 0.3
    record_creation(session, need, None)
    session.commit()
    assert need.status == "triage"
    return int(need.id)


def status_of(api: Any, need_id: int) -> str:
    return str(api.get(f"{NEEDS}/{need_id}").get_json()["status"])


def test_classifying_with_an_unknown_service_is_a_422_naming_the_field_and_stores_nothing(as_, triaged, session):
    before = table_counts(session)

    error = error_of(act(as_("coord_g1"), triaged, "classify", service="not-a-service"), 422, "validation_error")

    assert list(error["fields"]) == ["service"] and "未知服务类型" in error["fields"]["service"][0]
    assert status_of(as_("admin"), triaged) == "triage"
    assert as_("admin").get(f"{NEEDS}/{triaged}").get_json()["service"] is None
    assert table_counts(session) == before


def test_classifying_with_a_known_service_sends_the_need_on(as_, triaged):
    assert act(as_("coord_g1"), triaged, "classify", service="志愿服务").get_json()["status"] == "submitted"
    assert as_("admin").get(f"{NEEDS}/{triaged}").get_json()["service"] == "volunteer"


def test_classifying_without_a_service_is_a_422(as_, triaged):
    error = error_of(act(as_("coord_g1"), triaged, "classify"), 422)

    assert error["fields"] == {"service": ["必填项"]}


@pytest.mark.parametrize("body, field", [
    ({"action": "teleport"}, "action"),
    ({}, "action"),
    ({"action": "accept", "rating": 5}, "rating"),  # a field another action takes
    ({"action": "classify", "service": "volunteer", "colour": "red"}, "colour"),
    ({"action": "reassign"}, "provider"),
    ({"action": "reassign", "provider": {"kind": "robot", "id": 1}}, "provider"),
    ({"action": "reassign", "provider": {"kind": "volunteer", "id": "1"}}, "provider"),
    ({"action": "send_back"}, "reason"),
    ({"action": "send_back", "reason": ""}, "reason"),
    ({"action": "confirm"}, "rating"),
    ({"action": "confirm", "rating": 4.5}, "rating"),
    ({"action": "confirm", "rating": True}, "rating"),
    ({"action": "report_done", "hours": 0}, "hours"),
    ({"action": "report_done", "hours": 400}, "hours"),
    ({"action": "cancel", "reason": "x" * 1001}, "reason"),
])
def test_each_action_refuses_what_its_schema_does_not_allow_by_field(body, field):
    with pytest.raises(ValidationError) as caught:
        load_action(body)

    assert field in caught.value.normalized_messages()


@pytest.mark.parametrize("body, fields", [
    ({"action": "accept"}, {"reason": "", "proposal": None}),
    ({"action": "confirm", "rating": 5, "reason": "很好"}, {"rating": 5, "reason": "很好"}),
    ({"action": "report_done"}, {"reason": "", "hours": None}),
    ({"action": "reassign", "provider": {"kind": "volunteer", "id": 3}},
     {"reason": "", "provider": {"kind": "volunteer", "id": 3}}),
    ({"action": "propose"}, {"reason": "", "provider": None}),
])
def test_an_action_loads_into_exactly_its_own_fields(body, fields):
    action, loaded = load_action(body)

    assert action == body["action"] and loaded == fields


def test_every_action_has_a_schema_and_the_api_document_offers_each_by_its_name(client):
    assert set(ACTION_SCHEMAS) == set(Action)
    spec = client.get("/api/v1/openapi.json").get_json()
    body = spec["paths"]["/api/v1/needs/{id}/actions"]["post"]["requestBody"]["content"]["application/json"]
    mapping = body["schema"]["discriminator"]["mapping"]

    assert set(mapping) == {a.value for a in Action}
    confirm = spec["components"]["schemas"][mapping["confirm"].rsplit("/", 1)[1]]
    assert "rating" in confirm["required"] and confirm["properties"]["rating"]["maximum"] == 5


def test_a_resident_submits_through_the_app_and_staff_say_how_a_need_came_in(as_):
    own = as_("res_a").post(NEEDS, json={"text": ESCORT_TEXT, "grid": "G1", "channel": "hotline"}).get_json()
    taken = as_("coord_g1").post(NEEDS, json={"text": ESCORT_TEXT, "grid": "G1", "channel": "visit"}).get_json()

    assert own["channel"] == "app"  # a resident's own need came through the app, whatever they claim
    assert taken["channel"] == "visit"
    error = error_of(as_("coord_g1").post(NEEDS, json={"text": ESCORT_TEXT, "grid": "G1", "channel": "fax"}), 422)
    assert list(error["fields"]) == ["channel"]
