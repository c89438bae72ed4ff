"""The providers as arrays, built once per batch, so that candidates and features are numpy work.

Providers are grouped into *cells*, the unit in which candidates are looked up:

- a volunteer cell holds the volunteers of one home grid offering one service; a need visits its own
  grid's cell (tier 1) and its neighbours' cells (tier 2);
- a resource cell holds the government resources of one service with the same covered grids; a need
  visits the cells that cover its grid (tier 1; ``grids_covered=None`` covers every grid);
- tier 3 cells (:meth:`ProviderIndex.tier3_cells`, per map) hold the volunteers of a subdistrict
  offering one service, and those of them holding one skill tag; a need visits them only when
  widened to tier 3 (see :mod:`matching.candidates` and :mod:`matching.scoring`).

Cells hold only providers with capacity left, in provider order (sorted by ``(kind, id)``), so
every tie later falls to the smaller provider key.
"""
from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .slots import WeeklySlot
from .taxonomy import SERVICES
from .textvec import CharNgramTfidf
from .types import GridMap, ProviderView

DAYS_PER_WEEK = 7
NO_GRID = -1  # grid id of a volunteer without a home grid
ANY_TIME = -1  # pattern id of a provider without slots


@dataclass(frozen=True)
class CellTable:
    """Members of every cell as one CSR: cell ``c`` holds ``members[ptr[c]:ptr[c + 1]]``."""

    ptr: np.ndarray
    members: np.ndarray

    def size(self, cells: np.ndarray) -> np.ndarray:
        return self.ptr[cells + 1] - self.ptr[cells]


SERVICE_CODES: dict[str, int] = {s: k for k, s in enumerate(SERVICES)}
NO_CELL = -1


@dataclass(frozen=True)
class Tier3Cells:
    """Tier 3 cells of one map: the free volunteers of a (subdistrict, service), and of a
    (subdistrict, service, skill tag). Cell ids are positions in ``keys``, sorted."""

    table: CellTable
    keys: np.ndarray
    n_tags: int
    subdistrict_ids: dict[str, int]

    def key(self, subdistrict: np.ndarray, service: np.ndarray, tag: np.ndarray) -> np.ndarray:
        n_services = len(SERVICES)
        return (subdistrict * n_services + service) * (self.n_tags + 1) + (tag + 1)

    def lookup(self, subdistrict: np.ndarray, service: np.ndarray, tag: np.ndarray) -> np.ndarray:
        """Cell ids, NO_CELL where nobody is in that cell."""
        wanted = self.key(subdistrict, service, tag)
        if self.keys.size == 0:
            return np.full(wanted.size, NO_CELL, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, wanted), self.keys.size - 1)
        return np.where(self.keys[at] == wanted, at, NO_CELL)


