"""HTTP API of the dispatcher: classify a text, rank providers for one need."""
from __future__ import annotations

from typing import Any

from flask import Blueprint
from marshmallow import Schema, fields, validate

from access.auth import signed_in
from access.limits import CLASSIFY_LIMIT, limiter
from access.policy import get_visible_need
from core.database import db_session
from core.vocab import SERVICE_LABELS_ZH, STAFF
from matching.scoring import Match
from web.http import json_body, query_args
from web.openapi import documented
from web.routes import allow, public
from web.schemas import StrictSchema

from .classifier import current_model, needs_triage
from .proposals import instant_proposals, set_aside

bp = Blueprint("dispatch", __name__, url_prefix="/api/v1")


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


@bp.post("/classify")
@public
@documented("判断需求属于四项服务中的哪一项", body=ClassifyIn, response=ClassifyOut, tag="matching")
@limiter.limit(CLASSIFY_LIMIT)  # no login, and each call costs the classifier's CPU
def classify() -> Any:
    text = json_body(ClassifyIn())["text"]
    model = current_model()
    p = model.predict(text)
    return ClassifyOut().dump({
        "service": p.label, "label_zh": SERVICE_LABELS_ZH.get(p.label, p.label),
        "confidence": round(float(p.confidence), 4), "needs_triage": needs_triage(p.confidence),
        "probabilities": {k: round(float(v), 4) for k, v in p.probabilities.items()},
        "model_version": model.version})


def match_dict(rank: int, m: Match) -> dict[str, Any]:
    """A ranked match as the API shows it."""
    return {"rank": rank, "provider_kind": m.provider_kind, "provider_id": m.provider_id,
            "provider_ref": m.provider_ref, "provider_name": m.provider_name, "score": round(float(m.score), 4),
            "tier": int(m.tier), "features": {k: round(float(v), 4) for k, v in m.features.items()},
            "contributions": {k: round(float(v), 4) for k, v in m.contributions.items()},
            "explanation": m.explanation}


@bp.get("/needs/<int:id_>/proposals")
@allow(*STAFF)
@documented("为一条需求即时推荐服务方（排序并附说明）", query=ProposalArgs, response=ProposalOut, many=True,
            tag="matching")
def need_proposals(id_: int) -> Any:
    limit = query_args(ProposalArgs())["limit"]
    session = db_session()
    need = get_visible_need(session, signed_in(), id_)
    ranked = instant_proposals(session, need, limit=limit, exclude=set_aside(need))
    return {"need_id": need.id, "service": need.service,
            "items": ProposalOut().dump([match_dict(i + 1, m) for i, m in enumerate(ranked)], many=True)}
