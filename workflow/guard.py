"""Role checks for views: ``require("admin", "coordinator")`` returns the user or raises 401/403."""
from __future__ import annotations

from errors import Forbidden
from models import User

from .auth import current_user

STAFF = ("coordinator", "reviewer", "admin")


def require(*roles: str) -> User:
    user = current_user()
    assert user is not None
    if roles and user.role not in roles:
        raise Forbidden()
    return user
