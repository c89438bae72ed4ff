"""The pages in a real browser: Debian's Chromium driven by Playwright, against the app served on a
local port with the demo subdistrict (its own SQLite file, migrated and seeded once per run).

`.ci/run` installs ``chromium`` (and ``fonts-noto-cjk``, so Chinese renders in screenshots) when they
are missing; elsewhere these tests skip with the reason."""
from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from app import create_app
from core.database import make_engine
from migrations.runner import migrate

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 360, "height": 740}
DESK = {"width": 1280, "height": 900}
DEMO_PASSWORD = "sanku-demo-2026"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
    pytest.skip("Debian's chromium is not installed (apt-get install chromium fonts-noto-cjk)", allow_module_level=True)


class LiveServer:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory, classifier_path: str, photo_dir: str) -> Any:
    """The app on its own SQLite file with the demo subdistrict (committed, as `make run` leaves it)."""
    from demo.seed import seed_demo

    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'demo.db'}"
    engine = make_engine(url)
    migrate(engine)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "ENGINE": engine, "CLASSIFIER_PATH": classifier_path,
                      "SECRET_KEY": "browser-tests", "PHOTO_DIR": photo_dir})
    with app.app_context():
        with app.extensions["sanku_db"].unit_of_work() as session:
            seed_demo(session, history=True)
    return app


@pytest.fixture(scope="session")
def live_server(live_app: Any) -> Iterator[LiveServer]:
    with LiveServer(live_app) as server:
        yield server


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists()
                                             else shutil.which("chromium"), args=["--no-sandbox"])
        yield browser
        browser.close()


class Person:
    """One person at their own browser (a context: its own cookies), watching what the page asks for."""

    def __init__(self, chromium: Any, server: LiveServer, viewport: dict[str, int], **options: Any) -> None:
        self.server = server
        self.context = chromium.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
                                            base_url=server.url, **options)
        self.page = self.context.new_page()
        self.foreign: list[str] = []  # requests to anywhere but the app's own origin
        self.console_errors: list[str] = []
        self.page.on("request", self._watch)
        self.page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)

    def _watch(self, request: Any) -> None:
        if not request.url.startswith(self.server.url) and not request.url.startswith(("data:", "blob:")):
            self.foreign.append(request.url)

    def login(self, username: str, password: str = DEMO_PASSWORD) -> Person:
        self.page.goto("/login")
        self.page.get_by_label("用户名").fill(username)
        self.page.get_by_label("密码").fill(password)
        self.page.get_by_role("button", name="登录").click()
        self.page.wait_for_load_state()
        assert "/login" not in self.page.url, self.page.content()[:2000]
        return self

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def people(chromium: Any, live_server: LiveServer) -> Iterator[Any]:
    """``people(viewport, **options)`` opens a new person's browser; all are closed after the test."""
    opened: list[Person] = []

    def open_one(viewport: dict[str, int] = PHONE, **options: Any) -> Person:
        person = Person(chromium, live_server, viewport, **options)
        opened.append(person)
        return person

    yield open_one
    for person in opened:
        person.close()
