"""Accounts (workflow/auth.py): argon2 password hashes and the rules of create_user."""
from __future__ import annotations

import importlib

import pytest
from sqlalchemy import func, select

from access import auth
from core.errors import Conflict, InvalidData
from models import User
from tests.factories import make_map, make_volunteer

PASSWORD = "correct-horse-9"
# OWASP's floor for argon2id: 19 MiB of memory (in KiB, as argon2 writes it).
MIN_PRODUCTION_MEMORY_KIB = 19 * 1024


def user_count(session) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(User))


def create(session, **overrides):  # type: ignore[no-untyped-def]
    fields = {"username": "li-wei", "password": PASSWORD, "role": "resident", **overrides}
    return auth.create_user(session, **fields)


def invalid_fields(session, **overrides) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    before = user_count(session)
    with pytest.raises(InvalidData) as caught:
        create(session, **overrides)
    assert caught.value.status == 422
    assert user_count(session) == before  # nothing created
    return caught.value.fields or {}


# --- hashing ------------------------------------------------------------------------------------------

def test_a_password_hash_is_argon2id_and_verifies_only_the_same_password():
    hashed = auth.hash_password(PASSWORD)

    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert auth.verify_password(hashed, PASSWORD)
    assert not auth.verify_password(hashed, PASSWORD + "x")
    assert not auth.verify_password(hashed, "")


def test_the_same_password_hashes_differently_each_time():
    assert auth.hash_password(PASSWORD) != auth.hash_password(PASSWORD)


@pytest.mark.parametrize("not_a_hash", ["", "plain-text", "$argon2id$v=19$broken",
                                        "$2b$12$abcdefghijklmnopqrstuv"])
def test_verifying_against_something_that_is_not_an_argon2_hash_is_false_not_an_error(not_a_hash):
    assert auth.verify_password(not_a_hash, PASSWORD) is False


def test_the_production_hasher_is_argon2id_with_at_least_the_recommended_memory():
    # The production hasher as the module builds it (the tests swap in a cheap one: conftest).
    production = importlib.reload(importlib.import_module("access.auth"))
    algorithm, version, params, *_ = production._DUMMY_HASH.lstrip("$").split("$")
    costs = dict(p.split("=") for p in params.split(","))

    assert (algorithm, version) == ("argon2id", "v=19")
    assert int(costs["m"]) >= MIN_PRODUCTION_MEMORY_KIB and int(costs["t"]) >= 2
    assert production.verify_password(production._DUMMY_HASH, "not-a-real-password")  # any cost verifies


# --- create_user ------------------------------------------------------------------------------------------

def test_a_resident_is_created_with_a_hashed_password_and_no_scope(session):
    user = create(session, display_name="李伟")

    assert user.id is not None and user.role == "resident" and user.active
    assert user.display_name == "李伟" and user.scope_codes == [] and user.volunteer_id is None
    assert auth.verify_password(user.password_hash, PASSWORD)


def test_the_display_name_defaults_to_the_username(session):
    assert create(session).display_name == "li-wei"


def test_a_coordinator_is_created_with_their_scope(session):
    make_map(session)

    user = create(session, role="coordinator", scope_type="party_grid", scope_codes=["PG1"])

    assert (user.scope_type, user.scope_codes) == ("party_grid", ["PG1"])


@pytest.mark.parametrize("role, scope_type, codes, unknown", [
    ("coordinator", "grid", ["G1", "G404"], "G404"),
    ("coordinator", "party_grid", ["PG404"], "PG404"),
    ("coordinator", "party_grid", ["G1"], "G1"),
    ("coordinator", "organization", ["ORG404"], "ORG404"),
    ("reviewer", "party_grid", ["PG1", "PG404"], "PG404"),
    ("reviewer", "grid", ["G1"], "G1"),  # a reviewer's codes are read as Party grids
])
def test_a_scope_naming_an_unknown_code_is_refused_naming_the_code(session, role, scope_type, codes, unknown):
    make_map(session)

    fields = invalid_fields(session, role=role, scope_type=scope_type, scope_codes=codes)

    assert list(fields) == ["scope"] and fields["scope"][0].endswith(unknown)


def test_an_organisation_coordinator_is_scoped_to_a_known_organisation(session):
    make_map(session)
    make_volunteer(session, ref="ORG1", kind="organization", name="海滨志愿服务队")

    user = create(session, role="coordinator", scope_type="organization", scope_codes=["ORG1"])

    assert user.scope_codes == ["ORG1"]


def test_a_volunteer_account_is_linked_to_its_entry_of_the_volunteer_pool(session):
    make_map(session)
    volunteer = make_volunteer(session, ref="V7")

    user = create(session, role="volunteer", volunteer_ref="V7")

    assert user.volunteer_id == volunteer.id and user.volunteer is volunteer


def test_an_unknown_role_is_refused(session):
    fields = invalid_fields(session, role="mayor")

    assert list(fields) == ["role"] and "mayor" in fields["role"][0]


@pytest.mark.parametrize("password", ["", "short", "7chars!"])
def test_a_password_under_eight_characters_is_refused(session, password):
    fields = invalid_fields(session, password=password)

    assert list(fields) == ["password"] and "8" in fields["password"][0]


def test_a_password_of_exactly_eight_characters_is_enough(session):
    assert create(session, password="8chars!!").id is not None


@pytest.mark.parametrize("role", ["coordinator", "reviewer"])
@pytest.mark.parametrize("scope", [None, []])
def test_a_coordinator_or_reviewer_without_a_scope_is_refused(session, role, scope):
    fields = invalid_fields(session, role=role, scope_type="grid", scope_codes=scope)

    assert list(fields) == ["scope"]


def test_an_unknown_scope_type_is_refused(session):
    fields = invalid_fields(session, role="coordinator", scope_type="street", scope_codes=["G1"])

    assert list(fields) == ["scope"] and "street" in fields["scope"][0]


@pytest.mark.parametrize("ref", [None, "", "V404"])
def test_a_volunteer_account_without_a_known_volunteer_ref_is_refused(session, ref):
    make_map(session)
    make_volunteer(session, ref="V1")

    fields = invalid_fields(session, role="volunteer", volunteer_ref=ref)

    assert list(fields) == ["volunteer"]


def test_every_reason_is_reported_at_once(session):
    fields = invalid_fields(session, role="volunteer", password="short", volunteer_ref="V404")

    assert set(fields) == {"password", "volunteer"}


def test_a_duplicate_username_is_a_409_conflict_and_the_first_account_is_untouched(session):
    first = create(session, role="admin")

    with pytest.raises(Conflict) as caught:
        create(session, role="resident", password="another-password")

    assert caught.value.status == 409 and "username" in (caught.value.fields or {})
    assert user_count(session) == 1
    assert first.role == "admin" and auth.verify_password(first.password_hash, PASSWORD)


def test_a_token_says_how_long_it_lasts_as_configured_and_then_stops_working(app, session):
    from tests.factories import TEST_PASSWORD, make_user
    make_user(session, "short-lived", role="resident")
    session.commit()
    app.config["TOKEN_TTL_SECONDS"] = 1800
    client = app.test_client()

    body = client.post("/api/v1/auth/token", json={"username": "short-lived", "password": TEST_PASSWORD}).get_json()

    assert body["expires_in"] == 1800
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {body['access_token']}"
    assert client.get("/api/v1/me").status_code == 200
    app.config["TOKEN_TTL_SECONDS"] = -1  # the same token, once its time is up
    assert client.get("/api/v1/me").status_code == 401
