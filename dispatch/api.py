"""HTTP API of the dispatcher: classify a text, rank providers for one need."""
from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint
from marshmallow import Schema, fields, validate

from access.auth import signed_in
from access.limits import CLASSIFY_LIMIT, limited
from access.policy import get_visible_need
from core.database import db_session
from core.vocab import SERVICE_LABELS_ZH, STAFF
from matching.addresses import ACCEPT_SCORE
from matching.scoring import Match
from web.http import json_body, query_args
from web.openapi import documented
from web.routes import SIGNED_IN, allow, public
from web.schemas import StrictSchema

from .addresses import is_sure, resolve_address
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


class ResolveArgs(StrictSchema):
    q = fields.String(required=True, validate=validate.Length(min=2, max=200),
                      metadata={"description": "居民写的地址，如“金碧花园5栋1203”"})
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=20))


class AddressCandidateOut(Schema):
    building_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    grid = fields.String()
    score = fields.Float()
    matched = fields.String()


class ResolveOut(Schema):
    sure = fields.Boolean(metadata={"description": "最佳候选足够确定，可直接决定网格"})
    accept_score = fields.Float()
    items = fields.List(fields.Nested(AddressCandidateOut))


class ProposalArgs(StrictSchema):
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


@bp.post("/classify")
@public
@documented("判断需求属于四项服务中的哪一项", body=ClassifyIn, response=ClassifyOut, tag="matching")
@limited(CLASSIFY_LIMIT)  # no login, and each call costs the classifier's CPU
def classify() -> Any:
    text = json_body(ClassifyIn())["text"]
    model = current_model()
    p = model.predict(text)
    return ClassifyOut().dump({
        "service": p.label, "label_zh": SERVICE_LABELS_ZH.get(p.label, p.label),
        "confidence": round(float(p.confidence), 4), "needs_triage": needs_triage(p.confidence),
        "probabilities": {k: round(float(v), 4) for k, v in p.probabilities.items()},
        "model_version": model.version})


@bp.get("/addresses/resolve")
@allow(*SIGNED_IN)
@documented("地址解析：居民写的地址对应哪个楼栋、哪个网格（候选按得分排序）", query=ResolveArgs, response=ResolveOut,
            tag="matching", limited=True)
@limited(CLASSIFY_LIMIT)
def resolve() -> Any:
    args = query_args(ResolveArgs())
    candidates = resolve_address(db_session(), args["q"], limit=args["limit"])
    return ResolveOut().dump({"sure": is_sure(candidates), "accept_score": ACCEPT_SCORE,
                              "items": [dataclasses.asdict(c) for c in candidates]})


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
