"""Who may see and do what: the one place for every boundary.

- **What each role sees.** Residents their own needs; volunteers the needs ever proposed to them;
  coordinators the needs of their grids, their Party grid or, scoped to an organisation, the needs
  proposed to it; branch reviewers the needs of their Party grids; admins everything of their
  subdistrict (街道), and the city's admins (an admin account with no subdistrict) everything.
  A subdistrict's staff see nothing of another's: its needs, pools, accounts, reports, agendas. Outside one's
  scope a need does not exist (404), so ids cannot be probed. The rule is written twice, as a SQL
  condition for lists (:func:`need_filter`) and as a predicate on one need's facts for notices
  (:func:`sees`); a test holds the two to the same answers.
- **What each role may do.** Which roles take each action of the workflow (:data:`ACTION_ROLES`),
  that a volunteer answers only a proposal made to them, who edits a need, runs the matcher, reads
  a council agenda.
- **What is masked.** Contact details for anyone not working the need; volunteers' phones for
  anyone who does not arrange the work.
- **Whom a transition notifies** (:data:`NEXT_ACTORS`, :func:`recipients`).

Which roles may call a route at all is declared on the route (``web.routes``), enforced by
``access.guard``.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, false, or_, select, true
from sqlalchemy.orm import Session, joinedload

from core.errors import NotFound
from core.vocab import (
    ARRANGERS,
    ENDED,
    LIVE_PROPOSAL,
    RESIDENT_MAY_EDIT,
    STAFF,
    SYSTEM,
    Action,
    NeedStatus,
    Role,
    ScopeType,
)
from models import Building, FieldBuilding, Grid, Need, PartyGrid, Proposal, User, Volunteer

# --- what each role sees ------------------------------------------------------------------------


def city_wide(user: User) -> bool:
    """The city's admins (市级): an admin account that belongs to no subdistrict."""
    return user.role == Role.ADMIN and user.subdistrict_id is None


def in_subdistrict(user: User, subdistrict_id: int | None) -> bool:
    """Whether the records of ``subdistrict_id`` are within ``user``'s reach as staff: the city's admins
    reach every subdistrict's, a subdistrict's staff their own."""
    return city_wide(user) or (user.subdistrict_id is not None and user.subdistrict_id == subdistrict_id)


def _grids_of(user: User) -> Select[Any]:
    return select(Grid.id).where(Grid.subdistrict_id == user.subdistrict_id)


def _scoped_to_party_grids(user: User) -> bool:
    # A reviewer's codes are always Party grids, whatever scope type the account was given.
    return user.role == Role.REVIEWER or (user.role == Role.COORDINATOR and user.scope_type == ScopeType.PARTY_GRID)


def need_filter(user: User) -> ColumnElement[bool]:
    """A SQL condition on Need selecting what ``user`` may see."""
    codes = list(user.scope_codes or [])
    if user.role == Role.ADMIN:
        return true() if city_wide(user) else Need.grid_id.in_(_grids_of(user))
    if user.role == Role.RESIDENT:
        return Need.resident_id == user.id
    if user.role == Role.VOLUNTEER:
        return Need.id.in_(select(Proposal.need_id).where(Proposal.volunteer_id == (user.volunteer_id or -1)))
    if _scoped_to_party_grids(user):
        return Need.grid_id.in_(select(Grid.id).join(Grid.party_grid).where(PartyGrid.code.in_(codes)))
    if user.role == Role.COORDINATOR and user.scope_type == ScopeType.GRID:
        return Need.grid_id.in_(select(Grid.id).where(Grid.code.in_(codes)))
    if user.role == Role.COORDINATOR and user.scope_type == ScopeType.ORGANIZATION:
        return Need.id.in_(select(Proposal.need_id).join(Volunteer, Volunteer.id == Proposal.volunteer_id)
                           .where(Volunteer.ref.in_(codes)))
    return false()


