"""Open311 GeoReport v2 over HTTP (``/open311/v2``): discovery, the service list and definitions, service
requests (read by anyone, as the spec has it; posted with an API key) and tokens, each as ``.json`` or
``.xml``.

Privacy: only requests that came in through Open311 are listed and read here (the tools posted them);
needs residents submitted in the app never leave through this interface, and no request shows a contact.
Errors are the spec's list ``[{"code", "description"}]`` (``<errors><error>`` in XML).

Jurisdictions: each subdistrict of the deployment is one, its code the ``jurisdiction_id`` (a district's or a
city's 12345 platform serves several); a call naming one reads only that subdistrict's requests and may post
only a location inside it. ``sanku``, or none, is the whole deployment."""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.exceptions import HTTPException

from core.config import zone
from core.database import db_session
from core.errors import ApiError, InvalidData
from core.times import local_iso, to_utc, utcnow
from core.vocab import Channel, Service, Urgency
from dispatch.addresses import locate_point
from intake.service import Place, locate
from models import Building, Grid, Need, Open311Call, Subdistrict
from pools.lookup import grid_by_code
from pools.needs import create_need
from web.routes import public, public_with_key
from workflow.service import record_creation

from . import xml
from .keys import key_for, record_call
from .services import (
    OPEN311_STATUSES,
    SERVICES,
    codes_of_services,
    definition_of,
    open311_status,
    service_of,
    status_notes,
    statuses_for,
)

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FMT = "<any(json,xml):fmt>"
SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-30T08:00:00+08:00"
JURISDICTION_ID = "sanku"  # the whole deployment; each subdistrict's code names a jurisdiction of its own
MAX_RANGE = timedelta(days=90)  # the spec's widest date range
MAX_RESULTS = 1000


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


def _fmt() -> str:
    return str((request.view_args or {}).get("fmt", "json"))


def answer(value: Any, root: str, item: str | None, status: int = 200) -> Response:
    if _fmt() == "xml":
        return Response(xml.render(root, item, value), status=status, content_type="text/xml; charset=utf-8")
    response = jsonify(value)
    response.status_code = status
    return response


def errors(status: int, description: str) -> Response:
    return answer([{"code": status, "description": description}], "errors", "error", status)


@bp.errorhandler(Open311Error)
def _open311_error(exc: Open311Error) -> Response:
    return errors(exc.status, exc.description)


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    reasons = "；".join(f"{k}: {'、'.join(map(str, v))}" for k, v in (exc.fields or {}).items())
    return errors(exc.status, reasons or exc.message)


