"""Signed-in sessions kept on the server, so signing out ends them for real.

Each sign-in makes a ``UserSession`` row with a random token; the session cookie and the
remember cookie carry only that token (as Flask-Login's user id), and the row keeps only its
hash. Every request checks the row: a revoked or expired one, a deactivated account or a
rotated ``User.session_token`` signs the request out. No request or session access here.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from outreach.database import write_transaction
from outreach.extensions import db
from outreach.models import User
from outreach.models import UserSession
from outreach.models import utcnow

log = logging.getLogger("outreach.auth")

# last_seen_at is written at most this often per session (not on every request).
TOUCH_INTERVAL = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _shift_expiry(from_time: datetime) -> datetime:
    return from_time + current_app.config["PERMANENT_SESSION_LIFETIME"]


def start(user: User, remember: bool) -> str:
    """Open a session for ``user`` and return its token (set on ``user.session_key`` too)."""
    now = utcnow()
    token = secrets.token_urlsafe(32)
    lifetime = (
        current_app.config["REMEMBER_COOKIE_DURATION"]
        if remember
        else current_app.config["PERMANENT_SESSION_LIFETIME"]
    )
    # Sessions that ended long ago are only clutter.
    db.session.execute(
        sa.delete(UserSession).where(UserSession.expires_at < now - timedelta(days=1))
    )
    db.session.add(
        UserSession(
            id=token_hash(token),
            user_id=user.id,
            generation=user.session_token,
            remember=remember,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    db.session.commit()
    user.session_key = token
    return token


def public_ref(token: str) -> str:
    """A name for the session the phone may read and send back (never the token itself).

    A phone that signs out without signal names the session to end with it; a hash under
    its own label, so it can neither be turned back into the token nor match the stored id.
    """
    return hashlib.sha256(f"outreach-session-ref\n{token}".encode()).hexdigest()[:32]


def load(token: str, end_ref: str | None = None) -> User | None:
    """The account signed in by ``token``, or None when that session has ended.

    ``end_ref``: a phone signed out (or was cleared) without signal and asks, with this
    request, that its session end (``public_ref`` of it, or ``*`` when it did not know it):
    it ends now, before the request sees anything.
    """
    if not token or len(token) > 128:
        return None
    if end_ref and end_ref in ("*", public_ref(token)):
        end(token)
        return None
    record = db.session.get(UserSession, token_hash(token))
    now = utcnow()
    if record is None or record.revoked_at is not None or record.expires_at <= now:
        return None
    user = record.user
    if not user.active or record.generation != user.session_token:
        return None
    if now - record.last_seen_at >= TOUCH_INTERVAL:
        _touch(record, now)
    user.session_key = token
    user.session_locked = record.locked_at is not None
    return user


def lock(token: str) -> None:
    """The phone holding this session locked its screens: the session reaches nothing else."""
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.id == token_hash(token), UserSession.locked_at.is_(None))
        .values(locked_at=utcnow())
    )
    db.session.commit()


def unlock(token: str) -> None:
    db.session.execute(
        sa.update(UserSession).where(UserSession.id == token_hash(token)).values(locked_at=None)
    )
    db.session.commit()


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def set_unlock_key(token: str, key: str) -> None:
    """Keep the hash of the key this session's phone sealed under its PIN."""
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.id == token_hash(token))
        .values(unlock_key_hash=key_hash(key))
    )
    db.session.commit()


def unlock_key_matches(token: str, key: str) -> bool:
    """Whether ``key`` is the one this session's phone sealed under its PIN."""
    record = db.session.get(UserSession, token_hash(token))
    stored = record.unlock_key_hash if record is not None else None
    return bool(stored) and secrets.compare_digest(stored, key_hash(key))


def _touch(record: UserSession, now: datetime) -> None:
    """Note the session in use (and slide a shift session's end), in a short transaction.

    Skipped when the request has already changed something: the next request does it.
    """
    session = db.session
    if session.new or session.dirty or session.deleted:
        return
    values: dict = {"last_seen_at": now}
    if not record.remember:
        values["expires_at"] = _shift_expiry(now)
    session_id = record.id
    # End the request's read so this write can take SQLite's lock at BEGIN.
    session.commit()
    with write_transaction() as connection:
        connection.execute(
            sa.update(UserSession).where(UserSession.id == session_id).values(**values)
        )


def end(token: str | None) -> None:
    """Revoke the session ``token`` belongs to (sign-out on this device)."""
    if not token:
        return
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.id == token_hash(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.session.commit()


def end_all(user: User) -> int:
    """Revoke every session of ``user``; the count of those that were still open.

    The caller commits (with its audit entry). Rotating the account's token ends sessions
    even where a row is missed; marking the rows keeps the account page truthful.
    """
    now = utcnow()
    open_sessions = db.session.execute(
        sa.update(UserSession)
        .where(
            UserSession.user_id == user.id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
        )
        .values(revoked_at=now)
    ).rowcount
    user.rotate_session_token()
    return open_sessions


def open_sessions(user: User) -> list[UserSession]:
    """The account's sessions that can still sign a request in, newest use first."""
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(
                UserSession.user_id == user.id,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > utcnow(),
                UserSession.generation == user.session_token,
            )
            .order_by(UserSession.last_seen_at.desc())
        )
    )
