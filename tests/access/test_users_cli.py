"""The account commands: ``flask --app app users create`` and the demo accounts of ``seed-demo``."""
from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from access.auth import verify_password
from demo.seed import DEMO_PASSWORD
from models import User
from tests.factories import make_map, make_volunteer

DEMO_ROLES = ("resident", "volunteer", "coordinator", "reviewer", "admin")


@pytest.fixture
def grid_map(session: Any) -> None:
    make_map(session)
    make_volunteer(session, ref="V1")
    session.commit()


def create(runner: Any, name: str, *options: str) -> Any:
    return runner.invoke(args=["users", "create", name, *options])


def user_named(session: Any, name: str) -> User | None:
    session.expire_all()
    return session.scalar(select(User).where(User.username == name))


def user_count(session: Any) -> int:
    return session.scalar(select(func.count()).select_from(User))


def log_in(app: Any, username: str, password: str) -> Any:
    return app.test_client().post("/api/v1/auth/token", json={"username": username, "password": password})


# --- users create ---------------------------------------------------------------------------------------

def test_creating_an_account_without_a_password_prints_a_generated_one_that_logs_in(app, runner, session,
                                                                                    grid_map):
    result = create(runner, "zhang-san", "--role", "resident")

    assert result.exit_code == 0, result.output
    found = re.search(r"已创建账号 zhang-san（resident），密码：(\S+)", result.output)
    assert found, result.output
    password = found.group(1)
    assert len(password) >= 8
    user = user_named(session, "zhang-san")
    assert user is not None and verify_password(user.password_hash, password)
    assert log_in(app, "zhang-san", password).status_code == 200


def test_a_given_password_is_the_one_that_works(app, runner, session, grid_map):
    result = create(runner, "li-si", "--role", "admin", "--password", "given-password-1")

    assert result.exit_code == 0 and "given-password-1" in result.output
    assert log_in(app, "li-si", "given-password-1").get_json()["role"] == "admin"


def test_a_grid_coordinator_gets_the_grids_named_by_scope(runner, session, grid_map):
    result = create(runner, "coord", "--role", "coordinator", "--scope", "G1", "--scope", "G2")

    assert result.exit_code == 0, result.output
    user = user_named(session, "coord")
    assert (user.role, user.scope_type, user.scope_codes) == ("coordinator", "grid", ["G1", "G2"])


def test_a_scope_starting_with_pg_is_taken_for_a_party_grid(runner, session, grid_map):
    assert create(runner, "coord-pg", "--role", "coordinator", "--scope", "PG1").exit_code == 0
    assert create(runner, "branch", "--role", "reviewer", "--scope", "PG2").exit_code == 0

    assert (user_named(session, "coord-pg").scope_type, user_named(session, "coord-pg").scope_codes) == (
        "party_grid", ["PG1"])
    assert (user_named(session, "branch").scope_type, user_named(session, "branch").scope_codes) == (
        "party_grid", ["PG2"])


def test_a_volunteer_account_is_linked_to_its_volunteer(runner, session, grid_map):
    result = create(runner, "xiaoming", "--role", "volunteer", "--volunteer", "V1", "--display-name", "张小明")

    assert result.exit_code == 0, result.output
    user = user_named(session, "xiaoming")
    assert user.volunteer.ref == "V1" and user.display_name == "张小明"


@pytest.mark.parametrize("options, reason", [
    (["--role", "mayor"], "mayor"),
    (["--role", "coordinator"], "scope"),
    (["--role", "reviewer"], "scope"),
    (["--role", "coordinator", "--scope", "G1", "--scope-type", "street"], "street"),
    (["--role", "volunteer"], "volunteer"),
    (["--role", "volunteer", "--volunteer", "V404"], "V404"),
    (["--role", "resident", "--password", "short"], "password"),
])
def test_a_bad_role_scope_volunteer_or_password_exits_non_zero_with_the_reason_and_creates_nothing(
        runner, session, grid_map, options, reason):
    before = user_count(session)

    result = create(runner, "wang-wu", *options)

    assert result.exit_code != 0
    assert reason in result.output, result.output
    assert "已创建" not in result.output
    assert user_named(session, "wang-wu") is None and user_count(session) == before


@pytest.mark.parametrize("options, code", [
    (["--role", "coordinator", "--scope", "G404"], "G404"),
    (["--role", "coordinator", "--scope", "G1", "--scope", "G405"], "G405"),
    (["--role", "reviewer", "--scope", "PG404"], "PG404"),
    (["--role", "reviewer", "--scope", "G1"], "G1"),  # a grid, not a Party grid
    (["--role", "coordinator", "--scope", "ORG404", "--scope-type", "organization"], "ORG404"),
])
def test_a_scope_naming_an_unknown_code_exits_non_zero_naming_it_and_creates_nothing(
        runner, session, grid_map, options, code):
    result = create(runner, "wang-wu", *options)

    assert result.exit_code != 0
    assert "创建失败" in result.output and code in result.output, result.output
    assert user_named(session, "wang-wu") is None


def test_an_existing_username_exits_non_zero_and_keeps_the_first_account(runner, session, grid_map):
    assert create(runner, "zhao-liu", "--role", "admin", "--password", "first-password-1").exit_code == 0

    result = create(runner, "zhao-liu", "--role", "resident", "--password", "second-password")

    assert result.exit_code != 0 and "zhao-liu" in result.output and "已存在" in result.output
    user = user_named(session, "zhao-liu")
    assert user.role == "admin" and verify_password(user.password_hash, "first-password-1")


# --- seed-demo ----------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_seed_demo_prints_one_account_of_each_role_and_each_can_log_in(app, runner):
    result = runner.invoke(args=["seed-demo"])

    assert result.exit_code == 0, result.output
    assert f"密码均为 {DEMO_PASSWORD}" in result.output
    listed = dict(re.findall(r"^\s+(\S+)\s+(resident|volunteer|coordinator|reviewer|admin)\b", result.output,
                             flags=re.MULTILINE))
    assert sorted(listed.values()) == sorted(DEMO_ROLES), result.output
    for username, role in listed.items():
        response = log_in(app, username, DEMO_PASSWORD)
        assert response.status_code == 200, (username, response.get_json())
        assert response.get_json()["role"] == role
    # Each demo account sees something to work on: the staff of its Party grid see its needs.
    coordinator = next(u for u, r in listed.items() if r == "coordinator")
    token = log_in(app, coordinator, DEMO_PASSWORD).get_json()["access_token"]
    needs = app.test_client().get("/api/v1/needs", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert needs["total"] > 0
