"""Residents' contacts encrypted at rest: Fernet (AES-128-CBC with HMAC-SHA256, from the ``cryptography`` library)
under a list of keys, the first one encrypting and every one decrypting, so a key can be replaced without a gap
(``flask --app app keys rotate`` re-encrypts everything under the first). A value looked up by equality (a phone)
also gets a keyed hash (HMAC-SHA256 under a key of its own), since the ciphertext of the same number differs
each time.

The keys are the app's settings DATA_KEYS and LOOKUP_KEY (``core.config``); ``configure`` installs them when the
app is created, for the column type ``models.base.Encrypted`` to use."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class CryptoKeyError(ValueError):
    """A key is missing, malformed, or does not open a value."""


@dataclass(frozen=True)
class _Keys:
    data: MultiFernet
    lookup: bytes


_keys: _Keys | None = None


def configure(data_keys: list[str], lookup_key: str) -> None:
    global _keys
    if not data_keys or not lookup_key:
        raise CryptoKeyError("DATA_KEYS and LOOKUP_KEY must be set")
    try:
        fernets = [Fernet(k.strip().encode("ascii")) for k in data_keys]
    except (ValueError, UnicodeEncodeError) as exc:
        raise CryptoKeyError(f"a DATA_KEYS key is not a Fernet key (32 url-safe base64-encoded bytes): {exc}") from None
    _keys = _Keys(MultiFernet(fernets), lookup_key.encode("utf-8"))


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _current() -> _Keys:
    if _keys is None:
        raise CryptoKeyError("encryption keys are not configured (create the app first)")
    return _keys


def encrypt(text: str) -> str:
    return _current().data.encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _current().data.decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        raise CryptoKeyError("a stored value cannot be decrypted with DATA_KEYS (a key was removed too soon?)") from None


def reencrypt(token: str) -> str:
    """The same value under the first key (``MultiFernet.rotate``)."""
    try:
        return _current().data.rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken:
        raise CryptoKeyError("a stored value cannot be decrypted with DATA_KEYS") from None


def lookup_hash(value: str) -> str:
    """The keyed hash that finds ``value`` by equality without storing it in clear (64 hex characters)."""
    return hmac.new(_current().lookup, value.encode("utf-8"), hashlib.sha256).hexdigest()
