"""Accounts: password hashing (argon2id) and strength, bearer tokens, the login session, rate-limited
sign-ins, password changes. Tokens and cookies carry the user's session version: a new password or
signing out raises it and revokes every one issued before."""
from __future__ import annotations

import logging
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request
from flask import session as web_session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from core.database import db_session
from core.errors import Conflict, Forbidden, InvalidData, Unauthorized
from core.phones import PhoneError, is_mobile, parse_phone
from core.vocab import SCOPE_LABELS_ZH, Role, ScopeType
from models import Grid, Need, PartyGrid, Subdistrict, User, Volunteer
from models.base import lookup_hash

from .limits import client_address, give_back_signin_attempt, take_signin_attempt
from .policy import mask_phone, may_manage_account

log = logging.getLogger(__name__)
_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8
# zxcvbn's 0–4: 0 and 1 are guessed in well under a million tries (12345678, password, Abcd1234).
MIN_PASSWORD_STRENGTH = 2
# Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_problems(password: str, *related: str) -> list[str]:
    """Why ``password`` is not good enough (empty: it is). ``related``: words of the account
    (username, name) that make a password easy to guess."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [f"密码至少 {MIN_PASSWORD_LENGTH} 位"]
    if zxcvbn(password, user_inputs=[r for r in related if r])["score"] < MIN_PASSWORD_STRENGTH:
        return ["密码太容易被猜到（如 12345678、password、用户名加数字），请换一个更长、更不规则的密码"]
    return []


def set_password(user: User, password: str) -> None:
    """A new password (checked by the caller); every token and cookie issued before stops working."""
    user.password_hash = hash_password(password)
    revoke_sessions(user)


def revoke_sessions(user: User) -> None:
    user.session_version = (user.session_version or 0) + 1


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(session: Session, *, username: str, password: str, role: str, display_name: str = "",
                scope_type: str | None = None, scope_codes: list[str] | None = None,
                volunteer_ref: str | None = None, phone: str = "", subdistrict_id: int | None = None) -> User:
    """A new account. ``phone``: its owner's mobile, which staff have seen is theirs: it signs in like the
    username, and the needs taken down for it (``Need.resident_phone``) become the resident's.
    ``subdistrict_id``: the subdistrict it belongs to (see :func:`role_problems`; an admin with none is the
    city's)."""
    errors, volunteer, subdistrict_id = role_problems(session, role=role, scope_type=scope_type,
                                                      scope_codes=scope_codes, volunteer_ref=volunteer_ref,
                                                      subdistrict_id=subdistrict_id)
    if problems := password_problems(password, username, display_name):
        errors["password"] = problems
    mobile, refused = _mobile(phone)
    if refused:
        errors["phone"] = refused
    if errors:
        raise InvalidData(fields=errors)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名 {username} 已存在", fields={"username": [f"用户名 {username} 已存在"]})
    if mobile and session.scalar(select(User.id).where(User.phone_hash == lookup_hash(mobile))) is not None:
        raise Conflict(f"手机号 {mobile} 已有账号", fields={"phone": [f"手机号 {mobile} 已有账号，一个手机号只能开一个账号"]})
    user = User(username=username, password_hash=hash_password(password), role=role,
                display_name=display_name or username, scope_type=scope_type, scope_codes=list(scope_codes or []),
                volunteer=volunteer, phone=mobile, subdistrict_id=subdistrict_id)
    session.add(user)
    session.flush()
    log.info("account %s (%s) created", username, role)
    claim_needs(session, user)
    return user


def subdistrict_id_of(session: Session, code: str) -> int:
    """The id of the subdistrict ``code`` (422 naming it when unknown)."""
    found = session.scalar(select(Subdistrict.id).where(Subdistrict.code == code))
    if found is None:
        raise InvalidData(fields={"subdistrict": [f"未知街道编码 {code}"]})
    return found


def _mobile(text: str) -> tuple[str | None, list[str]]:
    """An account's phone in canonical form (None when not given), or why it cannot be one."""
    try:
        phone = parse_phone(text)
    except PhoneError as exc:
        return None, [str(exc)]
    if phone is not None and not is_mobile(phone):
        return None, ["账号只能绑定手机号（11 位），固定电话不能用来登录"]
    return phone, []


def claim_needs(session: Session, user: User) -> int:
    """The needs taken down for a resident without an account (by a grid worker, a Party member's visit, the
    hotline) under this resident's mobile become theirs: they see and follow them like their own. How many."""
    if user.role != Role.RESIDENT or not user.phone:
        return 0
    claimed = session.execute(update(Need).where(Need.resident_id.is_(None),
                                                 Need.resident_phone_hash == lookup_hash(user.phone))
                              .values(resident_id=user.id).execution_options(synchronize_session="fetch"))
    count = int(getattr(claimed, "rowcount", 0) or 0)
    if count:
        log.info("%d needs taken down for %s now belong to %s(#%d)", count, mask_phone(user.phone), user.username, user.id)
    return count


def _scope_subdistricts(session: Session, scope_type: ScopeType, codes: list[str]) -> dict[str, int]:
    """The subdistrict of each code that names something (a typo names nothing: an account cannot silently
    see nothing)."""
    model: Any = {ScopeType.GRID: Grid, ScopeType.PARTY_GRID: PartyGrid, ScopeType.ORGANIZATION: Volunteer}[scope_type]
    column = model.ref if scope_type == ScopeType.ORGANIZATION else model.code
    return dict(session.execute(select(column, model.subdistrict_id).where(column.in_(codes))).all())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="sanku-api-token")


