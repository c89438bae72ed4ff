"""Who may see and act on which need. One place for every boundary.

Residents see only their own needs; volunteers the needs proposed to them; coordinators act inside
their grids, Party grid or organisation; branch reviewers inside their Party grids; admins anywhere.
Outside one's scope a need does not exist (404), so ids cannot be probed.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, false, select, true

from errors import NotFound
from models import Grid, Need, PartyGrid, Proposal, User, Volunteer


def _provider_need_ids(volunteer_ids: Any) -> Any:
    return select(Proposal.need_id).where(Proposal.volunteer_id.in_(volunteer_ids))


def need_filter(user: User) -> Any:
    """A SQL condition on Need selecting what ``user`` may see."""
    codes = list(user.scope_codes or [])
    if user.role == "admin":
        return true()
    if user.role == "resident":
        return Need.resident_id == user.id
    if user.role == "volunteer":
        return Need.id.in_(_provider_need_ids([user.volunteer_id or -1]))
    if user.role == "reviewer" or (user.role == "coordinator" and user.scope_type == "party_grid"):
        return Need.grid_id.in_(select(Grid.id).join(Grid.party_grid).where(PartyGrid.code.in_(codes)))
    if user.role == "coordinator" and user.scope_type == "grid":
        return Need.grid_id.in_(select(Grid.id).where(Grid.code.in_(codes)))
    if user.role == "coordinator" and user.scope_type == "organization":
        return Need.id.in_(_provider_need_ids(select(Volunteer.id).where(Volunteer.ref.in_(codes))))
    return false()


def visible_needs(query: Select[Any], user: User) -> Select[Any]:
    return query.where(need_filter(user))


def can_see(session: Any, user: User, need: Need) -> bool:
    return bool(session.scalar(select(exists().where(Need.id == need.id, need_filter(user)))))


def get_visible_need(session: Any, user: User, need_id: int) -> Need:
    need = session.get(Need, need_id)
    if need is None or not can_see(session, user, need):
        raise NotFound(f"找不到编号为 {need_id} 的记录")
    return need


def works_on(session: Any, user: User, need: Need, *, visible: bool = False) -> bool:
    """Whether ``user`` is working this need (and so may see its contact details). ``visible``:
    the caller already knows the user may see it (a list filtered by :func:`need_filter`)."""
    if user.role == "resident":
        return need.resident_id == user.id
    if user.role == "volunteer":
        # Once declined or withdrawn the need stays visible to them, its contact does not.
        return any(p.volunteer_id == user.volunteer_id and p.status in ("proposed", "accepted")
                   for p in need.proposals)
    return visible or can_see(session, user, need)


def mask_phone(text: str) -> str:
    """138****8000 style; any run of 7+ digits keeps its first 3 and last 4."""
    import re
    return re.sub(r"(\d{3})\d{3,}(\d{4})", lambda m: m.group(1) + "****" + m.group(2), text)



def may_match(session: Any, user: User, grid: str | None, party_grid: str | None) -> bool:
    """Whether ``user`` may run the batch matcher on this scope (admins anywhere; coordinators only
    on a grid or Party grid of their own)."""
    if user.role == "admin":
        return True
    if user.role != "coordinator" or (grid is None and party_grid is None):
        return False
    codes = set(user.scope_codes or [])
    if user.scope_type == "grid":
        return party_grid is None and grid in codes
    if user.scope_type == "party_grid":
        if party_grid is not None:
            return party_grid in codes and grid is None
        pg = session.scalar(select(PartyGrid.code).join(Grid, Grid.party_grid_id == PartyGrid.id)
                            .where(Grid.code == grid))
        return pg in codes
    return False
