"""Recurring needs (周期性需求): a rule that makes one need per occurrence, such as a weekly visit to an
elderly resident (每周探访, ``FREQ=WEEKLY;BYDAY=WE;COUNT=52``).

A rule is an RFC 5545 RRULE read by python-dateutil from ``dtstart``, the first visit's start in the
subdistrict's wall-clock time; each occurrence's window starts at its time and lasts ``window_minutes``.
What a rule may be (:class:`RecurrenceIn`; reasons by field, in Chinese):

- it ends: COUNT or UNTIL is required (a rule that never ends, 永不结束的规则, is refused);
- at most :data:`MAX_OCCURRENCES` (400) occurrences in all, and none closer than a day to the one
  before: FREQ finer than DAILY (HOURLY, MINUTELY, SECONDLY) is refused, and so is a daily rule that
  BYHOUR splits into several a day; 400 is a daily visit for a year and a month, a weekly one for 7 years;
- ``dtstart`` no more than a day in the past.

:func:`spawn_due` (``flask --app app recurring spawn``, meant for a scheduler like ``escalate``) makes
every occurrence starting up to :data:`HORIZON` (7 days) ahead into a need, as the system, through the
same creation as any need (classified, audited, coordinators notified). Each occurrence made is a row of
``recurrence_occurrences``, unique per (recurrence, time), so a second run makes nothing; an occurrence
whose window has already ended when the job runs (the job was down) is skipped, not made late.
Each need's ref is :func:`occurrence_ref`, by which the matcher finds the provider who served the one
before (``dispatch.views.previous_provider``: the ``continuity`` feature, "上次也是他/她服务").
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from dateutil.rrule import DAILY, rrule, rrulestr
from marshmallow import ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from access.policy import grid_ids_in_scope, may_place_in_grid
from core.config import zone
from core.errors import Forbidden, InvalidData, NotFound
from core.times import to_local, utcnow, wall_clock
from core.vocab import Channel, Urgency
from dispatch.classifier import classify_text
from dispatch.views import OCCURRENCE_REF_PREFIX
from models import Need, Recurrence, RecurrenceOccurrence, User
from pools import needs as need_service
from pools.fields import Service
from pools.lookup import grid_by_code
from web.schemas import StrictSchema
from workflow.service import record_creation

from .service import locate

log = logging.getLogger(__name__)

MAX_OCCURRENCES = 400
MIN_GAP = timedelta(days=1)  # between two occurrences
MAX_PAST_START = timedelta(days=1)  # how far in the past dtstart may be
HORIZON = timedelta(days=7)  # spawn_due makes the occurrences starting up to this far ahead
MIN_WINDOW_MINUTES, MAX_WINDOW_MINUTES = 15, 720
MAX_RRULE_LENGTH = 500
# How a recurring need reaches the grid: a person's channels, not a file's or another system's.
RECURRENCE_CHANNELS = tuple(c for c in Channel if c not in (Channel.IMPORT, Channel.OPEN311))

NEVER_ENDS = "永不结束的规则：请用 COUNT（次数）或 UNTIL（截止时间）限定"
TOO_FREQUENT = "频率过高：FREQ 最细为 DAILY（每天），两次之间至少间隔一天"


class RuleError(ValueError):
    """Why a rule is refused (Chinese), for the ``rrule`` field."""


def local_now(now: datetime | None = None) -> datetime:
    """``now`` (stored: naive UTC; None is the current time) as the subdistrict's naive wall clock."""
    return to_local(now or utcnow(), zone()).replace(tzinfo=None)