def token_ttl_seconds() -> int:
    return int(current_app.config["TOKEN_TTL_SECONDS"])


def issue_token(user: User) -> str:
    return _serializer().dumps({"uid": user.id, "sv": user.session_version})


def authenticate(username: str, password: str) -> User:
    """The user, if the password is theirs; 401 otherwise, 429 once the attempts run out. ``username`` may
    be the account's mobile. A resident signing in takes the needs taken down for their number since."""
    address = client_address()
    take_signin_attempt(username, address)
    session = db_session()
    user = session.scalar(select(User).where(User.username == username))
    if user is None and (mobile := _mobile(username)[0]):
        user = session.scalar(select(User).where(User.phone_hash == lookup_hash(mobile)))
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        log.warning("failed sign-in for %r from %s", username, address)
        raise Unauthorized("用户名或密码错误")
    give_back_signin_attempt(username, address)
    claim_needs(session, user)
    return user


def confirm_password(user: User, password: str, field: str = "password") -> None:
    """The signed-in user proves it is them before a grave step (counted like a sign-in): 422 on ``field``."""
    address = client_address()
    take_signin_attempt(user.username, address)
    if not verify_password(user.password_hash, password):
        raise InvalidData(fields={field: ["密码不正确" if field == "password" else "当前密码不正确"]})
    give_back_signin_attempt(user.username, address)


def change_password(user: User, current: str, new: str) -> None:
    """The signed-in user's new password, after their current one (counted like a sign-in)."""
    confirm_password(user, current, "current_password")
    if problems := password_problems(new, user.username, user.display_name):
        raise InvalidData(fields={"new_password": problems})
    if verify_password(user.password_hash, new):
        raise InvalidData(fields={"new_password": ["新密码不能与当前密码相同"]})
    set_password(user, new)
    log.info("password changed by %s(#%d); earlier sessions revoked", user.username, user.id)


def user_from_token(token: str) -> User:
    try:
        data: dict[str, Any] = _serializer().loads(token, max_age=token_ttl_seconds())
    except SignatureExpired:
        raise Unauthorized("登录已过期，请重新登录") from None
    except BadSignature:
        raise Unauthorized("令牌无效") from None
    user = db_session().get(User, data.get("uid"))
    if user is None or not user.active or user.session_version != data.get("sv"):
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
        if candidate is not None and candidate.active and candidate.session_version == web_session.get("sv"):
            g.signed_in_by_cookie = True
            return candidate
    return None


def signed_in() -> User:
    """The user of this request; 401 without one. Views behind ``@allow`` can count on it."""
    user = current_user(required=True)
    assert user is not None
    return user


def signed_in_by_cookie() -> bool:
    """Whether this request's user came from the login cookie (and so a form could have been forged)."""
    return bool(g.get("signed_in_by_cookie"))


def login_session(user: User) -> None:
    web_session.clear()
    web_session["uid"] = user.id
    web_session["sv"] = user.session_version
    web_session.permanent = True


def logout_session() -> None:
    """Sign out: the cookie goes, and with it every token and cookie of this user (on every device)."""
    user = current_user(required=False)
    if user is not None:
        revoke_sessions(user)
        log.info("%s(#%d) signed out; sessions revoked", user.username, user.id)
    web_session.clear()


