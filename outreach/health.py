"""GET /healthz for the reverse proxy and monitoring: can this server answer real requests?

It checks what requests need, not only that the process runs: the database (reachable,
migrations current), Redis when ``REDIS_URL`` is set (sign-in and sync counters live there),
and the seal key store (every phone's session call hands out the current seal key). It names
the running version and the database's migration, so an upgrade that did not take shows.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint
from flask import current_app
from flask import jsonify

from outreach.extensions import db
from outreach.version import app_version

bp = Blueprint("health", __name__)
log = logging.getLogger("outreach.health")


@lru_cache(maxsize=4)
def _head_revision(migrations_dir: str) -> str | None:
    return ScriptDirectory(migrations_dir).get_current_head()


def _database() -> tuple[str, str | None, str]:
    """(database state, the database's migration, migrations state)."""
    migrations_dir = current_app.extensions["migrate"].directory
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_revision()
    except sa.exc.SQLAlchemyError as error:
        log.warning("health check: database unreachable (%s)", type(error).__name__)
        return "unreachable", None, "unknown"
    migrations = "current" if current == _head_revision(migrations_dir) else "pending"
    return "ok", current, migrations


def _redis() -> str | None:
    """'ok', 'unreachable', or None when no Redis is configured."""
    if not current_app.config.get("REDIS_URL"):
        return None
    store = current_app.extensions["outreach_ratelimit_store"]
    try:
        store._redis.ping()
    except Exception as error:  # any failure means sign-ins would fail the same way
        log.warning("health check: Redis unreachable (%s)", type(error).__name__)
        return "unreachable"
    return "ok"


def _seal_keys(database: str) -> str:
    """'ok' when the current seal key can be read (and its private half opened)."""
    from outreach import sealing

    if database != "ok":
        return "unknown"
    try:
        sealing.check_key_store()
    except Exception as error:  # any failure means every phone's session call fails too
        log.warning("health check: seal keys unusable (%s)", type(error).__name__)
        return "unusable"
    return "ok"


def check() -> tuple[bool, dict]:
    """Whether the app can serve, and what was checked."""
    database, revision, migrations = _database()
    details: dict = {
        "version": app_version(),
        "migration": revision,
        "database": database,
        "migrations": migrations,
    }
    redis = _redis()
    if redis is not None:
        details["redis"] = redis
    details["seal_keys"] = _seal_keys(database) if migrations == "current" else "unknown"
    healthy = (
        database == "ok"
        and migrations == "current"
        and redis in (None, "ok")
        and details["seal_keys"] == "ok"
    )
    return healthy, details


@bp.get("/healthz")
def healthz():
    """200 when healthy, 503 otherwise; never cached."""
    healthy, details = check()
    response = jsonify(status="ok" if healthy else "unavailable", **details)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
