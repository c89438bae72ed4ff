"""Schemas of the workflow's API. Each action has a schema of its own, so an action receives only
the fields it uses, each checked (a service code, a rating of 1–5, hours in range, a provider
reference); the service then trusts them."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from core.vocab import STATUS_LABELS_ZH, Action, ProviderKind
from pools.fields import Service
from web.schemas import Id, StrictSchema, Timestamp, shared

MAX_REASON = 1000
MAX_SERVICE_HOURS = 24 * 14  # two weeks of service reported at once is already a lot


class ProviderRef(StrictSchema):
    kind = fields.Enum(ProviderKind, by_value=True, required=True)
    id = Id(required=True)


def _reason(required: bool = False, message: str = "请说明理由") -> fields.Field:
    if required:
        return fields.String(required=True, validate=validate.Length(min=1, max=MAX_REASON, error=message),
                             error_messages={"required": message})
    return fields.String(load_default="", validate=validate.Length(max=MAX_REASON))


_PROVIDER_DOC = {"description": '指定服务方：{"kind": "volunteer", "id": 1}'}

def _answered() -> fields.Field:
    return fields.Integer(load_default=None, allow_none=True, strict=True,
                          validate=validate.Range(min=1, max=2**31 - 1),
                          metadata={"description": "所答复的推荐编号：推荐已变更时返回 409，不会误答新的推荐"})


# The fields of each action besides ``action`` itself; an action not listed takes a reason only.
ACTION_FIELDS: dict[Action, dict[str, fields.Field]] = {
    Action.ACCEPT: {"proposal": _answered()},
    Action.DECLINE: {"proposal": _answered()},
    Action.CLASSIFY: {"service": Service(required=True, metadata={"description": "人工确定的服务类型"})},
    Action.PROPOSE: {"provider": fields.Nested(ProviderRef, load_default=None, allow_none=True,
                                               metadata={"description": "不填则推荐剩余最合适的服务方"})},
    Action.REASSIGN: {"provider": fields.Nested(ProviderRef, required=True, metadata=_PROVIDER_DOC)},
    Action.SEND_BACK: {"reason": _reason(required=True, message="退回须说明理由")},
    Action.REPORT_DONE: {"hours": fields.Float(
        load_default=None, allow_none=True,
        validate=validate.Range(min=0, min_inclusive=False, max=MAX_SERVICE_HOURS,
                                error=f"服务时长应在 0 到 {MAX_SERVICE_HOURS} 小时之间"),
        metadata={"description": "服务时长（小时）"})},
    Action.CONFIRM: {
        "rating": fields.Integer(required=True, strict=True,
                                 validate=validate.Range(min=1, max=5, error="评分应为 1 到 5 的整数"),
                                 error_messages={"required": "确认办结请给出 1 到 5 的评分",
                                                 "invalid": "评分应为 1 到 5 的整数"}),
        "reason": fields.String(load_default="", validate=validate.Length(max=MAX_REASON),
                                metadata={"description": "评价内容"}),
    },
    Action.RETURN_VISIT: {
        "reason": _reason(required=True, message="请记录回访时居民的答复"),
        "rating": fields.Integer(load_default=None, allow_none=True, strict=True,
                                 validate=validate.Range(min=1, max=5, error="评分应为 1 到 5 的整数"),
                                 metadata={"description": "居民在回访中给出的评分（可不填）"}),
    },
}


def _schema_of(action: Action) -> type[StrictSchema]:
    body: dict[str, fields.Field] = {
        "action": fields.String(required=True, validate=validate.Equal(action.value)),
        "reason": _reason(),
        **ACTION_FIELDS.get(action, {}),
    }
    name = "".join(part.title() for part in action.value.split("_")) + "Action"
    schema: type[StrictSchema] = StrictSchema.from_dict(body, name=name)  # type: ignore[assignment]
    return schema


ACTION_SCHEMAS: dict[Action, type[StrictSchema]] = {action: _schema_of(action) for action in Action}


class _ActionName(Schema):
    action = fields.Enum(Action, by_value=True, required=True)

    class Meta:
        unknown = "exclude"


def load_action(payload: dict[str, Any]) -> tuple[Action, dict[str, Any]]:
    """The action named by the body and its fields, loaded by that action's schema."""
    action: Action = shared(_ActionName).load(payload)["action"]
    data = shared(ACTION_SCHEMAS[action]).load(payload)
    data.pop("action")
    return action, data


class AuditOut(Schema):
    at = Timestamp()
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
    created_at = Timestamp()
    read_at = Timestamp(allow_none=True)  # null until the user reads it


# A client marks read what it was shown (GET /notifications shows 200); the cap keeps the IN list far below
# PostgreSQL's 65,535 parameters of one query.
MAX_READ_IDS = 1000


class ReadIn(StrictSchema):
    ids = fields.List(Id(), required=True, validate=validate.Length(max=MAX_READ_IDS))


class MatchIn(StrictSchema):
    grid = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=32))
    party_grid = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=32))
    subdistrict = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=32),
                                metadata={"description": "街道编码（市级管理员；街道工作人员只能是本街道）"})


class ActionResultOut(Schema):
    id = fields.Integer()
    status = fields.String()
    status_label = fields.String()
    allowed = fields.List(fields.String())

