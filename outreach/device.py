"""What a phone needs to know about itself: who logged a record, its seal key, its lock.

Hooks for the sync API (kept apart so they move with the sync code when it is reorganised):
``session_extras()`` adds to ``GET /api/v1/session``; ``foreign_author_errors()`` is checked
per record by ``POST /api/v1/sync`` before anything is stored.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from outreach import sealing

# The field of the sync contract naming the account that logged the record (its username).
AUTHOR_FIELD = "logged_by"


def session_extras() -> dict:
    """The key phones seal participant codes to, and how long an idle phone stays open."""
    return {
        "seal_key": sealing.public_jwk(),
        "lock_after_seconds": int(current_app.config["LOCK_IDLE_SECONDS"]),
    }


def foreign_author_errors(raw: object, username: str | None) -> dict[str, str] | None:
    """Errors for a record another account logged; None when it may be stored here.

    A record without ``logged_by`` comes from a phone that predates it and is accepted as
    before. A record logged by someone else is never stored under the signed-in account.
    """
    if not isinstance(raw, dict) or username is None:
        return None
    author = raw.get(AUTHOR_FIELD)
    if author is None:
        return None
    if isinstance(author, str) and author.strip().lower() == username.strip().lower():
        return None
    return {
        AUTHOR_FIELD: _(
            "Another worker logged this record. It is sent when they sign in on this phone."
        )
    }