# --- accounts managed by subdistrict staff (the admin pages) ------------------------------------

def role_problems(session: Session, *, role: str, scope_type: str | None, scope_codes: list[str] | None,
                  volunteer_ref: str | None,
                  subdistrict_id: int | None = None) -> tuple[dict[str, list[str]], Volunteer | None, int | None]:
    """What is wrong with a role and its scope (reasons by field: ``role``, ``scope``, ``volunteer``), the
    volunteer a volunteer account is linked to, and the subdistrict the account belongs to: at creation and
    when an account's role or scope changes. A scoped account belongs to its scope's subdistrict, a
    volunteer's to its volunteer's (given ``subdistrict_id``, both must lie in it); others to the one given."""
    errors: dict[str, list[str]] = {}
    if role not in set(Role):
        errors["role"] = [f"未知角色 {role}，应为 {'、'.join(Role)}"]
    if scope_type is not None and scope_type not in set(ScopeType):
        errors["scope"] = [f"未知范围类型 {scope_type}"]
    if role in (Role.COORDINATOR, Role.REVIEWER) and not scope_codes:
        errors["scope"] = ["协调员和支部审核人必须指定范围"]
    effective_type = ScopeType.PARTY_GRID if role == Role.REVIEWER else scope_type
    if scope_codes and effective_type in set(ScopeType) and "scope" not in errors:
        owners = _scope_subdistricts(session, ScopeType(effective_type), scope_codes)
        if subdistrict_id is not None:  # another subdistrict's codes do not exist for its staff
            owners = {c: s for c, s in owners.items() if s == subdistrict_id}
        unknown = [c for c in scope_codes if c not in owners]
        if unknown:
            errors["scope"] = [f"未知的{SCOPE_LABELS_ZH[effective_type]}编码：{'、'.join(unknown)}"]
        elif len(set(owners.values())) > 1:
            errors["scope"] = ["一个账号的范围只能在一个街道之内"]
        else:
            subdistrict_id = next(iter(owners.values()))
    volunteer = None
    if role == Role.VOLUNTEER:
        volunteer = session.scalar(select(Volunteer).where(Volunteer.ref == (volunteer_ref or "")))
        if volunteer is None or subdistrict_id not in (None, volunteer.subdistrict_id):
            errors["volunteer"] = [f"志愿者账号须关联社会志愿库中的编号，未找到 {volunteer_ref}"]
        else:
            subdistrict_id = volunteer.subdistrict_id
    return errors, volunteer, subdistrict_id


def change_role(session: Session, user: User, actor: User, *, role: str, scope_type: str | None = None,
                scope_codes: list[str] | None = None, volunteer_ref: str | None = None) -> User:
    """Give ``user`` another role and scope (checked as at creation: 422 with reasons by field). It takes
    effect on their next request. No one changes their own account's role (403): an admin cannot lock
    themselves out."""
    if not may_manage_account(actor, user):
        raise Forbidden("不能修改自己账号的角色和范围，请另一位管理员操作")
    # The account stays in its subdistrict; a city admin may give a city account (none) another.
    errors, volunteer, subdistrict_id = role_problems(
        session, role=role, scope_type=scope_type, scope_codes=scope_codes, volunteer_ref=volunteer_ref,
        subdistrict_id=user.subdistrict_id)
    if errors:
        raise InvalidData(fields=errors)
    user.subdistrict_id = subdistrict_id
    user.role = Role(role)
    user.scope_type = ScopeType(scope_type) if scope_type else None
    user.scope_codes = list(scope_codes or [])
    user.volunteer = volunteer
    session.flush()
    log.info("account %s(#%d) now %s, changed by %s(#%d)", user.username, user.id, role, actor.username, actor.id)
    return user


def deactivate_user(user: User, actor: User) -> User:
    """Deactivate an account: it can no longer sign in, and every token and cookie it holds stops working.
    No one deactivates their own account (403), so the admin who acts always remains."""
    if not may_manage_account(actor, user):
        raise Forbidden("不能停用自己的账号，请另一位管理员操作")
    user.active = False
    revoke_sessions(user)
    log.info("account %s(#%d) deactivated by %s(#%d)", user.username, user.id, actor.username, actor.id)
    return user
