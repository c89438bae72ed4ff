"""Input and output schemas of the three pools and the grid map.

Input schemas load into plain dicts (codes, not ids); the services resolve codes and report unknown
ones as field errors. Unknown fields are refused. Output schemas list their fields explicitly.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.vocab import RECORDED_CHANNELS, STATUS_LABELS_ZH, Force, NeedStatus, Urgency, VolunteerKind
from web.schemas import Flag, ListArgs, Phone, StrictSchema, Timestamp, wall_clock_text

from .fields import Service, Slot, Window, grid_list_or_all
from .geometry import MAX_BOUNDARY_POSITIONS, BoundaryError, boundary_geometry

CODE = validate.Length(min=1, max=32)
REF = validate.And(validate.Length(min=1, max=64), validate.Regexp(r"^[A-Za-z0-9_.\-]+$", error="编号只能包含字母、数字、-、_ 和 ."))
NAME = validate.Length(min=1, max=200)
TAGS = fields.List(fields.String(validate=validate.Length(min=1, max=40)), load_default=list)


# --- grids -----------------------------------------------------------------------------------

class Boundary(fields.Dict):
    """A grid's outline: a GeoJSON Polygon or MultiPolygon geometry in lng/lat, checked and normalised
    (pools.geometry); null clears it."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            return boundary_geometry(value)
        except BoundaryError as exc:
            raise ValidationError(str(exc)) from None


BOUNDARY_DESCRIPTION = (f"网格边界：GeoJSON 几何对象，type 为 Polygon 或 MultiPolygon，坐标为 [经度, 纬度]（WGS84），"
                        f"每个环首尾相同、至少 4 个坐标，全部不超过 {MAX_BOUNDARY_POSITIONS} 个；null 为清除")


class GridIn(StrictSchema):
    code = fields.String(required=True, validate=CODE)
    subdistrict = fields.String(validate=CODE, metadata={"description": "街道编码：市级管理员新建时指明；街道工作人员只能是本街道"})
    name = fields.String(required=True, validate=NAME)
    community = fields.String(required=True, validate=NAME, metadata={"description": "社区编码或名称"})
    party_grid = fields.String(load_default=None, allow_none=True, validate=CODE,
                               metadata={"description": "党建网格编码"})
    neighbors = fields.List(fields.String(validate=CODE), load_default=list)
    # No default: a row or body without it leaves the stored boundary as it is.
    boundary = Boundary(allow_none=True, metadata={"description": BOUNDARY_DESCRIPTION})


class GridOut(Schema):
    id = fields.Integer()
    code = fields.String()
    subdistrict = fields.Function(lambda r: r.subdistrict.code)
    name = fields.String()
    community = fields.Function(lambda g: g.community.name)
    community_code = fields.Function(lambda g: g.community.code)
    party_grid = fields.Function(lambda g: g.party_grid.code if g.party_grid else None)
    party_grid_name = fields.Function(lambda g: g.party_grid.name if g.party_grid else None)
    branch = fields.Function(lambda g: g.party_grid.branch if g.party_grid else None)
    neighbors = fields.Function(lambda g: [n.code for n in g.neighbors])
    boundary = fields.Dict(allow_none=True, metadata={"description": "网格边界（GeoJSON 几何对象），未设置为 null"})
    active = fields.Boolean()


class PartyGridOut(Schema):
    id = fields.Integer()
    code = fields.String()
    subdistrict = fields.Function(lambda r: r.subdistrict.code)
    name = fields.String()
    branch = fields.String()
    grids = fields.Function(lambda p: [g.code for g in p.grids])


# --- government resource pool ------------------------------------------------------------------

class ResourceIn(StrictSchema):
    ref = fields.String(required=True, validate=REF)
    subdistrict = fields.String(validate=CODE, metadata={"description": "街道编码：市级管理员新建时指明；街道工作人员只能是本街道"})
    name = fields.String(required=True, validate=NAME)
    department = fields.String(load_default="", validate=validate.Length(max=200))
    service = Service(required=True)
    grids = fields.List(fields.String(validate=CODE), required=True, validate=grid_list_or_all,
                        metadata={"description": "覆盖的网格编码，[\"*\"] 表示全部"})
    capacity = fields.Integer(load_default=1, validate=validate.Range(min=0, max=100000))
    skills = TAGS
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    hours = fields.List(Slot(), load_default=list)


class ResourceOut(Schema):
    id = fields.Integer()
    ref = fields.String()
    subdistrict = fields.Function(lambda r: r.subdistrict.code)
    name = fields.String()
    department = fields.String()
    service = fields.String()
    grids = fields.Function(lambda r: ["*"] if r.covers_all else [g.code for g in r.grids])
    capacity = fields.Integer()
    skills = fields.List(fields.String())
    description = fields.String()
    hours = fields.List(fields.String())
    active = fields.Boolean()
    created_at = Timestamp()
    updated_at = Timestamp()


