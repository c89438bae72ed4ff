"""The inventory of personal data is complete: every text column of every model is either personal (with what
happens to it) or reviewed as not personal, and every entry names a real column."""
from __future__ import annotations

from sqlalchemy import JSON, String, Text

from models import Base
from models.personal import NOT_PERSONAL, PERSONAL
from privacy.rights import NOT_A_RESIDENTS, OWNED_BY


def _columns() -> dict[str, object]:
    return {f"{t.name}.{c.name}": c for t in Base.metadata.sorted_tables for c in t.columns}


def test_every_text_column_is_classified_personal_or_not():
    texts = {key for key, c in _columns().items() if isinstance(c.type, (String, Text, JSON))}

    unclassified = texts - set(PERSONAL) - NOT_PERSONAL

    assert not unclassified, f"add these to models/personal.py, PERSONAL or NOT_PERSONAL: {sorted(unclassified)}"


def test_a_column_pointing_at_a_home_is_personal():
    homes = {key for key, c in _columns().items()
             if any(fk.column.table.name == "buildings" for fk in c.foreign_keys)  # type: ignore[attr-defined]
             and key.split(".")[0] in ("users", "needs", "recurrences")}

    assert homes <= set(PERSONAL), homes - set(PERSONAL)


def test_every_inventory_entry_names_a_real_column_and_no_column_is_both():
    assert set(PERSONAL) <= set(_columns()), set(PERSONAL) - set(_columns())
    assert NOT_PERSONAL <= set(_columns()), NOT_PERSONAL - set(_columns())
    assert not set(PERSONAL) & NOT_PERSONAL


def test_every_table_with_personal_columns_is_a_residents_or_said_not_to_be():
    tables = {key.split(".")[0] for key in PERSONAL}

    assert tables == set(OWNED_BY) | NOT_A_RESIDENTS
    assert not set(OWNED_BY) & NOT_A_RESIDENTS