@dataclass(frozen=True)
class NeedFacts:
    """What the boundaries look at, of one need."""
    resident_id: int | None
    subdistrict_id: int
    grid: str
    party_grid: str | None
    proposed_volunteers: frozenset[int]  # volunteers (and organisations) ever proposed for it
    proposed_refs: frozenset[str]  # their refs


def need_facts(session: Session, need: Need, *, proposals: bool = True) -> NeedFacts:
    return needs_facts(session, [need], proposals=proposals)[need.id]


def needs_facts(session: Session, needs: list[Need], *, proposals: bool = True) -> dict[int, NeedFacts]:
    """:class:`NeedFacts` of many needs at once: one flush (a proposal just made counts) and one query.
    ``proposals``: read who was proposed (only volunteers and organisation coordinators look at it)."""
    if proposals or any(n.id is None for n in needs):
        session.flush()  # a need just made gets its id; a proposal just made counts
    proposed: dict[int, list[tuple[int, str]]] = {}
    ids = [n.id for n in needs] if proposals else []
    for start in range(0, len(ids), FACTS_CHUNK):
        for need_id, volunteer_id, ref in session.execute(
                select(Proposal.need_id, Volunteer.id, Volunteer.ref).join(Volunteer, Volunteer.id == Proposal.volunteer_id)
                .where(Proposal.need_id.in_(ids[start:start + FACTS_CHUNK]))):
            proposed.setdefault(need_id, []).append((volunteer_id, ref))
    out = {}
    for need in needs:
        party, mine = need.grid.party_grid, proposed.get(need.id, [])
        out[need.id] = NeedFacts(resident_id=need.resident_id, subdistrict_id=need.grid.subdistrict_id,
                                 grid=need.grid.code, party_grid=party.code if party else None,
                                 proposed_volunteers=frozenset(i for i, _ in mine),
                                 proposed_refs=frozenset(r for _, r in mine))
    return out


FACTS_CHUNK = 500  # needs per IN (...): bound variables are limited


def sees(user: User, facts: NeedFacts) -> bool:
    """:func:`need_filter`, for one need whose facts are known."""
    codes = set(user.scope_codes or [])
    if user.role == Role.ADMIN:
        return in_subdistrict(user, facts.subdistrict_id)
    if user.role == Role.RESIDENT:
        return facts.resident_id == user.id
    if user.role == Role.VOLUNTEER:
        return user.volunteer_id in facts.proposed_volunteers
    if _scoped_to_party_grids(user):
        return facts.party_grid in codes
    if user.role == Role.COORDINATOR and user.scope_type == ScopeType.GRID:
        return facts.grid in codes
    if user.role == Role.COORDINATOR and user.scope_type == ScopeType.ORGANIZATION:
        return bool(facts.proposed_refs & codes)
    return False


def can_see(session: Session, user: User, need: Need) -> bool:
    return bool(session.scalar(select(exists().where(Need.id == need.id, need_filter(user)))))


def get_visible_need(session: Session, user: User, need_id: int) -> Need:
    """The need, if ``user`` may see it; otherwise it does not exist for them (404)."""
    # Its grid and proposals in the same query: whoever shows or moves the need reads them next.
    need = session.get(Need, need_id, options=[joinedload(Need.grid), joinedload(Need.proposals)])
    # A deactivated (DELETEd) need is gone from the API; its row stays for the reports.
    if need is None or not need.active or not can_see(session, user, need):
        raise NotFound(f"找不到编号为 {need_id} 的记录")
    return need


def grid_ids_in_scope(session: Session, user: User) -> list[int] | None:
    """The grids whose figures ``user`` sees (the dashboard, scoped reports): ``None`` for all (the city's
    admins); a subdistrict admin's subdistrict's grids;
    a coordinator's or reviewer's grids, or the grids of their Party grids (deactivated ones too, since
    their needs stay in the figures); none for anyone else, including a coordinator scoped to an
    organisation, whose needs are not a set of grids."""
    codes = list(user.scope_codes or [])
    if city_wide(user):
        return None
    if user.role == Role.ADMIN:
        query = _grids_of(user)
    elif _scoped_to_party_grids(user):
        query = select(Grid.id).join(Grid.party_grid).where(PartyGrid.code.in_(codes))
    elif user.role == Role.COORDINATOR and user.scope_type == ScopeType.GRID:
        query = select(Grid.id).where(Grid.code.in_(codes))
    else:
        return []
    return list(session.scalars(query.order_by(Grid.id)))


