"""The domain's vocabulary: every fixed set of codes, named once.

Codes are English and stable: they are stored in the database (which refuses any other value, see
``models``), written in files and sent over the API. The Chinese labels are what users see. The
enums are ``StrEnum``s, so a member equals its code (``Role.ADMIN == "admin"``) and JSON, CSV and
SQL see plain strings.

Pure Python: the engine in ``matching/`` uses these too and must not pull in SQLAlchemy or Flask.
"""
from __future__ import annotations

from enum import StrEnum


class Service(StrEnum):
    """The four services (四项服务): who should deliver a need."""
    PUBLIC = "public"
    SOCIAL = "social"
    MARKET = "market"
    VOLUNTEER = "volunteer"


SERVICE_LABELS_ZH: dict[str, str] = {
    Service.PUBLIC: "公共服务", Service.SOCIAL: "社会服务", Service.MARKET: "市场服务", Service.VOLUNTEER: "志愿服务",
}


class Urgency(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


URGENCY_LABELS_ZH: dict[str, str] = {
    Urgency.LOW: "不急", Urgency.NORMAL: "一般", Urgency.HIGH: "较急", Urgency.URGENT: "紧急",
}


class Channel(StrEnum):
    """How a need reached the grid (需求来源)."""
    APP = "app"  # the resident, in the app
    HOTLINE = "hotline"  # the city's 12345 hotline, passed on to the grid
    PHONE = "phone"  # a call to the community or the grid worker
    VISIT = "visit"  # a Party member visiting the households of their responsibility field (党员责任田)
    BUILDING_HEAD = "building_head"  # the building head (楼栋长)
    SNAPSHOT = "snapshot"  # a street snapshot (随手拍)
    WALK_IN = "walk_in"  # at the community desk
    IMPORT = "import"  # a file import
    OPEN311 = "open311"  # a city tool, through the Open311 GeoReport v2 interface


# The channels a person chooses when taking a need down; ``import`` and ``open311`` are set by the system.
RECORDED_CHANNELS: tuple[Channel, ...] = (Channel.PHONE, Channel.VISIT, Channel.WALK_IN, Channel.BUILDING_HEAD,
                                          Channel.SNAPSHOT, Channel.HOTLINE, Channel.APP)

CHANNEL_LABELS_ZH: dict[str, str] = {
    Channel.APP: "居民自助提交", Channel.HOTLINE: "12345 热线", Channel.PHONE: "电话", Channel.VISIT: "党员走访",
    Channel.BUILDING_HEAD: "楼栋长上报", Channel.SNAPSHOT: "随手拍", Channel.WALK_IN: "窗口来访",
    Channel.IMPORT: "文件导入", Channel.OPEN311: "城市平台（Open311）",
}


class NeedStatus(StrEnum):
    """Where a need is in its life; the transitions are ``workflow.states``."""
    SUBMITTED = "submitted"
    TRIAGE = "triage"
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    APPROVED = "approved"
    IN_SERVICE = "in_service"
    DONE = "done"
    CLOSED = "closed"
    UNMATCHED = "unmatched"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"


STATUS_LABELS_ZH: dict[str, str] = {
    NeedStatus.SUBMITTED: "已提交", NeedStatus.TRIAGE: "待人工分类", NeedStatus.PROPOSED: "已推荐",
    NeedStatus.ACCEPTED: "已接单", NeedStatus.APPROVED: "支部已审核", NeedStatus.IN_SERVICE: "服务中",
    NeedStatus.DONE: "已完成待确认", NeedStatus.CLOSED: "已办结", NeedStatus.UNMATCHED: "暂未匹配",
    NeedStatus.ESCALATED: "已提交网格议事会", NeedStatus.CANCELLED: "已取消",
}

# Finished for the closure rate (办结率).
FINISHED: frozenset[NeedStatus] = frozenset({NeedStatus.CLOSED})
# No longer open: nothing more happens unless the resident reopens it.
ENDED: frozenset[NeedStatus] = frozenset({NeedStatus.CLOSED, NeedStatus.CANCELLED})
OPEN: frozenset[NeedStatus] = frozenset(NeedStatus) - ENDED
# Waiting for a provider: the batch matcher picks these up, and past the match target the SLA
# job sends them to the grid council.
WAITING_FOR_MATCH: frozenset[NeedStatus] = frozenset({NeedStatus.SUBMITTED, NeedStatus.UNMATCHED})
# What the batch matcher looks at: those waiting for a provider, and those waiting for triage (only
# a strong skill match may be proposed for them, for a coordinator to confirm).
MATCHABLE: frozenset[NeedStatus] = WAITING_FOR_MATCH | {NeedStatus.TRIAGE}
# The accepted provider is serving the need. Accepting a proposal counts these against capacity.
SERVING: frozenset[NeedStatus] = frozenset({NeedStatus.ACCEPTED, NeedStatus.APPROVED, NeedStatus.IN_SERVICE})
# A live proposal holds its provider's capacity: serving, or proposed and not yet answered. The
# matcher plans with these, so two batches never promise the same slot twice.
HOLDING_CAPACITY: frozenset[NeedStatus] = SERVING | {NeedStatus.PROPOSED}
# The provider's work is over (for its reliability).
COMPLETED: frozenset[NeedStatus] = frozenset({NeedStatus.DONE, NeedStatus.CLOSED})
# A resident may still edit their need: nobody has been asked to serve it yet.
RESIDENT_MAY_EDIT: frozenset[NeedStatus] = frozenset({NeedStatus.SUBMITTED, NeedStatus.TRIAGE})


class Action(StrEnum):
    """What moves a need from one status to another (``workflow.states``: from where to where;
    ``access.policy``: who may)."""
    TRIAGE = "triage"
    CLASSIFY = "classify"
    PROPOSE = "propose"
    FAIL_MATCH = "fail_match"
    ACCEPT = "accept"
    DECLINE = "decline"
    APPROVE = "approve"
    SEND_BACK = "send_back"
    REASSIGN = "reassign"
    START = "start"
    REPORT_DONE = "report_done"
    CONFIRM = "confirm"
    AUTO_CLOSE = "auto_close"
    RETURN_VISIT = "return_visit"  # 回访: a coordinator reaches the resident who has not confirmed
    CANCEL = "cancel"
    REOPEN = "reopen"
    ESCALATE = "escalate"


class ProposalStatus(StrEnum):
    PROPOSED = "proposed"  # waiting for the provider's (or a coordinator's) answer
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # replaced by another provider, or the need was cancelled


# The need's current provider, asked or serving.
LIVE_PROPOSAL: frozenset[ProposalStatus] = frozenset({ProposalStatus.PROPOSED, ProposalStatus.ACCEPTED})
# Not to be proposed again for this need.
SET_ASIDE: frozenset[ProposalStatus] = frozenset({ProposalStatus.DECLINED, ProposalStatus.WITHDRAWN})


class Role(StrEnum):
    RESIDENT = "resident"
    VOLUNTEER = "volunteer"
    COORDINATOR = "coordinator"
    REVIEWER = "reviewer"  # a grid Party branch (网格党支部)
    ADMIN = "admin"  # subdistrict staff


ROLE_LABELS_ZH: dict[str, str] = {
    Role.RESIDENT: "居民", Role.VOLUNTEER: "志愿者", Role.COORDINATOR: "志愿服务协调员",
    Role.REVIEWER: "网格党支部", Role.ADMIN: "街道管理员",
}
STAFF: frozenset[Role] = frozenset({Role.COORDINATOR, Role.REVIEWER, Role.ADMIN})
# Who arranges the work (and so sees volunteers' phone numbers).
ARRANGERS: frozenset[Role] = frozenset({Role.COORDINATOR, Role.ADMIN})
# The actor of what no person did (the matcher, the SLA job): in the audit trail and the state machine.
SYSTEM = "system"
ACTORS: tuple[str, ...] = (*Role, SYSTEM)


class ScopeType(StrEnum):
    """What a staff account's scope names."""
    GRID = "grid"
    PARTY_GRID = "party_grid"
    ORGANIZATION = "organization"  # an organisation of the social volunteer pool


SCOPE_LABELS_ZH: dict[str, str] = {ScopeType.GRID: "网格", ScopeType.PARTY_GRID: "党建网格",
                                   ScopeType.ORGANIZATION: "组织"}


class ProviderKind(StrEnum):
    RESOURCE = "resource"  # of the government resource pool
    VOLUNTEER = "volunteer"  # of the social volunteer pool (a person or an organisation)


PROVIDER_KIND_LABELS_ZH: dict[str, str] = {ProviderKind.RESOURCE: "政府资源", ProviderKind.VOLUNTEER: "志愿者"}


class VolunteerKind(StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"


VOLUNTEER_KIND_LABELS_ZH: dict[str, str] = {VolunteerKind.PERSON: "个人", VolunteerKind.ORGANIZATION: "组织"}


class Force(StrEnum):
    """The five forces (五大力量) that supply the pools."""
    GOVERNANCE = "governance"
    LIAISON = "liaison"
    COBUILDING = "cobuilding"
    PROFESSIONAL = "professional"
    SELFGOV = "selfgov"


FORCE_LABELS_ZH: dict[str, str] = {
    Force.GOVERNANCE: "治理力量", Force.LIAISON: "联络力量", Force.COBUILDING: "共建力量",
    Force.PROFESSIONAL: "专业力量", Force.SELFGOV: "自治力量",
}
