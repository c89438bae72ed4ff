"""The inventory of personal data (个人信息清单): every column that holds what a person would not want passed around,
its kind, and what happens to it when a need's retention ends or a resident asks to be erased.

One place: the read audit, retention, the resident's copy of their data and erasure all read this table, and
``tests/models/test_personal.py`` fails when a text column of any model is in neither ``PERSONAL`` nor
``NOT_PERSONAL`` — a new column cannot be forgotten.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    IDENTITY = "identity"  # a name, a username
    CONTACT = "contact"  # a phone number, a contact line
    ADDRESS = "address"  # where someone lives
    PHOTO = "photo"  # a photo of their home or street
    SENSITIVE = "sensitive"  # a need's own words: may speak of illness, disability, debts, family quarrels, minors
    WORDS = "words"  # what a person wrote or was written about them (feedback, reasons, notes, messages)
    CREDENTIAL = "credential"


@dataclass(frozen=True)
class PersonalField:
    kind: Kind
    blank: Any = ""  # what the value becomes when it is erased
    # Erased from a need closed or cancelled more than SANKU_RETENTION_DAYS ago (its statistics stay).
    on_retention: bool = False
    # In the resident's copy of their data (``GET /me/data``): all but credentials and lookup hashes.
    exported: bool = True


ERASED = "（内容已删除）"  # what a need's words become when its resident is erased


PERSONAL: dict[str, PersonalField] = {
    # needs: the resident's own, erased when retention ends (but the text, which the statistics and the
    # classifier's evaluation read) and all of it when the resident is erased
    "needs.text": PersonalField(Kind.SENSITIVE, blank=ERASED),
    "needs.contact": PersonalField(Kind.CONTACT, on_retention=True),
    "needs.resident_name": PersonalField(Kind.IDENTITY, on_retention=True),
    "needs.resident_phone": PersonalField(Kind.CONTACT, on_retention=True),
    "needs.resident_phone_hash": PersonalField(Kind.CONTACT, on_retention=True, exported=False),
    "needs.address": PersonalField(Kind.ADDRESS, on_retention=True),
    "needs.address_candidates": PersonalField(Kind.ADDRESS, blank=[], on_retention=True),
    "needs.building_id": PersonalField(Kind.ADDRESS, blank=None, on_retention=True),  # the grid stays: coarse
    "needs.feedback": PersonalField(Kind.WORDS, on_retention=True),
    "need_photos.stored_name": PersonalField(Kind.PHOTO, on_retention=True),  # the row and its files go
    # accounts
    "users.username": PersonalField(Kind.IDENTITY),
    "users.display_name": PersonalField(Kind.IDENTITY),
    "users.phone": PersonalField(Kind.CONTACT, blank=None),
    "users.phone_hash": PersonalField(Kind.CONTACT, blank=None, exported=False),
    "users.password_hash": PersonalField(Kind.CREDENTIAL, exported=False),
    "users.building_id": PersonalField(Kind.ADDRESS, blank=None),
    # what was written along a need's way, about it
    "audit_entries.reason": PersonalField(Kind.WORDS),
    "notifications.message": PersonalField(Kind.SENSITIVE, blank=ERASED),
    "council_decisions.item": PersonalField(Kind.SENSITIVE, blank=ERASED),
    "recurrences.text": PersonalField(Kind.SENSITIVE, blank=ERASED),
    "recurrences.contact": PersonalField(Kind.CONTACT),
    "recurrences.address": PersonalField(Kind.ADDRESS),
    "recurrences.building_id": PersonalField(Kind.ADDRESS, blank=None),
    "visits.notes": PersonalField(Kind.WORDS),
    "access_records.reason": PersonalField(Kind.WORDS),
    # volunteers are people too: their own registry entry (not residents' data)
    "volunteers.name": PersonalField(Kind.IDENTITY),
    "volunteers.phone": PersonalField(Kind.CONTACT),
    "proposals.decline_reason": PersonalField(Kind.WORDS),
}

# Text columns reviewed and found to hold no personal data: codes, names of places and units, system text.
NOT_PERSONAL: frozenset[str] = frozenset({
    "subdistricts.code", "subdistricts.name", "communities.code", "communities.name", "party_grids.code", "party_grids.name", "party_grids.branch",
    "grids.code", "grids.name", "grids.boundary", "match_runs.scope", "match_runs.stats",
    "open311_keys.name", "open311_keys.key_hash", "open311_calls.method", "open311_calls.path",
    "resources.ref", "resources.name", "resources.department", "resources.service", "resources.skills",
    "resources.description", "resources.hours",
    "volunteers.ref", "volunteers.kind", "volunteers.skills", "volunteers.services", "volunteers.availability",
    "volunteers.force", "volunteers.description",  # what an organisation or a volunteer offers, published to match
    "buildings.code", "buildings.name", "buildings.address", "buildings.aliases",  # a building, not a household
    "users.role", "users.scope_type", "users.scope_codes",
    "needs.ref", "needs.urgency", "needs.service", "needs.status", "needs.channel", "needs.unmatched_reason",
    "audit_entries.actor_role", "audit_entries.from_status", "audit_entries.to_status",
    "council_decisions.decision", "council_decisions.taker",
    "need_photos.content_type",
    "proposals.features", "proposals.explanation", "proposals.status", "proposals.service",
    "recurrences.urgency", "recurrences.service", "recurrences.channel", "recurrences.rrule",
    "access_records.what", "access_records.via",
    "match_runs.task_id", "notifications.last_error",  # a Celery task's id; why a webhook failed (HTTP, not content)
})


def personal_columns(table: str) -> dict[str, PersonalField]:
    """The personal columns of ``table``, by column name."""
    prefix = f"{table}."
    return {key.removeprefix(prefix): field for key, field in PERSONAL.items() if key.startswith(prefix)}


def retained_blanks(table: str) -> dict[str, Any]:
    """What each column of ``table`` erased when retention ends becomes."""
    return {name: f.blank for name, f in personal_columns(table).items() if f.on_retention}