def report_subdistrict(user: User) -> int | None:
    """Whose figures the reports count for ``user`` (everyone sees how the grids are doing): their own
    subdistrict's; the whole city's for the city's admins and for a resident who belongs to none yet."""
    return None if city_wide(user) else user.subdistrict_id


# --- what is masked -----------------------------------------------------------------------------

# A dash or a space may sit inside a number (0755-12345678, 138 0013 8000), not around its last four digits.
_PHONE_DIGITS = re.compile(r"(\d{3})[\d\- ]{3,}(\d{4})")


def mask_phone(text: str) -> str:
    """138****8000 style: any run of 10+ characters of digits, dashes and spaces, starting with three digits
    and ending with four, keeps those and hides the rest."""
    return _PHONE_DIGITS.sub(lambda m: m.group(1) + "****" + m.group(2), text)


def sees_contact(session: Session, user: User, need: Need, *, visible: bool = False) -> bool:
    """Whether ``user`` sees the need's contact details unmasked without asking: its resident, and the volunteer
    asked or serving now, who must call. Staff see them masked and reveal them with a reason (an explicit act,
    recorded: :func:`may_reveal_contact`). ``visible``: kept for callers that know the need is visible."""
    if user.role == Role.RESIDENT:
        return need.resident_id == user.id
    if user.role == Role.VOLUNTEER:
        # Once declined or withdrawn the need stays visible to them; its contact does not.
        return any(p.volunteer_id == user.volunteer_id and p.status in LIVE_PROPOSAL for p in need.proposals)
    return False


def may_reveal_contact(session: Session, user: User, need: Need) -> bool:
    """Staff who may see the need may reveal its masked contact, giving a reason (the read audit keeps it)."""
    return user.role in STAFF and can_see(session, user, need)


def sees_volunteer_phones(user: User) -> bool:
    """Coordinators and admins arrange the work; branch reviewers see who serves, not how to reach them."""
    return user.role in ARRANGERS


# --- what each role may do ----------------------------------------------------------------------

_COORD, _REVIEW, _VOL, _RES, _ADMIN = Role.COORDINATOR, Role.REVIEWER, Role.VOLUNTEER, Role.RESIDENT, Role.ADMIN

# Who takes each action of the workflow (the state machine, workflow.states, says from which
# statuses). SYSTEM is the matcher and the scheduled jobs.
ACTION_ROLES: Mapping[Action, frozenset[str]] = {
    Action.TRIAGE: frozenset({SYSTEM}),
    Action.CLASSIFY: frozenset({_COORD, _ADMIN}),
    Action.PROPOSE: frozenset({SYSTEM, _COORD, _ADMIN}),
    Action.FAIL_MATCH: frozenset({SYSTEM}),
    Action.ACCEPT: frozenset({_COORD, _VOL, _ADMIN}),
    Action.DECLINE: frozenset({_COORD, _VOL, _ADMIN}),
    Action.APPROVE: frozenset({_REVIEW, _ADMIN}),
    Action.SEND_BACK: frozenset({_REVIEW, _ADMIN}),
    Action.REASSIGN: frozenset({_REVIEW, _ADMIN}),
    Action.START: frozenset({_VOL, _COORD, _ADMIN}),
    Action.REPORT_DONE: frozenset({_VOL, _COORD, _ADMIN}),
    Action.CONFIRM: frozenset({_RES}),
    Action.AUTO_CLOSE: frozenset({SYSTEM}),
    Action.RETURN_VISIT: frozenset({_COORD, _ADMIN}),
    Action.CANCEL: frozenset({_RES, _ADMIN}),
    Action.REOPEN: frozenset({_RES}),
    Action.ESCALATE: frozenset({SYSTEM, _COORD, _REVIEW, _ADMIN}),
}
# Actions a volunteer takes as the provider of the need's current proposal.
PROVIDER_ACTIONS: frozenset[Action] = frozenset({Action.ACCEPT, Action.DECLINE, Action.START, Action.REPORT_DONE})


