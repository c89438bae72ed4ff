"""Accounts: password hashing (argon2id), bearer tokens, the login session, rate-limited logins."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request
from flask import session as web_session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.database import db_session, get_db
from core.errors import Conflict, InvalidData, TooManyRequests, Unauthorized
from core.vocab import SCOPE_LABELS_ZH, Role, ScopeType
from models import Grid, LoginAttempt, PartyGrid, User, Volunteer, utcnow

log = logging.getLogger(__name__)
_hasher = PasswordHasher()

LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 5  # in LOGIN_WINDOW
MAX_FAILURES_PER_ADDRESS = 20  # in LOGIN_WINDOW
MIN_PASSWORD_LENGTH = 8
# Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(session: Session, *, username: str, password: str, role: str, display_name: str = "",
                scope_type: str | None = None, scope_codes: list[str] | None = None,
                volunteer_ref: str | None = None) -> User:
    errors: dict[str, list[str]] = {}
    if role not in set(Role):
        errors["role"] = [f"未知角色 {role}，应为 {'、'.join(Role)}"]
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = [f"密码至少 {MIN_PASSWORD_LENGTH} 位"]
    if scope_type is not None and scope_type not in set(ScopeType):
        errors["scope"] = [f"未知范围类型 {scope_type}"]
    if role in (Role.COORDINATOR, Role.REVIEWER) and not scope_codes:
        errors["scope"] = ["协调员和支部审核人必须指定范围"]
    # A reviewer's codes are always Party grids (see policy.need_filter), whatever type was given.
    effective_type = ScopeType.PARTY_GRID if role == Role.REVIEWER else scope_type
    if scope_codes and effective_type in set(ScopeType) and "scope" not in errors:
        unknown = _unknown_scope_codes(session, ScopeType(effective_type), scope_codes)
        if unknown:
            errors["scope"] = [f"未知的{SCOPE_LABELS_ZH[effective_type]}编码：{'、'.join(unknown)}"]
    volunteer = None
    if role == Role.VOLUNTEER:
        volunteer = session.scalar(select(Volunteer).where(Volunteer.ref == (volunteer_ref or "")))
        if volunteer is None:
            errors["volunteer"] = [f"志愿者账号须关联社会志愿库中的编号，未找到 {volunteer_ref}"]
    if errors:
        raise InvalidData(fields=errors)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名 {username} 已存在", fields={"username": [f"用户名 {username} 已存在"]})
    user = User(username=username, password_hash=hash_password(password), role=role,
                display_name=display_name or username, scope_type=scope_type, scope_codes=list(scope_codes or []),
                volunteer=volunteer)
    session.add(user)
    session.flush()
    log.info("account %s (%s) created", username, role)
    return user


def _unknown_scope_codes(session: Session, scope_type: ScopeType, codes: list[str]) -> list[str]:
    """The codes naming nothing, so a typo cannot create an account that silently sees nothing."""
    column: Any = {ScopeType.GRID: Grid.code, ScopeType.PARTY_GRID: PartyGrid.code,
                   ScopeType.ORGANIZATION: Volunteer.ref}[scope_type]
    known = set(session.scalars(select(column).where(column.in_(codes))))
    return [c for c in codes if c not in known]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="sanku-api-token")


def token_ttl_seconds() -> int:
    return int(current_app.config["TOKEN_TTL_SECONDS"])


def issue_token(user: User) -> str:
    # The hash's tail travels with the token, so changing the password revokes old tokens.
    return _serializer().dumps({"uid": user.id, "pw": user.password_hash[-12:]})


def _check_rate_limit(session: Session, username: str, address: str) -> None:
    since = utcnow() - LOGIN_WINDOW
    by_name = session.scalar(select(func.count()).where(LoginAttempt.username == username, LoginAttempt.at >= since))
    by_addr = session.scalar(select(func.count()).where(LoginAttempt.remote_addr == address, LoginAttempt.at >= since))
    if (by_name or 0) >= MAX_FAILURES_PER_USERNAME or (by_addr or 0) >= MAX_FAILURES_PER_ADDRESS:
        raise TooManyRequests()


def _record_failure(username: str, address: str) -> None:
    # In its own transaction: the failed request itself is rolled back, the attempt must stay.
    with get_db().unit_of_work() as s:
        s.add(LoginAttempt(username=username, remote_addr=address))


def authenticate(username: str, password: str) -> User:
    session = db_session()
    address = request.remote_addr or ""
    _check_rate_limit(session, username, address)
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        _record_failure(username, address)
        log.warning("failed login for %r from %s", username, address)
        raise Unauthorized("用户名或密码错误")
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
    return user


def user_from_token(token: str) -> User:
    try:
        data: dict[str, Any] = _serializer().loads(token, max_age=token_ttl_seconds())
    except SignatureExpired:
        raise Unauthorized("登录已过期，请重新登录") from None
    except BadSignature:
        raise Unauthorized("令牌无效") from None
    user = db_session().get(User, data.get("uid"))
    if user is None or not user.active or user.password_hash[-12:] != data.get("pw"):
        raise Unauthorized("令牌无效")
    return user


def current_user(required: bool = True) -> User | None:
    """The user of this request: a bearer token, else the web login session."""
    if "current_user" not in g:
        g.current_user = _user_of_request()
    if g.current_user is None and required:
        raise Unauthorized()
    user: User | None = g.current_user
    return user


def _user_of_request() -> User | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("请使用 Authorization: Bearer <令牌>")
        return user_from_token(token.strip())
    if "uid" in web_session:
        candidate = db_session().get(User, web_session["uid"])
        return candidate if candidate is not None and candidate.active else None
    return None


def signed_in() -> User:
    """The user of this request; 401 without one. Views behind ``@allow`` can count on it."""
    user = current_user(required=True)
    assert user is not None
    return user


def login_session(user: User) -> None:
    web_session.clear()
    web_session["uid"] = user.id
    web_session.permanent = True


def logout_session() -> None:
    web_session.clear()
