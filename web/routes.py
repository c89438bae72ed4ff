"""Who may call a route, declared on the view beside its documentation.

Deny by default: ``access.guard`` refuses a route that declares nothing, lets anyone call a
``@public`` one, and asks every other caller to sign in with one of the roles ``@allow`` names.

    @bp.get("/grids")
    @public
    def list_grids(): ...

    @bp.post("/grids")
    @allow(Role.ADMIN)
    def create_grid(): ...

Finer questions (which needs, which grids) are the policy's (``access.policy``), asked by the view.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from core.vocab import Role

View = TypeVar("View", bound=Callable[..., Any])
ATTRIBUTE = "__access__"


@dataclass(frozen=True)
class RouteAccess:
    public: bool
    roles: frozenset[Role]
    key_in_body: bool = False  # the request carries its own credential (an API key), never a browser's cookie

    def describe(self) -> str:
        if self.public:
            return "public"
        return "signed in: " + ", ".join(sorted(self.roles))


def public(view: View) -> View:
    """Anyone, signed in or not."""
    setattr(view, ATTRIBUTE, RouteAccess(True, frozenset()))
    return view


def public_with_key(view: View) -> View:
    """Anyone may call it, and a write proves itself with an API key in its own body (Open311's ``api_key``):
    no login cookie is involved, so a form post needs no CSRF token; the other-origin check still applies."""
    setattr(view, ATTRIBUTE, RouteAccess(True, frozenset(), key_in_body=True))
    return view


def allow(*roles: Role) -> Callable[[View], View]:
    """Signed-in users of these roles (``allow(*Role)``: any signed-in user)."""
    if not roles:
        raise ValueError("allow() needs at least one role; use @public for a route open to anyone")

    def mark(view: View) -> View:
        setattr(view, ATTRIBUTE, RouteAccess(False, frozenset(roles)))
        return view
    return mark


SIGNED_IN: tuple[Role, ...] = tuple(Role)


def access_of(view: Any) -> RouteAccess | None:
    return getattr(view, ATTRIBUTE, None)
