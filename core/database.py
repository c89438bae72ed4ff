"""The engine and the unit of work.

One session per request or CLI command (``db_session()``); the HTTP and CLI layers commit once and
roll back on any error, so a failed request leaves the database as it was. Services receive the
session and only flush.

SQLite lets one writer at a time: a transaction that starts reading and later writes cannot wait
for the lock (it would deadlock), so SQLite refuses it at once ("database is locked"). Requests
that may write (every method but GET/HEAD/OPTIONS) and commands therefore begin ``IMMEDIATE``:
they take the write lock first and queue for it (``busy_timeout``), while readers go on in WAL mode.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def _json_dumps(value: Any) -> str:
    # Keep Chinese readable in the database, and make "skill in list" filters work with LIKE.
    return json.dumps(value, ensure_ascii=False)


# How long a SQLite writer queues for the write lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 15_000
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITES = "sanku_writes"  # execution option: this connection's transactions will write


def make_engine(url: str, **kwargs: Any) -> Engine:
    # pool_pre_ping: a connection the database dropped (a restart, a killed backend) is replaced
    # before use, instead of failing the request that drew it from the pool.
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, json_serializer=_json_dumps, future=True, **kwargs)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin, so that BEGIN and
            # SAVEPOINT behave as on PostgreSQL (the pysqlite recipe of the SQLAlchemy docs).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITES) else "BEGIN")
    if engine.dialect.name == "postgresql":
        event.listen(engine, "handle_error", _broken_ping_is_a_disconnect)
        event.listen(engine, "checkout", _bound_statements)
    return engine


_TIMEOUT = "sanku_statement_timeout_ms"  # the connection record's info: the statement_timeout it runs under


def _wanted_timeout_ms() -> int:
    """An API request's statements are bounded (``API_STATEMENT_TIMEOUT_MS``); pages, commands and jobs not."""
    if has_request_context() and request.path.startswith("/api/"):
        return int(current_app.config.get("API_STATEMENT_TIMEOUT_MS") or 0)
    return 0


def _bound_statements(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    """Give a connection drawn from the pool the statement timeout its user needs. The setting lives on
    the connection (a session-level SET, outside any transaction) and is remembered on its pool record,
    so the many API requests that draw the same connection in turn pay nothing: only a change (an API
    request after a page, or back) costs a round trip. A new connection starts at the server's default, 0."""
    wanted = _wanted_timeout_ms()
    if record.info.get(_TIMEOUT, 0) == wanted:
        return
    autocommit = dbapi_conn.autocommit
    dbapi_conn.autocommit = True  # not in a transaction: a rolled-back request would undo a SET made in one
    try:
        cursor = dbapi_conn.cursor()
        cursor.execute(f"SET statement_timeout = {int(wanted)}")
        cursor.close()
    finally:
        dbapi_conn.autocommit = autocommit
    record.info[_TIMEOUT] = wanted


def _broken_ping_is_a_disconnect(ctx: Any) -> None:
    """The pre-ping of a connection whose backend was killed: psycopg's ping fails with the lost
    socket, then SQLAlchemy's restoring of autocommit on the half-dead connection raises a
    ProgrammingError, which is not read as a disconnect, so the request failed instead of drawing
    a new connection (now and then: it depends on when the socket's end is seen). A pre-ping that
    failed while handling an OperationalError is a disconnect."""
    if ctx.is_pre_ping and not ctx.is_disconnect:
        cause = ctx.original_exception.__context__
        if isinstance(cause, ctx.dialect.loaded_dbapi.OperationalError):
            ctx.is_disconnect = True


class Database:
    """Holds the engine and the session factories of one app: one for reading, one for writing."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._readers = sessionmaker(bind=engine, expire_on_commit=False)
        self._writers = sessionmaker(bind=engine.execution_options(**{WRITES: True}), expire_on_commit=False)

    @property
    def sessionmaker(self) -> sessionmaker[Session]:
        return self._readers

    @sessionmaker.setter
    def sessionmaker(self, factory: sessionmaker[Session]) -> None:
        """One factory for both (the tests join every session to one connection)."""
        self._readers = self._writers = factory

    def session(self, *, writes: bool) -> Session:
        return (self._writers if writes else self._readers)()

    def init_app(self, app: Flask) -> None:
        app.extensions["sanku_db"] = self

        @app.teardown_appcontext
        def _close_session(_exc: BaseException | None) -> None:
            session: Session | None = g.pop("db_session", None)
            if session is not None:
                session.rollback()  # no-op after a commit; undoes anything left half-done
                session.close()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any exception (for CLI and jobs)."""
        session = self.session(writes=True)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def get_db() -> Database:
    db: Database = current_app.extensions["sanku_db"]
    return db


def db_session() -> Session:
    """The session of the current request or command, opened on first use. On PostgreSQL an API
    request's statements are bounded (``API_STATEMENT_TIMEOUT_MS``, set as the connection leaves the
    pool: ``_bound_statements``): one runaway query fails its own request (500, rolled back) instead of
    holding a connection every other request waits for."""
    if "db_session" not in g:
        writes = not has_request_context() or request.method not in READ_ONLY_METHODS
        g.db_session = get_db().session(writes=writes)
    found: Session = g.db_session
    return found
