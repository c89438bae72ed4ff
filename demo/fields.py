"""The demo's responsibility fields (党员责任田): each Party member of the volunteer pool looks after a few buildings of
their home grid, and has visited most of them in the last weeks, so that the branch's page shows both the
month's work and the buildings waiting too long."""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import zone
from core.times import local_today
from models import Building, FieldBuilding, User, Visit, Volunteer

BUILDINGS_PER_MEMBER = (3, 8)
VISITED_SHARE = 0.75  # of a field's buildings, visited at least once in the last LOOKBACK_DAYS
LOOKBACK_DAYS = 50
VISITS_PER_BUILDING = (1, 3)
NOTES = ("住户情况稳定", "两户独居老人，身体尚可", "有住户反映楼道灯不亮", "宣传了防诈骗知识", "一户家中有病人，需持续关注",
         "住户对垃圾分类有意见", "")


def seed_fields(session: Session, *, seed: int) -> list[str]:
    """Fields and visits for every Party member without a field yet; summary lines."""
    if session.scalar(select(FieldBuilding.id).limit(1)) is not None:
        return []
    rng = random.Random(f"fields-{seed}")
    today = local_today(zone())
    free: dict[int, list[Building]] = defaultdict(list)
    for building in session.scalars(select(Building).where(Building.active.is_(True)).order_by(Building.code)):
        free[building.grid_id].append(building)
    with_account = set(session.scalars(select(User.volunteer_id).where(User.volunteer_id.is_not(None))))
    members = sorted(session.scalars(select(Volunteer).where(Volunteer.party_member.is_(True), Volunteer.active.is_(True),
                                                             Volunteer.grid_id.is_not(None))),
                     key=lambda v: (v.id not in with_account, v.ref))  # the demo account's member is served first
    assigned = visits = 0
    for member in members:
        pool = free[member.grid_id]  # type: ignore[index]
        take = min(len(pool), rng.randint(*BUILDINGS_PER_MEMBER))
        for building in [pool.pop(rng.randrange(len(pool))) for _ in range(take)]:
            session.add(FieldBuilding(member_id=member.id, building_id=building.id))
            assigned += 1
            if rng.random() > VISITED_SHARE:
                continue
            for _ in range(rng.randint(*VISITS_PER_BUILDING)):
                households = rng.randint(1, max(1, min(building.households or 10, 30)))
                session.add(Visit(member_id=member.id, building_id=building.id, households=households,
                                  visited_on=today - timedelta(days=rng.randint(0, LOOKBACK_DAYS)),
                                  notes=rng.choice(NOTES)))
                visits += 1
    session.flush()
    return [f"党员责任田：{assigned} 个楼栋分给党员，近 {LOOKBACK_DAYS} 天走访 {visits} 次"]
