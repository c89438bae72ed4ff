"""Candidates for needs: who may serve each need, at which tier, and for how much of its window.

A provider is eligible for a need when

- it offers the need's service, and, for a government resource, covers the need's grid
  (``grids_covered=None`` covers every grid);
- it has capacity left (``free > 0``);
- when the need has a time window and the provider has weekly slots, some slot overlaps the
  window (:func:`matching.slots.overlap_minutes` > 0). A flexible need, or a provider available any
  time, has no constraint.

Tiers, in order of preference: 1 the same grid (or a resource covering it), 2 a neighbouring grid,
3 anywhere else in the need's subdistrict (``GridMap.subdistricts``; a map without them is one
subdistrict). A volunteer in another subdistrict is a candidate only as a neighbour across the
border. Candidates are looked up cell by cell (see :mod:`matching.index`): :func:`near_visits`
gives tiers 1 and 2, :func:`wide_visits` tier 3 for the needs the caller decides to widen.
Everything is numpy over whole batches: no Python loop per pair, only per need or per distinct
grid.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .index import ANY_TIME, NO_CELL, NO_GRID, SERVICE_CODES, SERVICES, CellTable, ProviderIndex
from .slots import window_minutes_by_day
from .textvec import concat_ranges
from .types import GridMap, NeedView

TIER_SAME_GRID, TIER_NEIGHBOUR, TIER_ELSEWHERE = 1, 2, 3


@dataclass(frozen=True)
class NeedBatch:
    """The needs of a batch as arrays; row ``i`` is ``needs[i]``."""

    needs: tuple[NeedView, ...]
    piece_ptr: np.ndarray  # window pieces of need i: piece_*[piece_ptr[i]:piece_ptr[i + 1]]
    piece_day: np.ndarray
    piece_start: np.ndarray
    piece_end: np.ndarray
    window_minutes: np.ndarray  # 0: flexible

    @classmethod
    def of(cls, needs: Sequence[NeedView]) -> NeedBatch:
        needs = tuple(needs)
        pieces = [window_minutes_by_day(*n.window) if n.window is not None else [] for n in needs]
        lengths = np.fromiter((len(p) for p in pieces), dtype=np.int64, count=len(needs))
        ptr = np.zeros(len(needs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        flat = np.array([piece for p in pieces for piece in p], dtype=np.int64).reshape(-1, 3)
        minutes = np.fromiter((sum(e - s for _, s, e in p) for p in pieces), dtype=np.int64,
                              count=len(needs))
        return cls(needs=needs, piece_ptr=ptr, piece_day=flat[:, 0], piece_start=flat[:, 1],
                   piece_end=flat[:, 2], window_minutes=minutes)

    def __len__(self) -> int:
        return len(self.needs)


@dataclass(frozen=True)
class Visits:
    """Need row ``need[v]`` looks at cell ``cell[v]`` of ``cells`` at tier ``tier[v]``.

    Rows and providers are int32 and tiers int8 here and in :class:`Pairs`: a city's batch has
    millions of pairs.
    """

    need: np.ndarray
    cell: np.ndarray
    tier: np.ndarray
    cells: CellTable


@dataclass(frozen=True)
class Pairs:
    """Candidate (need, provider) pairs, visit by visit; ``offset[v]`` is visit v's first pair."""

    need: np.ndarray
    provider: np.ndarray
    tier: np.ndarray
    offset: np.ndarray


