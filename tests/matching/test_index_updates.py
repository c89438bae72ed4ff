"""ProviderIndex.with_loads gives the index a fresh build would give: the same tables (cells, their
text blocks, tier 3 memberships and cells) and the same batch results, whether providers fill up,
get room again, change capacity or reliability, in any number at once."""
from __future__ import annotations

import random
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from matching.engine import match_batch
from matching.index import NO_CELL, ProviderIndex
from matching.types import ProviderView

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
from benchmarks.synthetic import make_subdistrict  # noqa: E402


def _rows(index: ProviderIndex, member_rows: np.ndarray) -> tuple[list[int], list[int], list[float]]:
    indptr, indices, data = index.cell_text.rows(np.asarray(member_rows, dtype=np.int64))
    return indptr.tolist(), indices.tolist(), data.tolist()


def served(index: ProviderIndex, grid_map) -> dict[tuple[object, ...], object]:  # type: ignore[no-untyped-def]
    """What an index serves, its cells' numbering aside: each non-empty cell's members and their text rows,
    by what the cell is for."""
    cells = index.cells

    def content(c: int) -> object:
        lo, hi = int(cells.ptr[c]), int(cells.ptr[c + 1])
        return cells.members[lo:hi].tolist(), _rows(index, np.arange(lo, hi))

    out: dict[tuple[object, ...], object] = {("homeless",): content(index.homeless_cell)}
    table = index.volunteer_cell_table
    for home, service in zip(*np.nonzero(table != NO_CELL)):
        c = int(table[home, service])
        if cells.ptr[c + 1] > cells.ptr[c]:
            out[("volunteers", index.grid_codes[home], int(service))] = content(c)
    for key, ids in [*index.resource_cells_by_grid.items(), *index.resource_cells_everywhere.items()]:
        out[("resources", key)] = [content(c) for c in ids if cells.ptr[c + 1] > cells.ptr[c]]
    t3 = index.tier3_cells(grid_map)
    for k, key in enumerate(t3.keys.tolist()):
        lo, hi = int(t3.table.ptr[k]), int(t3.table.ptr[k + 1])
        if hi > lo:
            out[("tier3", key)] = t3.table.members[lo:hi].tolist()
    out[("text rows",)] = {p: _rows(index, np.array([r])) for p, r in enumerate(index.text_row.tolist()) if r >= 0}
    return out


def assert_same(updated: ProviderIndex, fresh: ProviderIndex, grid_map) -> None:  # type: ignore[no-untyped-def]
    assert updated.providers == fresh.providers
    for name in ("capacity", "load", "free", "t3_provider", "t3_service", "t3_tag"):
        a, b = getattr(updated, name), getattr(fresh, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert np.array_equal(updated.reliability, fresh.reliability, equal_nan=True)
    assert updated.cells.members.dtype == fresh.cells.members.dtype
    assert updated.resource_cells_by_grid.keys() == fresh.resource_cells_by_grid.keys()
    mine, theirs = served(updated, grid_map), served(fresh, grid_map)
    assert mine.keys() == theirs.keys()
    for key in theirs:
        assert mine[key] == theirs[key], key


def changed(rng: random.Random, providers: list[ProviderView], n: int) -> dict[tuple[str, int], ProviderView]:
    """``n`` providers with a new load (often full, or empty), capacity or reliability."""
    out = {}
    for p in rng.sample(providers, n):
        roll = rng.random()
        if roll < 0.4:
            q = replace(p, load=p.capacity)  # fills up
        elif roll < 0.7:
            q = replace(p, load=0)  # gets room
        elif roll < 0.85:
            q = replace(p, capacity=rng.randint(0, 3))
        else:
            q = replace(p, reliability=rng.choice([None, 0.5, 1.0]))
        out[p.key] = q
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_updates_in_place_equal_a_fresh_build(seed: int) -> None:
    rng = random.Random(seed)
    sub = make_subdistrict(300, 900, seed=seed, n_grids=40)
    providers = list(sub.providers)
    index = ProviderIndex.build(providers)
    index.tier3_cells(sub.grid_map)  # a map's tier 3 cells are patched too once made
    for step in range(8):
        news = changed(rng, providers, rng.choice([1, 2, 5, 40]))
        providers = [news.get(p.key, p) for p in providers]
        index = index.with_loads({k: (p.capacity, p.load, p.reliability) for k, p in news.items()})
        fresh = ProviderIndex.build(providers)
        assert_same(index, fresh, sub.grid_map)
        if step % 4 == 3:
            a, b = match_batch(sub.needs, index, sub.grid_map), match_batch(sub.needs, fresh, sub.grid_map)
            assert a.assignments == b.assignments and a.unmatched == b.unmatched


def test_a_volunteer_filling_up_or_getting_room_changes_no_cell_only_the_loads() -> None:
    """Cells hold every provider, busy or not (scoring skips those without room): a move of the loads shares
    every table but the load arrays, and still equals a fresh build, the volunteer alone in its cell too."""
    lone = ProviderView(kind="volunteer", id=1, ref="V1", name="甲", services=frozenset({"volunteer"}),
                        skills=("陪诊",), home_grid="G1", capacity=1)
    other = replace(lone, id=2, ref="V2", home_grid="G2")
    sub = make_subdistrict(5, 0, seed=0, n_grids=9)
    index = ProviderIndex.build([lone, other])
    index.tier3_cells(sub.grid_map)
    full = index.with_loads({lone.key: (1, 1, None)})
    back = full.with_loads({lone.key: (1, 0, None)})

    assert_same(full, ProviderIndex.build([replace(lone, load=1), other]), sub.grid_map)
    assert_same(back, ProviderIndex.build([lone, other]), sub.grid_map)
    for moved in (full, back):
        assert moved.cells is index.cells and moved.cell_text is index.cell_text
        assert moved.tier3_cells(sub.grid_map) is index.tier3_cells(sub.grid_map)
    assert full.free.tolist() == [0, 1] and back.free.tolist() == [1, 1]