def may_take(actor_role: str, action: Action) -> bool:
    """Whether an actor of this role (or SYSTEM) may take ``action`` at all."""
    return actor_role in ACTION_ROLES[action]


def actions_for(actor_role: str, actions: Iterable[Action]) -> list[Action]:
    return [a for a in actions if may_take(actor_role, a)]


def may_answer(user: User | None, action: Action, current: Proposal | None) -> bool:
    """A volunteer sees every need once proposed to them; only the current proposal is theirs to
    answer, and not before a coordinator confirmed it when it waits for that (review_required)."""
    if user is None or user.role != Role.VOLUNTEER or action not in PROVIDER_ACTIONS:
        return True
    return (current is not None and current.volunteer_id is not None and current.volunteer_id == user.volunteer_id
            and not current.review_required)


def may_edit_need(user: User, need: Need) -> bool:
    """Staff who arrange the work edit any need they see; a resident edits their own until it is matched."""
    if user.role in ARRANGERS:
        return True
    return user.role == Role.RESIDENT and need.resident_id == user.id and need.status in RESIDENT_MAY_EDIT


def may_place_in_grid(session: Session, user: User, grid: str | None) -> bool:
    """Whether staff may put something (a need taken for a resident, a volunteer) in ``grid``:
    admins anywhere in their subdistrict; coordinators only inside their grids or Party grid."""
    if user.role == Role.ADMIN:
        # No grid: what is placed lands in their own subdistrict anyway.
        return city_wide(user) or grid is None or session.scalar(
            select(Grid.subdistrict_id).where(Grid.code == grid)) == user.subdistrict_id
    if user.role != Role.COORDINATOR or grid is None:
        return False
    codes = set(user.scope_codes or [])
    if user.scope_type == ScopeType.GRID:
        return grid in codes
    if user.scope_type == ScopeType.PARTY_GRID:
        return session.scalar(select(PartyGrid.code).join(Grid, Grid.party_grid_id == PartyGrid.id)
                              .where(Grid.code == grid)) in codes
    return False


def may_manage_field(session: Session, user: User, grid: Grid) -> bool:
    """Whether staff may arrange Party members' responsibility fields (党员责任田) and log visits in ``grid``:
    admins anywhere, coordinators in their grids, the grid Party branch in its Party grids."""
    if user.role == Role.REVIEWER:
        return grid.party_grid is not None and grid.party_grid.code in (user.scope_codes or [])
    return may_place_in_grid(session, user, grid.code)


def own_buildings(session: Session, user: User) -> list[Building]:
    """The buildings a volunteer account answers for: those it heads (楼栋长) and those of its Party member's
    responsibility field (党员责任田). Their residents' needs it may take down."""
    if user.role != Role.VOLUNTEER or user.volunteer_id is None:
        return []
    in_field = select(FieldBuilding.building_id).where(FieldBuilding.member_id == user.volunteer_id)
    return list(session.scalars(select(Building).where(
        Building.active.is_(True), or_(Building.head_id == user.volunteer_id, Building.id.in_(in_field)))
        .order_by(Building.code)))


def may_manage_volunteer(session: Session, user: User, volunteer: Volunteer) -> bool:
    """Admins manage every entry of the volunteer pool; a coordinator those of their grids or Party
    grid, or, scoped to an organisation, that organisation's own entry."""
    if user.role == Role.ADMIN:
        return in_subdistrict(user, volunteer.subdistrict_id)
    if user.role == Role.COORDINATOR and user.scope_type == ScopeType.ORGANIZATION:
        return volunteer.ref in set(user.scope_codes or [])
    return volunteer.grid is not None and may_place_in_grid(session, user, volunteer.grid.code)


