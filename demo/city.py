"""A demo city: the demo subdistrict again under other names, so tenancy can be tried (``seed-demo
--subdistricts 3``). The k-th copy (k ≥ 2) is drawn from its own seed, its codes and refs carry the prefix
``S{k}-`` (codes are unique across a city, as real grid codes are) and its map sits east of the one before."""
from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from .data import DemoData

# Bao'an district's subdistricts (宝安区各街道): the names the demo gives its subdistricts, in order.
NAMES = [("xinan", "新安街道"), ("xixiang", "西乡街道"), ("fuyong", "福永街道"), ("shajing", "沙井街道"),
         ("songgang", "松岗街道"), ("shiyan", "石岩街道"), ("hangcheng", "航城街道"), ("fuhai", "福海街道"),
         ("xinqiao", "新桥街道"), ("yanluo", "燕罗街道")]
SHIFT_LNG = 0.12  # degrees east between two copies' maps: about 12 km, so their grids never overlap
SEED_STEP = 1000  # the k-th copy is drawn from seed + SEED_STEP × (k − 1)


def identity(k: int) -> tuple[str, str]:
    """The code and name of the k-th demo subdistrict (from 1)."""
    return NAMES[k - 1] if k <= len(NAMES) else (f"sd{k:02d}", f"第{k}街道")


def seed_of(seed: int, k: int) -> int:
    return seed + SEED_STEP * (k - 1)


def account_suffix(k: int) -> str:
    """The first subdistrict's demo accounts are admin, coordinator…; the k-th's admin{k}, coordinator{k}…"""
    return "" if k == 1 else str(k)


def relabelled(demo: DemoData, k: int) -> DemoData:
    """The demo as the k-th subdistrict of a city: codes and refs prefixed, the map moved east."""
    if k == 1:
        return demo
    prefix, shift, name = f"S{k}-", SHIFT_LNG * (k - 1), identity(k)[1]

    def p(code: str | None) -> str | None:
        return prefix + code if code else code

    def rows(records: list[dict[str, Any]], **how: Any) -> list[dict[str, Any]]:
        out = []
        for record in copy.deepcopy(records):
            for key, change in how.items():
                if key in record and record[key] is not None:
                    record[key] = change(record[key])
            out.append(record)
        return out

    def codes(values: list[str]) -> list[str]:
        return values if values == ["*"] else [prefix + v for v in values]

    return replace(
        demo,
        communities=rows(demo.communities, code=p),
        party_grids=rows(demo.party_grids, code=p, community=p),
        grids=rows(demo.grids, code=p, community=p, party_grid=p, neighbors=codes,
                   boundary=lambda b: _moved(b, shift)),
        resources=rows(demo.resources, ref=p, grids=codes),
        volunteers=rows(demo.volunteers, ref=p, grid=p),
        needs=rows(demo.needs, ref=p, grid=p),
        buildings=rows(demo.buildings, code=p, grid=p, head=p, lng=lambda x: round(float(x) + shift, 6),
                       address=lambda a: a.replace(identity(1)[1], name)),
        planted_duplicates=[(prefix + a, prefix + b) for a, b in demo.planted_duplicates],
    )


def _moved(geometry: dict[str, Any], shift: float) -> dict[str, Any]:
    def walk(value: Any) -> Any:
        if isinstance(value, list) and len(value) == 2 and all(isinstance(x, (int, float)) for x in value):
            return [round(value[0] + shift, 6), value[1]]
        return [walk(v) for v in value] if isinstance(value, list) else value
    return {**geometry, "coordinates": walk(geometry["coordinates"])}
