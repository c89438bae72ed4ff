"""How fast are the pages, and how heavy is a resident's first load? Prints tables; never asserts.

The demo subdistrict (158 grids, ~3,000 providers, 400 needs with a month of history) on a fresh SQLite
file, each role
signed in through the login form; every page requested N times (after a warm-up) through the app in
this process, as the server sees it (no network). Beside each page, the JSON API call that reads
the same records, in the same process, as the baseline: the ratio is what rendering the page costs
over the bare data. Targets: p95 ≤ 100 ms per page; resident pages ≤ 150 KB on first load.

    python benchmarks/bench_pages.py            # 200 requests per page
    python benchmarks/bench_pages.py --quick    # 40
"""
from __future__ import annotations

import argparse
import gzip
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from core.database import make_engine  # noqa: E402
from demo.seed import DEMO_PASSWORD, seed_demo  # noqa: E402
from migrations.runner import migrate  # noqa: E402
from models import Grid, Need, PartyGrid, User  # noqa: E402

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')
FIRST_LOAD_TARGET = 150 * 1024


def login(app: Any, username: str) -> Any:
    client = app.test_client()
    token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302, (username, response.status_code)
    return client


def timings(client: Any, path: str, n: int) -> tuple[float, float, int]:
    """p50 and p95 in ms over ``n`` requests (after 5 warm-ups), and the body's size."""
    for _ in range(5):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:300])
    seconds = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path)
        seconds.append(time.perf_counter() - start)
    ms = np.asarray(seconds) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), len(response.data)


def first_load(client: Any, path: str) -> tuple[int, int]:
    """Bytes of the page and everything it links from this site, raw and gzipped (as a server would send)."""
    html = client.get(path).data
    bodies = [html] + [client.get(url).data for url in sorted(set(ASSET.findall(html.decode())))]
    return sum(len(b) for b in bodies), sum(len(gzip.compress(b)) for b in bodies)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 40 if args.quick else 200
    folder = Path(tempfile.mkdtemp(prefix="sanku-bench-pages-"))
    url = f"sqlite:///{folder / 'demo.db'}"
    engine = make_engine(url)
    migrate(engine)
    app = create_app({"DATABASE_URL": url, "ENGINE": engine, "CLASSIFIER_PATH": str(folder / "model.joblib"), "PHOTO_DIR": str(folder / "photos"),
                      "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING", "TESTING": True})
    with app.app_context(), app.extensions["sanku_db"].unit_of_work() as session:
        seed_demo(session, history=True)
    with app.app_context(), app.extensions["sanku_db"].unit_of_work() as session:
        resident = session.scalar(select(User).where(User.username == "resident"))
        own = session.scalar(select(Need.id).where(Need.resident_id == resident.id).order_by(Need.id))
        # A need of the coordinator's scope waiting for its provider's answer: the page ranks providers.
        scoped = session.scalar(select(Need.id).join(Grid, Grid.id == Need.grid_id)
                                .join(PartyGrid, PartyGrid.id == Grid.party_grid_id)
                                .where(PartyGrid.code == "PG01", Need.status == "proposed").order_by(Need.id))
        closed = session.scalar(select(Need.id).where(Need.status == "closed").order_by(Need.id))
    clients = {who: login(app, who) for who in ("resident", "volunteer", "coordinator", "reviewer", "admin")}
    # (who, page, the API call reading the same records)
    pages = [
        ("resident", "/my/needs", "/api/v1/needs?per_page=100"),
        ("resident", "/my/needs/new", "/api/v1/grids?per_page=100"),
        ("resident", f"/my/needs/{own}", f"/api/v1/needs/{own}/audit"),
        ("volunteer", "/tasks", "/api/v1/needs?per_page=100"),
        ("coordinator", "/queue?state=waiting", "/api/v1/needs?status=submitted&per_page=50"),
        ("coordinator", f"/needs/{scoped}", f"/api/v1/needs/{scoped}/proposals?limit=8"),
        ("coordinator", f"/needs/{closed}", f"/api/v1/needs/{closed}/audit"),
        ("coordinator", "/needs/new", "/api/v1/grids?per_page=100"),
        ("reviewer", "/review", "/api/v1/needs?status=accepted&per_page=100"),
        ("reviewer", "/council", "/api/v1/party-grids"),
        ("admin", "/queue?state=proposed", "/api/v1/needs?status=proposed&per_page=50"),
        ("admin", "/admin/volunteers", "/api/v1/volunteers?per_page=50"),
        ("admin", "/dashboard", "/api/v1/reports/closure?by=grid"),
        ("admin", "/dashboard?by=month", "/api/v1/reports/closure?by=month"),
    ]
    print(f"Server time per page, {n} requests each (demo subdistrict, SQLite, one process); baseline: the "
          "JSON API call reading the same records, same process.\n")
    print(f"{'role':<12} {'page':<28} {'p50 ms':>8} {'p95 ms':>8} {'KB':>6} {'API p50':>8} {'× API':>6}")
    worst = 0.0
    for who, path, api in pages:
        client = clients[who]
        try:
            p50, p95, size = timings(client, path, n)
        except AssertionError as exc:
            print(f"{who:<12} {path:<28} unavailable: {exc.args[0][1]}")
            continue
        a50, _, _ = timings(client, api, n)
        worst = max(worst, p95)
        print(f"{who:<12} {path:<28} {p50:8.1f} {p95:8.1f} {size / 1024:6.1f} {a50:8.1f} {p50 / a50:6.1f}")
    print(f"\nworst p95: {worst:.1f} ms (target ≤ 100 ms)\n")
    print("First load of the resident's pages: the HTML and every stylesheet and script it links, as sent.\n")
    print(f"{'page':<28} {'raw KB':>8} {'gzip KB':>8} {'of 150 KB':>10}")
    for path in ("/login", "/my/needs", "/my/needs/new", f"/my/needs/{own}"):
        client = clients["resident"] if path != "/login" else app.test_client()
        raw, packed = first_load(client, path)
        print(f"{path:<28} {raw / 1024:8.1f} {packed / 1024:8.1f} {raw / FIRST_LOAD_TARGET:10.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
