"""HTTP API of the workflow: log in, act on a need, read its audit trail, notifications."""
from __future__ import annotations

from typing import Any

from flask import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from database import db_session
from models import Notification
from pools.schemas import StrictSchema
from web.http import json_body
from web.openapi import documented

from . import auth, scope
from .service import apply_action, audit_trail
from .states import ACTIONS, STATUS_LABELS_ZH, allowed_actions

bp = Blueprint("workflow", __name__, url_prefix="/api/v1")


class LoginIn(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class TokenOut(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    role = fields.String()


class ActionIn(StrictSchema):
    action = fields.String(required=True, validate=validate.OneOf(list(ACTIONS)))
    reason = fields.String(load_default="", validate=validate.Length(max=1000))
    provider = fields.Dict(load_default=None, allow_none=True,
                           metadata={"description": '改派/推荐时指定：{"kind": "volunteer", "id": 1}'})
    rating = fields.Raw(load_default=None, allow_none=True, metadata={"description": "确认办结时的评分 1-5"})
    hours = fields.Float(load_default=None, allow_none=True, metadata={"description": "服务时长（小时）"})
    service = fields.String(load_default=None, allow_none=True)


class AuditOut(Schema):
    at = fields.DateTime()
    actor = fields.Function(lambda e: e.actor.username if e.actor else "系统")
    actor_role = fields.String()
    from_status = fields.String()
    to_status = fields.String()
    to_label = fields.Function(lambda e: STATUS_LABELS_ZH.get(e.to_status, e.to_status))
    reason = fields.String()


class NotificationOut(Schema):
    id = fields.Integer()
    need_id = fields.Integer(allow_none=True)
    message = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


@bp.post("/auth/token")
@documented("登录，换取访问令牌（Authorization: Bearer ...）", body=LoginIn, response=TokenOut, tag="auth")
def token() -> Any:
    body = json_body(LoginIn())
    user = auth.authenticate(body["username"], body["password"])
    return TokenOut().dump({"access_token": auth.issue_token(user), "token_type": "bearer",
                            "expires_in": auth.TOKEN_TTL_SECONDS, "role": user.role})


@bp.post("/auth/session")
@documented("网页登录（会话 Cookie）", body=LoginIn, tag="auth")
def login() -> Any:
    body = json_body(LoginIn())
    user = auth.authenticate(body["username"], body["password"])
    auth.login_session(user)
    return {"username": user.username, "role": user.role}


@bp.delete("/auth/session")
@documented("退出网页登录", tag="auth")
def logout() -> Any:
    auth.logout_session()
    return {"ok": True}


@bp.get("/me")
@documented("当前用户", tag="auth")
def me() -> Any:
    user = auth.current_user()
    assert user is not None
    return {"id": user.id, "username": user.username, "role": user.role, "display_name": user.display_name,
            "scope_type": user.scope_type, "scope": user.scope_codes}


@bp.post("/needs/<int:id_>/actions")
@documented("对需求执行流程操作（接单、婉拒、审核、退回、改派、完成、确认评价、撤销、重开、上报议事会）",
            body=ActionIn, tag="workflow")
def act(id_: int) -> Any:
    user = auth.current_user()
    assert user is not None
    body = json_body(ActionIn())
    session = db_session()
    need = scope.get_visible_need(session, user, id_)
    apply_action(session, need, body["action"], user, reason=body["reason"], provider=body["provider"],
                 rating=body["rating"], hours=body["hours"], service=body["service"])
    return {"id": need.id, "status": need.status, "status_label": STATUS_LABELS_ZH[need.status],
            "allowed": allowed_actions(need.status, user.role)}


@bp.get("/needs/<int:id_>/audit")
@documented("需求的流转记录（审计日志）", response=AuditOut, many=True, tag="workflow")
def audit(id_: int) -> Any:
    user = auth.current_user()
    assert user is not None
    session = db_session()
    need = scope.get_visible_need(session, user, id_)
    return {"items": AuditOut().dump(audit_trail(session, need), many=True)}


@bp.get("/notifications")
@documented("我的通知", response=NotificationOut, many=True, tag="workflow")
def notifications() -> Any:
    user = auth.current_user()
    assert user is not None
    rows = db_session().scalars(select(Notification).where(Notification.user_id == user.id)
                                .order_by(Notification.id.desc()).limit(200))
    return {"items": NotificationOut().dump(list(rows), many=True)}


@bp.post("/notifications/read")
@documented("标记通知为已读", tag="workflow")
def notifications_read() -> Any:
    user = auth.current_user()
    assert user is not None
    from .notify import mark_read

    class ReadIn(StrictSchema):
        ids = fields.List(fields.Integer(), required=True)
    return {"read": mark_read(db_session(), user, json_body(ReadIn())["ids"])}
