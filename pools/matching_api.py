"""HTTP API of the matcher: classify a text, propose providers for one need, run a batch."""
from __future__ import annotations

from typing import Any

from flask import Blueprint
from marshmallow import Schema, fields, validate

from database import db_session
from errors import Forbidden
from matching.taxonomy import SERVICE_LABELS_ZH
from web.http import json_body, query_args
from web.openapi import documented
from workflow.guard import STAFF, require
from workflow.scope import get_visible_need, may_match

from . import matcher
from .classify import current_model, needs_triage
from .schemas import StrictSchema

bp = Blueprint("matching", __name__, url_prefix="/api/v1")


class ClassifyIn(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ClassifyOut(Schema):
    service = fields.String()
    label_zh = fields.String()
    confidence = fields.Float()
    needs_triage = fields.Boolean()
    probabilities = fields.Dict(keys=fields.String(), values=fields.Float())
    model_version = fields.String()


class ProposalOut(Schema):
    rank = fields.Integer()
    provider_kind = fields.String()
    provider_id = fields.Integer()
    provider_ref = fields.String()
    provider_name = fields.String()
    score = fields.Float()
    tier = fields.Integer()
    features = fields.Dict()
    contributions = fields.Dict()
    explanation = fields.String()


class ProposalArgs(StrictSchema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


class MatchIn(StrictSchema):
    grid = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=32))
    party_grid = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=32))


@bp.post("/classify")
@documented("判断需求属于四项服务中的哪一项", body=ClassifyIn, response=ClassifyOut, tag="matching")
def classify() -> Any:
    text = json_body(ClassifyIn())["text"]
    model = current_model()
    p = model.predict(text)
    return ClassifyOut().dump({
        "service": p.label, "label_zh": SERVICE_LABELS_ZH.get(p.label, p.label),
        "confidence": round(float(p.confidence), 4), "needs_triage": needs_triage(p.confidence),
        "probabilities": {k: round(float(v), 4) for k, v in p.probabilities.items()},
        "model_version": model.version})


def proposal_dict(rank: int, p: Any) -> dict[str, Any]:
    return {"rank": rank, "provider_kind": p.provider_kind, "provider_id": p.provider_id,
            "provider_ref": p.provider_ref, "provider_name": p.provider_name, "score": round(float(p.score), 4),
            "tier": int(p.tier), "features": {k: round(float(v), 4) for k, v in p.features.items()},
            "contributions": {k: round(float(v), 4) for k, v in p.contributions.items()},
            "explanation": p.explanation}


@bp.get("/needs/<int:id_>/proposals")
@documented("为一条需求即时推荐服务方（排序并附说明）", query=ProposalArgs, response=ProposalOut, many=True,
            tag="matching")
def need_proposals(id_: int) -> Any:
    user = require(*STAFF)
    limit = query_args(ProposalArgs())["limit"]
    session = db_session()
    need = get_visible_need(session, user, id_)
    ranked = matcher.instant_proposals(session, need, limit=limit, exclude=matcher.declined_providers(need))
    return {"need_id": need.id, "service": need.service,
            "items": ProposalOut().dump([proposal_dict(i + 1, p) for i, p in enumerate(ranked)], many=True)}


@bp.post("/match")
@documented("批量匹配：一个网格、一个党建网格或全街道", body=MatchIn, tag="matching")
def run_match() -> Any:
    user = require("admin", "coordinator")
    args = json_body(MatchIn())
    if not may_match(db_session(), user, args["grid"], args["party_grid"]):
        raise Forbidden("只能匹配自己负责的网格或党建网格")
    from workflow.service import record_match_outcome
    run, result = matcher.run_batch(db_session(), record_match_outcome, grid=args["grid"],
                                    party_grid=args["party_grid"])
    return {"match_run_id": run.id, "scope": run.scope, "stats": run.stats,
            "assignments": [{"need_id": nid, **proposal_dict(1, p)} for nid, p in sorted(result.assignments.items())],
            "unmatched": [{"need_id": nid, "reason": u.reason_code, "reason_zh": u.reason_zh}
                          for nid, u in sorted(result.unmatched.items())]}
