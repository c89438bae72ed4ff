"""A need's story in plain sentences, from its audit trail, oldest first (ui.md: "3 月 2 日 09:14
志愿者张某已接单", not status codes). Residents read who serves them by surname (张某); staff read
the account and the recorded reason as well."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.vocab import ROLE_LABELS_ZH, SYSTEM, NeedStatus, ProposalStatus, VolunteerKind
from models import AuditEntry, Need, Proposal

S = NeedStatus


@dataclass(frozen=True)
class Event:
    at: datetime
    sentence: str
    detail: str = ""  # staff only: the recorded reason


def provider_label(proposal: Proposal | None, *, for_resident: bool) -> str:
    """How a provider is named: 志愿者张某 to the resident, the full name to staff."""
    if proposal is None:
        return "服务方"
    if proposal.volunteer is not None:
        v = proposal.volunteer
        if v.kind == VolunteerKind.ORGANIZATION:
            return v.name
        return f"志愿者{v.name[:1]}某" if for_resident else f"志愿者{v.name}"
    assert proposal.resource is not None
    return proposal.resource.name


def _sentence(entry: AuditEntry, provider: str, own: bool) -> str:
    to, came = entry.to_status, entry.from_status
    you = "您" if own else "居民"
    if to == S.SUBMITTED:
        if came == "":
            return f"{you}提交了需求" if entry.actor_role in ("resident", SYSTEM) else "工作人员代居民登记了需求"
        if came == S.TRIAGE:
            return "工作人员确定了需求的服务类型，开始匹配"
        return f"{you}重新打开了需求"
    return {
        S.TRIAGE: "系统暂时判断不了服务类型，转给工作人员人工分类",
        S.PROPOSED: ("原服务方未能接单，已改为推荐其他服务方" if came in (S.PROPOSED, S.ACCEPTED)
                     else "已为需求找到合适的服务方，等待对方确认"),
        S.ACCEPTED: f"{provider}已接单",
        S.APPROVED: "网格党支部已审核通过",
        S.IN_SERVICE: f"{provider}开始服务",
        S.DONE: f"{provider}报告服务已完成，等待{you}确认",
        S.CLOSED: ("超过确认期限，系统自动办结" if entry.actor_role == SYSTEM
                   else f"工作人员电话回访{you}后办结" if entry.actor_role != "resident"
                   else f"{you}确认办结并作了评价"),
        S.UNMATCHED: "附近暂时没有合适的服务方，工作人员会继续协调",
        S.ESCALATED: "已提交网格议事会商议解决",
        S.CANCELLED: f"{you}撤销了需求" if entry.actor_role == "resident" else "工作人员撤销了需求",
    }.get(S(to), ROLE_LABELS_ZH.get(entry.actor_role, "") + "更新了需求")


def tell(need: Need, entries: list[AuditEntry], *, for_resident: bool) -> list[Event]:
    """The story of ``need``: one event per audit entry, oldest first."""
    accepted = [p for p in need.proposals if p.status == ProposalStatus.ACCEPTED]
    provider = provider_label(accepted[-1] if accepted else need.current_proposal, for_resident=for_resident)
    events = []
    for entry in entries:
        detail = "" if for_resident else f"{entry.reason}（{_actor(entry)}）"
        events.append(Event(entry.at, _sentence(entry, provider, own=for_resident), detail))
    return events


def _actor(entry: AuditEntry) -> str:
    if entry.actor_role == SYSTEM or entry.actor is None:
        return "系统"
    return f"{ROLE_LABELS_ZH.get(entry.actor_role, entry.actor_role)} {entry.actor.display_name or entry.actor.username}"
