"""The archive on disk: a tar file (maybe inside the encrypted envelope), written whole or not at all, and
read back into a staging folder with every member checked against the manifest.

Both directions stream: members are copied in blocks, never held whole in memory.
"""
from __future__ import annotations

import hashlib
import io
import os
import tarfile
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import IO, BinaryIO

from . import crypto
from .manifest import MANIFEST, MAX_MANIFEST_BYTES, BackupError, DamagedArchive, ForeignFile, Manifest, Member

BLOCK = 1024 * 1024


def file_member(path: Path) -> Member:
    """Size and SHA-256 of a file, read in blocks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while block := fh.read(BLOCK):
            digest.update(block)
            size += len(block)
    return Member(size=size, sha256=digest.hexdigest())


def write_archive(target: Path, manifest: Manifest, sources: Mapping[str, Path], key: str | None) -> int:
    """Write the archive to ``target`` (through ``target.partial``, renamed at the end, so a failed backup
    never leaves a file that looks whole); returns its size in bytes."""
    partial = target.with_name(target.name + ".partial")
    now = time.time()
    try:
        with partial.open("wb") as raw, ExitStack() as stack:
            sink: BinaryIO = raw
            if key is not None:
                sink = stack.enter_context(crypto.EncryptingWriter(raw, key))  # type: ignore[assignment]
            with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                text = manifest.to_json()
                tar.addfile(_info(MANIFEST, len(text), now), io.BytesIO(text))
                for name, path in sources.items():
                    with path.open("rb") as fh:
                        tar.addfile(_info(name, manifest.members[name].size, now), fh)
            stack.close()  # seals the last encrypted chunk
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target.stat().st_size


def _info(name: str, size: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o600
    return info


def read_archive(source: Path, staging: Path, key: str | None,
                 check: Callable[[Manifest], None] = lambda _m: None) -> Manifest:
    """Read the archive at ``source`` into ``staging`` (its members under their names) and return its manifest.

    ``check`` sees the manifest before any member is extracted (to refuse a wrong dialect or a full target
    early). Raises ForeignFile, DamagedArchive, crypto.WrongKey or what ``check`` raises.
    """
    if not source.is_file():
        raise BackupError(f"找不到备份文件：{source}")
    with source.open("rb") as raw:
        head = raw.read(len(crypto.MAGIC))
        if not head:
            raise DamagedArchive("备份文件是空的（0 字节）。")
        raw.seek(0)
        stream: BinaryIO = raw
        if crypto.is_encrypted(head):
            if not key:
                raise crypto.WrongKey("此备份已加密：请把 SANKU_BACKUP_KEY 设为加密时用的密钥再恢复。")
            stream = io.BufferedReader(crypto.DecryptingReader(raw, key), BLOCK)
        try:
            manifest = _read_tar(stream, staging, check)
            if stream is not raw:
                # Read on to the chunk marked last, so a file cut or altered after tar's end marker is refused
                # too (tarfile reads whole 10 KiB records and so normally gets there itself: this makes it sure).
                while stream.read(BLOCK):
                    pass
            return manifest
        except (tarfile.ReadError, EOFError) as exc:
            why = "文件在中途结束" if "unexpected end" in str(exc) else str(exc)
            raise DamagedArchive(f"备份文件不完整（被截断）或已损坏：{why}。") from None


def _read_tar(stream: BinaryIO, staging: Path, check: Callable[[Manifest], None]) -> Manifest:
    try:
        tar = tarfile.open(fileobj=stream, mode="r|")
    except tarfile.ReadError:
        raise ForeignFile("不是三库备份文件：既不是三库的归档，也不是加密的三库备份。") from None
    with tar:
        first = tar.next()
        if first is None or first.name != MANIFEST or not first.isfile():
            raise ForeignFile("不是三库备份文件：归档里第一个文件不是三库备份的清单。")
        if first.size > MAX_MANIFEST_BYTES:
            raise ForeignFile("不是三库备份文件：清单大得不合理。")
        manifest_file = tar.extractfile(first)
        assert manifest_file is not None
        text = manifest_file.read()
        if len(text) < first.size:
            raise DamagedArchive("备份文件不完整（被截断）：清单不完整。")
        manifest = Manifest.from_json(text)
        check(manifest)
        seen: set[str] = set()
        while (info := tar.next()) is not None:  # not `for … in tar`: that starts again from the manifest
            expected = manifest.members.get(info.name)
            if expected is None or info.name in seen or not info.isfile():
                raise DamagedArchive(f"备份文件已损坏：归档里有清单之外的成员 {info.name!r}。")
            seen.add(info.name)
            member = tar.extractfile(info)
            assert member is not None
            got = _copy(member, staging / info.name)
            if got.size < expected.size:
                raise DamagedArchive(f"备份文件不完整（被截断）：{info.name} 只有 {got.size} 字节，"
                                     f"清单中为 {expected.size} 字节。")
            if got != expected:
                raise DamagedArchive(f"备份文件已损坏：{info.name} 的 SHA-256 校验和与清单不符（被改动过）。")
    missing = sorted(set(manifest.members) - seen)
    if missing:
        raise DamagedArchive(f"备份文件不完整（可能被截断）：缺少 {len(missing)} 个成员，如 {missing[0]}。")
    return manifest


def _copy(source: IO[bytes], target: Path) -> Member:
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as out:
        while block := source.read(BLOCK):
            digest.update(block)
            out.write(block)
            size += len(block)
    return Member(size=size, sha256=digest.hexdigest())
