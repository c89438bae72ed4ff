"""The provider index of a worker process, kept current instead of rebuilt.

Building a :class:`matching.index.ProviderIndex` costs about 50 ms for the demo's 3,000 providers
and half a second for 30,000 (the TF-IDF fit, the tags, the cells), and reading the providers
costs as much again. So each process keeps one index per subdistrict (its providers only: a need is
never matched across subdistricts; :data:`ALL`, every provider, for tools) and brings it up to date on
each use:

- a cheap :class:`PoolState` (one query of maxima and counts) says whether anything changed;
- when only proposals and needs moved (a transition, a batch), the loads and reliabilities are
  read again in one grouped query, and the providers whose figures changed are applied to the
  index in place (:meth:`ProviderIndex.with_loads`, a copy sharing everything else);
- when providers were edited, they are read again in plain rows (SQLAlchemy Core); if only their
  capacities changed the index is updated the same way, otherwise (a new provider, other skills, a
  move, a deactivation) it is built again: the TF-IDF vocabulary depends on every provider.

The result is always the index a fresh build would give (``tests/dispatch/test_index_cache.py``
checks that after transitions, imports and edits). Each entry is immutable and replaced whole,
so threads read it without a lock; refreshing an entry takes a lock per subdistrict, so a burst
of requests after a change refreshes it once. A request whose own transaction has written
(a transition choosing the next provider) computes its index privately from the entry and
publishes nothing: its writes may still roll back.

The state is read from maxima, which a transaction that commits late under an earlier id can
slip past: every :data:`RECHECK_SECONDS` an entry therefore reads the loads again even when the
state looks unchanged, so such a change is seen within that time.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from core.config import setting
from matching.index import ProviderIndex
from matching.types import GridMap, ProviderView
from models import AuditEntry, Proposal, Resource, Subdistrict, Volunteer

from .views import ProviderHistory, ProviderKey, load_providers, neighbor_map, provider_history

CACHE_KEY = "sanku_provider_index_cache"
ALL = None  # the key of every provider of the deployment
RECHECK_SECONDS = 5.0  # an entry older than this reads the loads again even if the state is the same
_WROTE = "sanku_wrote_in"  # Session.info: the root transaction that has flushed a change


@event.listens_for(Session, "after_flush")
def _remember_write(session: Session, _context: Any) -> None:
    note_write(session)


def note_write(session: Session) -> None:
    """Record that the current transaction has written, as a flush does: bulk statements
    (``session.execute(insert(...), rows)``) do not flush, yet they change what an index is made from."""
    session.info[_WROTE] = session.get_transaction()


def wrote_in_transaction(session: Session) -> bool:
    """Whether this session's current transaction has flushed a change (not yet committed)."""
    tx = session.info.get(_WROTE)
    return tx is not None and tx is session.get_transaction()


@dataclass(frozen=True)
class PoolState:
    """What changes when the index may have to: a subdistrict's providers (the last one added and the last
    edit of each pool), and activity (the last proposal and the last audit entry: every move of a need
    writes one). Each is a maximum over an index, so asking costs the same for 3,000 providers or 300,000.
    ``grids``: the subdistrict's map version (``Subdistrict.map_version``)."""

    providers: tuple[Any, ...]
    activity: tuple[Any, ...]
    grids: Any = None


def pool_state(session: Session, subdistrict: int | None = ALL) -> PoolState:
    def newest(column: Any, model: Any) -> Any:
        query = select(func.max(column))
        return (query if subdistrict is None else query.where(model.subdistrict_id == subdistrict)).scalar_subquery()
    # Providers are never deleted (deactivating one is an edit), so the last id and the last edit see every change.
    row = session.execute(select(
        newest(Resource.id, Resource), newest(Resource.updated_at, Resource),
        newest(Volunteer.id, Volunteer), newest(Volunteer.updated_at, Volunteer),
        select(func.max(Proposal.id)).scalar_subquery(), select(func.max(AuditEntry.id)).scalar_subquery(),
        (select(func.sum(Subdistrict.map_version)) if subdistrict is None
         else select(Subdistrict.map_version).where(Subdistrict.id == subdistrict)).scalar_subquery(),
    )).one()
    return PoolState(providers=tuple(row[:4]), activity=tuple(row[4:6]), grids=row[6])


@dataclass(frozen=True)
class CachedIndex:
    """An index with the state and the history it was made from, and the subdistrict's grid map (read
    again only when its version moves: reading it cost a third of a request for proposals)."""

    state: PoolState
    index: ProviderIndex
    history: ProviderHistory
    checked_at: float  # time.monotonic() when the history was last read
    grid_map: GridMap = field(default_factory=GridMap)

    def with_history(self, history: ProviderHistory) -> ProviderIndex:
        """The index with ``history``'s loads and reliabilities (built from ``self.history``)."""
        return self.index.with_loads(load_changes(self.index, history, self.history.changed(history)))


