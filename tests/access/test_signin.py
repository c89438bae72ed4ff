"""Signing in under attack: forged cookies, guessing in parallel, locking the owner out, revoked
sessions, cross-site writes, weak passwords, and failed sign-ins that once stalled the app."""
from __future__ import annotations

import io
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import delete

from access import auth
from app import create_app
from core.database import make_engine
from models import User
from tests.factories import ACCOUNT_PASSWORD, csv_bytes, error_of, make_account, signed_in, table_counts

TOKEN, SESSION, ME = "/api/v1/auth/token", "/api/v1/auth/session", "/api/v1/me"
STRONG = "雨后-彩虹-2026-qx"


def sign_in(client: Any, username: str, password: str = ACCOUNT_PASSWORD, path: str = TOKEN) -> Any:
    return client.post(path, json={"username": username, "password": password})


def from_address(app: Any, address: str | None = None) -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address or f"10.{uuid.uuid4().int % 250 + 1}.0.{uuid.uuid4().int % 250 + 1}"
    return client


def cookie_for(secret_key: str, data: dict[str, Any]) -> str:
    """A login cookie as Flask would sign it with ``secret_key``."""
    forger = Flask("forger")
    forger.secret_key = secret_key
    serializer = SecureCookieSessionInterface().get_signing_serializer(forger)
    assert serializer is not None
    return str(serializer.dumps(data))


@pytest.fixture
def own_app(engine: Any, database_url: str, classifier_path: str) -> Iterator[Any]:
    """An app on its own connections (real commits), for requests in parallel threads."""
    own_engine = make_engine(database_url, pool_size=2, max_overflow=0, pool_timeout=5)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": own_engine,
                      "CLASSIFIER_PATH": classifier_path, "SECRET_KEY": "test"})
    app.usernames = []  # type: ignore[attr-defined]
    yield app
    with engine.begin() as conn:
        conn.execute(delete(User.__table__).where(User.username.in_(app.usernames)))  # type: ignore[attr-defined]
    own_engine.dispose()


def committed_account(app: Any, role: str = "resident", **fields: Any) -> User:
    username = f"sec-{uuid.uuid4().hex[:10]}"
    app.usernames.append(username)
    with app.app_context():
        from core.database import get_db
        with get_db().unit_of_work() as s:
            return make_account(s, role, username, **fields)


# --- 1. a forged cookie ----------------------------------------------------------------------------------

def test_without_a_configured_key_a_cookie_signed_with_the_old_built_in_key_is_refused(
        engine, connection, database_url, classifier_path, monkeypatch, tmp_path: Path, session):
    import core.config
    real = core.config.instance_secret_key
    monkeypatch.setattr(core.config, "instance_secret_key", lambda **kw: real(tmp_path, **kw))
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": engine,
                      "CLASSIFIER_PATH": classifier_path})  # no SECRET_KEY: development makes one
    from sqlalchemy.orm import sessionmaker
    app.extensions["sanku_db"].sessionmaker = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                                                           expire_on_commit=False)
    admin = make_account(session, "admin", "admin-forged")
    session.commit()
    browser = app.test_client()

    assert app.secret_key == (tmp_path / "secret_key").read_text() and len(app.secret_key) == 64
    for forged in ({"uid": admin.id}, {"uid": admin.id, "sv": 0}):
        browser.set_cookie("session", cookie_for("dev-only-change-me", forged))
        error_of(browser.get(ME), 401)


def test_a_cookie_signed_with_the_right_key_but_without_the_session_version_is_refused(app, session, cast):
    browser = app.test_client()
    browser.set_cookie("session", cookie_for(app.secret_key, {"uid": cast.admin.id}))

    error_of(browser.get(ME), 401)


# --- 4. failed sign-ins no longer stall everyone else ----------------------------------------------------

def test_many_wrong_sign_ins_at_once_leave_the_rest_of_the_app_answering(own_app):
    """Each failed sign-in once wrote its attempt through a second pooled connection while holding
    the first: 16 at once on a pool of 2 stalled every request until the pool timed out (500)."""
    def wrong(_: int) -> int:
        return int(from_address(own_app).post(TOKEN, json={"username": "ghost", "password": "x" * 9}).status_code)

    def read(_: int) -> tuple[int, float]:
        started = time.perf_counter()
        status = own_app.test_client().get("/api/v1/grids").status_code
        return status, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=16) as pool:
        logins = pool.map(wrong, range(16))
        reads = list(pool.map(read, range(8)))

    assert set(logins) == {401}
    assert {status for status, _ in reads} == {200}
    assert max(seconds for _, seconds in reads) < 4  # under the pool's 5 s timeout: nobody waited it out


# --- 5. guessing, in parallel and from many places ---------------------------------------------------------

