"""The minutes of a grid council (网格议事会纪要): what the meeting decided on each item of its agenda
and who takes it, recorded at the meeting and printable (or downloadable as CSV) afterwards.

An item about a need is recorded once per meeting: recording it again (a correction, a second
thought) updates it. Items about no need (other business) are added one by one. Each item keeps a
snapshot of its text, contact numbers masked, so the minutes read the same after the need moves on.
Who may record and read them is ``access.policy.may_see_agenda``, asked by the caller.
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from access.policy import describe, mask_phone
from core.config import zone
from core.errors import InvalidData
from core.exports import format_csv
from core.times import local_iso, utcnow
from core.vocab import NeedStatus
from models import CouncilDecision, Grid, Need, PartyGrid, User
from web.schemas import Id, StrictSchema

from .council import party_grid_by_code

log = logging.getLogger(__name__)

MAX_DECISION = 2000
MAX_ITEM = 2000
MAX_TAKER = 100  # the column's length
# Minutes speak of this century, as the reports do; a date far outside it is a typo.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
_DATE_ERRORS: dict[str, Any] = {"invalid": "日期格式应为 YYYY-MM-DD", "format": "日期格式应为 YYYY-MM-DD"}
_IN_RANGE = validate.Range(min=EARLIEST, max=LATEST, error=f"日期应在 {EARLIEST} 到 {LATEST} 之间")


class _Text(fields.String):
    """Text as a person typed it, without the spaces around it (so blanks alone count as empty)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        return str(super()._deserialize(value, attr, data, **kwargs)).strip()


def _required_text(limit: int, empty: str, long: str) -> fields.Field:
    return _Text(required=True, validate=[validate.Length(min=1, error=empty), validate.Length(max=limit, error=long)],
                 error_messages={"required": empty, "null": empty})


class DecisionIn(StrictSchema):
    """One item of the minutes as recorded at the meeting."""

    meeting_date = fields.Date(required=True, validate=_IN_RANGE,
                               error_messages={**_DATE_ERRORS, "required": "请填写会议日期"},
                               metadata={"description": "会议日期 YYYY-MM-DD"})
    need = Id(load_default=None, allow_none=True, metadata={"description": "议题所涉需求的编号（可无）"})
    item = _Text(load_default="", validate=validate.Length(max=MAX_ITEM),
                 metadata={"description": "议题；涉及需求时不填则取需求内容"})
    decision = _required_text(MAX_DECISION, "请写下议定事项", f"议定事项不能超过 {MAX_DECISION} 字")
    taker = _required_text(MAX_TAKER, "请写明由谁（个人或单位）承办", f"承办人或承办单位不能超过 {MAX_TAKER} 字")
    due = fields.Date(load_default=None, allow_none=True, validate=_IN_RANGE, error_messages=_DATE_ERRORS,
                      metadata={"description": "完成时限 YYYY-MM-DD（可不填）"})

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("need") is None and not data.get("item"):
            raise ValidationError({"item": ["请写明议题"]})
        due, meeting = data.get("due"), data.get("meeting_date")
        if due is not None and meeting is not None and due < meeting:
            raise ValidationError({"due": ["完成时限不能早于会议日期"]})


def item_text(need: Need) -> str:
    """The snapshot of a need as an item of the minutes: its words (numbers masked) and, for a need
    the grid could not serve, why."""
    text = mask_phone(need.text)
    if need.status in (NeedStatus.UNMATCHED, NeedStatus.ESCALATED) and need.unmatched_reason:
        text += f"（{need.unmatched_reason}）"
    return text[:MAX_ITEM]


def _need_of(session: Session, party: PartyGrid, need_id: int) -> Need:
    need = session.scalar(select(Need).join(Grid, Grid.id == Need.grid_id)
                          .where(Need.id == need_id, Need.active.is_(True), Grid.party_grid_id == party.id))
    if need is None:
        raise InvalidData(fields={"need": [f"本党建网格没有编号为 {need_id} 的需求"]})
    return need


def _existing(session: Session, party: PartyGrid, meeting_date: date, need: Need) -> CouncilDecision | None:
    return session.scalar(select(CouncilDecision).where(
        CouncilDecision.party_grid_id == party.id, CouncilDecision.meeting_date == meeting_date,
        CouncilDecision.need_id == need.id).with_for_update())


