"""Who may see and do what: the one place for every boundary.

- **What each role sees.** Residents their own needs; volunteers the needs ever proposed to them;
  coordinators the needs of their grids, their Party grid or, scoped to an organisation, the needs
  proposed to it; branch reviewers the needs of their Party grids; admins everything. Outside one's
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

from sqlalchemy import ColumnElement, exists, false, or_, select, true
from sqlalchemy.orm import Session

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


def _scoped_to_party_grids(user: User) -> bool:
    # A reviewer's codes are always Party grids, whatever scope type the account was given.
    return user.role == Role.REVIEWER or (user.role == Role.COORDINATOR and user.scope_type == ScopeType.PARTY_GRID)


def need_filter(user: User) -> ColumnElement[bool]:
    """A SQL condition on Need selecting what ``user`` may see."""
    codes = list(user.scope_codes or [])
    if user.role == Role.ADMIN:
        return true()
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
    grid: str
    party_grid: str | None
    proposed_volunteers: frozenset[int]  # volunteers (and organisations) ever proposed for it
    proposed_refs: frozenset[str]  # their refs


def need_facts(session: Session, need: Need, *, proposals: bool = True) -> NeedFacts:
    """``proposals``: read who was proposed (only volunteers and organisation coordinators look at it)."""
    proposed: list[tuple[int, str]] = []
    if need.id is None:
        session.flush()  # a need just made gets its id
    if proposals:
        session.flush()  # a proposal just made counts
        proposed = [(i, r) for i, r in session.execute(select(Volunteer.id, Volunteer.ref).join(
            Proposal, Proposal.volunteer_id == Volunteer.id).where(Proposal.need_id == need.id))]
    party = need.grid.party_grid
    return NeedFacts(resident_id=need.resident_id, grid=need.grid.code, party_grid=party.code if party else None,
                     proposed_volunteers=frozenset(i for i, _ in proposed),
                     proposed_refs=frozenset(r for _, r in proposed))


def sees(user: User, facts: NeedFacts) -> bool:
    """:func:`need_filter`, for one need whose facts are known."""
    codes = set(user.scope_codes or [])
    if user.role == Role.ADMIN:
        return True
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
    need = session.get(Need, need_id)
    # A deactivated (DELETEd) need is gone from the API; its row stays for the reports.
    if need is None or not need.active or not can_see(session, user, need):
        raise NotFound(f"找不到编号为 {need_id} 的记录")
    return need


def grid_ids_in_scope(session: Session, user: User) -> list[int] | None:
    """The grids whose figures ``user`` sees (the dashboard, scoped reports): ``None`` for all (admins);
    a coordinator's or reviewer's grids, or the grids of their Party grids (deactivated ones too, since
    their needs stay in the figures); none for anyone else, including a coordinator scoped to an
    organisation, whose needs are not a set of grids."""
    codes = list(user.scope_codes or [])
    if user.role == Role.ADMIN:
        return None
    if _scoped_to_party_grids(user):
        query = select(Grid.id).join(Grid.party_grid).where(PartyGrid.code.in_(codes))
    elif user.role == Role.COORDINATOR and user.scope_type == ScopeType.GRID:
        query = select(Grid.id).where(Grid.code.in_(codes))
    else:
        return []
    return list(session.scalars(query.order_by(Grid.id)))


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
    admins anywhere; coordinators only inside their grids or Party grid."""
    if user.role == Role.ADMIN:
        return True
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
        return True
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
    """Whether ``user`` may run the batch matcher on this scope (admins anywhere; coordinators only
    on a grid or Party grid of their own)."""
    if user.role == Role.ADMIN:
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
    """Admins change others' roles and deactivate others' accounts, never their own: the admin who acts
    always remains one."""
    return actor.role == Role.ADMIN and actor.id != account.id


def may_see_agenda(user: User, party_grid_code: str) -> bool:
    """A council agenda names needs: admins; the Party grid's branch reviewers; its coordinators."""
    if user.role == Role.ADMIN:
        return True
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
    out = {}
    for need in needs:
        facts = need_facts(session, need, proposals=by_proposals)
        out[need.id] = [u for u in staff if sees(u, facts)]
    return out


def recipients(session: Session, need: Need, status: NeedStatus,
               staff: Iterable[User] | None = None) -> list[User]:
    """Whoever must act next on ``need`` now that it is ``status``, each once, by id (``staff``: the
    active staff accounts, when the caller has them loaded)."""
    wanted = NEXT_ACTORS.get(status, ())
    users: dict[int, User] = {}
    staff_roles = [Role(r) for r in wanted if r in (_COORD, _REVIEW)]
    for user in staff_who_see(session, [need], staff_roles, staff)[need.id]:
        users[user.id] = user
    if _RES in wanted and need.resident_id:
        resident = session.get(User, need.resident_id)
        if resident is not None and resident.active:
            users[resident.id] = resident
    if PROVIDER in wanted:
        # A proposal waiting for a coordinator's confirmation is not the provider's to hear of yet.
        volunteer_ids = {p.volunteer_id for p in need.proposals
                         if p.volunteer_id and p.status in LIVE_PROPOSAL and not p.review_required}
        if volunteer_ids:
            for user in session.scalars(select(User).where(User.volunteer_id.in_(volunteer_ids),
                                                           User.active.is_(True))):
                users[user.id] = user
    return [users[k] for k in sorted(users)]


def describe(user: User | None) -> str:
    """How logs name an actor."""
    return SYSTEM if user is None else f"{user.username}({user.role}#{user.id})"


__all__ = [
    "ACTION_ROLES", "NEXT_ACTORS", "PROVIDER", "PROVIDER_ACTIONS", "NeedFacts", "actions_for", "can_see", "describe",
    "get_visible_need", "mask_phone", "may_add_photo", "may_answer", "may_edit_need", "may_manage_account", "may_match",
    "may_see_agenda", "may_take",
    "may_reveal_contact", "need_facts", "need_filter", "recipients", "sees", "sees_contact", "sees_volunteer_phones",
    "staff_who_see",
]