def test_parallel_guesses_cannot_slip_past_the_limit(own_app, monkeypatch):
    checked = []
    lock = threading.Lock()
    real_verify = auth.verify_password

    def counting_verify(password_hash: str, password: str) -> bool:
        with lock:
            checked.append(password)
        return real_verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting_verify)
    address = "10.9.9.9"
    barrier = threading.Barrier(12)

    def guess(i: int) -> int:
        client = from_address(own_app, address)
        barrier.wait(timeout=10)
        return int(client.post(TOKEN, json={"username": "ghost", "password": f"guess-{i}"}).status_code)

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(guess, range(12)))

    assert len(checked) == 5 and codes.count(401) == 5 and codes.count(429) == 7


def test_guessing_from_one_address_stops_that_address_but_never_locks_the_owner_out(app, cast):
    attacker = from_address(app)
    assert [sign_in(attacker, "res-a", "not-the-password").status_code for _ in range(5)] == [401] * 5

    error_of(sign_in(attacker, "res-a"), 429, "too_many_requests")  # even the right password, from there
    assert sign_in(from_address(app), "res-a").status_code == 200  # the owner, from their own phone
    assert sign_in(from_address(app), "res-a", path=SESSION).status_code == 200


def test_a_successful_sign_in_forgives_the_owners_own_typos(app, cast):
    phone = from_address(app)
    for _ in range(4):
        sign_in(phone, "res-a", "typo-typo")
    assert sign_in(phone, "res-a").status_code == 200

    assert [sign_in(phone, "res-a", "typo-typo").status_code for _ in range(4)] == [401] * 4
    assert sign_in(phone, "res-a").status_code == 200


def test_one_address_spraying_many_accounts_is_stopped_after_twenty(app, cast):
    sprayer = from_address(app)
    assert {sign_in(sprayer, f"user-{i}", "Spring2026!").status_code for i in range(20)} == {401}

    error_of(sign_in(sprayer, "res-a"), 429)
    assert sign_in(from_address(app), "res-a").status_code == 200


def test_a_distributed_attack_on_one_account_is_slowed_after_thirty_failures(app, cast):
    for _ in range(30):
        sign_in(from_address(app), "res-b", "not-the-password")

    error_of(sign_in(from_address(app), "res-b"), 429)
    assert sign_in(from_address(app), "res-a").status_code == 200  # other accounts are untouched


def test_behind_a_trusted_proxy_the_limit_counts_the_callers_own_address(engine, connection, database_url,
                                                                        classifier_path, session):
    from sqlalchemy.orm import sessionmaker
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": engine, "SECRET_KEY": "test",
                      "CLASSIFIER_PATH": classifier_path, "PROXY_COUNT": 1})
    app.extensions["sanku_db"].sessionmaker = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                                                           expire_on_commit=False)
    make_account(session, "resident", "behind-proxy")
    session.commit()
    proxy = from_address(app, "192.168.0.1")  # every caller arrives from the proxy's address

    for _ in range(5):
        proxy.post(TOKEN, json={"username": "behind-proxy", "password": "wrong-one"},
                   headers={"X-Forwarded-For": "203.0.113.7"})

    blocked = proxy.post(TOKEN, json={"username": "behind-proxy", "password": ACCOUNT_PASSWORD},
                         headers={"X-Forwarded-For": "203.0.113.7"})
    owner = proxy.post(TOKEN, json={"username": "behind-proxy", "password": ACCOUNT_PASSWORD},
                       headers={"X-Forwarded-For": "198.51.100.20"})
    error_of(blocked, 429)
    assert owner.status_code == 200


def test_classifying_without_a_login_is_rate_limited(anon_client):
    answers = [anon_client.post("/api/v1/classify", json={"text": "楼道灯坏了"}).status_code for _ in range(31)]

    assert answers[:30] == [200] * 30
    error = error_of(anon_client.post("/api/v1/classify", json={"text": "楼道灯坏了"}), 429, "too_many_requests")
    assert error["message"]


# --- 6. sessions that end when they should -----------------------------------------------------------------

def test_signing_out_revokes_the_cookie_even_when_it_is_replayed(app, cast):
    browser = app.test_client()
    sign_in(browser, "rev-pg1", path=SESSION)
    stolen = browser.get_cookie("session")
    assert stolen is not None and browser.get(ME).status_code == 200

    browser.delete(SESSION)

    thief = app.test_client()
    thief.set_cookie("session", stolen.value)
    error_of(thief.get(ME), 401)


def test_signing_out_revokes_the_accounts_tokens_too(app, cast):
    phone = signed_in(app.test_client(), app, cast.res_a)
    browser = app.test_client()
    sign_in(browser, "res-a", path=SESSION)

    browser.delete(SESSION)

    error_of(phone.get(ME), 401)


def test_changing_ones_password_revokes_every_earlier_token_and_cookie_but_keeps_this_browser(app, cast):
    phone = signed_in(app.test_client(), app, cast.res_a)
    laptop = app.test_client()
    sign_in(laptop, "res-a", path=SESSION)
    browser = app.test_client()
    csrf = sign_in(browser, "res-a", path=SESSION).get_json()["csrf_token"]

    response = browser.post("/api/v1/me/password", json={"current_password": ACCOUNT_PASSWORD, "new_password": STRONG},
                            headers={"X-CSRF-Token": csrf})

    assert response.status_code == 200, response.get_json()
    error_of(phone.get(ME), 401)
    error_of(laptop.get(ME), 401)
    assert browser.get(ME).status_code == 200
    fresh = app.test_client().get(ME, headers={"Authorization": f"Bearer {response.get_json()['access_token']}"})
    assert fresh.status_code == 200
    assert sign_in(from_address(app), "res-a", STRONG).status_code == 200
    error_of(sign_in(from_address(app), "res-a"), 401)


