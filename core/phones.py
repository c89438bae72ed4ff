"""Mainland phone numbers in one canonical form, so that the same number always compares equal: a need taken
down by a grid worker and the account its resident later signs in with meet on it."""
from __future__ import annotations

import re
import unicodedata

_MOBILE_RE = re.compile(r"1[3-9]\d{9}")
# Beijing (010) and the 02x cities have three-digit area codes, every other area four.
_LANDLINE_RES = (
    re.compile(r"(?P<area>0(?:10|2\d))(?P<local>[1-9]\d{7})"),
    re.compile(r"(?P<area>0[3-9]\d\d)(?P<local>[1-9]\d{6,7})"),
)
_HOTLINE_RE = re.compile(r"(?P<prefix>[48]00)(?P<a>\d{3})(?P<b>\d{4})")
_SEPARATORS_RE = re.compile(r"[\s\-()]")
MOBILE_DIGITS = 11
MAX_SHOWN = 40


class PhoneError(ValueError):
    """Not a mainland phone number; ``str()`` says why, in Chinese."""


def parse_phone(text: str) -> str | None:
    """``text`` as a canonical number, None when empty, :class:`PhoneError` when it is not one.

    Mobiles become 11 digits (``+86 138-0013-8000`` -> ``13800138000``); landlines become
    ``area-local`` (``(0755)12345678`` -> ``0755-12345678``); 400/800 hotlines ``400-123-4567``.
    Full-width digits (input methods type them) count as digits.
    """
    raw = unicodedata.normalize("NFKC", text or "").strip()
    if not raw:
        return None
    national = _strip_country_code(_SEPARATORS_RE.sub("", raw))
    if national is not None:
        if _MOBILE_RE.fullmatch(national):
            return national
        for landline_re in _LANDLINE_RES:
            if m := landline_re.fullmatch(national):
                return f"{m['area']}-{m['local']}"
        if m := _HOTLINE_RE.fullmatch(national):
            return f"{m['prefix']}-{m['a']}-{m['b']}"
    shown = raw if len(raw) <= MAX_SHOWN else raw[:MAX_SHOWN] + "…"
    raise PhoneError(f"电话号码应为 11 位手机号或带区号的固定电话，如 13800138000、0755-12345678：“{shown}”")


def is_mobile(phone: str) -> bool:
    """Whether a canonical number is a mobile (what a person signs in with)."""
    return _MOBILE_RE.fullmatch(phone) is not None


def _strip_country_code(digits: str) -> str | None:
    """The national number, or None when the text holds anything but digits after a +86/0086/86."""
    international = False
    if digits.startswith("+86"):
        digits, international = digits[3:], True
    elif digits.startswith("0086"):
        digits, international = digits[4:], True
    elif digits.startswith("86") and len(digits) == MOBILE_DIGITS + 2 and _MOBILE_RE.fullmatch(digits[2:]):
        digits = digits[2:]
    if not digits.isdigit() or not digits.isascii():
        return None
    # Written internationally, a landline drops its trunk 0: +86 755 12345678.
    if international and digits[0] in "23456789":
        digits = "0" + digits
    return digits