def build_rule(text: str, dtstart: datetime) -> rrule:
    """The rule of ``text`` (an RRULE line, ``RRULE:`` optional) from ``dtstart`` (naive wall clock),
    checked: it ends, is at most daily and has at most MAX_OCCURRENCES occurrences."""
    body = text.strip()
    body = body[len("RRULE:"):] if body.upper().startswith("RRULE:") else body
    if not body or "\n" in body or "\r" in body or ":" in body:
        raise RuleError("只能填写一条 RRULE，如 FREQ=WEEKLY;BYDAY=WE;COUNT=12（开始时间另填 dtstart）")
    try:
        rule = rrulestr(body, dtstart=dtstart)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise RuleError(f"无法解析的 RRULE：{exc}") from None
    if not isinstance(rule, rrule):
        raise RuleError("只能填写一条 RRULE")
    if rule._freq > DAILY:  # YEARLY 0 … DAILY 3, HOURLY 4, MINUTELY 5, SECONDLY 6
        raise RuleError(TOO_FREQUENT)
    if rule._count is None and rule._until is None:
        raise RuleError(NEVER_ENDS)
    if rule._until is not None and rule._until.tzinfo is not None:  # UNTIL …Z: to the wall clock
        rule = rule.replace(until=wall_clock(rule._until, zone()))
    times: list[datetime] = []
    try:
        for moment in rule:
            if len(times) == MAX_OCCURRENCES:
                raise RuleError(f"次数过多：最多 {MAX_OCCURRENCES} 次，请减少 COUNT 或提前 UNTIL")
            if times and moment - times[-1] < MIN_GAP:
                raise RuleError(TOO_FREQUENT)
            times.append(moment)
    except (ValueError, OverflowError) as exc:
        raise RuleError(f"无法解析的 RRULE：{exc}") from None
    if not times:
        raise RuleError("按此规则一次也不会发生，请检查 COUNT、UNTIL 与开始时间")
    return rule


def rule_text(rule: rrule) -> str:
    """The RRULE line of ``rule`` as stored (without DTSTART, which has a column of its own)."""
    return str(rule).splitlines()[-1].removeprefix("RRULE:")


def rule_of(recurrence: Recurrence) -> rrule:
    rule = rrulestr(recurrence.rrule, dtstart=recurrence.dtstart)
    assert isinstance(rule, rrule)
    return rule


