"""The agenda of a grid council (网格议事会): what a Party grid's branch should settle at its meeting.

For one Party grid and one period (usually since the last council): the needs sent to the council
and the needs past their close target; the skills the grid lacked (tags of the taxonomy that the
texts of unmatched or escalated needs mention); providers that carried too much; the closure rate
against the period before; the needs by status.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from access.policy import mask_phone
from core.config import setting, zone
from core.errors import NotFound
from core.times import local_iso
from core.vocab import (
    PROVIDER_KIND_LABELS_ZH,
    SERVICE_LABELS_ZH,
    SERVING,
    STATUS_LABELS_ZH,
    URGENCY_LABELS_ZH,
    NeedStatus,
    ProposalStatus,
    ProviderKind,
)
from dispatch.views import provider_key
from matching.taxonomy import SKILLS_BY_SERVICE
from models import AuditEntry, Need, PartyGrid, Proposal, Resource, Volunteer

from . import reports
from .sla import as_naive_utc, hours_between, load_targets, overdue_needs

# A tag counts as mentioned when rapidfuzz's partial_ratio of tag and text reaches this (0–100):
# short tags then need an exact substring, longer ones tolerate one character in five.
SKILL_MATCH_MIN_SCORE = 80
DAYS_DECIMALS = 1
HOURS_PER_DAY = 24


@dataclass(frozen=True)
class SkillGap:
    skill: str
    service: str
    count: int
    needs: tuple[str, ...]


def mentioned_skills(text: str, taxonomy: Mapping[str, Iterable[str]] = SKILLS_BY_SERVICE,
                     min_score: int = SKILL_MATCH_MIN_SCORE) -> list[tuple[str, str]]:
    """(service, tag) of every taxonomy tag the text mentions, fuzzily."""
    return [(service, tag) for service, tags in taxonomy.items() for tag in tags
            if fuzz.partial_ratio(tag, text) >= min_score]


def skill_gaps(texts: Iterable[tuple[str, str]]) -> list[SkillGap]:
    """Tags mentioned by (ref, text) pairs, each need counted once per tag, most mentioned first."""
    refs: dict[tuple[str, str], list[str]] = {}
    for ref, text in texts:
        for key in dict.fromkeys(mentioned_skills(text)):
            refs.setdefault(key, []).append(ref)
    gaps = [SkillGap(skill=tag, service=service, count=len(r), needs=tuple(r))
            for (service, tag), r in refs.items()]
    return sorted(gaps, key=lambda g: (-g.count, g.service, g.skill))


def party_grid_by_code(session: Session, code: str) -> PartyGrid:
    row = session.scalar(select(PartyGrid).options(selectinload(PartyGrid.grids))
                         .where(PartyGrid.code == code))
    if row is None:
        raise NotFound(f"未知党建网格 {code}")
    return row


def _days_open(need: Need, now: datetime) -> float:
    return round(hours_between(need.created_at, now) / HOURS_PER_DAY, DAYS_DECIMALS)


def _item(need: Need, now: datetime, reason: str) -> dict[str, Any]:
    return {"ref": need.ref, "grid": need.grid.code, "grid_name": need.grid.name,
            "text": mask_phone(need.text), "service": need.service,
            "service_label": SERVICE_LABELS_ZH.get(need.service or "", "未分类"),
            "urgency": need.urgency, "urgency_label": URGENCY_LABELS_ZH.get(need.urgency, need.urgency),
            "status": need.status, "status_label": STATUS_LABELS_ZH.get(need.status, need.status),
            "created_at": local_iso(need.created_at, zone(), "minutes"), "days_open": _days_open(need, now),
            "reason": reason}


def _escalated(session: Session, grid_ids: list[int], now: datetime) -> list[dict[str, Any]]:
    rows = session.scalars(select(Need).options(selectinload(Need.grid))
                           .where(Need.active.is_(True), Need.status == NeedStatus.ESCALATED,
                                  Need.grid_id.in_(grid_ids))
                           .order_by(Need.created_at, Need.id))
    return [_item(n, now, n.unmatched_reason or "本网格及相邻网格无法满足") for n in rows]


def _overdue(session: Session, grid_ids: list[int], now: datetime, config: Mapping[str, Any] | None,
             skip: set[str]) -> list[dict[str, Any]]:
    targets = load_targets(config)
    return [_item(n, now, f"超过办结时限 {targets.close_for(n):g} 小时")
            for n in overdue_needs(session, now, config, grid_ids=grid_ids) if n.ref not in skip]


def _lacking_skills(session: Session, grid_ids: list[int], since: datetime,
                    until: datetime) -> list[dict[str, Any]]:
    # From the audit trail: a need that went unmatched in the period and was settled since still
    # shows what the grid lacked at the time.
    texts = session.execute(
        select(Need.ref, Need.text).where(Need.active.is_(True), Need.grid_id.in_(grid_ids), Need.id.in_(
            select(AuditEntry.need_id).where(AuditEntry.to_status.in_((NeedStatus.UNMATCHED, NeedStatus.ESCALATED)),
                                             AuditEntry.at >= since, AuditEntry.at < until)))
        .order_by(Need.ref)).all()
    return [{"skill": g.skill, "service": g.service, "service_label": SERVICE_LABELS_ZH[g.service],
             "count": g.count, "needs": list(g.needs)} for g in skill_gaps(texts)]


def _heavy_threshold(config: Mapping[str, Any] | None) -> int:
    """More accepted assignments than this in one period marks a provider as carrying too much."""
    value = config.get("COUNCIL_HEAVY_LOAD") if config is not None else None
    return int(value if value is not None else setting("COUNCIL_HEAVY_LOAD"))


def _overloaded(session: Session, grid_ids: list[int], since: datetime, until: datetime,
                heavy: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Proposal.resource_id, Proposal.volunteer_id, Proposal.decided_at, Need.status)
        .join(Need, Need.id == Proposal.need_id)
        .where(Proposal.status == ProposalStatus.ACCEPTED, Need.active.is_(True), Need.grid_id.in_(grid_ids))).all()
    in_hand: Counter[tuple[ProviderKind, int]] = Counter()
    in_period: Counter[tuple[ProviderKind, int]] = Counter()
    for resource_id, volunteer_id, decided_at, need_status in rows:
        key = provider_key(resource_id, volunteer_id)
        if need_status in SERVING:
            in_hand[key] += 1
        if decided_at is not None and since <= decided_at < until:
            in_period[key] += 1
    keys = set(in_hand) | set(in_period)
    providers: dict[tuple[ProviderKind, int], Resource | Volunteer] = {}
    resource_ids = {i for k, i in keys if k == ProviderKind.RESOURCE}
    volunteer_ids = {i for k, i in keys if k == ProviderKind.VOLUNTEER}
    if resource_ids:
        providers |= {(ProviderKind.RESOURCE, r.id): r
                      for r in session.scalars(select(Resource).where(Resource.id.in_(resource_ids)))}
    if volunteer_ids:
        providers |= {(ProviderKind.VOLUNTEER, v.id): v
                      for v in session.scalars(select(Volunteer).where(Volunteer.id.in_(volunteer_ids)))}
    out = []
    for key, provider in providers.items():
        reasons = []
        if in_hand[key] >= provider.capacity:
            reasons.append(f"在办 {in_hand[key]} 件，已达容量 {provider.capacity}")
        if in_period[key] > heavy:
            reasons.append(f"本期接单 {in_period[key]} 件，超过 {heavy} 件")
        if reasons:
            out.append({"kind": key[0], "kind_label": PROVIDER_KIND_LABELS_ZH[key[0]],
                        "ref": provider.ref, "name": provider.name, "capacity": provider.capacity,
                        "in_hand": in_hand[key], "accepted_in_period": in_period[key], "reasons": reasons})
    return sorted(out, key=lambda r: (-r["accepted_in_period"], -r["in_hand"], r["ref"]))


def _closure(session: Session, grid_ids: list[int], start: date, end: date) -> dict[str, Any]:
    prev_start, prev_end = reports.previous_period(start, end)
    current = reports.summarise(reports.need_facts(session, start, end, grid_ids=grid_ids))
    previous = reports.summarise(reports.need_facts(session, prev_start, prev_end, grid_ids=grid_ids))
    rates = current["closure_rate"], previous["closure_rate"]
    change = round(rates[0] - rates[1], reports.RATE_DECIMALS) if None not in rates else None
    return {"current": current, "previous": previous, "change": change,
            "previous_period": {"start": prev_start.isoformat(), "end": prev_end.isoformat()}}


def _status_counts(session: Session, grid_ids: list[int], since: datetime,
                   until: datetime) -> list[dict[str, Any]]:
    counts = Counter(session.scalars(select(Need.status).where(
        Need.active.is_(True), Need.grid_id.in_(grid_ids), Need.created_at >= since,
        Need.created_at < until)))
    return [{"status": s, "label": STATUS_LABELS_ZH[s], "count": counts[s]} for s in NeedStatus if counts[s]]


def agenda(session: Session, party_grid_code: str, start: date, end: date, now: datetime | None = None, *,
           config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The council agenda of ``party_grid_code`` for the period [start, end] (dates inclusive), as of ``now``.
    Raises NotFound for an unknown Party grid."""
    now = as_naive_utc(now)
    party = party_grid_by_code(session, party_grid_code)
    grids = sorted(party.grids, key=lambda g: g.code)
    grid_ids = [g.id for g in grids]
    since, until = reports.period_bounds(start, end)
    escalated = _escalated(session, grid_ids, now)
    return {
        "party_grid": {"code": party.code, "name": party.name, "branch": party.branch,
                       "grids": [{"code": g.code, "name": g.name} for g in grids]},
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "generated_at": local_iso(now, zone(), "minutes"),
        "escalated": escalated,
        "overdue": _overdue(session, grid_ids, now, config, skip={e["ref"] for e in escalated}),
        "lacking_skills": _lacking_skills(session, grid_ids, since, until),
        "overloaded_providers": _overloaded(session, grid_ids, since, until, _heavy_threshold(config)),
        "closure": _closure(session, grid_ids, start, end),
        "status_counts": _status_counts(session, grid_ids, since, until),
    }