def may_add_photo(user: User, need: Need) -> bool:
    """Who adds a photo to a need they see: its resident, and staff who arrange the work, while it is open."""
    if need.status in ENDED:
        return False
    return user.role in ARRANGERS or (user.role == Role.RESIDENT and need.resident_id == user.id)


def may_set_need_ref(user: User) -> bool:
    """Only admins name a need's ref themselves (a ref that is taken answers 409, which tells
    whether it exists: admins see every need anyway)."""
    return user.role == Role.ADMIN


def may_match(session: Session, user: User, grid: str | None, party_grid: str | None) -> bool:
    """Whether ``user`` may run the batch matcher on this scope (admins anywhere in their subdistrict: with
    no grid named, on the whole of it; coordinators only on a grid or Party grid of their own)."""
    if user.role == Role.ADMIN:
        if grid is not None:
            return may_place_in_grid(session, user, grid)
        if party_grid is not None:
            return in_subdistrict(user, session.scalar(select(PartyGrid.subdistrict_id)
                                                       .where(PartyGrid.code == party_grid)))
        return True
    if user.role != Role.COORDINATOR or (grid is None and party_grid is None):
        return False
    codes = set(user.scope_codes or [])
    if user.scope_type == ScopeType.GRID:
        return party_grid is None and grid in codes
    if user.scope_type == ScopeType.PARTY_GRID:
        if party_grid is not None:
            return party_grid in codes and grid is None
        pg = session.scalar(select(PartyGrid.code).join(Grid, Grid.party_grid_id == PartyGrid.id)
                            .where(Grid.code == grid))
        return pg in codes
    return False


def may_manage_account(actor: User, account: User) -> bool:
    """Admins change others' roles and deactivate others' accounts of their subdistrict, never their own: the
    admin who acts always remains one."""
    return actor.role == Role.ADMIN and actor.id != account.id and in_subdistrict(actor, account.subdistrict_id)


def may_see_agenda(session: Session, user: User, party_grid_code: str) -> bool:
    """A council agenda names needs: admins of its subdistrict; the Party grid's branch reviewers; its
    coordinators."""
    if user.role == Role.ADMIN:
        return in_subdistrict(user, session.scalar(select(PartyGrid.subdistrict_id)
                                                   .where(PartyGrid.code == party_grid_code)))
    return _scoped_to_party_grids(user) and party_grid_code in set(user.scope_codes or [])


# --- whom a transition notifies -----------------------------------------------------------------

PROVIDER = "provider"  # the volunteer of the need's current proposal
# Who acts next once a need reaches a status: they are told.
NEXT_ACTORS: Mapping[NeedStatus, tuple[str, ...]] = {
    NeedStatus.TRIAGE: (_COORD,),
    NeedStatus.SUBMITTED: (_COORD,),
    NeedStatus.PROPOSED: (_COORD, PROVIDER),
    NeedStatus.ACCEPTED: (_REVIEW,),
    NeedStatus.APPROVED: (PROVIDER, _RES),
    NeedStatus.IN_SERVICE: (_RES,),
    NeedStatus.DONE: (_RES,),
    NeedStatus.CLOSED: (PROVIDER,),
    NeedStatus.UNMATCHED: (_COORD, _REVIEW),
    NeedStatus.ESCALATED: (_REVIEW,),
    NeedStatus.CANCELLED: (PROVIDER,),
}


