"""The state machine of a need (workflow/states.py: from where to where, pure) and who may take
each action (access/policy.py: ACTION_ROLES), checked together against one specification."""
from __future__ import annotations

from collections import deque
from itertools import product

import pytest

from access.policy import ACTION_ROLES, actions_for, may_take
from core.vocab import ENDED, FINISHED, STATUS_LABELS_ZH, SYSTEM, Action, NeedStatus
from workflow.states import TRANSITIONS, IllegalTransition, Transition, allowed_actions, check

STATUSES = tuple(NeedStatus)
ACTIONS = TRANSITIONS


def roles_of(name: str) -> frozenset[str]:
    return ACTION_ROLES[Action(name)]


def allowed(status: str, role: str) -> list[str]:
    return actions_for(role, allowed_actions(status))


class RoleNotAllowed(Exception):
    pass


def check_as(name: str, status: str, role: str) -> Transition:
    """What the workflow's service asks: the state machine, then the policy."""
    transition = check(name, status)
    if not may_take(role, transition.action):
        raise RoleNotAllowed(name, role)
    return transition

ROLES = ("resident", "volunteer", "coordinator", "reviewer", "admin", SYSTEM)

# The machine as the workflow issue describes it: action -> (sources, target, roles). Written out
# again on purpose, so a change to states.py has to be a change to this specification too.
SPEC: dict[str, tuple[set[str], str, set[str]]] = {
    "triage": ({"submitted"}, "triage", {SYSTEM}),
    "classify": ({"triage"}, "submitted", {"coordinator", "admin"}),
    "propose": ({"submitted", "triage", "unmatched", "escalated"}, "proposed", {SYSTEM, "coordinator", "admin"}),
    "fail_match": ({"submitted"}, "unmatched", {SYSTEM}),
    "accept": ({"proposed"}, "accepted", {"coordinator", "volunteer", "admin"}),
    "decline": ({"proposed"}, "proposed", {"coordinator", "volunteer", "admin"}),
    "approve": ({"accepted"}, "approved", {"reviewer", "admin"}),
    "send_back": ({"accepted"}, "proposed", {"reviewer", "admin"}),
    "reassign": ({"proposed", "accepted", "approved"}, "proposed", {"reviewer", "admin"}),
    "start": ({"approved"}, "in_service", {"volunteer", "coordinator", "admin"}),
    "report_done": ({"approved", "in_service"}, "done", {"volunteer", "coordinator", "admin"}),
    "confirm": ({"done"}, "closed", {"resident"}),
    "auto_close": ({"done"}, "closed", {SYSTEM}),
    "return_visit": ({"done"}, "closed", {"coordinator", "admin"}),
    "cancel": ({"submitted", "triage", "proposed", "accepted", "approved", "unmatched", "escalated"},
               "cancelled", {"resident", "admin"}),
    "reopen": ({"closed", "cancelled"}, "submitted", {"resident"}),
    "escalate": ({"unmatched"}, "escalated", {SYSTEM, "coordinator", "reviewer", "admin"}),
}


def successors(status: str) -> set[str]:
    return {t.target for t in ACTIONS.values() if status in t.sources}


# --- the table ----------------------------------------------------------------------------------------

def test_the_actions_are_exactly_those_of_the_specification_and_each_has_its_roles():
    assert set(ACTIONS) == set(SPEC) == set(Action) == set(ACTION_ROLES)


@pytest.mark.parametrize("name", sorted(SPEC))
def test_each_action_has_its_sources_target_and_roles(name):
    sources, target, roles = SPEC[name]
    action = ACTIONS[name]

    assert action.action == name
    assert set(action.sources) == sources and len(action.sources) == len(sources)
    assert action.target == target
    assert roles_of(name) == frozenset(roles)
    assert action.label_zh and not action.label_zh.isascii()


def test_every_status_named_by_an_action_is_a_known_status_with_a_chinese_label():
    named = {s for t in ACTIONS.values() for s in t.sources} | {t.target for t in ACTIONS.values()}

    assert named == set(STATUSES)
    assert set(STATUS_LABELS_ZH) == set(STATUSES) and len(STATUSES) == len(set(STATUSES))
    assert all(not label.isascii() for label in STATUS_LABELS_ZH.values())


def test_every_role_of_an_action_is_a_known_role():
    assert {r for roles in ACTION_ROLES.values() for r in roles} <= set(ROLES)


def test_closed_is_the_only_finished_status_and_closed_and_cancelled_end_a_need():
    assert FINISHED == {"closed"} and ENDED == {"closed", "cancelled"}


