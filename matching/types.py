"""Plain data the engine works on. Services build these from rows; nothing here touches a database."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.vocab import ProviderKind, Urgency

from .slots import WeeklySlot


@dataclass(frozen=True)
class NeedView:
    id: int
    ref: str
    text: str
    grid: str  # grid code
    service: str  # a code of core.vocab.Service
    urgency: str = Urgency.NORMAL
    window: tuple[datetime, datetime] | None = None  # None: flexible
    # The classifier was unsure of the service (the need waits for triage): any service may serve
    # it, on a strong skill match only, and a coordinator confirms.
    tentative: bool = False
    # An occurrence of a recurring need: the provider (kind, id) who served the one before, preferred
    # for continuity (the ``continuity`` feature of matching.scoring). None: no one before.
    previous_provider: tuple[str, int] | None = None


@dataclass(frozen=True)
class ProviderView:
    """A government resource or an entry of the social volunteer pool, as the matcher sees it."""

    kind: str  # a code of core.vocab.ProviderKind
    id: int
    ref: str
    name: str
    services: frozenset[str]
    skills: tuple[str, ...]
    description: str = ""
    home_grid: str | None = None  # volunteers: the grid they serve
    grids_covered: frozenset[str] | None = None  # resources: None means every grid
    slots: tuple[WeeklySlot, ...] = ()  # empty: any time
    capacity: int = 1  # needs it can serve at once
    load: int = 0  # needs it is serving now
    reliability: float | None = None  # share of past assignments completed; None without history

    @property
    def key(self) -> tuple[str, int]:
        return (self.kind, self.id)

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.load)


@dataclass(frozen=True)
class GridMap:
    """Which grids neighbour which; the subdistrict is every grid in ``neighbors``."""

    neighbors: dict[str, frozenset[str]] = field(default_factory=dict)
    # Grid code -> subdistrict code, for a map spanning several subdistricts (a district's or a
    # city's batch): tier 3, "the rest of the subdistrict", then stays inside the need's own
    # subdistrict. Empty (or a grid left out): the whole map is one subdistrict.
    subdistricts: dict[str, str] = field(default_factory=dict)

    def tier(self, need_grid: str, provider: ProviderView) -> int:
        """1 same grid, 2 neighbouring grid, 3 elsewhere in the subdistrict."""
        if provider.kind == ProviderKind.RESOURCE:
            # A government resource serves exactly the grids it covers (eligibility checks that).
            return 1
        if provider.home_grid == need_grid:
            return 1
        if provider.home_grid in self.neighbors.get(need_grid, frozenset()):
            return 2
        return 3
