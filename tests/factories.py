"""Small, readable fixtures of the domain, created through the services (as the API would)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pools import grids, needs, providers


def make_map(session: Session) -> None:
    """Two communities, three grids in a row (G1–G2–G3) and a lone grid G9, two Party grids."""
    grids.create_grid(session, {"code": "G1", "name": "海滨社区第1网格", "community": "海滨社区", "party_grid": "PG1",
                                "neighbors": []})
    grids.create_grid(session, {"code": "G2", "name": "海滨社区第2网格", "community": "海滨社区", "party_grid": "PG1",
                                "neighbors": ["G1"]})
    grids.create_grid(session, {"code": "G3", "name": "上川社区第1网格", "community": "上川社区", "party_grid": "PG2",
                                "neighbors": ["G2"]})
    grids.create_grid(session, {"code": "G9", "name": "上川社区第9网格", "community": "上川社区", "party_grid": "PG2",
                                "neighbors": []})


def make_resource(session: Session, **overrides: Any):  # type: ignore[no-untyped-def]
    data = {"ref": "R1", "name": "社保服务窗口", "department": "街道社区事务受理服务中心", "service": "public",
            "grids": ["*"], "capacity": 5, "skills": ["社保", "医保"], "description": "社保医保业务办理",
            "hours": ["mon-fri 09:00-12:00"]}
    return providers.create_resource(session, {**data, **overrides})


def make_volunteer(session: Session, **overrides: Any):  # type: ignore[no-untyped-def]
    data = {"ref": "V1", "name": "张小明", "kind": "person", "phone": "13800138000", "grid": "G1",
            "skills": ["陪诊", "买菜"], "services": ["volunteer"], "availability": ["wed 08:00-12:00"],
            "capacity": 2, "force": "selfgov", "party_member": True, "description": "退休教师，热心助老"}
    return providers.create_volunteer(session, {**data, **overrides})


def make_need(session: Session, **overrides: Any):  # type: ignore[no-untyped-def]
    data = {"ref": "N1", "text": "我妈周三上午要去医院复查，想找人陪一下", "grid": "G1", "urgency": "normal",
            "window": None, "contact": "李女士 13900139000", "service": "volunteer"}
    return needs.create_need(session, {**data, **overrides})
