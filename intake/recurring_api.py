"""HTTP side of recurring needs: ``POST /api/v1/recurrences`` (staff of the grid), ``GET`` the ones in
one's scope, ``DELETE /api/v1/recurrences/<id>`` stops one (the needs already made go on)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint
from marshmallow import Schema, fields

from access.auth import signed_in
from core.database import db_session
from core.vocab import Role
from web.http import json_body, query_args
from web.openapi import documented
from web.routes import allow
from web.schemas import QueryFlag, StrictSchema, Timestamp, wall_clock_text

from .recurring import (
    RecurrenceIn,
    create_recurrence,
    get_visible_recurrence,
    stop_recurrence,
    visible_recurrences,
)

bp = Blueprint("recurring", __name__, url_prefix="/api/v1")
ARRANGERS = (Role.COORDINATOR, Role.ADMIN)


class RecurrenceOut(Schema):
    id = fields.Integer()
    text = fields.String()
    grid = fields.Function(lambda r: r.grid.code)
    address = fields.String()
    urgency = fields.String()
    contact = fields.String()
    service = fields.String(allow_none=True)
    channel = fields.String()
    rrule = fields.String()
    dtstart = fields.Function(lambda r: wall_clock_text(r.dtstart))
    window_minutes = fields.Integer()
    next_at = fields.Function(lambda r: wall_clock_text(r.next_at), metadata={"description": "下一次尚未生成的时间；null 为已无"})
    last_need_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    created_at = Timestamp()


class RecurrenceListArgs(StrictSchema):
    active = QueryFlag(load_default=True, metadata={"description": "false：列出已停止的"})


@bp.post("/recurrences")
@allow(*ARRANGERS)
@documented("新建周期性需求（RRULE，如每周探访）", body=RecurrenceIn, response=RecurrenceOut, status=201,
            tag="needs")
def create() -> Any:
    session = db_session()
    recurrence = create_recurrence(session, json_body(RecurrenceIn()), signed_in())
    return RecurrenceOut().dump(recurrence), 201


@bp.get("/recurrences")
@allow(*ARRANGERS)
@documented("本人范围内的周期性需求", query=RecurrenceListArgs, response=RecurrenceOut, many=True, tag="needs")
def list_() -> Any:
    args = query_args(RecurrenceListArgs())
    return {"items": RecurrenceOut(many=True).dump(visible_recurrences(db_session(), signed_in(),
                                                                      active=args["active"]))}


@bp.delete("/recurrences/<int:id_>")
@allow(*ARRANGERS)
@documented("停止周期性需求（已生成的需求照常办理）", response=RecurrenceOut, tag="needs")
def stop(id_: int) -> Any:
    session = db_session()
    return RecurrenceOut().dump(stop_recurrence(session, get_visible_recurrence(session, signed_in(), id_)))