def staff_who_see(session: Session, needs: list[Need], roles: Iterable[Role],
                  staff: Iterable[User] | None = None) -> dict[int, list[User]]:
    """Need id → the active staff of ``roles`` who may see it (the same rule as the lists). ``staff``:
    the active accounts already loaded (a caller telling many needs at once loads them once)."""
    roles = list(roles)
    if not needs or not roles:
        return {n.id: [] for n in needs}
    if staff is None:
        staff = session.scalars(select(User).where(User.role.in_(roles), User.active.is_(True)).order_by(User.id))
    staff = [u for u in staff if u.role in roles and u.active]
    if not staff:
        return {n.id: [] for n in needs}
    # Only a coordinator of an organisation sees a need by who was proposed for it: the others need
    # no query of the proposals (a transition notifies at every move).
    by_proposals = any(u.role == Role.COORDINATOR and u.scope_type == ScopeType.ORGANIZATION for u in staff)
    facts = needs_facts(session, needs, proposals=by_proposals)
    return {need.id: [u for u in staff if sees(u, facts[need.id])] for need in needs}


def recipients(session: Session, need: Need, status: NeedStatus,
               staff: Iterable[User] | None = None) -> list[User]:
    """Whoever must act next on ``need`` now that it is ``status``, each once, by id (``staff``: the
    active staff accounts, when the caller has them loaded)."""
    return recipients_of_many(session, [(need, status)], staff)[need.id]


def recipients_of_many(session: Session, moves: list[tuple[Need, NeedStatus]],
                       staff: Iterable[User] | None = None) -> dict[int, list[User]]:
    """:func:`recipients` of many needs at once (a batch's outcomes): a few queries in all, not a few per need."""
    if not moves:
        return {}
    staff = list(staff) if staff is not None else None
    users: dict[int, dict[int, User]] = {need.id: {} for need, _ in moves}
    for roles in {tuple(r for r in NEXT_ACTORS.get(status, ()) if r in (_COORD, _REVIEW)) for _, status in moves}:
        group = [need for need, status in moves
                 if tuple(r for r in NEXT_ACTORS.get(status, ()) if r in (_COORD, _REVIEW)) == roles]
        if roles:
            for need_id, seen_by in staff_who_see(session, group, [Role(r) for r in roles], staff).items():
                users[need_id].update((u.id, u) for u in seen_by)
    residents = {n.resident_id for n, s in moves if _RES in NEXT_ACTORS.get(s, ()) and n.resident_id}
    found = {u.id: u for u in session.scalars(select(User).where(User.id.in_(residents), User.active.is_(True)))
             } if residents else {}
    # A proposal waiting for a coordinator's confirmation is not the provider's to hear of yet.
    providing = {n.id: {p.volunteer_id for p in n.proposals
                        if p.volunteer_id and p.status in LIVE_PROPOSAL and not p.review_required}
                 for n, s in moves if PROVIDER in NEXT_ACTORS.get(s, ())}
    wanted = set().union(*providing.values()) if providing else set()
    accounts: dict[int, list[User]] = {}
    if wanted:
        for user in session.scalars(select(User).where(User.volunteer_id.in_(wanted), User.active.is_(True))):
            accounts.setdefault(user.volunteer_id or 0, []).append(user)
    for need, status in moves:
        if _RES in NEXT_ACTORS.get(status, ()) and need.resident_id in found:
            users[need.id][need.resident_id] = found[need.resident_id]
        for volunteer_id in providing.get(need.id, ()):
            users[need.id].update((u.id, u) for u in accounts.get(volunteer_id, []))
    return {need_id: [chosen[k] for k in sorted(chosen)] for need_id, chosen in users.items()}


def describe(user: User | None) -> str:
    """How logs name an actor."""
    return SYSTEM if user is None else f"{user.username}({user.role}#{user.id})"


__all__ = [
    "ACTION_ROLES", "NEXT_ACTORS", "PROVIDER", "PROVIDER_ACTIONS", "NeedFacts", "actions_for", "can_see", "city_wide",
    "describe", "in_subdistrict",
    "get_visible_need", "mask_phone", "may_add_photo", "may_answer", "may_edit_need", "may_manage_account", "may_match",
    "may_see_agenda", "may_take",
    "may_reveal_contact", "need_facts", "need_filter", "needs_facts", "recipients", "recipients_of_many", "sees", "sees_contact", "sees_volunteer_phones",
    "staff_who_see",
]
