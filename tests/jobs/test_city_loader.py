"""The city benchmark's loader (benchmarks/bench_city.py) writes, in bulk, rows the app takes as its own:
a batch task matches the needs, the engine reads every provider, and the subdistrict's staff see and act
through the API. (How fast a city's batch runs is the benchmark's business, not a test's.)"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from access.auth import hash_password
from dispatch.views import load_providers
from models import AuditEntry, Need, Notification, Subdistrict
from tests.factories import TEST_PASSWORD, bearer_client

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
from benchmarks.bench_city import load_subdistrict, prefix_of, reset_needs  # noqa: E402

NEEDS, PROVIDERS = 40, 120


def test_a_subdistrict_loaded_in_bulk_is_matched_read_and_served_by_the_app(app: Any, session: Any) -> None:
    first = load_subdistrict(session, 1, NEEDS, PROVIDERS, password_hash=hash_password(TEST_PASSWORD))
    second = load_subdistrict(session, 2, NEEDS, PROVIDERS, password_hash=hash_password(TEST_PASSWORD))
    session.commit()

    result = app.extensions["celery"].tasks["jobs.match_scope"].apply(
        kwargs={"subdistrict_id": first.subdistrict_id}).get()

    assert result["stats"]["needs"] == NEEDS and result["stats"]["matched"] > NEEDS // 2
    assert len(load_providers(session, subdistrict_id=first.subdistrict_id)) == first.providers == PROVIDERS
    statuses = dict(session.execute(select(Need.status, func.count()).where(Need.ref.startswith(prefix_of(1)))
                                    .group_by(Need.status)).all())
    assert statuses.get("proposed") == result["stats"]["matched"]
    assert sum(statuses.values()) == NEEDS
    # The other subdistrict's needs are untouched, and each need has its creation entry before the batch's.
    assert session.scalar(select(func.count()).select_from(Need).where(
        Need.ref.startswith(prefix_of(2)), Need.status == "submitted")) == NEEDS
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.from_status == "")) == 2 * NEEDS

    admin = bearer_client(app, "admin-01")
    listed = admin.get("/api/v1/needs?per_page=100")
    assert listed.status_code == 200, listed.get_json()
    assert listed.get_json()["total"] == NEEDS  # its own subdistrict's only
    one = listed.get_json()["items"][0]["id"]
    assert admin.get(f"/api/v1/needs/{one}").status_code == 200
    assert session.scalar(select(Subdistrict.code).where(Subdistrict.id == second.subdistrict_id)) == second.code


def test_resetting_the_needs_leaves_what_the_load_wrote(app: Any, session: Any) -> None:
    load_subdistrict(session, 1, NEEDS, PROVIDERS, password_hash=hash_password(TEST_PASSWORD))
    session.commit()
    marks = (session.scalar(select(func.max(AuditEntry.id))), session.scalar(select(func.max(Notification.id))) or 0)
    loaded = (session.scalar(select(func.count()).select_from(AuditEntry)),
              session.scalar(select(func.count()).select_from(Notification)))
    app.extensions["celery"].tasks["jobs.match_scope"].apply().get()

    reset_needs(session, *marks)
    session.commit()

    assert set(session.scalars(select(Need.status))) == {"submitted"}
    assert (session.scalar(select(func.count()).select_from(AuditEntry)),
            session.scalar(select(func.count()).select_from(Notification))) == loaded