@pytest.mark.parametrize("body, field", [
    ({"current_password": "not-mine-at-all", "new_password": STRONG}, "current_password"),
    ({"current_password": ACCOUNT_PASSWORD, "new_password": "12345678"}, "new_password"),
    ({"current_password": ACCOUNT_PASSWORD, "new_password": "res-a2026"}, "new_password"),
    ({"current_password": ACCOUNT_PASSWORD, "new_password": ACCOUNT_PASSWORD}, "new_password"),
])
def test_a_password_change_is_refused_by_field_and_changes_nothing(app, as_, body, field):
    api = as_("res_a")

    error = error_of(api.post("/api/v1/me/password", json=body), 422)

    assert list(error["fields"]) == [field]
    assert api.get(ME).status_code == 200  # still signed in: nothing was revoked


def test_the_login_cookie_is_http_only_lasts_a_working_day_and_is_secure_in_production():
    from core.config import load_config
    production = load_config(environ={"SANKU_ENV": "production", "SECRET_KEY": "k" * 32,
                                      "DATABASE_URL": "postgresql+psycopg://x@127.0.0.1/y",
                                      "SANKU_DATA_KEYS": "dGVzdC1vbmx5LWRhdGEta2V5LTMyLWJ5dGVzLWxvbmc=",
                                      "SANKU_LOOKUP_KEY": "l" * 32})

    assert production["SESSION_COOKIE_SECURE"] is True and production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["PERMANENT_SESSION_LIFETIME"].total_seconds() == 8 * 3600


# --- 7. writes a browser was tricked into -------------------------------------------------------------------

def test_a_cross_site_import_with_the_admins_cookie_is_refused_and_imports_nothing(app, cast, session):
    browser = app.test_client()
    csrf = sign_in(browser, "boss", path=SESSION).get_json()["csrf_token"]
    before = table_counts(session)
    upload = {"file": (io.BytesIO(csv_bytes(["ref", "text", "grid", "urgency", "window", "contact"],
                                            [["EVIL1", "恶意导入的需求", "G1", "normal", "", ""]])), "needs.csv")}

    forged = browser.post("/api/v1/import/needs", data=upload, content_type="multipart/form-data",
                          headers={"Origin": "http://evil.example", "X-CSRF-Token": csrf})

    error_of(forged, 403, "csrf_failed")
    assert table_counts(session) == before


def test_a_write_signed_in_by_cookie_needs_the_sessions_csrf_token(app, cast):
    browser = app.test_client()
    csrf = sign_in(browser, "boss", path=SESSION).get_json()["csrf_token"]
    grid = {"code": "G77", "name": "第77网格", "community": "海滨社区"}

    error_of(browser.post("/api/v1/grids", json=grid), 403, "csrf_failed")
    error_of(browser.post("/api/v1/grids", json=grid, headers={"X-CSRF-Token": "made-up"}), 403, "csrf_failed")
    assert browser.post("/api/v1/grids", json=grid, headers={"X-CSRF-Token": csrf}).status_code == 201
    again = browser.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    assert browser.patch("/api/v1/grids/1", json={"name": "新名"}, headers={"X-CSRF-Token": again}).status_code in (
        200, 404)


def test_a_bearer_client_needs_no_csrf_token_but_no_site_may_post_from_elsewhere(app, as_):
    admin = as_("admin")
    grid = {"code": "G78", "name": "第78网格", "community": "海滨社区"}

    assert admin.post("/api/v1/grids", json=grid).status_code == 201
    error_of(admin.post("/api/v1/grids", json={**grid, "code": "G79"}, headers={"Origin": "https://evil.example"}),
             403, "csrf_failed")
    error_of(app.test_client().post(SESSION, json={"username": "boss", "password": ACCOUNT_PASSWORD},
                                    headers={"Origin": "https://evil.example"}), 403, "csrf_failed")


def test_a_same_site_origin_is_welcome(app, cast):
    browser = app.test_client()

    response = browser.post(SESSION, json={"username": "boss", "password": ACCOUNT_PASSWORD},
                            headers={"Origin": "http://localhost"})

    assert response.status_code == 200


# --- 13. weak passwords -------------------------------------------------------------------------------------

@pytest.mark.parametrize("weak", ["12345678", "password", "Abcd1234", "qwertyuiop", "li-wei123"])
def test_a_common_or_trivial_password_is_refused_when_an_account_is_made(session, weak):
    from core.errors import InvalidData
    with pytest.raises(InvalidData) as caught:
        auth.create_user(session, username="li-wei", password=weak, role="resident")

    assert "太容易被猜到" in caught.value.fields["password"][0]  # type: ignore[index]
