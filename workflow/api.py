"""HTTP API of the workflow: act on a need, read its audit trail, notifications, batch matching."""
from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import select

from access.auth import signed_in
from access.policy import get_visible_need, may_match
from core.database import db_session
from core.errors import Forbidden, InvalidData
from core.vocab import ARRANGERS, STATUS_LABELS_ZH
from dispatch.api import match_dict
from models import Notification
from pools.needs import lock_need
from web.http import json_body, json_object
from web.openapi import documented
from web.routes import SIGNED_IN, allow
from web.schemas import shared

from .notify import mark_read
from .schemas import ACTION_SCHEMAS, ActionResultOut, AuditOut, MatchIn, NotificationOut, ReadIn, load_action
from .service import allowed_for, apply_action, audit_trail, batch_subdistricts, match_scope

bp = Blueprint("workflow", __name__, url_prefix="/api/v1")

NOTIFICATIONS_SHOWN = 200


@bp.post("/needs/<int:id_>/actions")
@allow(*SIGNED_IN)
@documented("对需求执行流程操作（接单、婉拒、审核、退回、改派、完成、确认评价、撤销、重开、上报议事会）",
            body={"action": {a.value: s for a, s in ACTION_SCHEMAS.items()}}, response=ActionResultOut,
            tag="workflow")
def act(id_: int) -> Any:
    user = signed_in()
    action, fields = load_action(json_object())
    session = db_session()
    need = lock_need(session, get_visible_need(session, user, id_))
    apply_action(session, need, action, user, **fields)
    return shared(ActionResultOut).dump({"id": need.id, "status": need.status, "status_label": STATUS_LABELS_ZH[need.status],
                                   "allowed": allowed_for(need, user.role)})


@bp.get("/needs/<int:id_>/audit")
@allow(*SIGNED_IN)
@documented("需求的流转记录（审计日志）", response=AuditOut, many=True, tag="workflow")
def audit(id_: int) -> Any:
    session = db_session()
    need = get_visible_need(session, signed_in(), id_)
    return {"items": AuditOut().dump(audit_trail(session, need), many=True)}


@bp.get("/notifications")
@allow(*SIGNED_IN)
@documented("我的通知", response=NotificationOut, many=True, tag="workflow")
def notifications() -> Any:
    rows = db_session().scalars(select(Notification).where(Notification.user_id == signed_in().id)
                                .order_by(Notification.id.desc()).limit(NOTIFICATIONS_SHOWN))
    return {"items": shared(NotificationOut).dump(list(rows), many=True)}


@bp.post("/notifications/read")
@allow(*SIGNED_IN)
@documented("标记通知为已读", body=ReadIn, tag="workflow")
def notifications_read() -> Any:
    return {"read": mark_read(db_session(), signed_in(), json_body(ReadIn())["ids"])}


@bp.post("/match")
@allow(*ARRANGERS)
@documented("批量匹配：一个网格、一个党建网格或全街道", body=MatchIn, tag="matching")
def run_match() -> Any:
    user = signed_in()
    args = json_body(MatchIn())
    session = db_session()
    if not may_match(session, user, args["grid"], args["party_grid"]):
        raise Forbidden("只能匹配自己负责的网格或党建网格")
    targets = batch_subdistricts(session, user, grid=args["grid"], party_grid=args["party_grid"],
                                 subdistrict=args["subdistrict"])
    if len(targets) > 1:
        raise InvalidData(fields={"subdistrict": ["有多个街道：请指明街道，或用 POST /api/v1/match/jobs 分发到各街道"]})
    run, result = match_scope(session, grid=args["grid"], party_grid=args["party_grid"], subdistrict_id=targets[0])
    return {"match_run_id": run.id, "scope": run.scope, "stats": run.stats,
            "assignments": [{"need_id": nid, **match_dict(1, m)} for nid, m in sorted(result.assignments.items())],
            "unmatched": [{"need_id": nid, "reason": u.reason_code, "reason_zh": u.reason_zh}
                          for nid, u in sorted(result.unmatched.items())]}

