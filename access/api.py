"""HTTP API of accounts: sign in (a bearer token or a cookie session), sign out, who am I, change
one's password, the CSRF token of a cookie session."""
from __future__ import annotations

from typing import Any

from flask import Blueprint
from marshmallow import Schema, fields, validate

from web.http import json_body
from web.openapi import documented
from web.routes import SIGNED_IN, allow, public
from web.schemas import StrictSchema

from . import auth
from .guard import csrf_token

bp = Blueprint("access", __name__, url_prefix="/api/v1")


class LoginIn(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class TokenOut(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    role = fields.String()


class SessionOut(Schema):
    username = fields.String()
    role = fields.String()
    csrf_token = fields.String(metadata={"description": "以 Cookie 登录后，写操作须在 X-CSRF-Token 请求头中带上它"})


class PasswordIn(StrictSchema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=256))
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class CsrfOut(Schema):
    csrf_token = fields.String()


class MeOut(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
    display_name = fields.String()
    scope_type = fields.String(allow_none=True)
    scope = fields.List(fields.String(), attribute="scope_codes")


@bp.post("/auth/token")
@public
@documented("登录，换取访问令牌（Authorization: Bearer ...）", body=LoginIn, response=TokenOut, tag="auth")
def token() -> Any:
    body = json_body(LoginIn())
    user = auth.authenticate(body["username"], body["password"])
    return TokenOut().dump({"access_token": auth.issue_token(user), "token_type": "bearer",
                            "expires_in": auth.token_ttl_seconds(), "role": user.role})


@bp.post("/auth/session")
@public
@documented("网页登录（会话 Cookie）", body=LoginIn, response=SessionOut, tag="auth")
def login() -> Any:
    body = json_body(LoginIn())
    user = auth.authenticate(body["username"], body["password"])
    auth.login_session(user)
    return SessionOut().dump({"username": user.username, "role": user.role, "csrf_token": csrf_token()})


@bp.delete("/auth/session")
@public
@documented("退出登录：该账号此前的所有令牌和网页会话一并失效", tag="auth")
def logout() -> Any:
    auth.logout_session()
    return {"ok": True}


@bp.get("/auth/csrf")
@allow(*SIGNED_IN)
@documented("网页会话的 CSRF 令牌（以 Cookie 登录时，写操作须带上）", response=CsrfOut, tag="auth")
def csrf() -> Any:
    return CsrfOut().dump({"csrf_token": csrf_token()})


@bp.post("/me/password")
@allow(*SIGNED_IN)
@documented("修改密码：此前的所有令牌和网页会话随即失效，返回新的令牌", body=PasswordIn, response=TokenOut,
            tag="auth")
def change_password() -> Any:
    user = auth.signed_in()
    body = json_body(PasswordIn())
    auth.change_password(user, body["current_password"], body["new_password"])
    if auth.signed_in_by_cookie():
        auth.login_session(user)  # this browser stays signed in; every other one is signed out
    return TokenOut().dump({"access_token": auth.issue_token(user), "token_type": "bearer",
                            "expires_in": auth.token_ttl_seconds(), "role": user.role})


@bp.get("/me")
@allow(*SIGNED_IN)
@documented("当前用户", response=MeOut, tag="auth")
def me() -> Any:
    return MeOut().dump(auth.signed_in())
