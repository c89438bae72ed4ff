"""One simulated month for one policy: SimPy processes on a controlled clock, every move through the
project's services.

The clock: SimPy's ``env.now`` counts hours from the month's start; ``core.times.controlled_clock``
makes every ``utcnow()`` of the services (default timestamps, the SLA job, the audit trail) read it.
Each event is one unit of work, as one request of the API is: it commits, or rolls back and leaves the
database as it was (a move the workflow refuses is a 409 the simulated person meets, then goes on).

Who acts: the simulation's staff account (an admin, as the demo's history does) acts for providers,
coordinators, branches and councils, who have no accounts; residents act for themselves.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import simpy
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import setting
from core.errors import ApiError
from core.times import controlled_clock, to_local, to_utc
from core.vocab import MATCHABLE, OPEN, SERVING, Action, NeedStatus, ProposalStatus, ProviderKind
from dispatch.views import registries_unchanged
from intake.service import submit_need
from models import Grid, Need, Proposal, User, Volunteer
from pools.schemas import NeedIn
from workflow.minutes import record_decision
from workflow.service import apply_action as _apply
from workflow.service import record_batch
from workflow.sla import run_escalation

from . import people
from .arrivals import Arrival
from .params import Params
from .policies import Policy, hand_pick

Event = Generator[simpy.Event, Any, None]


@dataclass
class Tally:
    """What the services do not keep and the measures need: the true service of each need, the policy's
    batches, and the decisions people took."""
    true_service: dict[int, str] = field(default_factory=dict)  # need id -> its template's service
    arrival: dict[int, int] = field(default_factory=dict)  # need id -> its place among the month's arrivals
    batches: int = 0
    declines: int = 0
    no_shows: int = 0
    return_visits: int = 0  # needs closed on a coordinator's return visit (回访)
    refused: int = 0  # moves the workflow refused (409/403/422), as an API client would meet them
    daily: list[tuple[int, int]] = field(default_factory=list)  # per day: needs submitted, closed so far
    open_at_month_end: dict[str, int] = field(default_factory=dict)  # grid code -> open needs


class World:
    def __init__(self, session: Session, params: Params, policy: Policy, arrivals: list[Arrival], *, seed: int,
                 days: int, zone: ZoneInfo, staff: User, residents: list[User]) -> None:
        self.session, self.params, self.policy, self.arrivals = session, params, policy, arrivals
        self.seed, self.days, self.zone = seed, days, zone
        self.staff, self.residents = staff, residents
        self.start_local = datetime.fromisoformat(params.start)
        self.start = to_utc(self.start_local, zone)
        self.env = simpy.Environment()
        self.tally = Tally()
        self.dirty = False  # something new for the matcher since its last batch
        self.batch_rng = random.Random(f"{seed}|batch|{policy.name}")
        self.held: dict[int, Need] = {}  # see _need

    # --- the clock
    def now(self) -> datetime:
        return self.start + timedelta(hours=self.env.now)

    def local(self) -> datetime:
        return to_local(self.now(), self.zone).replace(tzinfo=None)

    @contextmanager
    def unit(self) -> Iterator[Session]:
        """One unit of work: commit, or roll back on a refusal."""
        try:
            yield self.session
            self.session.commit()
        except ApiError:
            self.session.rollback()
            self.tally.refused += 1

    def run(self, until_hours: float) -> None:
        # Nobody edits the registries during the month (the tight scenario's volunteers left before it).
        with controlled_clock(self.now), registries_unchanged():
            self.env.process(self._arrivals())
            self.env.process(self._every(self.params.match_every_minutes / 60, self._match))
            self.env.process(self._every(self.params.escalate_every_hours, self._escalate))
            self.env.process(self._council())
            self.env.process(self._daily())
            self.env.run(until=until_hours)

    def _daily(self) -> Event:
        for day in range(1, self.days + 1):
            yield self.env.timeout(24.0)
            submitted = self.session.scalar(select(func.count()).select_from(Need)) or 0
            closed = self.session.scalar(select(func.count()).select_from(Need)
                                         .where(Need.status == NeedStatus.CLOSED)) or 0
            self.tally.daily.append((submitted, closed))
            if day == self.days:
                rows = self.session.execute(select(Grid.code, func.count(Need.id)).join(Need, Need.grid_id == Grid.id)
                                            .where(Need.status.in_(OPEN)).group_by(Grid.code))
                self.tally.open_at_month_end = {code: n for code, n in rows}

    def _every(self, hours: float, step: Callable[[], None]) -> Event:
        while True:
            yield self.env.timeout(hours)
            step()

    def _later(self, hours: float, step: Callable[[], None]) -> None:
        def wait() -> Event:
            yield self.env.timeout(max(hours, 0.0))
            step()
        self.env.process(wait())

    def _need(self, need_id: int) -> Need:
        need = self.session.get(Need, need_id)
        assert need is not None
        # Held, so that the session's identity map (weak) keeps it and what it has loaded between
        # events: otherwise every event read the need, its proposals and its grid again. Nothing
        # the month calls changes needs behind the session's back (no bulk UPDATE), and a rollback
        # still expires them.
        self.held[need_id] = need
        return need

    def _act(self, need_id: int, action: Action, actor: User | None, **fields: Any) -> bool:
        with self.unit() as session:
            _apply(session, self._need(need_id), action, actor, now=self.now(), **fields)
            return True
        return False

    # --- residents submit
    def _arrivals(self) -> Event:
        for k, arrival in enumerate(self.arrivals):
            yield self.env.timeout(max(arrival.hour - self.env.now, 0.0))
            self._submit(k, arrival)

    def _submit(self, k: int, arrival: Arrival) -> None:
        resident = self.residents[k % len(self.residents)]
        data = NeedIn().load({"text": arrival.text, "grid": arrival.grid, "urgency": arrival.urgency,
                              **({"window": arrival.window} if arrival.window else {})})
        with self.unit() as session:
            need = submit_need(session, data, resident)
            need_id = need.id
            self.tally.true_service[need_id] = arrival.service
            self.tally.arrival[need_id] = k
            triage = need.status == NeedStatus.TRIAGE
        self.dirty = True
        if arrival.urgency == "urgent" and not triage:
            self._later(self.params.urgent_match_minutes / 60, self._match)
        if triage:
            self._later(people.office_delay(self.local(), self.params.coordinator_delay_hours,
                                            people.draw(self.seed, k, "triage")), lambda: self._classify(need_id))
        rng = people.draw(self.seed, k, "cancel")
        if rng.random() < self.params.cancel_share:
            self._later(rng.expovariate(1.0 / self.params.cancel_after_hours),
                        lambda: self._cancel(need_id, resident))

    def _classify(self, need_id: int) -> None:
        if self._need(need_id).status == NeedStatus.TRIAGE:  # not yet proposed across services meanwhile
            self._act(need_id, Action.CLASSIFY, self.staff, service=self.tally.true_service[need_id],
                      reason="协调员人工分类")
            self.dirty = True

    def _cancel(self, need_id: int, resident: User) -> None:
        if self._need(need_id).status in (NeedStatus.SUBMITTED, NeedStatus.UNMATCHED, NeedStatus.ESCALATED,
                                          NeedStatus.PROPOSED, NeedStatus.TRIAGE):
            self._act(need_id, Action.CANCEL, resident, reason="居民自行解决了")

    # --- the system's schedule
    def _match(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        waiting = self.session.scalar(select(func.count()).select_from(Need)
                                      .where(Need.status.in_(MATCHABLE), Need.service.is_not(None)))
        if not waiting:
            return
        proposed: list[int] = []
        with self.unit() as session:
            outcomes = self.policy.batch(session, self.batch_rng)
            record_batch(session, outcomes, now=self.now())  # as the app records a batch (match_scope)
            proposed = [o.need.id for o in outcomes if o.proposed]
            self.tally.batches += 1
        for need_id in proposed:
            self._ask(need_id)

    def _escalate(self) -> None:
        with self.unit() as session:
            run_escalation(session, now=self.now())

    def _council(self) -> Event:
        """Each Party grid's council meets on its weekly day: every need sent to it gets a provider
        named by the council (the policy's rule on the ranked list), recorded in its minutes."""
        while True:
            yield self.env.timeout(people.hours_until_hour(self.local(), self.params.council_hour,
                                                           self.params.council_weekday))
            ids = list(self.session.scalars(select(Need.id).where(Need.status == NeedStatus.ESCALATED)
                                            .order_by(Need.id)))
            for need_id in ids:
                self._council_item(need_id)

    def _council_item(self, need_id: int) -> None:
        rng = people.draw(self.seed, self.tally.arrival[need_id], "council", self.env.now)
        with self.unit() as session:
            need = self._need(need_id)
            match = hand_pick(session, need, self.policy, rng)
            meeting = self.local().date()
            taker = match.provider_name if match is not None else "网格员"
            if need.grid.party_grid is not None:  # the minutes of its Party grid's council
                record_decision(session, need.grid.party_grid.code, meeting_date=meeting, need=need.id,
                                decision=f"由{taker}承接" if match else "暂无合适力量，网格员继续协调",
                                taker=taker, recorded_by=self.staff, due=meeting + timedelta(days=3))
            if match is None:
                return
            provider = {"kind": match.provider_kind, "id": match.provider_id}
            _apply(session, need, Action.PROPOSE, self.staff, provider=provider, now=self.now(),
                   reason=f"网格议事会（{meeting.isoformat()}）决定由{taker}承接")
        if self._need(need_id).status == NeedStatus.PROPOSED:
            self._ask(need_id)

    # --- providers answer
    def _ask(self, need_id: int) -> None:
        need = self._need(need_id)
        proposal = need.current_proposal
        if proposal is None:
            return
        attempt = len(need.proposals)
        rng = people.draw(self.seed, self.tally.arrival[need_id], "answer", attempt)
        asked = self.local()
        desk = proposal.review_required or proposal.provider_kind == ProviderKind.RESOURCE or (
            proposal.volunteer is not None and proposal.volunteer.kind == "organization")
        if desk:
            delay = people.office_delay(asked, self.params.coordinator_delay_hours if proposal.review_required
                                        else self.params.office_answer_hours, rng)
        else:
            delay = people.volunteer_delay(self.params, rng, asked)
        coin = rng.random()
        proposal_id = proposal.id
        self._later(delay, lambda: self._answer(need_id, proposal_id, coin, asked))

    def _answer(self, need_id: int, proposal_id: int, coin: float, asked: datetime) -> None:
        need = self._need(need_id)
        proposal = need.current_proposal
        if need.status != NeedStatus.PROPOSED or proposal is None or proposal.id != proposal_id:
            return  # cancelled or replaced meanwhile
        wrong = bool(need.service and self.tally.true_service.get(need_id) not in (None, need.service))
        if proposal.review_required:
            p = self.params.coordinator_confirm
        elif proposal.provider_kind == ProviderKind.RESOURCE or (
                proposal.volunteer is not None and proposal.volunteer.kind == "organization"):
            p = self.params.office_accept * (self.params.accept_wrong_service_factor if wrong else 1.0)
        else:
            skill = (proposal.features or {}).get("features", {}).get("skill")
            p = people.accept_probability(self.params, tier=proposal.tier, load=self._load(proposal),
                                          local=asked, skill=skill, wrong_service=wrong)
        if coin < p and self._act(need_id, Action.ACCEPT, self.staff, proposal=proposal_id):
            self._review(need_id)
            return
        self.tally.declines += 1
        self._act(need_id, Action.DECLINE, self.staff, reason="时间冲突" if coin < p else "这次不方便")
        after = self._need(need_id)
        if after.status == NeedStatus.PROPOSED:
            self._ask(need_id)
        else:
            self.dirty = True

    def _load(self, proposal: Proposal) -> int:
        column = Proposal.volunteer_id if proposal.volunteer_id is not None else Proposal.resource_id
        key = proposal.volunteer_id if proposal.volunteer_id is not None else proposal.resource_id
        return self.session.scalar(
            select(func.count()).select_from(Proposal).join(Need, Need.id == Proposal.need_id)
            .where(column == key, Proposal.status == ProposalStatus.ACCEPTED, Need.status.in_(SERVING))) or 0

    # --- the branch reviews, the provider serves, the resident confirms
    def _review(self, need_id: int) -> None:
        need = self._need(need_id)
        wait = (self.params.urgent_review_hours if need.urgency == "urgent"
                else people.hours_until_hour(self.local(), self.params.review_hour))
        self._later(wait, lambda: self._approve(need_id))

    def _approve(self, need_id: int) -> None:
        if self._need(need_id).status != NeedStatus.ACCEPTED:
            return
        if self._act(need_id, Action.APPROVE, self.staff, reason="支部审核通过"):
            self._serve(need_id)

    def _serve(self, need_id: int) -> None:
        need = self._need(need_id)
        rng = people.draw(self.seed, self.tally.arrival[need_id], "serve", len(need.proposals))
        mean = self.params.urgent_start_hours if need.urgency == "urgent" else self.params.start_delay_hours
        wait = rng.expovariate(1.0 / mean)
        if need.window_start is not None:
            until = (need.window_start - self.local()).total_seconds() / 3600
            wait = max(wait, until + rng.uniform(0.0, 1.0))
        no_show = rng.random() < self.params.no_show
        duration = rng.uniform(*self.params.service_hours)
        self._later(wait, lambda: self._start(need_id, no_show, duration))

    def _start(self, need_id: int, no_show: bool, duration: float) -> None:
        if self._need(need_id).status != NeedStatus.APPROVED:
            return
        if no_show:
            self.tally.no_shows += 1
            self._replace(need_id)
            return
        if self._act(need_id, Action.START, self.staff, reason="开始服务"):
            hours = round(duration * 2) / 2 or 0.5
            self._later(duration, lambda: self._done(need_id, hours))

    def _replace(self, need_id: int) -> None:
        """A provider did not show up: the branch reassigns the need (or tries again the next day)."""
        rng = people.draw(self.seed, self.tally.arrival[need_id], "replace", self.env.now)
        with self.unit() as session:
            need = self._need(need_id)
            match = hand_pick(session, need, self.policy, rng)
            if match is not None:
                _apply(session, need, Action.REASSIGN, self.staff, now=self.now(), reason="服务方未到场，改派",
                       provider={"kind": match.provider_kind, "id": match.provider_id})
        if self._need(need_id).status == NeedStatus.PROPOSED:
            self._ask(need_id)
        else:
            self._later(people.hours_until_hour(self.local(), self.params.review_hour),
                        lambda: self._replace(need_id))

    def _done(self, need_id: int, hours: float) -> None:
        if not self._act(need_id, Action.REPORT_DONE, self.staff, hours=hours, reason="服务完成"):
            return
        self.dirty = True  # the provider has room again
        need = self._need(need_id)
        rng = people.draw(self.seed, self.tally.arrival[need_id], "confirm")
        rating = rng.choice([5, 5, 5, 4, 4, 3])
        if rng.random() < self.params.confirm_share:
            resident = self.session.get(User, need.resident_id) if need.resident_id else None
            self._later(rng.expovariate(1.0 / self.params.confirm_hours),
                        lambda: self._confirm(need_id, resident, rating))
        # The coordinator works the 已完成待确认 tab: a need still unconfirmed once the resident has had
        # RETURN_VISIT_HOURS gets a call, in office hours.
        wait = float(setting("RETURN_VISIT_HOURS"))
        wait += people.office_delay(self.local() + timedelta(hours=wait), self.params.coordinator_delay_hours, rng)
        self._later(wait, lambda: self._return_visit(need_id, rating, 0))

    def _confirm(self, need_id: int, resident: User | None, rating: int) -> None:
        if self._need(need_id).status == NeedStatus.DONE:
            self._act(need_id, Action.CONFIRM, resident, rating=rating, reason="谢谢")

    def _return_visit(self, need_id: int, rating: int, attempt: int) -> None:
        """A call of the return visit; a resident who does not answer stays in the tab and is called again
        the next office day (until the need closes itself)."""
        if self._need(need_id).status != NeedStatus.DONE:
            return
        rng = people.draw(self.seed, self.tally.arrival[need_id], "visit", attempt)
        if rng.random() < self.params.return_visit_reach:
            self.tally.return_visits += 1
            self._act(need_id, Action.RETURN_VISIT, self.staff, rating=rating, reason="电话回访，居民表示满意")
            return
        tomorrow = people.hours_until_hour(self.local(), people.OFFICE_SESSIONS[0][0])
        tomorrow += people.office_delay(self.local() + timedelta(hours=tomorrow), self.params.coordinator_delay_hours,
                                        rng)
        self._later(tomorrow, lambda: self._return_visit(need_id, rating, attempt + 1))


def inactive_volunteers(session: Session, share_active: float, seed: int) -> int:
    """Take ``1 - share_active`` of the person volunteers out of the pool (scenario tight), the same ones
    for every policy; returns how many."""
    if share_active >= 1.0:
        return 0
    rng = random.Random(f"{seed}|inactive")
    people_ids = list(session.scalars(select(Volunteer.id).where(Volunteer.kind == "person").order_by(Volunteer.id)))
    off = rng.sample(people_ids, round(len(people_ids) * (1.0 - share_active)))
    for volunteer in session.scalars(select(Volunteer).where(Volunteer.id.in_(off))):
        volunteer.active = False
    session.flush()
    return len(off)


def month_end(start_local: datetime, days: int) -> date:
    return (start_local + timedelta(days=days)).date()