# --- social volunteer pool ---------------------------------------------------------------------

class VolunteerIn(StrictSchema):
    ref = fields.String(required=True, validate=REF)
    subdistrict = fields.String(validate=CODE, metadata={"description": "街道编码：市级管理员新建时指明；街道工作人员只能是本街道"})
    name = fields.String(required=True, validate=NAME)
    kind = fields.Enum(VolunteerKind, by_value=True, load_default=VolunteerKind.PERSON)
    phone = Phone(load_default="")
    grid = fields.String(load_default=None, allow_none=True, validate=CODE)
    skills = TAGS
    services = fields.List(Service(), required=True, validate=validate.Length(min=1))
    availability = fields.List(Slot(), load_default=list)
    capacity = fields.Integer(load_default=1, validate=validate.Range(min=0, max=10000))
    force = fields.Enum(Force, by_value=True, load_default=Force.SELFGOV)
    party_member = Flag(load_default=False)
    description = fields.String(load_default="", validate=validate.Length(max=2000))


class VolunteerOut(Schema):
    id = fields.Integer()
    ref = fields.String()
    subdistrict = fields.Function(lambda r: r.subdistrict.code)
    name = fields.String()
    kind = fields.String()
    phone = fields.String()
    grid = fields.Function(lambda v: v.grid.code if v.grid else None)
    skills = fields.List(fields.String())
    services = fields.List(fields.String())
    availability = fields.List(fields.String())
    capacity = fields.Integer()
    force = fields.String()
    party_member = fields.Boolean()
    description = fields.String()
    active = fields.Boolean()
    created_at = Timestamp()
    updated_at = Timestamp()


# --- needs pool --------------------------------------------------------------------------------

class NeedIn(StrictSchema):
    ref = fields.String(load_default=None, validate=REF, metadata={"description": "不填则自动生成"})
    text = fields.String(required=True, validate=validate.Length(min=2, max=2000))
    grid = fields.String(load_default=None, validate=CODE, metadata={"description": "网格编码；不填则按 address 确定"})
    address = fields.String(load_default=None, validate=validate.Length(min=2, max=300),
                            metadata={"description": "地址，如“金碧花园5栋1203”：按楼栋登记簿确定楼栋和网格，"
                                                     "不能确定时转工作人员确认"})
    urgency = fields.Enum(Urgency, by_value=True, load_default=Urgency.NORMAL)
    window = Window(load_default=None, allow_none=True,
                    metadata={"description": "ISO 8601 区间 2026-12-09T09:00/2026-12-09T12:00，空为时间灵活"})
    contact = fields.String(load_default="", validate=validate.Length(max=200))
    service = Service(load_default=None, allow_none=True, metadata={"description": "不填则由分类器判断"})
    channel = fields.String(load_default=None, validate=validate.OneOf(
                                [c.value for c in RECORDED_CHANNELS], error="需求来源应为 " + "、".join(RECORDED_CHANNELS)),
                          metadata={"description": "需求来源：app 居民自助（居民本人提交时总是 app）、phone 电话、"
                                                   "hotline 12345 热线、visit 党员走访、building_head 楼栋长、"
                                                   "snapshot 随手拍、walk_in 窗口来访；工作人员代登记时不填为 phone"})
    resident_name = fields.String(load_default="", validate=validate.Length(max=100),
                                  metadata={"description": "代没有账号的居民登记时：居民姓名"})
    resident_phone = Phone(load_default="", metadata={
        "description": "代没有账号的居民登记时：居民电话。居民日后用这个手机号的账号登录，即可看到这条需求"})

    @validates_schema
    def _somewhere(self, data: dict[str, Any], partial: Any = False, **_kwargs: Any) -> None:
        if not partial and not data.get("grid") and not data.get("address"):
            raise ValidationError({"grid": ["请填写网格编码或地址（address）"]})


class NeedOut(Schema):
    id = fields.Integer()
    ref = fields.String()
    text = fields.String()
    grid = fields.Function(lambda n: n.grid.code)
    urgency = fields.String()
    window = fields.Function(
        lambda n: None if n.window_start is None else {
            "start": wall_clock_text(n.window_start),
            "end": wall_clock_text(n.window_end),
        }
    )
    contact = fields.String()
    resident_name = fields.String(metadata={"description": "代登记的居民姓名（居民本人提交的为空）"})
    resident_phone = fields.String(metadata={"description": "代登记的居民电话；不负责办理的人看到的是打码的号码"})
    service = fields.String(allow_none=True)
    service_confidence = fields.Float(allow_none=True)
    status = fields.String()
    status_label = fields.Function(lambda n: STATUS_LABELS_ZH.get(n.status, n.status))
    channel = fields.String()
    current_proposal = fields.Function(
        lambda n: None if n.current_proposal is None else {
            "id": n.current_proposal.id, "status": n.current_proposal.status,
            "provider_kind": n.current_proposal.provider_kind, "provider_ref": n.current_proposal.provider.ref,
            "provider_name": n.current_proposal.provider.name, "explanation": n.current_proposal.explanation,
            "review_required": n.current_proposal.review_required},
        metadata={"description": "当前推荐（接单或婉拒时可带上其 id，防止误答已变更的推荐）"})
    active = fields.Boolean()
    created_at = Timestamp()
    updated_at = Timestamp()


