"""Key rotation of the contacts encrypted at rest (``core.crypto``).

To replace the data key: put a new key first in SANKU_DATA_KEYS, keeping the old one after it
(``SANKU_DATA_KEYS=new,old``), restart, run ``flask --app app keys rotate``, then drop the old key. To replace the
lookup key: set the new SANKU_LOOKUP_KEY and run ``keys rotate`` at once (phone lookups miss until it has run):
the hashes are computed afresh from the decrypted values."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Text, select, type_coerce, update
from sqlalchemy.orm import Session

from core import crypto
from models import Base
from models.base import Encrypted

# An encrypted column looked up by equality, and the column holding its keyed hash.
HASHED: dict[str, str] = {"needs.resident_phone": "resident_phone_hash", "users.phone": "phone_hash"}


def encrypted_columns() -> dict[str, list[str]]:
    """Table -> its encrypted columns, read off the models (a new one cannot be missed)."""
    found: dict[str, list[str]] = {}
    for table in Base.metadata.sorted_tables:
        names = [c.name for c in table.columns if isinstance(c.type, Encrypted)]
        if names:
            found[table.name] = names
    return found


def rotate_keys(session: Session) -> dict[str, int]:
    """Every stored token re-encrypted under the first DATA_KEYS key, every lookup hash recomputed. Rows per table."""
    counts: dict[str, int] = {}
    for name, columns in encrypted_columns().items():
        table = Base.metadata.tables[name]
        hashes = {c: HASHED[f"{name}.{c}"] for c in columns if f"{name}.{c}" in HASHED}
        # The tokens as stored (type_coerce to Text: not through the column type, which would decrypt them).
        rows = session.execute(select(table.c.id, *(type_coerce(table.c[c], Text) for c in columns))).all()
        changed = 0
        for row in rows:
            tokens = {c: v for c, v in zip(columns, row[1:]) if v}
            if not tokens:
                continue
            values: dict[str, Any] = {c: type_coerce(crypto.reencrypt(v), Text) for c, v in tokens.items()}
            for column, hash_column in hashes.items():
                if column in tokens:
                    values[hash_column] = crypto.lookup_hash(crypto.decrypt(tokens[column]))
            session.execute(update(table).where(table.c.id == row[0]).values(values))
            changed += 1
        counts[name] = changed
    session.expire_all()
    return counts
