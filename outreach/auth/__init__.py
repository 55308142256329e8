"""Accounts, sign-in and role checks."""

from __future__ import annotations

import functools
from collections.abc import Callable

import sqlalchemy as sa
from flask import abort
from flask import g
from flask import jsonify
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager
from flask_login import current_user

from outreach.extensions import db
from outreach.models import Role
from outreach.models import User

# Cookies the phone's script reads and writes (so neither is HttpOnly; neither signs anything
# in). REF_COOKIE names the session (sessions.public_ref); a phone that signs out without
# signal copies it into END_COOKIE, which ends that session at the server's next contact.
REF_COOKIE = "outreach_ref"
END_COOKIE = "outreach_end"


def wants_json() -> bool:
    """Whether this request is for the JSON API or the lock's JSON endpoints (/lock/...),
    which never redirect."""
    return request.path.startswith(("/api/", "/lock/"))


def init_login_manager(manager: LoginManager) -> None:
    manager.login_view = "auth.login"
    manager.login_message = _l("Please sign in to continue.")
    manager.login_message_category = "info"
    manager.session_protection = "basic"

    @manager.user_loader
    def load_user(session_token: str) -> User | None:
        # Both cookies carry the token of a server-side session: once it is revoked (sign-out,
        # sign out everywhere, password reset, deactivation), neither cookie nor any copy of
        # them signs a request in.
        from outreach.auth import sessions

        # A phone that signed out (or was cleared) without signal left a note in a cookie of
        # its own; it rides on whatever request reaches the server first, and the session
        # ends before that request sees anything.
        end_ref = request.cookies.get(END_COOKIE)
        if end_ref:
            g.end_cookie_seen = True
            if end_ref in ("*", sessions.public_ref(session_token or "")):
                g.ended_by_phone = True
        return sessions.load(session_token, end_ref)

    @manager.unauthorized_handler
    def unauthorized():
        if wants_json():
            return jsonify(error="unauthorized", message=str(_l("Please sign in again."))), 401
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def role_required(role: Role) -> Callable:
    """Allow the view to users with ``role`` or a higher one."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                from outreach.extensions import login_manager

                return login_manager.unauthorized()
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def find_user(username: str) -> User | None:
    """The account with this username, case-insensitively."""
    return db.session.scalar(
        sa.select(User).where(sa.func.lower(User.username) == username.strip().lower())
    )