def load_changes(index: ProviderIndex, history: ProviderHistory,
                 keys: set[ProviderKey]) -> dict[tuple[str, int], tuple[int, int, float | None]]:
    """``(capacity, load, reliability)`` of these providers (those in the index) per ``history``."""
    rows = index.row_of
    return {k: (int(index.capacity[rows[k]]), history.load[k], history.reliability(k))
            for k in keys if k in rows}


def capacity_changes(index: ProviderIndex,
                     views: list[ProviderView]) -> dict[tuple[str, int], tuple[int, int, float | None]] | None:
    """The changes :meth:`ProviderIndex.with_loads` can make to turn ``index`` into the index of
    ``views``, or None when something else changed (then it must be built again)."""
    old = index.providers
    if len(views) != len(old):
        return None
    changes = {}
    for was, now in zip(old, sorted(views, key=lambda p: p.key)):
        if was != now:
            if was.key != now.key or was != ProviderView(**{**vars(now), "capacity": was.capacity,
                                                            "load": was.load, "reliability": was.reliability}):
                return None
            changes[now.key] = (now.capacity, now.load, now.reliability)
    return changes


class ProviderIndexCache:
    """One :class:`CachedIndex` per subdistrict key, for one process (see the module doc)."""

    def __init__(self, max_entries: int = 8) -> None:
        # Subdistricts whose index the process keeps (the least recently used goes first): an index of
        # 15,000 providers takes about 80-95 MiB, and a worker of a 70-subdistrict city would otherwise keep
        # them all (INDEX_CACHE_ENTRIES: size it to the subdistricts a worker serves, memory allowing).
        self.max_entries = max_entries
        self._entries: OrderedDict[int | None, CachedIndex] = OrderedDict()
        self._locks: dict[int | None, threading.Lock] = {}
        self.rebuilds = 0  # full builds so far (for tests and benchmarks)
        self.updates = 0  # in-place updates so far

    def entry(self, session: Session, subdistrict: int | None = ALL) -> CachedIndex:
        """The current entry for ``subdistrict``, refreshed if the pools changed."""
        state = pool_state(session, subdistrict)
        entry = self._entries.get(subdistrict)
        private = wrote_in_transaction(session)
        if not private and self._current(entry, state):
            assert entry is not None
            self._touch(subdistrict)
            return entry
        if private:
            return self._refresh(session, entry, state, subdistrict)
        with self._locks.setdefault(subdistrict, threading.Lock()):
            entry = self._entries.get(subdistrict)
            if self._current(entry, state):
                assert entry is not None
                return entry
            entry = self._refresh(session, entry, state, subdistrict)
            self._entries[subdistrict] = entry
            self._touch(subdistrict)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return entry

    def _touch(self, subdistrict: int | None) -> None:
        try:
            self._entries.move_to_end(subdistrict)
        except KeyError:  # dropped by another thread meanwhile: it is built again when next asked for
            pass

    @staticmethod
    def _current(entry: CachedIndex | None, state: PoolState) -> bool:
        return (entry is not None and entry.state == state
                and time.monotonic() - entry.checked_at < RECHECK_SECONDS)

    def _refresh(self, session: Session, entry: CachedIndex | None, state: PoolState,
                 subdistrict: int | None) -> CachedIndex:
        history = provider_history(session, subdistrict_id=subdistrict)
        now = time.monotonic()
        grids = (entry.grid_map if entry is not None and entry.state.grids == state.grids
                 else GridMap(neighbors=neighbor_map(session, subdistrict)))
        if entry is not None and entry.state.providers == state.providers:
            self.updates += 1
            return CachedIndex(state, entry.with_history(history), history, now, grids)
        views = load_providers(session, history=history, subdistrict_id=subdistrict)
        changes = capacity_changes(entry.index, views) if entry is not None else None
        if entry is not None and changes is not None:
            self.updates += 1
            return CachedIndex(state, entry.index.with_loads(changes), history, now, grids)
        self.rebuilds += 1
        return CachedIndex(state, ProviderIndex.build(views), history, now, grids)


def index_cache() -> ProviderIndexCache | None:
    """This app's cache (one per process), or None outside an app."""
    if not has_app_context():
        return None
    cache = current_app.extensions.get(CACHE_KEY)
    if cache is None:
        cache = current_app.extensions.setdefault(CACHE_KEY, ProviderIndexCache(int(setting("INDEX_CACHE_ENTRIES"))))
    assert isinstance(cache, ProviderIndexCache)
    return cache


def current_entry(session: Session, subdistrict: int | None = ALL) -> CachedIndex:
    """The provider index of a subdistrict's pools (None: all) as this session sees them, with its history."""
    cache = index_cache()
    if cache is None:
        history = provider_history(session, subdistrict_id=subdistrict)
        views = load_providers(session, history=history, subdistrict_id=subdistrict)
        return CachedIndex(pool_state(session, subdistrict), ProviderIndex.build(views), history,
                           time.monotonic(), GridMap(neighbors=neighbor_map(session, subdistrict)))
    return cache.entry(session, subdistrict)


def provider_index(session: Session, subdistrict: int | None = ALL) -> ProviderIndex:
    return current_entry(session, subdistrict).index