def test_only_the_system_triages_fails_a_match_and_closes_automatically():
    for name in ("triage", "fail_match", "auto_close"):
        assert roles_of(name) == {SYSTEM}, name


def test_only_the_resident_confirms_and_reopens_and_the_system_never_acts_for_a_person():
    assert {a for a, roles in ACTION_ROLES.items() if "resident" in roles} == {"confirm", "cancel", "reopen"}
    assert all(SYSTEM not in roles_of(n) for n in ("accept", "approve", "confirm", "cancel", "reopen"))


# --- allowed_actions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("status", STATUSES)
def test_the_allowed_actions_of_a_status_are_those_listing_it_in_the_tables_order(status):
    expected = [name for name in ACTIONS if status in SPEC[name][0]]  # the table's order

    assert allowed_actions(status) == expected


def test_the_allowed_actions_of_a_role_are_those_it_may_take():
    assert allowed_actions("proposed") == ["accept", "decline", "reassign", "cancel"]
    assert allowed("proposed", "volunteer") == ["accept", "decline"]
    assert allowed("proposed", "reviewer") == ["reassign"]
    assert allowed("proposed", "resident") == ["cancel"]
    assert allowed("accepted", "reviewer") == ["approve", "send_back", "reassign"]
    assert allowed("done", "resident") == ["confirm"]
    assert allowed("done", SYSTEM) == ["auto_close"]
    assert allowed("closed", "admin") == []


def test_an_unknown_status_allows_nothing():
    assert allowed_actions("lost") == [] and allowed("lost", "admin") == []


@pytest.mark.parametrize("status", sorted(set(STATUSES) - ENDED))
def test_every_open_status_can_be_left(status):
    assert allowed_actions(status)


@pytest.mark.parametrize("status", sorted(ENDED))
def test_an_ended_need_can_only_be_reopened(status):
    assert allowed_actions(status) == ["reopen"]


# --- check ------------------------------------------------------------------------------------------------

def outcome(name: str, status: str, role: str) -> str:
    try:
        check_as(name, status, role)
    except IllegalTransition:
        return "illegal"
    except RoleNotAllowed:
        return "role"
    return "ok"


def test_check_allows_exactly_the_listed_moves_and_says_why_it_refuses_the_others():
    wrong = []
    for name, status, role in product(sorted(SPEC), STATUSES, ROLES):
        sources, _target, roles = SPEC[name]
        expected = "illegal" if status not in sources else "role" if role not in roles else "ok"
        if outcome(name, status, role) != expected:
            wrong.append((name, status, role, outcome(name, status, role), expected))

    assert wrong == []


def test_check_returns_the_action_it_allows():
    assert check("approve", "accepted") is ACTIONS[Action.APPROVE]


def test_an_illegal_transition_names_the_action_the_status_and_the_allowed_actions():
    with pytest.raises(IllegalTransition) as caught:
        check("approve", "proposed")

    error = caught.value
    assert (error.action, error.status) == ("approve", "proposed")
    assert error.allowed == ["accept", "decline", "reassign", "cancel"]
    assert "approve" in str(error) and "proposed" in str(error)


def test_an_illegal_move_is_reported_as_such_even_for_a_role_that_could_never_take_it():
    # The status is checked first: a resident trying approve on a proposed need learns what is allowed.
    with pytest.raises(IllegalTransition) as caught:
        check_as("approve", "proposed", "resident")

    assert caught.value.allowed == allowed_actions("proposed")


def test_an_unknown_action_is_an_illegal_transition():
    with pytest.raises(IllegalTransition) as caught:
        check("teleport", "submitted")

    assert caught.value.allowed == allowed_actions("submitted")


# --- the graph ----------------------------------------------------------------------------------------------

def test_every_status_is_reachable_from_submitted():
    seen, queue = {"submitted"}, deque(["submitted"])
    while queue:
        for nxt in successors(queue.popleft()) - seen:
            seen.add(nxt)
            queue.append(nxt)

    assert seen == set(STATUSES)


def test_every_status_can_still_reach_closed():
    for start in STATUSES:
        seen, queue = {start}, deque([start])
        while queue:
            for nxt in successors(queue.popleft()) - seen:
                seen.add(nxt)
                queue.append(nxt)
        assert "closed" in seen, start


def test_the_happy_path_is_a_chain_of_legal_moves_by_the_right_roles():
    path = [("propose", SYSTEM), ("accept", "volunteer"), ("approve", "reviewer"), ("start", "volunteer"),
            ("report_done", "volunteer"), ("confirm", "resident")]
    status = "submitted"
    for name, role in path:
        status = check_as(name, status, role).target

    assert status == "closed"
