"""The providers as arrays, built once per batch, so that candidates and features are numpy work.

Providers are grouped into *cells*, the unit in which candidates are looked up:

- a volunteer cell holds the volunteers of one home grid offering one service; a need visits its own
  grid's cell (tier 1) and its neighbours' cells (tier 2);
- a resource cell holds the government resources of one service with the same covered grids; a need
  visits the cells that cover its grid (tier 1; ``grids_covered=None`` covers every grid);
- tier 3 cells (:meth:`ProviderIndex.tier3_cells`, per map) hold the volunteers of a subdistrict
  offering one service, and those of them holding one skill tag; a need visits them only when
  widened to tier 3 (see :mod:`matching.candidates` and :mod:`matching.scoring`).

Cells hold every provider, busy or not, in provider order (sorted by ``(kind, id)``), so every tie
later falls to the smaller provider key; scoring skips those without capacity left. So a provider
filling up or getting room again changes only the load arrays (:meth:`ProviderIndex.with_loads`).
"""
from __future__ import annotations

import copy
import functools
import gc
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from core.vocab import ProviderKind, Service

from . import lexicon
from .lexicon import PLAIN_HELP_TAGS, RECIPIENT_GROUPS, canonical_tag, implied_tags, recipient_group
from .slots import WeeklySlot
from .textvec import CellBlocks, CharNgramTfidf, concat_ranges, gather_rows
from .types import GridMap, ProviderView

DAYS_PER_WEEK = 7
NO_GRID = -1  # grid id of a volunteer without a home grid
ANY_TIME = -1  # pattern id of a provider without slots
TAG_PAD = 8  # tags per provider read as a matrix; more are read one by one