def record_decision(session: Session, party_grid_code: str, *, meeting_date: date, decision: str, taker: str,
                    recorded_by: User, need: int | None = None, item: str = "", due: date | None = None,
                    now: datetime | None = None) -> CouncilDecision:
    """Record what the council of ``party_grid_code`` decided on one item at its meeting of
    ``meeting_date`` (fields loaded by :class:`DecisionIn`). ``need``: the id of the need the item
    is about, which must be of this Party grid; recorded again for the same need and meeting, the
    item is updated. Raises NotFound for an unknown Party grid, InvalidData for a need not of it."""
    now = now or utcnow()
    party = party_grid_by_code(session, party_grid_code)
    row: CouncilDecision | None = None
    subject = _need_of(session, party, need) if need is not None else None
    if subject is not None:
        row = _existing(session, party, meeting_date, subject)
        if row is None:
            fresh = CouncilDecision(party_grid_id=party.id, meeting_date=meeting_date, need_id=subject.id,
                                    item=item or item_text(subject), decision=decision, taker=taker, due=due,
                                    recorded_by_id=recorded_by.id, recorded_at=now)
            try:
                with session.begin_nested():  # someone recording the same item at once: theirs stands, then ours
                    session.add(fresh)
                    session.flush()
            except IntegrityError:
                row = _existing(session, party, meeting_date, subject)
                if row is None:
                    raise
            else:
                row = fresh
                _log("recorded", party, meeting_date, subject, recorded_by)
                return row
        row.decision, row.taker, row.due = decision, taker, due
        row.item = item or row.item or item_text(subject)
        row.recorded_by_id, row.recorded_at = recorded_by.id, now
        session.flush()
        _log("updated", party, meeting_date, subject, recorded_by)
        return row
    row = CouncilDecision(party_grid_id=party.id, meeting_date=meeting_date, need_id=None, item=item,
                          decision=decision, taker=taker, due=due, recorded_by_id=recorded_by.id, recorded_at=now)
    session.add(row)
    session.flush()
    _log("recorded", party, meeting_date, None, recorded_by)
    return row


def _log(what: str, party: PartyGrid, meeting_date: date, need: Need | None, actor: User) -> None:
    log.info("council %s %s: decision %s on %s by %s", party.code, meeting_date.isoformat(), what,
             f"need {need.ref}" if need is not None else "another item", describe(actor))


def _item(row: CouncilDecision) -> dict[str, Any]:
    need = row.need
    return {"id": row.id, "need_id": row.need_id, "ref": need.ref if need is not None else "",
            "grid": need.grid.code if need is not None else "",
            "grid_name": need.grid.name if need is not None else "",
            "item": row.item, "decision": row.decision, "taker": row.taker,
            "due": row.due.isoformat() if row.due else None,
            "recorded_by": row.recorded_by.display_name or row.recorded_by.username,
            "recorded_at": local_iso(row.recorded_at, zone(), "minutes")}


def minutes_of(session: Session, party_grid_code: str, meeting_date: date) -> dict[str, Any]:
    """The minutes of the council of ``party_grid_code`` held on ``meeting_date``: the Party grid, and
    every item recorded, in the order first recorded. Raises NotFound for an unknown Party grid."""
    party = party_grid_by_code(session, party_grid_code)
    rows = session.scalars(
        select(CouncilDecision)
        .options(selectinload(CouncilDecision.need).selectinload(Need.grid), selectinload(CouncilDecision.recorded_by))
        .where(CouncilDecision.party_grid_id == party.id, CouncilDecision.meeting_date == meeting_date)
        .order_by(CouncilDecision.id))
    grids = sorted(party.grids, key=lambda g: g.code)
    return {"party_grid": {"code": party.code, "name": party.name, "branch": party.branch,
                           "grids": [{"code": g.code, "name": g.name} for g in grids]},
            "meeting_date": meeting_date.isoformat(), "items": [_item(r) for r in rows]}


def meetings(session: Session, party_grid_codes: list[str]) -> dict[str, list[tuple[date, int]]]:
    """Party grid code → the dates of its meetings with minutes and how many items each, newest first."""
    if not party_grid_codes:
        return {}
    rows = session.execute(
        select(PartyGrid.code, CouncilDecision.meeting_date, func.count())
        .join(PartyGrid, PartyGrid.id == CouncilDecision.party_grid_id)
        .where(PartyGrid.code.in_(party_grid_codes))
        .group_by(PartyGrid.code, CouncilDecision.meeting_date)
        .order_by(PartyGrid.code, CouncilDecision.meeting_date.desc())).all()
    out: dict[str, list[tuple[date, int]]] = {}
    for code, day, count in rows:
        out.setdefault(code, []).append((day, count))
    return out


def last_meeting(session: Session, party_grid_code: str) -> date | None:
    """The date of the latest meeting of this Party grid's council with minutes, if any."""
    return session.scalar(select(func.max(CouncilDecision.meeting_date))
                          .join(PartyGrid, PartyGrid.id == CouncilDecision.party_grid_id)
                          .where(PartyGrid.code == party_grid_code))


MINUTES_HEADER: list[object] = ["党建网格", "会议日期", "序号", "需求编号", "网格", "议题", "议定事项", "承办人（单位）", "完成时限",
                  "记录人", "记录时间"]


def minutes_csv(minutes: dict[str, Any]) -> bytes:
    """The minutes as a spreadsheet-safe CSV file, one row per item."""
    party = minutes["party_grid"]
    rows: list[list[object]] = [list(MINUTES_HEADER)]
    for number, item in enumerate(minutes["items"], start=1):
        rows.append([f"{party['code']} {party['name']}", minutes["meeting_date"], number, item["ref"], item["grid"],
                     item["item"], item["decision"], item["taker"], item["due"] or "", item["recorded_by"],
                     item["recorded_at"]])
    return format_csv(rows)


__all__ = ["DecisionIn", "item_text", "last_meeting", "meetings", "minutes_csv", "minutes_of", "record_decision"]
