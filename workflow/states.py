"""The one state machine of a need. Pure: no database, no flask.

    submitted ─▶ triage ─▶ submitted            (the classifier was unsure; a person sets the service)
    submitted ─▶ proposed ─▶ accepted ─▶ approved ─▶ in_service ─▶ done ─▶ closed
                    │  ▲          │                                  (resident confirms, or automatically)
          declined ─┘  └─ sent back / reassigned by the grid branch
    submitted ─▶ unmatched ─▶ escalated (grid council) ─▶ proposed
    cancelled by the resident; closed or cancelled ─▶ submitted when the resident reopens in time
"""
from __future__ import annotations

from dataclasses import dataclass

STATUSES: tuple[str, ...] = ("submitted", "triage", "proposed", "accepted", "approved", "in_service", "done",
                             "closed", "unmatched", "escalated", "cancelled")

STATUS_LABELS_ZH: dict[str, str] = {
    "submitted": "已提交", "triage": "待人工分类", "proposed": "已推荐", "accepted": "已接单",
    "approved": "支部已审核", "in_service": "服务中", "done": "已完成待确认", "closed": "已办结",
    "unmatched": "暂未匹配", "escalated": "已提交网格议事会", "cancelled": "已取消",
}

# Statuses in which the need is finished for the closure rate (办结率).
FINISHED: frozenset[str] = frozenset({"closed"})
# Statuses that no longer count as open.
ENDED: frozenset[str] = frozenset({"closed", "cancelled"})

SYSTEM = "system"


@dataclass(frozen=True)
class Action:
    name: str
    sources: tuple[str, ...]
    target: str
    roles: frozenset[str]
    label_zh: str


def _a(name: str, sources: tuple[str, ...], target: str, roles: set[str], label_zh: str) -> Action:
    return Action(name, sources, target, frozenset(roles), label_zh)


ACTIONS: dict[str, Action] = {a.name: a for a in (
    _a("triage", ("submitted",), "triage", {SYSTEM}, "转人工分类"),
    _a("classify", ("triage",), "submitted", {"coordinator", "admin"}, "人工分类"),
    _a("propose", ("submitted", "unmatched", "escalated"), "proposed", {SYSTEM, "coordinator", "admin"}, "推荐服务方"),
    _a("fail_match", ("submitted",), "unmatched", {SYSTEM}, "暂无合适服务方"),
    _a("accept", ("proposed",), "accepted", {"coordinator", "volunteer", "admin"}, "接受推荐"),
    # A decline moves on to the next best provider (proposed) or, with none left, to unmatched.
    _a("decline", ("proposed",), "proposed", {"coordinator", "volunteer", "admin"}, "婉拒推荐"),
    _a("approve", ("accepted",), "approved", {"reviewer", "admin"}, "支部审核通过"),
    _a("send_back", ("accepted",), "proposed", {"reviewer", "admin"}, "退回重新确认"),
    _a("reassign", ("proposed", "accepted"), "proposed", {"reviewer", "admin"}, "改派服务方"),
    _a("start", ("approved",), "in_service", {"volunteer", "coordinator", "admin"}, "开始服务"),
    _a("report_done", ("approved", "in_service"), "done", {"volunteer", "coordinator", "admin"}, "报告完成"),
    _a("confirm", ("done",), "closed", {"resident"}, "确认办结并评价"),
    _a("auto_close", ("done",), "closed", {SYSTEM}, "超时自动办结"),
    _a("cancel", ("submitted", "triage", "proposed", "accepted", "approved", "unmatched", "escalated"),
       "cancelled", {"resident", "admin"}, "撤销需求"),
    _a("reopen", ("closed", "cancelled"), "submitted", {"resident"}, "重新打开"),
    _a("escalate", ("unmatched",), "escalated", {SYSTEM, "coordinator", "reviewer", "admin"}, "提交网格议事会"),
)}


class IllegalTransition(Exception):
    def __init__(self, action: str, status: str) -> None:
        self.action, self.status = action, status
        self.allowed = allowed_actions(status)
        super().__init__(f"cannot {action} a need that is {status}")


class RoleNotAllowed(Exception):
    def __init__(self, action: str, role: str) -> None:
        self.action, self.role = action, role
        super().__init__(f"role {role} may not {action}")


def allowed_actions(status: str, role: str | None = None) -> list[str]:
    """The actions possible from ``status`` (for ``role`` when given), in a stable order."""
    return [a.name for a in ACTIONS.values() if status in a.sources and (role is None or role in a.roles)]


def check(action: str, status: str, role: str) -> Action:
    """The action, if ``role`` may take it from ``status``; raises otherwise."""
    spec = ACTIONS.get(action)
    if spec is None or status not in spec.sources:
        raise IllegalTransition(action, status)
    if role not in spec.roles:
        raise RoleNotAllowed(action, role)
    return spec