def near_visits(batch: NeedBatch, index: ProviderIndex, grid_map: GridMap) -> Visits:
    """Tier 1 and 2 visits of every need, need by need: its grid's volunteer cell, the resource
    cells covering its grid, then its neighbours' volunteer cells (in grid code order)."""
    n = len(batch)
    n_services = len(SERVICE_CODES)
    grid_local: dict[str, int] = {}
    need_grid = np.fromiter((grid_local.setdefault(need.grid, len(grid_local)) for need in batch.needs),
                            dtype=np.int64, count=n)
    service = np.fromiter((SERVICE_CODES.get(need.service, n_services) for need in batch.needs),
                          dtype=np.int64, count=n)
    # Row len(grid_codes) of the table, and column n_services, are all "no cell".
    table = index.volunteer_cell_table
    no_grid = table.shape[0] - 1
    own = np.fromiter((index.grid_ids.get(g, no_grid) for g in grid_local), dtype=np.int64,
                      count=len(grid_local))
    neighbour_lists = [[index.grid_ids[h] for h in sorted(grid_map.neighbors.get(g, frozenset()) - {g})
                        if h in index.grid_ids] for g in grid_local]
    nb_len = np.fromiter((len(x) for x in neighbour_lists), dtype=np.int64, count=len(grid_local))
    nb_ptr = np.zeros(len(grid_local) + 1, dtype=np.int64)
    np.cumsum(nb_len, out=nb_ptr[1:])
    nb_ids = np.fromiter((h for x in neighbour_lists for h in x), dtype=np.int64, count=int(nb_ptr[-1]))

    rows = np.arange(n, dtype=np.int64)
    parts_need = [rows]
    parts_cell = [table[own[need_grid], service]]
    parts_tier = [np.full(n, TIER_SAME_GRID, dtype=np.int64)]

    # Resource cells: a list per distinct (grid, service); few cells each.
    group_of: dict[tuple[int, int], list[int]] = {}
    codes = list(grid_local)
    res_need, res_cell = [], []
    for i, (g, sv) in enumerate(zip(need_grid.tolist(), service.tolist())):
        cells = group_of.get((g, sv))
        if cells is None:
            name = SERVICES[sv] if sv < n_services else ""
            cells = group_of[(g, sv)] = [*index.resource_cells_everywhere.get(name, ()),
                                         *index.resource_cells_by_grid.get((codes[g], name), ())]
        if cells:
            res_need.extend([i] * len(cells))
            res_cell.extend(cells)
    parts_need.append(np.asarray(res_need, dtype=np.int64))
    parts_cell.append(np.asarray(res_cell, dtype=np.int64))
    parts_tier.append(np.full(len(res_need), TIER_SAME_GRID, dtype=np.int64))

    count = nb_len[need_grid]
    owner = np.repeat(rows, count)
    parts_need.append(owner)
    parts_cell.append(table[nb_ids[concat_ranges(nb_ptr[need_grid], count)], service[owner]])
    parts_tier.append(np.full(owner.size, TIER_NEIGHBOUR, dtype=np.int64))

    need = np.concatenate(parts_need)
    cell = np.concatenate(parts_cell)
    tier = np.concatenate(parts_tier)
    keep = np.flatnonzero(cell != NO_CELL)
    order = keep[np.argsort(need[keep], kind="stable")]
    return Visits(need=need[order].astype(np.int32), cell=cell[order], tier=tier[order].astype(np.int8),
                  cells=index.cells)


def wide_visits(batch: NeedBatch, index: ProviderIndex, grid_map: GridMap, rows: np.ndarray,
                tags: np.ndarray | None = None) -> Visits:
    """Tier 3 visits, inside each need's subdistrict. Without ``tags``: every volunteer of the
    row's service there. With ``tags`` (one per row; rows may repeat): those of them holding that
    tag. Either way :func:`near_homes` then tells which ones tiers 1-2 already had."""
    t3 = index.tier3_cells(grid_map)
    rows = np.asarray(rows, dtype=np.int64)
    needs = [batch.needs[i] for i in rows.tolist()]
    sub = np.fromiter((t3.subdistrict_ids.get(grid_map.subdistricts.get(n.grid, ""), 0) for n in needs),
                      dtype=np.int64, count=rows.size)
    service = np.fromiter((SERVICE_CODES.get(n.service, -1) for n in needs), dtype=np.int64,
                          count=rows.size)
    tag = np.full(rows.size, -1, dtype=np.int64) if tags is None else np.asarray(tags, dtype=np.int64)
    cell = t3.lookup(sub, service, tag)
    found = (cell != NO_CELL) & (service >= 0)
    return Visits(need=rows[found].astype(np.int32), cell=cell[found],
                  tier=np.full(int(found.sum()), TIER_ELSEWHERE, dtype=np.int8), cells=t3.table)


