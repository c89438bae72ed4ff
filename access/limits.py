"""Rate limits, counted atomically in one store (``RATELIMIT_STORAGE_URI``: memory for one process,
Redis shared by every process in production): sign-in attempts, and routes that cost CPU
(``@limited``). The ``limits`` library counts; Flask-Limiter is not used: its hook ran on every
request of every route (about 0.3 ms of CPU each, a twentieth of an API request) to find the limits
of the two routes that have one.

Sign-in attempts are taken *before* the password is checked, so parallel guesses cannot all slip
through between a count and its increment; a successful sign-in gives its attempt back. Three
counters: one account from one address (the usual guessing: that address is stopped, the owner
elsewhere is not), one address across accounts (spraying one password over many names), and one
account across addresses (a distributed attack; set higher, so a few typos never lock the owner out).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from core.errors import TooManyRequests

# Routes that run the classifier for anyone who asks (no login): enough for a person typing.
CLASSIFY_LIMIT = "30 per minute"

ACCOUNT_FROM_ADDRESS = parse("5 per 15 minutes")
ADDRESS = parse("20 per 15 minutes")
ACCOUNT = parse("30 per 15 minutes")


def client_address() -> str:
    """The caller's address (behind a proxy, the one it reports: see ``PROXY_COUNT``)."""
    return request.remote_addr or "unknown"


View = TypeVar("View", bound=Callable[..., Any])
_STORE = "sanku_limits"  # app.extensions key: the app's counter store


def init_limits(app: Flask) -> None:
    app.extensions[_STORE] = storage_from_string(str(app.config["RATELIMIT_STORAGE_URI"]))


def _storage() -> Storage:
    store: Storage = current_app.extensions[_STORE]
    return store


def limited(rule: str) -> Callable[[View], View]:
    """A route called at most ``rule`` (``"30 per minute"``) from one address; 429 past it."""
    item = parse(rule)

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def limited_view(*args: Any, **kwargs: Any) -> Any:
            if not _strategy().hit(item, "sanku-route", request.endpoint or "", client_address()):
                raise TooManyRequests("请求过于频繁，请稍后再试")
            return view(*args, **kwargs)
        return limited_view  # type: ignore[return-value]
    return decorate


def _counters(username: str, address: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    return [(ACCOUNT_FROM_ADDRESS, ("signin-account-address", username, address)),
            (ADDRESS, ("signin-address", address)),
            (ACCOUNT, ("signin-account", username))]


def _strategy() -> FixedWindowRateLimiter:
    return FixedWindowRateLimiter(_storage())


def take_signin_attempt(username: str, address: str) -> None:
    """Count one attempt to sign in as ``username`` from ``address``; 429 past any limit."""
    strategy = _strategy()
    for limit, keys in _counters(username, address):
        if not strategy.hit(limit, *keys):
            raise TooManyRequests()


def give_back_signin_attempt(username: str, address: str) -> None:
    """A successful sign-in was the owner's: its failures from that address are forgiven, and the
    attempt no longer counts against the address or the account."""
    strategy = _strategy()
    pair, *others = _counters(username, address)
    strategy.clear(pair[0], *pair[1])
    for limit, keys in others:
        _storage().incr(limit.key_for(*keys), limit.get_expiry(), amount=-1)
