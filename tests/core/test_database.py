"""The database connection: a connection the server dropped is replaced before a request uses it."""
from __future__ import annotations

import pytest

from app import create_app
from core.database import make_engine


@pytest.mark.postgres
def test_a_connection_the_database_killed_is_replaced_before_a_request_uses_it(engine, database_url,
                                                                              classifier_path):
    own = make_engine(database_url, pool_size=1, max_overflow=0)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ENGINE": own, "SECRET_KEY": "test",
                      "CLASSIFIER_PATH": classifier_path})
    client = app.test_client()
    assert client.get("/api/v1/grids").status_code == 200  # the pool now holds its one connection
    with own.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with engine.connect() as admin:
        admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")  # as a restart or a DBA would

    try:
        assert client.get("/api/v1/grids").status_code == 200
    finally:
        own.dispose()
