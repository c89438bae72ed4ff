"""The manifest of a backup archive, and why an archive is refused.

The manifest is the archive's first member, so a file is recognised (or refused as foreign) before anything
heavy is read. It lists every other member with its size and SHA-256: a member that is missing, short, extra
or altered is found before the database is touched.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

FORMAT = "sanku-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {"sqlite": "database/sanku.sqlite3", "postgresql": "database/sanku.pgdump"}
PHOTO_PREFIX = "photos/"
# A photo's name as the photo store makes it (a hash, maybe a thumbnail suffix, an extension): nothing that
# could climb out of the photo folder.
PHOTO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}$")
MAX_MANIFEST_BYTES = 64 * 1024 * 1024


class BackupError(Exception):
    """A backup or a restore that cannot go on; the message is for the operator (Chinese)."""


class DamagedArchive(BackupError):
    pass


class ForeignFile(BackupError):
    pass


@dataclass(frozen=True)
class Member:
    size: int
    sha256: str


@dataclass
class Manifest:
    created_at: str
    dialect: str
    alembic_revision: str | None
    tables: dict[str, int]  # table -> rows
    members: dict[str, Member] = field(default_factory=dict)
    encrypted: bool = False
    format: str = FORMAT
    version: int = VERSION

    @property
    def database_member(self) -> str:
        return DATABASE_MEMBERS[self.dialect]

    @property
    def photos(self) -> list[str]:
        return sorted(m.removeprefix(PHOTO_PREFIX) for m in self.members if m.startswith(PHOTO_PREFIX))

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    def to_json(self) -> bytes:
        data: dict[str, Any] = {
            "format": self.format, "version": self.version, "created_at": self.created_at,
            "dialect": self.dialect, "alembic_revision": self.alembic_revision, "encrypted": self.encrypted,
            "tables": dict(sorted(self.tables.items())),
            "members": {name: {"size": m.size, "sha256": m.sha256} for name, m in sorted(self.members.items())},
        }
        return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """The manifest in ``raw``; ForeignFile if it is not one of ours, DamagedArchive if it is but is broken."""
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ForeignFile("不是三库备份文件：清单无法读取。") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ForeignFile("不是三库备份文件：清单不是三库备份的格式。")
        if data.get("version") != VERSION:
            raise ForeignFile(f"备份格式版本 {data.get('version')!r} 不受支持（本程序支持版本 {VERSION}）。")
        try:
            manifest = cls(
                created_at=str(data["created_at"]), dialect=str(data["dialect"]),
                alembic_revision=None if data["alembic_revision"] is None else str(data["alembic_revision"]),
                tables={str(k): int(v) for k, v in data["tables"].items()},
                members={str(k): Member(size=int(v["size"]), sha256=str(v["sha256"]))
                         for k, v in data["members"].items()},
                encrypted=bool(data.get("encrypted", False)))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise DamagedArchive("备份文件已损坏：清单缺少字段或字段有误。") from None
        manifest.check_names()
        return manifest

    def check_names(self) -> None:
        if self.dialect not in DATABASE_MEMBERS:
            raise DamagedArchive(f"备份文件已损坏：未知的数据库类型 {self.dialect!r}。")
        if self.database_member not in self.members:
            raise DamagedArchive("备份文件已损坏：清单中没有数据库。")
        for name in self.members:
            if name == self.database_member:
                continue
            if not (name.startswith(PHOTO_PREFIX) and PHOTO_NAME.match(name.removeprefix(PHOTO_PREFIX))):
                raise DamagedArchive(f"备份文件已损坏：清单中有不认识的成员 {name!r}。")
