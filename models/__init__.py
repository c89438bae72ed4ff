"""SQLAlchemy 2.x typed models, one module per aggregate. Pure data: no commits, no serialisation."""
from .access import AccessRecord
from .base import Base, utcnow
from .building import Building
from .council import CouncilDecision
from .field import FieldBuilding, Visit
from .grid import Community, Grid, PartyGrid, Subdistrict, grid_neighbors
from .need import MatchRun, Need, Proposal
from .open311 import Open311Call, Open311Key
from .photo import NeedPhoto
from .providers import Resource, Volunteer, resource_grids
from .recurrence import Recurrence, RecurrenceOccurrence
from .user import User
from .workflow import AuditEntry, Notification

__all__ = [
    "Base", "utcnow", "Subdistrict", "Community", "Grid", "PartyGrid", "grid_neighbors", "Resource", "Volunteer",
    "resource_grids", "Need", "MatchRun", "Proposal", "User",
    "AuditEntry", "Notification", "CouncilDecision", "NeedPhoto", "Building",
    "Open311Key", "Open311Call", "Recurrence", "RecurrenceOccurrence", "FieldBuilding", "Visit", "AccessRecord",
]
