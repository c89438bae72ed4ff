"""The needs pool (需求库) and what the matcher proposes for each need."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, String, Text, false
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from core.vocab import LIVE_PROPOSAL, Channel, NeedStatus, ProposalStatus, ProviderKind, Service, Urgency

from .base import Base, Encrypted, code_of, lookup_hash, utcnow
from .building import Building
from .field import Visit
from .grid import Grid
from .providers import Resource, Volunteer


class Need(Base):
    __tablename__ = "needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(Text)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    urgency: Mapped[Urgency] = mapped_column(code_of(Urgency, "urgency"), default=Urgency.NORMAL)
    window_start: Mapped[Optional[datetime]]  # both None: flexible
    window_end: Mapped[Optional[datetime]]
    contact: Mapped[str] = mapped_column(Encrypted(), default="")  # private: masked for outsiders, encrypted at rest
    service: Mapped[Optional[Service]] = mapped_column(code_of(Service, "service"), index=True)
    service_confidence: Mapped[Optional[float]] = mapped_column(Float)  # None: set by a person
    status: Mapped[NeedStatus] = mapped_column(code_of(NeedStatus, "status"), default=NeedStatus.SUBMITTED,
                                               index=True)
    channel: Mapped[Channel] = mapped_column(code_of(Channel, "channel"), default=Channel.APP,
                                             server_default=Channel.APP.value)
    active: Mapped[bool] = mapped_column(default=True, index=True)
    resident_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), index=True)
    # Taken down for a resident without an account (民情收集): who they are. The phone (canonical, ``core.phones``)
    # is how the need becomes theirs once they sign in with an account of that number.
    resident_name: Mapped[str] = mapped_column(Encrypted(), default="", server_default="")
    resident_phone: Mapped[str] = mapped_column(Encrypted(), default="", server_default="")
    resident_phone_hash: Mapped[str] = mapped_column(String(64), default="", server_default="", index=True)
    visit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"), index=True)
    unmatched_reason: Mapped[str] = mapped_column(Text, default="")
    escalation_level: Mapped[int] = mapped_column(default=0)  # 0 grid, 1 neighbouring grids, 2 grid council
    # Where, as the resident wrote it, and the building it resolved to. An address the register could not
    # place surely leaves the need ``place_unsure``, its candidates kept for a person to choose among.
    address: Mapped[str] = mapped_column(String(300), default="", server_default="")
    building_id: Mapped[Optional[int]] = mapped_column(ForeignKey("buildings.id"), index=True)
    place_unsure: Mapped[bool] = mapped_column(default=False, server_default=false())
    address_candidates: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default=sql_text("'[]'"))
    rating: Mapped[Optional[int]]
    feedback: Mapped[str] = mapped_column(Text, default="")
    volunteer_hours: Mapped[Optional[float]] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    matched_at: Mapped[Optional[datetime]]  # first proposal made
    done_at: Mapped[Optional[datetime]]
    closed_at: Mapped[Optional[datetime]]

    grid: Mapped[Grid] = relationship()
    building: Mapped[Optional[Building]] = relationship()
    visit: Mapped[Optional[Visit]] = relationship(back_populates="needs")
    proposals: Mapped[list["Proposal"]] = relationship(
        back_populates="need", order_by="Proposal.rank", cascade="all, delete-orphan"
    )

    @validates("resident_phone")
    def _hash_phone(self, _key: str, phone: str) -> str:
        self.resident_phone_hash = lookup_hash(phone)
        return phone

    @property
    def current_proposal(self) -> Optional["Proposal"]:
        """The provider asked or serving now: the latest live proposal."""
        live = [p for p in self.proposals if p.status in LIVE_PROPOSAL]
        return max(live, key=lambda p: p.id) if live else None


class MatchRun(Base):
    """One batch of the matcher: its scope and its figures."""

    __tablename__ = "match_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))  # "all", "grid:G001", "party_grid:PG01"
    subdistrict_id: Mapped[Optional[int]] = mapped_column(ForeignKey("subdistricts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The job that made the run (a Celery task id): a retried or redelivered task finds its run and
    # does nothing again.
    task_id: Mapped[Optional[str]] = mapped_column(String(64), unique=True)


class Proposal(Base):
    """A provider proposed for a need, with the score's breakdown and its explanation."""

    __tablename__ = "proposals"
    __table_args__ = (
        CheckConstraint(
            "(resource_id IS NULL) <> (volunteer_id IS NULL)", name="one_provider"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[Optional[int]] = mapped_column(ForeignKey("resources.id"), index=True)
    volunteer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("volunteers.id"), index=True)
    match_run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("match_runs.id"), index=True)
    rank: Mapped[int] = mapped_column(default=1)  # 1: the assignment's choice
    score: Mapped[float] = mapped_column(Float)
    tier: Mapped[int]
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    explanation: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ProposalStatus] = mapped_column(code_of(ProposalStatus, "status"),
                                                   default=ProposalStatus.PROPOSED, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[Optional[datetime]]
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    # Proposed across services or for a need unsure of its service: a coordinator confirms it, and
    # the provider is asked only then. ``service``: the one the provider gives.
    review_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    service: Mapped[Optional[Service]] = mapped_column(code_of(Service, "service"))

    need: Mapped[Need] = relationship(back_populates="proposals")
    resource: Mapped[Optional[Resource]] = relationship()
    volunteer: Mapped[Optional[Volunteer]] = relationship()
    match_run: Mapped[Optional[MatchRun]] = relationship()

    @property
    def provider(self) -> Resource | Volunteer:
        provider = self.resource if self.resource is not None else self.volunteer
        assert provider is not None  # the one_provider constraint
        return provider

    @property
    def provider_kind(self) -> ProviderKind:
        return ProviderKind.RESOURCE if self.resource_id is not None else ProviderKind.VOLUNTEER

    @property
    def provider_key(self) -> tuple[ProviderKind, int]:
        """(kind, id), as the engine names a provider."""
        provider_id = self.resource_id if self.resource_id is not None else self.volunteer_id
        assert provider_id is not None  # the one_provider constraint
        return self.provider_kind, provider_id