def expand(visits: Visits) -> Pairs:
    """Every (need, member) pair of every visit, in visit order."""
    cells = visits.cells
    sizes = cells.size(visits.cell)
    offset = np.zeros(sizes.size + 1, dtype=np.int64)
    np.cumsum(sizes, out=offset[1:])
    provider = cells.members[concat_ranges(cells.ptr[visits.cell], sizes)]
    return Pairs(need=np.repeat(visits.need, sizes), provider=provider,
                 tier=np.repeat(visits.tier, sizes), offset=offset[:-1])


def near_homes(batch: NeedBatch, index: ProviderIndex, grid_map: GridMap, pairs: Pairs) -> np.ndarray:
    """Whether each pair's provider lives in the need's grid or a neighbouring one."""
    if pairs.need.size == 0:
        return np.zeros(0, dtype=bool)
    stride = len(index.grid_ids) + 1
    keys = []
    for i in np.unique(pairs.need).tolist():
        grid = batch.needs[i].grid
        for g in {grid} | set(grid_map.neighbors.get(grid, frozenset())):
            gid = index.grid_ids.get(g)
            if gid is not None:
                keys.append(i * stride + gid + 1)
    near = np.sort(np.asarray(keys, dtype=np.int64))
    if near.size == 0:
        return np.zeros(pairs.need.size, dtype=bool)
    home = index.home[pairs.provider]
    pair_keys = pairs.need.astype(np.int64) * stride + home + 1
    at = np.minimum(np.searchsorted(near, pair_keys), near.size - 1)
    near_home: npt.NDArray[np.bool_] = (home != NO_GRID) & (near[at] == pair_keys)
    return near_home


def overlap_minutes(batch: NeedBatch, index: ProviderIndex, pairs: Pairs) -> np.ndarray:
    """Minutes of each pair's need window that the provider's slots cover (as
    :func:`matching.slots.overlap_minutes`), or -1 when either side has no constraint."""
    pattern = index.pattern[pairs.provider]
    constrained = (batch.window_minutes[pairs.need] > 0) & (pattern != ANY_TIME)
    out = np.full(pairs.need.size, -1, dtype=np.int64)
    idx = np.flatnonzero(constrained)
    if idx.size == 0:
        return out
    need, pattern = pairs.need[idx], pattern[idx]
    n_patterns = index.pattern_days.shape[0]
    windowed = np.flatnonzero(batch.window_minutes > 0)
    if windowed.size * n_patterns < idx.size:
        # Fewer (need, availability) combinations than pairs: work them all out once.
        table = _covered(batch, index, np.repeat(windowed, n_patterns),
                         np.tile(np.arange(n_patterns), windowed.size)).reshape(-1, n_patterns)
        out[idx] = table[np.searchsorted(windowed, need), pattern]
    else:
        out[idx] = _covered(batch, index, need, pattern)
    return out


def _covered(batch: NeedBatch, index: ProviderIndex, need: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """Minutes of need ``need[k]``'s window inside availability pattern ``pattern[k]``."""
    n_pieces = batch.piece_ptr[need + 1] - batch.piece_ptr[need]
    piece = concat_ranges(batch.piece_ptr[need], n_pieces)
    owner = np.repeat(np.arange(need.size), n_pieces)
    slots = index.pattern_days[pattern[owner], batch.piece_day[piece]]  # (rows, per_day, 2)
    start = batch.piece_start[piece][:, None]
    end = batch.piece_end[piece][:, None]
    covered = np.clip(np.minimum(end, slots[:, :, 1]) - np.maximum(start, slots[:, :, 0]), 0, None)
    return np.bincount(owner, weights=covered.sum(axis=1), minlength=need.size).astype(np.int64)