class WallClock(fields.DateTime):
    """A time of the subdistrict's wall clock (naive); one with an offset is turned into it."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        moment: datetime = super()._deserialize(value, attr, data, **kwargs)
        return wall_clock(moment, zone()).replace(second=0, microsecond=0)


class RecurrenceIn(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(min=2, max=2000))
    grid = fields.String(load_default=None, validate=validate.Length(min=1, max=32),
                         metadata={"description": "网格编码；不填则按 address 确定"})
    address = fields.String(load_default=None, validate=validate.Length(min=2, max=300))
    urgency = fields.Enum(Urgency, by_value=True, load_default=Urgency.NORMAL)
    contact = fields.String(load_default="", validate=validate.Length(max=200))
    service = Service(load_default=None, allow_none=True, metadata={"description": "不填则每次由分类器判断"})
    channel = fields.Enum(Channel, by_value=True, load_default=Channel.VISIT,
                          validate=validate.OneOf(RECURRENCE_CHANNELS, error="周期性需求的来源应为 {choices}"))
    rrule = fields.String(required=True, validate=validate.Length(min=1, max=MAX_RRULE_LENGTH),
                          metadata={"description": "RFC 5545 RRULE，如 FREQ=WEEKLY;BYDAY=WE;COUNT=12：须有 COUNT 或 "
                                                   f"UNTIL，最细每天一次，总共不超过 {MAX_OCCURRENCES} 次"})
    dtstart = WallClock(required=True, metadata={"description": "第一次的开始时间（本街道时间），如 2026-12-09T09:00；"
                                                               "每次的时间段从这一时刻开始"})
    window_minutes = fields.Integer(load_default=60, validate=validate.Range(
        min=MIN_WINDOW_MINUTES, max=MAX_WINDOW_MINUTES, error=f"时长应在 {MIN_WINDOW_MINUTES} 至 {MAX_WINDOW_MINUTES} 分钟之间"))

    @validates_schema
    def _checked(self, data: dict[str, Any], **_kwargs: Any) -> None:
        problems: dict[str, list[str]] = {}
        if not data.get("grid") and not data.get("address"):
            problems["grid"] = ["请填写网格编码或地址（address）"]
        dtstart: datetime = data["dtstart"]
        if dtstart < local_now() - MAX_PAST_START:
            problems["dtstart"] = ["开始时间不能早于一天前"]
        try:
            data["rule"] = build_rule(data["rrule"], dtstart)
        except RuleError as exc:
            problems["rrule"] = [str(exc)]
        if problems:
            raise ValidationError(problems)


def create_recurrence(session: Session, data: dict[str, Any], actor: User) -> Recurrence:
    """A recurrence of validated ``data`` (:class:`RecurrenceIn`), by staff of the grid."""
    data = dict(data)
    place = locate(session, data)
    if place is not None and not place.sure and not data.get("grid"):
        raise InvalidData(fields={"address": ["不能确定是哪个楼栋，请写清楼栋号，或直接填写网格编码"]})
    grid = grid_by_code(session, data["grid"])
    if not may_place_in_grid(session, actor, grid.code):
        raise Forbidden("只能为自己负责的网格登记周期性需求")
    rule: rrule = data["rule"]
    recurrence = Recurrence(
        text=data["text"], grid_id=grid.id, urgency=str(data["urgency"]), contact=data["contact"],
        service=str(data["service"]) if data.get("service") else None, channel=str(data["channel"]),
        address=place.address if place else "",
        building_id=place.candidates[0].building_id if place and place.sure and place.candidates else None,
        rrule=rule_text(rule), dtstart=data["dtstart"], window_minutes=data["window_minutes"],
        next_at=next(iter(rule)), active=True, created_by_id=actor.id)
    session.add(recurrence)
    session.flush()
    log.info("recurrence %s created by %s: %s", recurrence.id, actor.username, recurrence.rrule)
    return recurrence


def visible_recurrences(session: Session, user: User, *, active: bool = True) -> list[Recurrence]:
    query = select(Recurrence).where(Recurrence.active.is_(active)).order_by(Recurrence.id)
    grids = grid_ids_in_scope(session, user)
    if grids is not None:
        query = query.where(Recurrence.grid_id.in_(grids))
    return list(session.scalars(query))


def get_visible_recurrence(session: Session, user: User, id_: int) -> Recurrence:
    recurrence = session.get(Recurrence, id_)
    grids = grid_ids_in_scope(session, user)
    if recurrence is None or not recurrence.active or (grids is not None and recurrence.grid_id not in grids):
        raise NotFound("没有这条周期性需求")
    return recurrence


def stop_recurrence(session: Session, recurrence: Recurrence) -> Recurrence:
    """No occurrence is made any more; the needs already made go on."""
    recurrence.active = False
    session.flush()
    return recurrence


def occurrence_ref(recurrence: Recurrence, at: datetime) -> str:
    return f"{OCCURRENCE_REF_PREFIX}{recurrence.id}-{at:%Y%m%dT%H%M}"


def spawn_due(session: Session, now: datetime | None = None, horizon: timedelta = HORIZON) -> dict[str, int]:
    """Make every occurrence starting up to ``horizon`` after ``now`` (stored time, naive UTC; None is the
    current time) into a need; safe to run twice. Answers how many needs were ``made`` and occurrences
    ``skipped`` (already over when seen)."""
    today = local_now(now)
    until = today + horizon
    made = skipped = 0
    due = list(session.scalars(
        select(Recurrence).where(Recurrence.active.is_(True), Recurrence.next_at.is_not(None),
                                 Recurrence.next_at <= until)
        .order_by(Recurrence.id).with_for_update(skip_locked=True)))
    for recurrence in due:
        assert recurrence.next_at is not None
        rule, window = rule_of(recurrence), timedelta(minutes=recurrence.window_minutes)
        done = set(session.scalars(select(RecurrenceOccurrence.at)
                                   .where(RecurrenceOccurrence.recurrence_id == recurrence.id)))
        for at in rule.between(recurrence.next_at, until, inc=True):
            if at in done:
                continue
            if at + window <= today:
                skipped += 1
                continue
            need = _make_occurrence(session, recurrence, at, at + window)
            recurrence.last_need_id = need.id
            made += 1
        recurrence.next_at = rule.after(until)
    log.info("recurring needs: %d made, %d skipped (over), %d rules due", made, skipped, len(due))
    return {"made": made, "skipped": skipped, "recurrences": len(due)}


def _make_occurrence(session: Session, recurrence: Recurrence, start: datetime, end: datetime) -> Need:
    ref = occurrence_ref(recurrence, start)
    taken = session.scalar(select(Need.id).where(Need.ref == ref)) is not None
    data: dict[str, Any] = {
        "ref": None if taken else ref, "text": recurrence.text, "grid": recurrence.grid.code,
        "urgency": Urgency(recurrence.urgency), "contact": recurrence.contact,
        "service": recurrence.service, "channel": Channel(recurrence.channel), "window": (start, end)}
    need = need_service.create_need(session, data, classify=classify_text)
    need.address, need.building_id, need.resident_id = recurrence.address, recurrence.building_id, recurrence.resident_id
    session.add(RecurrenceOccurrence(recurrence_id=recurrence.id, at=start, need_id=need.id))
    record_creation(session, need, None)
    session.flush()
    return need
