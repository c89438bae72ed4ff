"""HTTP API of accounts: sign in (a bearer token or a cookie session), sign out, who am I."""
from __future__ import annotations

from typing import Any

from flask import Blueprint
from marshmallow import Schema, fields, validate

from web.http import json_body
from web.openapi import documented
from web.routes import SIGNED_IN, allow, public
from web.schemas import StrictSchema

from . import auth

bp = Blueprint("access", __name__, url_prefix="/api/v1")


class LoginIn(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class TokenOut(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    role = fields.String()


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
@documented("网页登录（会话 Cookie）", body=LoginIn, tag="auth")
def login() -> Any:
    body = json_body(LoginIn())
    user = auth.authenticate(body["username"], body["password"])
    auth.login_session(user)
    return {"username": user.username, "role": user.role}


@bp.delete("/auth/session")
@public
@documented("退出网页登录", tag="auth")
def logout() -> Any:
    auth.logout_session()
    return {"ok": True}


@bp.get("/me")
@allow(*SIGNED_IN)
@documented("当前用户", response=MeOut, tag="auth")
def me() -> Any:
    return MeOut().dump(auth.signed_in())
