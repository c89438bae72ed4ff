"""The Open311 service list: the four services, and under each the subcategories its providers are known
for (the skill tags of ``matching.taxonomy``). A subcategory's code is its service and its place in the
service's tags (``market-03``: 开锁); a request posted to it is a need of that service, its text tagged
with the subcategory so the matcher reads it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.vocab import ENDED, SERVICE_LABELS_ZH, STATUS_LABELS_ZH, URGENCY_LABELS_ZH, NeedStatus, Service, Urgency
from matching.taxonomy import SKILLS_BY_SERVICE

SERVICE_DESCRIPTIONS_ZH: dict[str, str] = {
    Service.PUBLIC: "政府部门和街道的公共服务：社保医保、证照、救助、市政设施、纠纷调解等",
    Service.SOCIAL: "社会组织和社工提供的服务：心理、法律、照护、调解、青少年和长者服务等",
    Service.MARKET: "市场化的有偿服务：维修、家政、保洁、搬家、物业等",
    Service.VOLUNTEER: "志愿者的无偿帮助：陪诊、跑腿、探访、助老等",
}


@dataclass(frozen=True)
class Open311Service:
    code: str
    name: str
    description: str
    service: Service
    skill: str | None  # None: the service as a whole

    def to_dict(self) -> dict[str, Any]:
        return {"service_code": self.code, "service_name": self.name, "description": self.description,
                "metadata": True, "type": "realtime", "keywords": self.skill or SERVICE_LABELS_ZH[self.service],
                "group": SERVICE_LABELS_ZH[self.service]}


def _catalogue() -> tuple[Open311Service, ...]:
    out = []
    for service in Service:
        label = SERVICE_LABELS_ZH[service]
        out.append(Open311Service(service.value, label, SERVICE_DESCRIPTIONS_ZH[service], service, None))
        for n, skill in enumerate(SKILLS_BY_SERVICE[service], start=1):
            out.append(Open311Service(f"{service.value}-{n:02d}", skill, f"{label}：{skill}", service, skill))
    return tuple(out)


SERVICES: tuple[Open311Service, ...] = _catalogue()
BY_CODE: dict[str, Open311Service] = {s.code: s for s in SERVICES}


def service_of(code: str) -> Open311Service | None:
    return BY_CODE.get(code)


def codes_of_services(codes: list[str]) -> set[Service]:
    """The services a list of service codes names (a subcategory names its service)."""
    return {BY_CODE[c].service for c in codes if c in BY_CODE}


# The attributes a request may carry beyond the spec's fields (GET services/{code}, POST attribute[code]).
URGENCY_ATTRIBUTE: dict[str, Any] = {
    "variable": True, "code": "urgency", "datatype": "singlevaluelist", "required": False,
    "datatype_description": "紧急程度，默认 normal（一般）", "order": 1, "description": "紧急程度",
    "values": [{"key": u.value, "name": URGENCY_LABELS_ZH[u]} for u in Urgency],
}


def definition_of(service: Open311Service) -> dict[str, Any]:
    return {"service_code": service.code, "attributes": [URGENCY_ATTRIBUTE]}


# --- statuses ---------------------------------------------------------------------------------------
OPEN311_STATUSES = ("open", "closed")


def open311_status(status: NeedStatus) -> str:
    """``closed`` once nothing more happens (closed or cancelled), else ``open``."""
    return "closed" if status in ENDED else "open"


def statuses_for(open311: str) -> frozenset[NeedStatus]:
    return ENDED if open311 == "closed" else frozenset(NeedStatus) - ENDED


def status_notes(status: NeedStatus, reason: str = "") -> str:
    label = STATUS_LABELS_ZH.get(status, str(status))
    return f"{label}：{reason}" if reason else label


__all__ = ["SERVICES", "BY_CODE", "Open311Service", "service_of", "codes_of_services", "definition_of",
           "open311_status", "statuses_for", "status_notes", "OPEN311_STATUSES"]
