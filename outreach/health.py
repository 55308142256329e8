"""GET /healthz for the reverse proxy and monitoring: database reachable, migrations current."""

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

bp = Blueprint("health", __name__)
log = logging.getLogger("outreach.health")


@lru_cache(maxsize=4)
def _head_revision(migrations_dir: str) -> str | None:
    return ScriptDirectory(migrations_dir).get_current_head()


def check() -> tuple[bool, dict]:
    """Whether the app can serve, and what was checked."""
    migrations_dir = current_app.extensions["migrate"].directory
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_revision()
    except sa.exc.SQLAlchemyError as error:
        log.warning("health check: database unreachable (%s)", type(error).__name__)
        return False, {"database": "unreachable", "migrations": "unknown"}
    head = _head_revision(migrations_dir)
    migrations = "current" if current == head else "pending"
    return migrations == "current", {"database": "ok", "migrations": migrations}


@bp.get("/healthz")
def healthz():
    """200 when healthy, 503 otherwise; never cached."""
    healthy, details = check()
    response = jsonify(status="ok" if healthy else "unavailable", **details)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