@bp.errorhandler(ValidationError)
def _schema_error(exc: ValidationError) -> Response:
    return errors(400, str(exc.normalized_messages()))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    response = errors(exc.code or 500, exc.description or exc.name)
    response.headers.extend([(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"])
    return response


@bp.before_request
def _jurisdiction() -> None:
    """``g.open311_subdistrict``: the subdistrict ``jurisdiction_id`` names, or None for the whole deployment."""
    wanted = _param("jurisdiction_id")
    g.open311_subdistrict = None
    if wanted and wanted != JURISDICTION_ID:
        subdistrict = db_session().scalar(select(Subdistrict).where(Subdistrict.code == wanted))
        if subdistrict is None:
            raise Open311Error(404, f"jurisdiction_id {wanted} not found (this endpoint serves {JURISDICTION_ID} "
                                    "and the code of each of its subdistricts)")
        g.open311_subdistrict = subdistrict


@bp.after_request
def _audit_keyed_call(response: Response) -> Response:
    """Every call made with a key leaves a row, failed ones too: the request's own work is undone (the
    unit of work rolls back an error), the audit is kept."""
    key_id = g.pop("open311_key_id", None)
    if key_id is None:
        return response
    session = db_session()
    if response.status_code >= 400:
        session.rollback()
    record_call(session, key_id, method=request.method, path=request.path, status=response.status_code,
                need_id=g.pop("open311_need_id", None))
    if response.status_code >= 400:
        session.commit()
    return response


# --- parameters ---------------------------------------------------------------------------------------

def _fields() -> dict[str, Any]:
    """The POST body: form-encoded as the spec has it, or a JSON object."""
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise Open311Error(400, "request body must be a JSON object or form-encoded")
        flat = dict(body)
        for code, value in (body.get("attribute") or {}).items() if isinstance(body.get("attribute"), dict) else ():
            flat[f"attribute[{code}]"] = value
        return flat
    return request.form.to_dict()


def _param(name: str, fields: dict[str, Any] | None = None) -> str:
    source = fields if fields is not None else (_fields() if request.method == "POST" else request.args)
    value = source.get(name)
    if value is None and fields is None and request.method == "POST":
        value = request.args.get(name)
    return "" if value is None else str(value).strip()


def _authenticate(fields: dict[str, Any], *, required: bool) -> None:
    presented = _param("api_key", fields)
    if not presented:
        if required:
            raise Open311Error(400, "api_key is required")
        return
    key = key_for(db_session(), presented)
    if key is None:
        raise Open311Error(403, "Invalid api_key received -- can't proceed")
    g.open311_key_id = key.id


def _date(name: str) -> datetime | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(400, f"{name} must be a W3C datetime such as 2026-12-01T00:00:00Z") from None
    return to_utc(moment, zone())


def _date_range() -> tuple[datetime, datetime]:
    """``start_date`` to ``end_date``; without them the most recent 90 days, with one of them 90 days from it."""
    start, end = _date("start_date"), _date("end_date")
    if start is not None and end is not None:
        return start, end
    if start is not None:
        return start, start + MAX_RANGE
    end = end or utcnow()
    return end - MAX_RANGE, end


def _list(name: str) -> list[str]:
    return [part.strip() for part in request.args.get(name, "").split(",") if part.strip()]


# --- discovery and services -------------------------------------------------------------------------

@bp.get(f"/discovery.{FMT}")
@public
def discovery(fmt: str) -> Response:
    base = request.url_root.rstrip("/") + bp.url_prefix  # type: ignore[operator]
    body = {
        "changeset": CHANGESET,
        "contact": "街道网格化服务管理中心（三库）",
        "key_service": "API 密钥由街道管理员为每个外部系统创建：flask --app app open311 keys create NAME",
        "endpoints": [{"specification": SPEC_URL, "url": base, "changeset": CHANGESET, "type": "production",
                       "formats": ["application/json", "text/xml"]}],
    }
    return answer(body, "discovery", None)


@bp.get(f"/services.{FMT}")
@public
def list_services(fmt: str) -> Response:
    _authenticate(request.args, required=False)
    return answer([s.to_dict() for s in SERVICES], "services", "service")


@bp.get(f"/services/<code>.{FMT}")
@public
def service_definition(code: str, fmt: str) -> Response:
    _authenticate(request.args, required=False)
    service = service_of(code)
    if service is None:
        raise Open311Error(404, f"service_code {code} not found")
    return answer(definition_of(service), "service_definition", None)


# --- service requests ---------------------------------------------------------------------------------

def request_body(need: Need) -> dict[str, Any]:
    building: Building | None = need.building
    service = service_of(need.service.value) if need.service else None
    tz = zone()
    return {
        "service_request_id": need.ref,
        "status": open311_status(need.status),
        "status_notes": status_notes(need.status, need.unmatched_reason),
        "service_name": service.name if service else None,
        "service_code": service.code if service else None,
        "description": need.text,
        "agency_responsible": f"{need.grid.name}（{service.name}）" if service else need.grid.name,
        "service_notice": None,
        "requested_datetime": local_iso(need.created_at, tz),
        "updated_datetime": local_iso(need.updated_at, tz),
        "expected_datetime": None,
        "address": need.address or (building.address if building else None) or None,
        "address_id": building.code if building else None,
        "zipcode": None,
        "lat": building.lat if building else None,
        "long": building.lng if building else None,
        "media_url": None,
    }


def _open311_needs() -> Any:
    """The needs posted through this interface: those a keyed call created (a need whose channel merely says
    ``open311``, set by hand or in a file, is not shown)."""
    posted = select(Open311Call.need_id).where(Open311Call.need_id.is_not(None))
    query = (select(Need).where(Need.id.in_(posted), Need.active.is_(True))
             .options(selectinload(Need.grid), selectinload(Need.building)))
    subdistrict = g.get("open311_subdistrict")
    if subdistrict is not None:
        query = query.where(Need.grid_id.in_(select(Grid.id).where(Grid.subdistrict_id == subdistrict.id)))
    return query


@bp.get(f"/requests.{FMT}")
@public
def list_requests(fmt: str) -> Response:
    _authenticate(request.args, required=False)
    query = _open311_needs()
    ids = _list("service_request_id")
    if ids:  # overrides every other filter
        query = query.where(Need.ref.in_(ids[:MAX_RESULTS]))
    else:
        codes = _list("service_code")
        unknown = [c for c in codes if service_of(c) is None]
        if unknown:
            raise Open311Error(400, f"service_code {', '.join(unknown)} not found")
        if codes:
            query = query.where(Need.service.in_(sorted(codes_of_services(codes))))
        statuses = _list("status")
        if any(s not in OPEN311_STATUSES for s in statuses):
            raise Open311Error(400, "status must be open or closed (comma separated)")
        if statuses:
            wanted = frozenset().union(*(statuses_for(s) for s in statuses))
            query = query.where(Need.status.in_(sorted(wanted)))
        start, end = _date_range()
        if end < start or end - start > MAX_RANGE:
            raise Open311Error(400, "start_date and end_date may span at most 90 days, start before end")
        query = query.where(Need.created_at >= start, Need.created_at <= end)
    needs = db_session().scalars(query.order_by(Need.created_at.desc(), Need.id.desc()).limit(MAX_RESULTS))
    return answer([request_body(n) for n in needs], "service_requests", "request")


@bp.get(f"/requests/<ref>.{FMT}")
@public
def get_request(ref: str, fmt: str) -> Response:
    _authenticate(request.args, required=False)
    need = db_session().scalar(_open311_needs().where(Need.ref == ref))
    if need is None:
        raise Open311Error(404, f"service_request_id {ref} not found")
    return answer([request_body(need)], "service_requests", "request")


@bp.get(f"/tokens/<token>.{FMT}")
@public
def get_token(token: str, fmt: str) -> Response:
    """Requests are created at once, so a token is the request's id."""
    _authenticate(request.args, required=False)
    need = db_session().scalar(_open311_needs().where(Need.ref == token))
    if need is None:
        raise Open311Error(404, f"token {token} not found")
    return answer([{"service_request_id": need.ref, "token": token}], "service_requests", "request")


@bp.post(f"/requests.{FMT}")
@public_with_key
def post_request(fmt: str) -> Response:
    fields = _fields()
    _authenticate(fields, required=True)
    session = db_session()
    code = _param("service_code", fields)
    if not code:
        raise Open311Error(400, "service_code is required")
    service = service_of(code)
    if service is None:
        raise Open311Error(400, f"service_code {code} not found")
    description = _param("description", fields)
    if len(description) > 2000:
        raise Open311Error(400, "description may hold at most 2000 characters")
    text = description or service.name
    if service.skill and service.skill not in text:
        text = f"【{service.skill}】{text}"
    urgency = _param("attribute[urgency]", fields) or Urgency.NORMAL.value
    if urgency not in {u.value for u in Urgency}:
        raise Open311Error(400, f"attribute[urgency] must be one of {', '.join(u.value for u in Urgency)}")
    data: dict[str, Any] = {"text": text, "urgency": Urgency(urgency), "contact": _contact(fields),
                            "service": Service(service.service), "channel": Channel.OPEN311}
    place, building_id = _place(session, fields, data)
    subdistrict = g.get("open311_subdistrict")
    if subdistrict is not None and grid_by_code(session, data["grid"]).subdistrict_id != subdistrict.id:
        raise Open311Error(400, f"the location is outside jurisdiction {subdistrict.code}")
    need = create_need(session, data)
    if place is not None:
        place.apply(need)
    elif building_id is not None:
        need.building_id = building_id
    if not need.address:
        need.address = _param("address_string", fields)[:300]
    record_creation(session, need, None)
    session.flush()
    g.open311_need_id = need.id
    current_app.logger.info("open311 request %s created (%s)", need.ref, code)
    return answer([{"service_request_id": need.ref, "token": need.ref,
                    "service_notice": "已受理，将由网格按四项服务分派", "account_id": None}],
                  "service_requests", "request", status=201)


def _contact(fields: dict[str, Any]) -> str:
    name = " ".join(p for p in (_param("last_name", fields), _param("first_name", fields)) if p)
    parts = [name, _param("phone", fields), _param("email", fields)]
    return " ".join(p for p in parts if p)[:200]


def _coordinate(fields: dict[str, Any], name: str, limit: float) -> float | None:
    text = _param(name, fields)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise Open311Error(400, f"{name} is out of range")
    return value


def _place(session: Session, fields: dict[str, Any], data: dict[str, Any]) -> tuple[Place | None, int | None]:
    """Where the request is: the register's building (``address_id``), the address as written
    (``address_string``, resolved like a resident's), or the point (``lat``/``long``: the grid whose boundary
    holds it, at its nearest building). Sets ``data["grid"]``."""
    address_id = _param("address_id", fields)
    if address_id:
        building = session.scalar(select(Building).where(Building.code == address_id, Building.active.is_(True)))
        if building is None:
            raise Open311Error(400, f"address_id {address_id} not found")
        data["grid"] = building.grid.code
        return None, building.id
    address = _param("address_string", fields)
    if address:
        try:
            return _locate(session, address, data)
        except InvalidData as exc:
            raise Open311Error(400, "address_string: " + "；".join((exc.fields or {}).get("address", [exc.message])))
    lat, lng = _coordinate(fields, "lat", 90), _coordinate(fields, "long", 180)
    if lat is None or lng is None:
        raise Open311Error(400, "a location is required: lat and long, address_string or address_id")
    point = locate_point(session, lng, lat)
    if point is None:
        raise Open311Error(400, "lat/long is outside every grid of this jurisdiction")
    data["grid"] = point.grid
    return None, point.building_id


def _locate(session: Session, address: str, data: dict[str, Any]) -> tuple[Place | None, int | None]:
    located = {"address": address[:300]}
    place = locate(session, located)
    data["grid"] = located["grid"]
    return place, None
