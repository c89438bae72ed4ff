"""HTTP side of residents' personal data: reveal a masked contact with a reason (``POST /needs/<id>/contact``), the
read audit of a need (``GET /needs/<id>/access-log``: 谁查看了我的信息), a resident's copy of their data
(``GET /me/data``) and their erasure (``DELETE /me``)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint
from marshmallow import Schema, fields, validate

from access import auth
from access.audit import WHAT_ZH, access_log, record_access
from access.policy import get_visible_need, may_reveal_contact
from core.database import db_session
from core.errors import Forbidden
from core.vocab import ROLE_LABELS_ZH, STAFF, Role
from web.http import json_body
from web.openapi import documented
from web.routes import allow
from web.schemas import StrictSchema, Timestamp

from .rights import data_of, erase_resident

bp = Blueprint("privacy", __name__, url_prefix="/api/v1")


class RevealIn(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=200),
                           metadata={"description": "为什么需要完整号码，如“电话联系居民确认上门时间”"})


class ContactOut(Schema):
    contact = fields.String()
    resident_name = fields.String()
    resident_phone = fields.String()


class AccessOut(Schema):
    at = Timestamp()
    who = fields.Function(lambda r: f"{ROLE_LABELS_ZH.get(r.user.role, r.user.role)} {r.user.display_name}".strip()
                          if r.user is not None else "系统")
    what = fields.String()
    what_label = fields.Function(lambda r: WHAT_ZH.get(r.what, r.what))
    via = fields.String()
    reason = fields.String()


class EraseIn(StrictSchema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=256),
                             metadata={"description": "本人密码：注销不可撤回"})


@bp.post("/needs/<int:id_>/contact")
@allow(*STAFF)
@documented("查看需求的完整联系方式（须说明原因，记入查看记录）", body=RevealIn, response=ContactOut, tag="privacy")
def reveal_contact(id_: int) -> Any:
    user = auth.signed_in()
    session = db_session()
    need = get_visible_need(session, user, id_)
    if not may_reveal_contact(session, user, need):
        raise Forbidden("无权查看完整联系方式")
    record_access(session, user, need, "contact", reason=json_body(RevealIn())["reason"])
    return ContactOut().dump(need)


@bp.get("/needs/<int:id_>/access-log")
@allow(Role.RESIDENT, Role.ADMIN)
@documented("谁查看了这条需求的个人信息（需求的居民本人和管理员可看）", response=AccessOut, many=True, tag="privacy")
def need_access_log(id_: int) -> Any:
    user = auth.signed_in()
    session = db_session()
    need = get_visible_need(session, user, id_)  # a resident sees only their own needs
    return {"items": AccessOut(many=True).dump(access_log(session, need))}


@bp.get("/me/data")
@allow(Role.RESIDENT)
@documented("我的全部个人数据（账号、需求、照片信息、办理记录、通知、查看记录），JSON", tag="privacy")
def my_data() -> Any:
    return data_of(db_session(), auth.signed_in())


@bp.delete("/me")
@allow(Role.RESIDENT)
@documented("注销账号：账号和个人信息删除，需求匿名保留在统计中（须输入本人密码）", body=EraseIn, tag="privacy")
def erase_me() -> Any:
    user = auth.signed_in()
    auth.confirm_password(user, json_body(EraseIn())["password"])
    counts = erase_resident(db_session(), user)
    return {"erased": True, **counts}