# --- building register (楼栋) -------------------------------------------------------------------

MAX_HOUSEHOLDS = 100_000
MAX_ALIASES = 20
_FINITE: dict[str, str | list[Any] | dict[Any, Any]] = {"special": "应为有限的数字"}


class BuildingIn(StrictSchema):
    code = fields.String(required=True, validate=CODE, metadata={"description": "楼栋编码，如 B00001"})
    name = fields.String(required=True, validate=NAME, metadata={"description": "楼栋名称，如 金碧花园5栋"})
    address = fields.String(load_default="", validate=validate.Length(max=300))
    aliases = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list,
                          validate=validate.Length(max=MAX_ALIASES),
                          metadata={"description": "曾用名、旧门牌（如 上合村12号）"})
    grid = fields.String(required=True, validate=CODE, metadata={"description": "所在网格编码"})
    head = fields.String(load_default=None, allow_none=True, validate=REF,
                         metadata={"description": "楼栋长：志愿者编号（可不填）"})
    households = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_HOUSEHOLDS))
    lng = fields.Float(load_default=None, allow_none=True, error_messages=_FINITE,
                       validate=validate.Range(min=-180, max=180, error="经度应在 -180 至 180 之间"),
                       metadata={"description": "经度（WGS84），与纬度同时填写或同时留空"})
    lat = fields.Float(load_default=None, allow_none=True, error_messages=_FINITE,
                       validate=validate.Range(min=-90, max=90, error="纬度应在 -90 至 90 之间（是否把经纬度写反了？）"),
                       metadata={"description": "纬度（WGS84），与经度同时填写或同时留空"})

    # Also when another field is wrong, so a row's every problem is listed at once.
    @validates_schema(skip_on_field_errors=False)
    def _both_or_neither(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "lng" in data and "lat" in data and (data["lng"] is None) != (data["lat"] is None):
            missing = "lat" if data["lat"] is None else "lng"
            raise ValidationError({missing: ["经度和纬度应同时填写或同时留空"]})


class BuildingOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    address = fields.String()
    aliases = fields.List(fields.String())
    grid = fields.Function(lambda b: b.grid.code)
    grid_name = fields.Function(lambda b: b.grid.name)
    head = fields.Function(lambda b: b.head.ref if b.head else None, metadata={"description": "楼栋长的志愿者编号"})
    head_name = fields.Function(lambda b: b.head.name if b.head else None)
    households = fields.Integer()
    lng = fields.Float(allow_none=True)
    lat = fields.Float(allow_none=True)
    active = fields.Boolean()
    created_at = Timestamp()
    updated_at = Timestamp()


class BuildingListArgs(ListArgs):
    grid = fields.String(load_default=None, validate=CODE)


class GridListArgs(ListArgs):
    subdistrict = fields.String(load_default=None, validate=CODE, metadata={"description": "街道编码"})
    community = fields.String(load_default=None, validate=NAME)
    party_grid = fields.String(load_default=None, validate=CODE)


class ResourceListArgs(ListArgs):
    subdistrict = fields.String(load_default=None, validate=CODE, metadata={"description": "街道编码"})
    grid = fields.String(load_default=None, validate=CODE)
    service = Service(load_default=None)
    skill = fields.String(load_default=None, validate=validate.Length(min=1, max=40))


class VolunteerListArgs(ResourceListArgs):
    kind = fields.Enum(VolunteerKind, by_value=True, load_default=None)


class NeedListArgs(ListArgs):
    grid = fields.String(load_default=None, validate=CODE)
    service = Service(load_default=None)
    status = fields.Enum(NeedStatus, by_value=True, load_default=None)
    urgency = fields.Enum(Urgency, by_value=True, load_default=None)


class NeedExportArgs(NeedListArgs):
    contacts = fields.String(load_default="masked", validate=validate.OneOf(["masked", "full"]),
                             metadata={"description": "full：导出完整联系方式（仅协调员和管理员，须填 reason，逐条记入查看记录）"})
    reason = fields.String(load_default="", validate=validate.Length(max=200))

    @validates_schema
    def _reason_for_full(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("contacts") == "full" and len((data.get("reason") or "").strip()) < 2:
            raise ValidationError({"reason": ["导出完整联系方式须写明原因"]})


class SearchArgs(StrictSchema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=100))
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))
