"""Engine set-up that differs between SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import sqlalchemy as sa
from flask import Flask
from flask import g
from flask import request
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite

from outreach.extensions import db

# When set, the next SQLite transaction takes the write lock at BEGIN. A transaction that
# reads first and writes later can fail at once with SQLITE_BUSY under concurrent writers;
# one that begins IMMEDIATE waits its turn (busy_timeout) instead.
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sqlite_write_intent", default=False
)

SQLITE_BUSY_TIMEOUT_MS = 30_000


def dialect_insert(connection: sa.Connection, table: sa.Table):
    """INSERT for this connection's engine, with its ON CONFLICT clauses (SQLite or
    PostgreSQL, the two engines the app runs on)."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    if connection.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"Unsupported database: {connection.dialect.name}")


# Form posts change data and take SQLite's write lock at BEGIN, unless the view opts out.
_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def manages_own_write_transaction(view):
    """Mark a view that opens its own write transaction (``write_transaction()``), so its
    request does not hold SQLite's write lock while it reads and validates the body."""
    view.manages_own_write_transaction = True
    return view


def configure_engine(app: Flask) -> None:
    """Attach dialect-specific connection settings to the app's engine."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name != "sqlite":
            return

        @app.before_request
        def _writes_take_the_lock_at_begin() -> None:
            # A request that reads, then writes (sign-in: find the user, then record the
            # sign-in) would otherwise fail at once with "database is locked" when another
            # write lands in between; beginning IMMEDIATE makes it wait its turn instead.
            if request.method not in _WRITE_METHODS:
                return
            view = app.view_functions.get(request.endpoint or "")
            if not getattr(view, "manages_own_write_transaction", False):
                g._sqlite_write_intent = _write_intent.set(True)

        @app.teardown_request
        def _end_write_intent(_error=None) -> None:
            token = g.pop("_sqlite_write_intent", None)
            if token is not None:
                _write_intent.reset(token)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record) -> None:
            # Let SQLAlchemy's "begin" event, not the driver, decide how a transaction starts.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            # WAL lets reports read while phones sync; ignored for in-memory databases.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


@contextlib.contextmanager
def write_transaction() -> Iterator[sa.Connection]:
    """A Core connection in a transaction that holds the write lock from its start on SQLite."""
    token = _write_intent.set(True)
    try:
        with db.engine.begin() as connection:
            yield connection
    finally:
        _write_intent.reset(token)


@contextlib.contextmanager
def write_session() -> Iterator[None]:
    """Run a unit of ORM work that writes, committing at the end (rolling back on error).

    The session's current transaction is ended first, so the one this opens begins with
    SQLite's write lock held (a read-then-write transaction could otherwise fail with
    SQLITE_BUSY when another writer got in between).
    """
    db.session.rollback()
    token = _write_intent.set(True)
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        _write_intent.reset(token)


# Any number, the same in every release: the PostgreSQL advisory lock `flask upgrade` holds.
UPGRADE_LOCK = 0x0_7EAC_0001


@contextlib.contextmanager
def upgrade_lock(engine: sa.Engine, on_wait=None) -> Iterator[None]:
    """Hold the database's upgrade lock: a second `flask upgrade` waits, then finds nothing
    to do, instead of failing halfway through the first one's migrations.

    PostgreSQL: a session advisory lock on a connection of its own (migrations run on
    another). SQLite: an exclusive lock on a file beside the database (a write transaction
    would block the migrations themselves). ``on_wait`` is called once if the lock is busy.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            got = connection.execute(
                sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": UPGRADE_LOCK}
            ).scalar()
            if not got:
                if on_wait:
                    on_wait()
                connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": UPGRADE_LOCK})
            try:
                yield
            finally:
                connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:key)"), {"key": UPGRADE_LOCK}
                )
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    import fcntl

    lock_path = f"{database}.upgrade-lock"
    try:
        handle = open(lock_path, "a+b")  # noqa: SIM115 (closed by the with below)
    except OSError:
        # No folder to lock in means no database there either: the upgrade itself says so.
        yield
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
