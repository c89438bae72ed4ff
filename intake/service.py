"""How needs enter the pool: a submission (a resident in the app, or staff on a resident's behalf)
or a file import. Each new need is classified when it comes without a service, stored in the needs
pool, and its workflow starts: the first audit entry, then triage or the coordinators' notice."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from access.policy import may_place_in_grid, may_set_need_ref
from core.errors import Forbidden, InvalidData
from core.vocab import Channel, Role
from dispatch.classifier import classify_many, classify_text
from models import Need, User
from pools import needs as need_service
from pools.imports import ImportReport, NeedIntake, import_file
from workflow.service import record_creation


def submit_need(session: Session, data: dict[str, Any], actor: User) -> Need:
    """A need submitted over the API. A resident's own is theirs and comes through the app; staff
    entering one for a resident say how it came (the phone, a visit...)."""
    data = dict(data)
    if data.get("ref") and not may_set_need_ref(actor):
        raise InvalidData(fields={"ref": ["编号由系统生成，不能自行指定"]})
    if actor.role == Role.RESIDENT:
        data["channel"] = Channel.APP
    elif not may_place_in_grid(session, actor, data["grid"]):
        raise Forbidden("只能为自己负责的网格登记需求")
    need = need_service.create_need(session, data, classify=classify_text)
    if actor.role == Role.RESIDENT:
        need.resident_id = actor.id
    record_creation(session, need, actor)
    session.flush()
    return need


def _start_imported(session: Session, need: Need) -> None:
    record_creation(session, need, None)


# Imported needs are classified in one call and start their workflow as the system's.
IMPORT_INTAKE = NeedIntake(classify=classify_many, started=_start_imported)


def import_records(session: Session, kind: str, data: bytes, filename: str, *, skip_invalid: bool = False) -> ImportReport:
    """A file of ``kind`` imported (see ``pools.imports``); new needs start their workflow."""
    return import_file(session, kind, data, filename, skip_invalid=skip_invalid, intake=IMPORT_INTAKE)