class ProviderIndex:
    """Everything the matcher needs to know about the providers, as arrays.

    Build it with :meth:`build`; it does not depend on the needs or on the grid map, so one index
    serves a batch and any number of instant proposals until the providers change.
    """

    def __init__(self, providers: Sequence[ProviderView]) -> None:
        self.providers: tuple[ProviderView, ...] = tuple(sorted(providers, key=lambda p: p.key))
        ps = self.providers
        n = len(ps)
        self.size = n
        self.is_resource = np.fromiter((p.kind == "resource" for p in ps), dtype=bool, count=n)
        self.capacity = np.fromiter((p.capacity for p in ps), dtype=np.int64, count=n)
        self.load = np.fromiter((p.load for p in ps), dtype=np.int64, count=n)
        self.free = np.fromiter((p.free for p in ps), dtype=np.int64, count=n)
        self.reliability = np.fromiter(
            (np.nan if p.reliability is None else p.reliability for p in ps), dtype=np.float64, count=n)

        # Dense ids of the volunteers' home grids; other grids need none (nobody lives there).
        self.grid_ids: dict[str, int] = {}
        for p in ps:
            if p.kind == "volunteer" and p.home_grid is not None:
                self.grid_ids.setdefault(p.home_grid, len(self.grid_ids))
        self.home = np.fromiter((self.grid_ids[p.home_grid] if p.kind == "volunteer"
                                 and p.home_grid is not None else NO_GRID for p in ps),
                                dtype=np.int64, count=n)

        self._build_patterns()
        self._build_tags()
        self.tfidf = CharNgramTfidf()
        self.text_matrix: sparse.csr_matrix = self.tfidf.fit_transform(
            [" ".join(p.skills) + " " + p.description for p in ps])
        self._build_cells()

    @classmethod
    def build(cls, providers: Sequence[ProviderView]) -> ProviderIndex:
        return cls(providers)

    def subdistrict_ids(self, grid_map: GridMap) -> dict[str, int]:
        """Dense ids of the map's subdistricts; 0 is the default (grids the map leaves out)."""
        ids = {"": 0}
        for code in sorted(set(grid_map.subdistricts.values())):
            ids.setdefault(code, len(ids))
        return ids

    def tier3_cells(self, grid_map: GridMap) -> Tier3Cells:
        """Tier 3 cells for this map, kept for the last map asked about."""
        if self._tier3 is not None and self._tier3[0]() is grid_map:
            return self._tier3[1]
        sub_ids = self.subdistrict_ids(grid_map)
        sub_of_grid = np.zeros(len(self.grid_ids) + 1, dtype=np.int64)  # last: no home grid
        for code, gid in self.grid_ids.items():
            sub_of_grid[gid] = sub_ids[grid_map.subdistricts.get(code, "")]
        home = self.home[self.t3_provider]
        sub = sub_of_grid[np.where(home == NO_GRID, len(self.grid_ids), home)]
        cells = Tier3Cells(table=CellTable(np.zeros(1, np.int64), np.zeros(0, np.int64)),
                           keys=np.zeros(0, np.int64), n_tags=len(self.tags), subdistrict_ids=sub_ids)
        key = cells.key(sub, self.t3_service, self.t3_tag)
        order = np.argsort(key, kind="stable")  # memberships are in provider order already
        key = key[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, np.int64)
        ptr = np.append(starts, key.size).astype(np.int64)
        cells = Tier3Cells(table=CellTable(ptr=ptr, members=self.t3_provider[order]),
                           keys=key[starts], n_tags=len(self.tags), subdistrict_ids=sub_ids)
        self._tier3 = (weakref.ref(grid_map), cells)
        return cells

    # -- availability --------------------------------------------------------------------------
    def _build_patterns(self) -> None:
        """Distinct weekly availabilities, each as up to ``max_per_day`` (start, end) per weekday."""
        pattern_of: dict[tuple[WeeklySlot, ...], int] = {}
        self.pattern = np.fromiter(
            (ANY_TIME if not p.slots else pattern_of.setdefault(p.slots, len(pattern_of))
             for p in self.providers), dtype=np.int64, count=self.size)
        patterns = list(pattern_of)
        per_day = max((sum(1 for s in slots if s.day == d) for slots in patterns
                        for d in range(DAYS_PER_WEEK)), default=1)
        # Padding slots are empty (0, 0) and overlap nothing.
        days = np.zeros((max(len(patterns), 1), DAYS_PER_WEEK, max(per_day, 1), 2), dtype=np.int64)
        for i, slots in enumerate(patterns):
            filled = [0] * DAYS_PER_WEEK
            for s in slots:
                days[i, s.day, filled[s.day]] = (s.start, s.end)
                filled[s.day] += 1
        self.pattern_days = days

    # -- skills --------------------------------------------------------------------------------
    def _build_tags(self) -> None:
        tag_of: dict[str, int] = {}
        lengths = np.fromiter((len(p.skills) for p in self.providers), dtype=np.int64, count=self.size)
        ids = [tag_of.setdefault(t, len(tag_of)) for p in self.providers for t in p.skills]
        self.tags: tuple[str, ...] = tuple(tag_of)
        self.tag_ptr = np.zeros(self.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.tag_ptr[1:])
        self.tag_ids = np.asarray(ids, dtype=np.int64)
        # Which characters each tag holds, with multiplicity: a cheap upper bound on how well the
        # tag can match a text, so that rapidfuzz only sees pairs that could score.
        # Matching ignores case ("WiFi" and "wifi"); self.tags keep the spelling shown to people.
        self.match_tags: tuple[str, ...] = tuple(t.lower() for t in self.tags)
        chars = sorted({c for t in self.match_tags for c in t})
        self.tag_chars = np.array([ord(c) for c in chars], dtype=np.int64)
        col = {c: i for i, c in enumerate(chars)}
        rows = [i for i, t in enumerate(self.match_tags) for _ in t]
        cols = [col[c] for t in self.match_tags for c in t]
        self.tag_char_matrix = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(self.tags), len(chars)))
        self.tag_char_matrix.sum_duplicates()
        self.tag_len = np.fromiter((len(t) for t in self.match_tags), dtype=np.int64,
                                   count=len(self.tags))
        self.longest_tag = int(self.tag_len.max(initial=1))

    # -- cells ---------------------------------------------------------------------------------
    def _build_cells(self) -> None:
        volunteer_cells: dict[tuple[str, str], list[int]] = defaultdict(list)
        resource_cells: dict[tuple[frozenset[str] | None, str], list[int]] = defaultdict(list)
        # Tier 3 memberships of free volunteers: (provider, service, tag or -1 for the service as
        # a whole); cells over them depend on the map's subdistricts (see tier3_cells).
        t3_provider: list[int] = []
        t3_service: list[int] = []
        t3_tag: list[int] = []
        # Providers of a service that could ever serve a need, free or not, for the reason a need
        # stays unmatched: by service for volunteers, by (grid, service) for resources.
        self.volunteers_offering: dict[str, int] = defaultdict(int)
        self.volunteers_free: dict[str, int] = defaultdict(int)
        resource_offering: dict[tuple[frozenset[str] | None, str], int] = defaultdict(int)
        for i, p in enumerate(self.providers):
            has_room = p.free > 0
            for s in sorted(p.services):
                if p.kind == "resource":
                    resource_offering[(p.grids_covered, s)] += 1
                    if has_room:
                        resource_cells[(p.grids_covered, s)].append(i)
                    continue
                self.volunteers_offering[s] += 1
                if not has_room:
                    continue
                self.volunteers_free[s] += 1
                tags = [-1, *dict.fromkeys(self.tag_ids[self.tag_ptr[i]: self.tag_ptr[i + 1]].tolist())]
                t3_provider.extend([i] * len(tags))
                t3_service.extend([SERVICE_CODES[s]] * len(tags))
                t3_tag.extend(tags)
                if p.home_grid is not None:
                    volunteer_cells[(p.home_grid, s)].append(i)

        members: list[list[int]] = []
        self.volunteer_cell: dict[tuple[str, str], int] = {}
        for key, ms in volunteer_cells.items():
            self.volunteer_cell[key] = len(members)
            members.append(ms)
        self.first_resource_cell = len(members)
        # Resource cells visible from a grid: covering it, or covering every grid.
        self.resource_cells_by_grid: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.resource_cells_everywhere: dict[str, list[int]] = defaultdict(list)
        for (covered, s), ms in sorted(resource_cells.items(), key=lambda kv: kv[1][0]):
            cell = len(members)
            members.append(ms)
            if covered is None:
                self.resource_cells_everywhere[s].append(cell)
            else:
                for g in covered:
                    self.resource_cells_by_grid[(g, s)].append(cell)
        self.resources_offering_by_grid: dict[tuple[str, str], int] = defaultdict(int)
        self.resources_offering_everywhere: dict[str, int] = defaultdict(int)
        for (covered, s), count in resource_offering.items():
            if covered is None:
                self.resources_offering_everywhere[s] += count
            else:
                for g in covered:
                    self.resources_offering_by_grid[(g, s)] += count

        sizes = np.fromiter((len(m) for m in members), dtype=np.int64, count=len(members))
        ptr = np.zeros(len(members) + 1, dtype=np.int64)
        np.cumsum(sizes, out=ptr[1:])
        flat = np.fromiter((i for m in members for i in m), dtype=np.int64, count=int(ptr[-1]))
        self.cells = CellTable(ptr=ptr, members=flat)
        self.t3_provider = np.asarray(t3_provider, dtype=np.int64)
        self.t3_service = np.asarray(t3_service, dtype=np.int64)
        self.t3_tag = np.asarray(t3_tag, dtype=np.int64)
        self._tier3: tuple[weakref.ref[GridMap], Tier3Cells] | None = None
        self.cell_is_resource = np.zeros(len(members), dtype=bool)
        self.cell_is_resource[self.first_resource_cell:] = True
