"""Helpers of the page tests: a browser-like client signed in through the login form (a cookie
session and its CSRF token, as a browser has them)."""
from __future__ import annotations

import re
from typing import Any

from tests.factories import ACCOUNT_PASSWORD

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


class Browser:
    """A test client that signs in on /login and sends each form with the token of the page it came from."""

    def __init__(self, app: Any) -> None:
        self.client = app.test_client()
        self.token = ""

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.client.get(path, **kwargs)
        if response.mimetype == "text/html" and _TOKEN.search(response.get_data(as_text=True)):
            self.token = csrf_of(response.get_data(as_text=True))
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, *, token: bool = True, **kwargs: Any) -> Any:
        form = dict(data or {})
        if token:
            form.setdefault("csrf_token", self.token)
        return self.client.post(path, data=form, **kwargs)

    def login(self, username: str, password: str = ACCOUNT_PASSWORD) -> Browser:
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        self.get(response.location)  # a fresh token: signing in starts a new session
        return self


def field_errors(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", m) for m in re.findall(r'class="field-error"[^>]*>(.*?)</p>', html, re.S)]
