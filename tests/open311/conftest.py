"""A small subdistrict for Open311: the map (G1 with a boundary), a register (金碧花园 in G1, 翡翠华庭 in G2),
and the API key of one city system."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from models import Building, Grid
from open311.keys import create_key
from tests.factories import make_map

SQUARE = {"type": "Polygon", "coordinates": [[[113.88, 22.58], [113.89, 22.58], [113.89, 22.59], [113.88, 22.59],
                                              [113.88, 22.58]]]}
V2 = "/open311/v2"


def make_place(session: Any) -> None:
    make_map(session)
    grid = {g.code: g for g in session.scalars(select(Grid))}
    grid["G1"].boundary = SQUARE
    for n in range(1, 4):
        session.add(Building(code=f"B1{n:02d}", name=f"金碧花园{n}栋", address=f"海滨社区金碧花园{n}栋", aliases=[],
                             grid_id=grid["G1"].id, households=100, lng=113.885 + n * 0.001, lat=22.585))
        session.add(Building(code=f"B2{n:02d}", name=f"翡翠华庭{n}栋", address=f"海滨社区翡翠华庭{n}栋", aliases=[],
                             grid_id=grid["G2"].id, households=100))
    session.flush()


@pytest.fixture
def world(app: Any, session: Any) -> dict[str, Any]:
    """The place, and the key of the city's 12345 platform."""
    make_place(session)
    key, plain = create_key(session, "city-12345")
    session.commit()
    return {"key": plain, "key_id": key.id, "client": app.test_client()}
