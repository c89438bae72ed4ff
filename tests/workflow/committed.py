"""Committed rows for tests whose requests race on connections of their own (real commits, no
rolled-back test transaction), and the fixtures that serve them: an engine of its own, a world of
rows under a unique tag removed afterwards, and the app on that engine."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, or_, select
from sqlalchemy.orm import Session

from app import create_app
from core.database import make_engine
from core.vocab import SERVING
from models import (
    AuditEntry,
    Community,
    Grid,
    MatchRun,
    Need,
    Notification,
    PartyGrid,
    Proposal,
    Subdistrict,
    User,
    Volunteer,
)
from tests.factories import make_account

THREADS = 2  # coordinators in a world
POOL_SIZE = 34  # enough for 32 writers at once and the test's own reads

class World:
    """Committed rows of one test, under a unique suffix, and their removal."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.tag = engine, uuid.uuid4().hex[:10]
        self.need_ids: list[int] = []
        self.volunteer_ids: list[int] = []
        with Session(engine, expire_on_commit=False) as s:
            subdistrict = Subdistrict(code=f"S-{self.tag}", name="并发测试街道")
            s.add(subdistrict)
            s.flush()
            sid = subdistrict.id
            community = Community(code=f"C-{self.tag}", name="并发测试社区", subdistrict_id=sid)
            party = PartyGrid(code=f"PG-{self.tag}", name="并发测试党建网格", subdistrict_id=sid)
            grid = Grid(code=f"G-{self.tag}", name="并发测试网格", community=community, party_grid=party,
                        subdistrict_id=sid)
            s.add_all([community, party, grid])
            s.flush()
            self.ids = {"community": community.id, "party": party.id, "grid": grid.id, "subdistrict": sid}
            self.coordinators = [make_account(s, "coordinator", f"coord-{i}-{self.tag}", scope_type="grid",
                                              scope_codes=[grid.code], subdistrict_id=sid) for i in range(THREADS)]
            self.admin = make_account(s, "admin", f"admin-{self.tag}")
            s.commit()

    def provider_with_two_proposed_needs(self, round_: int) -> tuple[int, list[int]]:
        """A volunteer of capacity 1 and two needs proposed to it; returns (volunteer id, need ids)."""
        with Session(self.engine, expire_on_commit=False) as s:
            volunteer = Volunteer(ref=f"V-{self.tag}-{round_}", name=f"志愿者{round_}", grid_id=self.ids["grid"],
                                  subdistrict_id=self.ids["subdistrict"],
                                  skills=["陪诊"], services=["volunteer"], capacity=1)
            s.add(volunteer)
            s.flush()
            needs = []
            for i in range(THREADS):
                need = Need(ref=f"N-{self.tag}-{round_}-{i}", text="周三上午想找人陪同去医院复查",
                            grid_id=self.ids["grid"], service="volunteer", status="proposed",
                            contact="李女士 13900139000")
                need.proposals.append(Proposal(volunteer_id=volunteer.id, rank=1, score=0.9, tier=1,
                                               status="proposed"))
                s.add(need)
                needs.append(need)
            s.commit()
            self.volunteer_ids.append(volunteer.id)
            self.need_ids += [n.id for n in needs]
            return volunteer.id, [n.id for n in needs]

    def occupied(self, volunteer_id: int) -> int:
        """Needs holding the volunteer: accepted proposals of needs accepted, approved or in service."""
        with Session(self.engine, expire_on_commit=False) as s:
            return s.scalar(select(func.count()).select_from(Proposal).join(Need, Need.id == Proposal.need_id)
                            .where(Proposal.volunteer_id == volunteer_id, Proposal.status == "accepted",
                                   Need.status.in_(SERVING))) or 0

    def statuses(self, need_ids: list[int]) -> list[str]:
        with Session(self.engine, expire_on_commit=False) as s:
            return [s.get(Need, i).status for i in need_ids]  # type: ignore[union-attr]

    def remove(self) -> None:
        user_ids = [u.id for u in (*self.coordinators, self.admin)]
        with self.engine.begin() as conn:
            conn.execute(delete(Notification).where(or_(Notification.need_id.in_(self.need_ids),
                                                        Notification.user_id.in_(user_ids))))
            conn.execute(delete(AuditEntry.__table__).where(AuditEntry.need_id.in_(self.need_ids)))
            conn.execute(delete(Proposal).where(Proposal.need_id.in_(self.need_ids)))
            conn.execute(delete(Need).where(Need.id.in_(self.need_ids)))
            conn.execute(delete(Volunteer).where(Volunteer.id.in_(self.volunteer_ids)))
            conn.execute(delete(User).where(User.id.in_(user_ids)))
            conn.execute(delete(Grid).where(Grid.id == self.ids["grid"]))
            conn.execute(delete(PartyGrid).where(PartyGrid.id == self.ids["party"]))
            conn.execute(delete(Community).where(Community.id == self.ids["community"]))
            conn.execute(delete(MatchRun).where(MatchRun.scope == f"grid:G-{self.tag}"))
            conn.execute(delete(Subdistrict).where(Subdistrict.id == self.ids["subdistrict"]))


@pytest.fixture
def own_engine(engine: Engine, database_url: str) -> Iterator[Engine]:
    """Connections of their own (``engine`` is asked for only so the database is migrated first)."""
    own = make_engine(database_url, pool_size=POOL_SIZE)
    yield own
    own.dispose()


@pytest.fixture
def world(own_engine: Engine) -> Iterator[World]:
    world = World(own_engine)
    yield world
    world.remove()


@pytest.fixture
def committed_app(own_engine: Engine, classifier_path: str, database_url: str) -> Any:
    """The app on ``own_engine``: every request its own session and connection, committed for real."""
    return create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": own_engine,
                       "CLASSIFIER_PATH": classifier_path, "SECRET_KEY": "test"})