@dataclass(frozen=True)
class CellTable:
    """Members of every cell as one CSR: cell ``c`` holds ``members[ptr[c]:ptr[c + 1]]``."""

    ptr: npt.NDArray[np.int64]
    members: np.ndarray

    def size(self, cells: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return self.ptr[cells + 1] - self.ptr[cells]


SERVICES: tuple[Service, ...] = tuple(Service)  # the columns of a cell's offering counts
SERVICE_CODES: dict[str, int] = {s: k for k, s in enumerate(SERVICES)}
NO_CELL = -1


@dataclass(frozen=True)
class Tier3Cells:
    """Tier 3 cells of one map: the volunteers (busy or not) of a (subdistrict, service), and of a
    (subdistrict, service, skill tag). Cell ids are positions in ``keys``, sorted."""

    table: CellTable
    keys: np.ndarray
    n_tags: int
    subdistrict_ids: dict[str, int]
    # [subdistrict id, service code] -> volunteers living there offering it, free or not.
    offering: np.ndarray = field(default_factory=lambda: np.zeros((1, len(SERVICES)), np.int64))

    def key(self, subdistrict: npt.NDArray[np.int64], service: npt.NDArray[np.int64],
            tag: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        n_services = len(SERVICES)
        return (subdistrict * n_services + service) * (self.n_tags + 1) + (tag + 1)

    def lookup(self, subdistrict: np.ndarray, service: np.ndarray, tag: np.ndarray) -> np.ndarray:
        """Cell ids, NO_CELL where nobody is in that cell."""
        wanted = self.key(subdistrict, service, tag)
        if self.keys.size == 0:
            return np.full(wanted.size, NO_CELL, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, wanted), self.keys.size - 1)
        return np.where(self.keys[at] == wanted, at, NO_CELL)


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector paused for a bulk step. Matching allocates many short-lived
    objects but makes no reference cycles, and with hundreds of thousands of providers alive every
    full collection would walk them all: at a city's size that is seconds of a batch."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class ProviderIndex:
    """Everything the matcher needs to know about the providers, as arrays.

    Build it with :meth:`build`; it does not depend on the needs or on the grid map, so one index
    serves a batch and any number of instant proposals until the providers change. A change of
    capacity, load or reliability only needs :meth:`with_loads` (a copy sharing everything else).

    An index is never changed once built (only its caches of derived tables fill in), so threads
    may share it.
    """

    _tier3: tuple[GridMap, Tier3Cells] | None  # the last map's, see tier3_cells
    # Made by _build_cells: declared here for the type checker.
    cells: CellTable
    cell_text: CellBlocks
    homeless_cell: int
    t3_provider: np.ndarray
    t3_service: np.ndarray
    t3_tag: np.ndarray

    def __init__(self, providers: Sequence[ProviderView]) -> None:
        with paused_gc():
            self._build(providers)
        lexicon.warm()  # the index is built once per process and shared, so the segmenter loads with it

    def _build(self, providers: Sequence[ProviderView]) -> None:
        self.providers: tuple[ProviderView, ...] = tuple(sorted(providers, key=lambda p: p.key))
        ps = self.providers
        n = len(ps)
        self.size = n
        self.row_of: dict[tuple[str, int], int] = {p.key: i for i, p in enumerate(ps)}  # provider key -> row
        self.is_resource = np.fromiter((p.kind == ProviderKind.RESOURCE for p in ps), dtype=bool, count=n)
        self.capacity = np.fromiter((p.capacity for p in ps), dtype=np.int64, count=n)
        self.load = np.fromiter((p.load for p in ps), dtype=np.int64, count=n)
        self.free = np.maximum(self.capacity - self.load, 0)  # ProviderView.free
        self.reliability = np.fromiter(
            (np.nan if p.reliability is None else p.reliability for p in ps), dtype=np.float64, count=n)

        # Dense ids of the volunteers' home grids; other grids need none (nobody lives there).
        homes = [p.home_grid if p.kind == ProviderKind.VOLUNTEER else None for p in ps]
        self.grid_ids: dict[str, int] = {}
        for g in homes:
            if g is not None and g not in self.grid_ids:
                self.grid_ids[g] = len(self.grid_ids)
        self.grid_codes: tuple[str, ...] = tuple(self.grid_ids)
        ids = self.grid_ids
        self.home = np.fromiter((NO_GRID if g is None else ids[g] for g in homes), dtype=np.int64, count=n)

        self._build_patterns()
        self._build_tags()
        # What scoring derives from a need's words against this index's vocabulary and tags, by text
        # (matching.scoring.PairScorer): shared by the copies with_loads makes, as the vocabulary is.
        self.text_memo: dict[str, Any] = {}
        self.tfidf = CharNgramTfidf()
        text = self.tfidf.fit_transform([" ".join(p.skills) + " " + p.description for p in ps])
        self._build_memberships()
        # Only providers in some cell ever get a text cosine: keep their rows, in cell order, and
        # not the full matrix (at a city's size that would be another 200 MB).
        self._build_cells()
        self._build_cell_text(text)

    def _build_cell_text(self, text: sparse.csr_matrix) -> None:
        self.cell_text = CellBlocks.of(self.cells, gather_rows(text, self.cells.members),
                                       self.tfidf.n_features)
        self.text_row = np.full(self.size, -1, dtype=np.int64)  # provider -> a member row holding its text
        self.text_row[self.cells.members[::-1]] = np.arange(self.cells.members.size)[::-1]

    @classmethod
    def build(cls, providers: Sequence[ProviderView]) -> ProviderIndex:
        """The index of ``providers``."""
        return cls(providers)

    def with_loads(self, changes: Mapping[tuple[str, int], tuple[int, int, float | None]]) -> ProviderIndex:
        """A copy of this index in which each provider of ``changes`` has the given
        ``(capacity, load, reliability)``; every other table is shared with this one.

        The result equals an index built from scratch with those providers: the features that
        read capacity, load and reliability read the new arrays, and the cells, which hold every
        provider, busy or not (scoring skips those without room), stay as they are. Raises KeyError
        for an unknown provider.
        """
        if not changes:
            return self
        new = copy.copy(self)
        rows = np.fromiter((self.row_of[k] for k in changes), dtype=np.int64, count=len(changes))
        values = list(changes.values())
        new.capacity = self.capacity.copy()
        new.capacity[rows] = [c for c, _, _ in values]
        new.load = self.load.copy()
        new.load[rows] = [ld for _, ld, _ in values]
        new.reliability = self.reliability.copy()
        new.reliability[rows] = [np.nan if r is None else r for _, _, r in values]
        new.free = np.maximum(new.capacity - new.load, 0)
        providers = list(self.providers)
        for row, (capacity, load, reliability) in zip(rows.tolist(), values):
            providers[row] = replace(providers[row], capacity=capacity, load=load, reliability=reliability)
        new.providers = tuple(providers)
        return new

    @functools.cached_property
    def tag_services(self) -> np.ndarray:
        """Tag x service: whether some provider holding the tag offers the service."""
        out = np.zeros((len(self.tags), len(SERVICES)), dtype=bool)
        np.logical_or.at(out, self.tag_ids, self.offers[np.repeat(np.arange(self.size), self.tag_count)])
        return out


    def subdistrict_ids(self, grid_map: GridMap) -> dict[str, int]:
        """Dense ids of the map's subdistricts; 0 is the default (grids the map leaves out)."""
        ids = {"": 0}
        for code in sorted(set(grid_map.subdistricts.values())):
            ids.setdefault(code, len(ids))
        return ids

    def tier3_cells(self, grid_map: GridMap) -> Tier3Cells:
        """Tier 3 cells for this map, kept for the last map asked about (or one equal to it: the
        web app reads the grid map again for each request)."""
        last = self._tier3  # one read: another thread may replace it
        if last is not None and (last[0] is grid_map or last[0] == grid_map):
            return last[1]
        sub_ids = self.subdistrict_ids(grid_map)
        sub_of_grid = np.zeros(len(self.grid_ids) + 1, dtype=np.int64)  # last: no home grid
        for code, gid in self.grid_ids.items():
            sub_of_grid[gid] = sub_ids[grid_map.subdistricts.get(code, "")]

        def subdistrict_of(providers: np.ndarray) -> np.ndarray:
            home = self.home[providers]
            return sub_of_grid[np.where(home == NO_GRID, len(self.grid_ids), home)]

        offering = np.zeros((len(sub_ids), len(SERVICES)), dtype=np.int64)
        np.add.at(offering, (subdistrict_of(self.offer_provider), self.offer_service), 1)
        sub = subdistrict_of(self.t3_provider)
        cells = Tier3Cells(table=CellTable(np.zeros(1, np.int64), np.zeros(0, np.int64)),
                           keys=np.zeros(0, np.int64), n_tags=len(self.tags), subdistrict_ids=sub_ids)
        key = cells.key(sub, self.t3_service, self.t3_tag)
        order = np.argsort(key, kind="stable")  # memberships are in provider order already
        key = key[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, np.int64)
        ptr = np.append(starts, key.size).astype(np.int64)
        cells = Tier3Cells(table=CellTable(ptr=ptr, members=self.t3_provider[order]),
                           keys=key[starts], n_tags=len(self.tags), subdistrict_ids=sub_ids,
                           offering=offering)
        self._tier3 = (grid_map, cells)
        return cells

    # -- availability --------------------------------------------------------------------------
    def _build_patterns(self) -> None:
        """Distinct weekly availabilities, each as up to ``max_per_day`` (start, end) per weekday."""
        pattern_of: dict[tuple[WeeklySlot, ...], int] = {}
        self.pattern = np.fromiter(
            (ANY_TIME if not p.slots else pattern_of.setdefault(p.slots, len(pattern_of))
             for p in self.providers), dtype=np.int64, count=self.size)
        patterns = list(pattern_of)
        per_day = max((sum(1 for s in slots if s.day == d)
                       for slots in patterns for d in range(DAYS_PER_WEEK)), default=1)
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
        # A tag listed twice by one provider counts once.
        # A tag that the table says is a kind of a broader skill (邻里调解: 调解) holds that one too.
        per_provider = [[tag_of.setdefault(t, len(tag_of))
                         for t in dict.fromkeys(t for own in p.skills for t in (own, *implied_tags(own)))]
                        for p in self.providers]
        lengths = np.fromiter((len(t) for t in per_provider), dtype=np.int64, count=self.size)
        self.tags: tuple[str, ...] = tuple(tag_of)
        self.tag_ptr = np.zeros(self.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.tag_ptr[1:])
        self.tag_ids = np.fromiter((t for tags in per_provider for t in tags), dtype=np.int64,
                                   count=int(self.tag_ptr[-1]))
        # The first TAG_PAD tags of each provider as a matrix, padded with len(tags) (a column of
        # zeros in the skill tables): the skill of a pair is then one gather and a max.
        self.tag_count = lengths
        width = int(min(TAG_PAD, lengths.max(initial=1)))
        self.tag_pad = np.full((self.size, max(width, 1)), len(self.tags), dtype=np.int32)
        for k in range(width):
            has = np.flatnonzero(lengths > k)
            self.tag_pad[has, k] = self.tag_ids[self.tag_ptr[has] + k]
        # Tags that name whom a provider serves (助老, 青少年服务) are not skills: they never match a
        # need's task, and give the recipient feature instead (see matching.lexicon).
        groups = [recipient_group(t) for t in self.tags]
        group_bit = {g: 1 << k for k, g in enumerate(RECIPIENT_GROUPS)}
        tag_serves = np.array([group_bit[g] if g else 0 for g in groups], dtype=np.int64)
        self.serves = np.zeros(self.size, dtype=np.int64)  # per provider: a bit per group it serves
        if self.tag_ids.size:
            np.bitwise_or.at(self.serves, np.repeat(np.arange(self.size), lengths), tag_serves[self.tag_ids])
        # Which characters each tag holds, with multiplicity: a cheap upper bound on how well the
        # tag can match a text, so that rapidfuzz only sees pairs that could score.
        # Matching ignores case ("WiFi" and "wifi") and reads a tag as the synonym table names its
        # skill ("血压监测" is 测血压); self.tags keep the spelling shown to people.
        self.match_tags: tuple[str, ...] = tuple("" if g else canonical_tag(t).lower()
                                                 for t, g in zip(self.tags, groups))
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
        self.plain_help = np.fromiter((t in PLAIN_HELP_TAGS for t in self.match_tags), dtype=bool,
                                      count=len(self.tags))
        self.longest_tag = int(self.tag_len.max(initial=1))

    # -- cells ---------------------------------------------------------------------------------
    def _build_memberships(self) -> None:
        """(provider, service) memberships, free or not: they do not change with the load."""
        member_provider, member_service = [], []
        for i, p in enumerate(self.providers):
            for s in sorted(p.services):
                if s in SERVICE_CODES:
                    member_provider.append(i)
                    member_service.append(SERVICE_CODES[s])
        mp = np.asarray(member_provider, dtype=np.int64)
        ms = np.asarray(member_service, dtype=np.int64)
        self.member_provider, self.member_service = mp, ms
        self.offers = np.zeros((self.size, len(SERVICES)), dtype=bool)  # provider x service it offers
        self.offers[mp, ms] = True
        resource = self.is_resource[mp]
        self.offer_provider = mp[~resource]  # every volunteer membership, free or not
        self.offer_service = ms[~resource]

    def _build_cells(self) -> None:
        """Cells of every provider, busy or not (scoring skips those without room: a provider filling
        up or getting room again then changes no table but the loads, :meth:`with_loads`); tier 3
        memberships; the counts of providers offering each service, for the reasons a need stays
        unmatched."""
        mp, ms = self.member_provider, self.member_service
        resource = self.is_resource[mp]
        n_services = len(SERVICES)

        # Volunteer cells: (home grid, service), members in provider order.
        pick = np.flatnonzero(~resource & (self.home[mp] != NO_GRID))
        key = self.home[mp[pick]] * n_services + ms[pick]
        order = np.argsort(key, kind="stable")
        key, vol_members = key[order], mp[pick][order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if key.size else np.zeros(0, np.int64)
        vol_ptr = np.append(starts, key.size).astype(np.int64)
        # [home grid id, service code] -> cell; the last row and column (an unknown grid or
        # service) hold no cell.
        self.volunteer_cell_table = np.full((len(self.grid_codes) + 1, n_services + 1), NO_CELL,
                                            dtype=np.int64)
        cell_keys = key[starts]
        self.volunteer_cell_table[cell_keys // n_services, cell_keys % n_services] = np.arange(starts.size)

        # Resource cells: (covered grids, service); there are few resources.
        resource_cells: dict[tuple[frozenset[str] | None, str], list[int]] = defaultdict(list)
        resource_offering: dict[tuple[frozenset[str] | None, str], int] = defaultdict(int)
        for i, s in zip(mp[resource].tolist(), ms[resource].tolist()):
            covered = self.providers[i].grids_covered
            resource_offering[(covered, SERVICES[s])] += 1
            resource_cells[(covered, SERVICES[s])].append(i)
        # One more cell, never visited at tiers 1-2: volunteers without a home grid, so that their
        # text rows are kept for tier 3.
        homeless = np.unique(mp[~resource & (self.home[mp] == NO_GRID)])
        self.homeless_cell = len(starts)
        members = [vol_members, homeless]
        sizes = [np.diff(vol_ptr), np.array([homeless.size])]
        cell = len(starts) + 1
        self.resource_cells_by_grid: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.resource_cells_everywhere: dict[str, list[int]] = defaultdict(list)
        for (covered, s), ids in sorted(resource_cells.items(), key=lambda kv: kv[1][0]):
            members.append(np.asarray(ids, dtype=np.int64))
            sizes.append(np.array([len(ids)]))
            if covered is None:
                self.resource_cells_everywhere[s].append(cell)
            else:
                for g in covered:
                    self.resource_cells_by_grid[(g, s)].append(cell)
            cell += 1
        self.resources_offering_by_grid: dict[tuple[str, str], int] = defaultdict(int)
        self.resources_offering_everywhere: dict[str, int] = defaultdict(int)
        for (covered, s), count in resource_offering.items():
            if covered is None:
                self.resources_offering_everywhere[s] += count
            else:
                for g in covered:
                    self.resources_offering_by_grid[(g, s)] += count
        ptr = np.zeros(cell + 1, dtype=np.int64)
        np.cumsum(np.concatenate(sizes), out=ptr[1:])
        self.cells = CellTable(ptr=ptr, members=np.concatenate(members).astype(np.int32))

        # Tier 3 memberships of every volunteer: (provider, service, tag), with tag -1 standing
        # for the service as a whole; cells over them depend on the map (see tier3_cells).
        t3 = np.flatnonzero(~resource)
        provider = mp[t3]
        n_tags = self.tag_ptr[provider + 1] - self.tag_ptr[provider]
        memberships = n_tags + 1
        first = np.cumsum(memberships) - memberships
        self.t3_provider = np.repeat(provider, memberships).astype(np.int32)
        self.t3_service = np.repeat(ms[t3], memberships)
        self.t3_tag = np.full(self.t3_provider.size, -1, dtype=np.int64)
        own_tags = self.tag_ids[concat_ranges(self.tag_ptr[provider], n_tags)]
        self.t3_tag[concat_ranges(first + 1, n_tags)] = own_tags
        self._tier3 = None
