"""The encrypted envelope of an archive: AES-256-GCM in chunks (the `cryptography` library's AEAD).

One AES-GCM message for a whole database would have to be held in memory; so the archive is cut into
chunks of ``CHUNK`` bytes, each sealed on its own, with a nonce made of a random prefix, the chunk's number
and a flag on the last chunk (the STREAM construction): chunks cannot be dropped, reordered, or cut off at
the end without the reader noticing. The header is bound to every chunk as associated data.

    header  MAGIC | salt (16) | nonce prefix (7) | key check (16)
    chunk   length of the sealed chunk (4, big-endian) | sealed chunk (plaintext + 16-byte tag)

The key of a file is derived from the configured key (``SANKU_BACKUP_KEY``) and the file's salt with HKDF;
the key check, derived alongside, tells a wrong key from a damaged file.
"""
from __future__ import annotations

import io
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .manifest import BackupError, DamagedArchive

MAGIC = b"SANKU-BACKUP-ENC\x01"
SALT, PREFIX, CHECK, TAG = 16, 7, 16, 16
HEADER = len(MAGIC) + SALT + PREFIX + CHECK
CHUNK = 1024 * 1024
LENGTH = struct.Struct(">I")
MIN_KEY_CHARS = 32


class WrongKey(BackupError):
    pass


def _derive(key: str, salt: bytes) -> tuple[AESGCM, bytes]:
    material = HKDF(algorithm=hashes.SHA256(), length=32 + CHECK, salt=salt,
                    info=b"sanku-backup/1").derive(key.encode("utf-8"))
    return AESGCM(material[:32]), material[32:]


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def is_encrypted(head: bytes) -> bool:
    return head.startswith(MAGIC)


class EncryptingWriter(io.RawIOBase):
    """A write-only stream that seals what it is given into ``sink``; ``close()`` seals the last chunk
    (it does not close ``sink``)."""

    def __init__(self, sink: BinaryIO, key: str) -> None:
        super().__init__()
        salt, self._prefix = os.urandom(SALT), os.urandom(PREFIX)
        self._aead, check = _derive(key, salt)
        self._header = MAGIC + salt + self._prefix + check
        self._sink, self._buffer, self._counter = sink, bytearray(), 0
        sink.write(self._header)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._buffer += data
        while len(self._buffer) > CHUNK:  # keep at least one byte back: the last chunk is sealed as last
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _seal(self, plain: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, last), plain, self._header)
        self._sink.write(LENGTH.pack(len(sealed)) + sealed)
        self._counter += 1

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
        super().close()


class DecryptingReader(io.RawIOBase):
    """A read-only stream of the plaintext of ``source``; raises WrongKey or DamagedArchive."""

    def __init__(self, source: BinaryIO, key: str) -> None:
        super().__init__()
        header = source.read(HEADER)
        if len(header) < HEADER or not is_encrypted(header):
            raise DamagedArchive("备份文件不完整：加密文件头被截断。")
        salt = header[len(MAGIC):len(MAGIC) + SALT]
        self._prefix = header[len(MAGIC) + SALT:len(MAGIC) + SALT + PREFIX]
        self._aead, check = _derive(key, salt)
        if check != header[-CHECK:]:
            raise WrongKey("密钥不对：此备份不是用当前的 SANKU_BACKUP_KEY 加密的。")
        self._header, self._source = header, source
        self._plain, self._pos, self._counter, self._done = b"", 0, 0, False
        self._next_length = self._read_length()

    def readable(self) -> bool:
        return True

    def _read_length(self) -> int | None:
        raw = self._source.read(LENGTH.size)
        if not raw:
            return None
        if len(raw) < LENGTH.size:
            raise DamagedArchive("备份文件不完整（被截断）：最后一块不完整。")
        (length,) = LENGTH.unpack(raw)
        if not TAG <= length <= CHUNK + TAG:
            raise DamagedArchive("备份文件已损坏：加密块的长度不对。")
        return length

    def _open_chunk(self) -> None:
        length = self._next_length
        if length is None:
            raise DamagedArchive("备份文件不完整（被截断）：缺少最后一块。")
        sealed = self._source.read(length)
        if len(sealed) < length:
            raise DamagedArchive("备份文件不完整（被截断）：最后一块不完整。")
        self._next_length = self._read_length()
        last = self._next_length is None
        try:
            self._plain, self._pos = self._aead.decrypt(_nonce(self._prefix, self._counter, last), sealed, self._header), 0
        except InvalidTag:
            if last and self._authentic(sealed, last=False):
                raise DamagedArchive("备份文件不完整（被截断）：在两块之间被截断。") from None
            raise DamagedArchive(f"备份文件已损坏：第 {self._counter + 1} 块加密数据校验失败（被改动过）。") from None
        self._counter += 1
        self._done = last

    def _authentic(self, sealed: bytes, *, last: bool) -> bool:
        try:
            self._aead.decrypt(_nonce(self._prefix, self._counter, last), sealed, self._header)
            return True
        except InvalidTag:
            return False

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while self._pos >= len(self._plain):
            if self._done:
                return 0
            self._open_chunk()
        n = min(len(target), len(self._plain) - self._pos)
        target[:n] = self._plain[self._pos:self._pos + n]
        self._pos += n
        return n
