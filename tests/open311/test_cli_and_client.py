"""The keys from the command line, and a real Open311 client (``georeport`` from PyPI) against the app served
on a local port."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from core.database import make_engine
from migrations.runner import migrate
from models import Open311Key
from open311.keys import create_key, digest
from tests.open311.conftest import make_place


def test_an_admin_creates_lists_and_revokes_a_key_and_only_its_hash_is_stored(runner, session):
    created = runner.invoke(args=["open311", "keys", "create", "city-12345"])
    again = runner.invoke(args=["open311", "keys", "create", "city-12345"])
    listed = runner.invoke(args=["open311", "keys", "list"])
    revoked = runner.invoke(args=["open311", "keys", "revoke", "city-12345"])
    unknown = runner.invoke(args=["open311", "keys", "revoke", "nobody"])

    assert created.exit_code == 0, created.output
    plain = created.output.strip().splitlines()[-1]
    key = session.scalar(select(Open311Key).where(Open311Key.name == "city-12345"))
    assert plain.startswith("o311_") and key.key_hash == digest(plain) and plain not in key.key_hash
    assert again.exit_code == 1 and "已存在" in again.output
    assert "city-12345\t有效" in listed.output
    assert revoked.exit_code == 0 and key.active is False
    assert unknown.exit_code == 1


georeport = pytest.importorskip("georeport", reason="georeport is not installed (pip install -e '.[dev]')")


class LiveServer:
    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live(tmp_path: Any, classifier_path: str) -> Iterator[tuple[str, str]]:
    """The app on its own SQLite file, served on a free port: (its Open311 root, a key)."""
    url = f"sqlite:///{tmp_path / 'open311.db'}"
    engine = make_engine(url)
    migrate(engine)
    app = create_app({"TESTING": True, "DATABASE_URL": url, "ENGINE": engine, "CLASSIFIER_PATH": classifier_path,
                      "SECRET_KEY": "open311-tests"})
    with app.app_context(), app.extensions["sanku_db"].unit_of_work() as session:
        make_place(session)
        _key, plain = create_key(session, "city-12345")
    with LiveServer(app) as server:
        yield f"{server.url}/open311/v2", plain
    engine.dispose()


@pytest.mark.parametrize("output_format", ["json", "xml"])
def test_a_real_open311_client_reads_services_and_requests(live, output_format):
    import requests
    root, key = live
    # georeport reads only; a request is posted as any tool would, then read back through the client.
    posted = requests.post(f"{root}/requests.json", json={"api_key": key, "service_code": "market-03",
                                                           "lat": "22.585", "long": "113.886",
                                                           "description": "家门钥匙丢了进不去"}, timeout=10)
    assert posted.status_code == 201, posted.text
    ref = posted.json()[0]["service_request_id"]
    client = georeport.GeoReport(root, jurisdiction="sanku", output_format=output_format)

    services = client.get_service_list()
    definition = client.get_service_definition("market-03")
    one = client.get_service_request(ref)
    listed = client.get_service_requests(service_code="market", status="open")

    assert {"public", "social", "market", "volunteer"} <= {s["service_code"] for s in services}
    assert definition["service_code"] == "market-03"
    assert (one["service_request_id"], one["status"], one["address_id"]) == (ref, "open", "B101")
    items = listed if isinstance(listed, list) else [listed]  # xmltodict: a single <request> is a dict
    assert [r["service_request_id"] for r in items] == [ref]
