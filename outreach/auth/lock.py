"""The screen lock, as the server knows it.

A phone locks its screens after ``LOCK_IDLE_SECONDS`` without a touch, and tells the server
(``POST /lock/session``; without signal, at its next contact). From then on the session reaches
nothing but the lock: every page, whatever its address, is answered with the lock page (423),
and every JSON answer, ``GET /api/v1/session`` included, is ``423 {"error": "locked"}`` with
no user, no CSRF token and no data. Only unlocking, locking, signing in or out, the service
worker, the manifest and the static files pass. So a page fetched from the network while the
phone is locked has no content to show, whoever asks (a browser tab, a copy of the cookies,
a script), for every role.

Unlocking proves one of two things:

- the PIN: at sign-in the phone draws a random key, seals it under a key derived from the PIN
  (PBKDF2, AES-GCM), and sends the key itself once (``POST /lock/key``); the server
  keeps its hash. Opening the seal offline unlocks the phone; handing the key back unlocks
  the session. Nothing derived from the password is ever kept on the phone;
- the password, checked here (online), under the sign-in throttle.

Locking and unlocking are exempt from the CSRF token (a locked session cannot be given one)
but take only JSON bodies, which no other site can send with this site's cookies (the
cookies are SameSite=Lax, and a cross-site JSON POST needs a CORS preflight we never grant).
"""

from __future__ import annotations

from flask import Blueprint
from flask import jsonify
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_login import login_required

from outreach import pwa
from outreach.auth import services
from outreach.auth import sessions
from outreach.auth import wants_json
from outreach.extensions import csrf

# A key is 32 random bytes in base64url (43 characters); anything far from that is refused.
MIN_KEY_LENGTH = 32
MAX_KEY_LENGTH = 128
LOCKED_STATUS = 423

# Endpoints a locked session still reaches: the lock itself and the ways out of it, and what
# carries no data (the service worker, the manifest, static files, health, the API's schema).
REACHABLE_WHILE_LOCKED = frozenset(
    {
        "static",
        "auth.login",
        "auth.logout",
        "auth.lock_screen",
        "auth.lock_session",
        "auth.unlock_session",
        "pwa.service_worker",
        "pwa.manifest",
        "api.openapi",
    }
)


def offline_urls() -> list[str]:
    """The lock page is kept offline: a locked phone shows it for every address."""
    return [url_for("auth.lock_screen")] if current_user.is_authenticated else []


def _json_error(status: int, code: str, message: str, **extra):
    response = jsonify(error=code, message=message, **extra)
    response.status_code = status
    return response


def locked_answer():
    """What a locked session gets instead of any page or JSON answer."""
    if wants_json() or request.path.endswith(".json"):
        return _json_error(LOCKED_STATUS, "locked", _("This phone is locked. Unlock it first."))
    return render_template("auth/lock.html"), LOCKED_STATUS


def guard_locked_sessions():
    """Before every request: a locked session sees nothing but the lock."""
    endpoint = request.endpoint or ""
    if endpoint in REACHABLE_WHILE_LOCKED or endpoint.startswith("health."):
        return None
    if not current_user.is_authenticated or not current_user.session_locked:
        return None
    return locked_answer()


def _json_body() -> dict | None:
    """The body, only when it is a JSON object sent as JSON (see the module's note on CSRF)."""
    if not request.is_json:
        return None
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


@login_required
def lock_screen():
    """The lock: the only thing a locked phone shows (kept offline, served for every page)."""
    return render_template("auth/lock.html")


@login_required
def lock_session():
    """The phone locked its screens: so does this session, until it is unlocked."""
    if _json_body() is None:
        return _json_error(400, "bad_request", _("Send a JSON object."))
    sessions.lock(current_user.get_id())
    return jsonify(locked=True)


@login_required
def unlock_session():
    """Unlock with the key the PIN opened on the phone, or with the password (checked here)."""
    body = _json_body()
    if body is None:
        return _json_error(400, "bad_request", _("Send a JSON object."))
    token = current_user.get_id()
    key, password = body.get("key"), body.get("password")
    if isinstance(key, str) and MIN_KEY_LENGTH <= len(key) <= MAX_KEY_LENGTH:
        if sessions.unlock_key_matches(token, key):
            sessions.unlock(token)
            return jsonify(locked=False)
        return _json_error(
            403,
            "wrong_key",
            _("This PIN no longer unlocks this session. Use your password."),
            errors={"pin": _("This PIN no longer unlocks this session. Use your password.")},
        )
    if isinstance(password, str) and password:
        result = services.authenticate(
            current_user.username, password, client=request.remote_addr or "unknown"
        )
        if result.outcome is services.LoginOutcome.THROTTLED:
            message = ngettext(
                "Too many failed tries. Wait %(num)d minute, then try again.",
                "Too many failed tries. Wait %(num)d minutes, then try again.",
                result.retry_minutes,
            )
            response = _json_error(429, "throttled", message, errors={"password": message})
            response.headers["Retry-After"] = str(result.retry_after)
            return response
        if result.outcome is services.LoginOutcome.OK and result.user.id == current_user.id:
            sessions.unlock(token)
            return jsonify(locked=False)
        return _json_error(
            403, "wrong_password", _("Wrong password."), errors={"password": _("Wrong password.")}
        )
    return _json_error(
        400,
        "bad_request",
        _("Type your PIN or your password."),
        errors={"password": _("Type your PIN or your password.")},
    )


@login_required
def set_unlock_key():
    """Keep the hash of the key this phone sealed under its PIN (only while unlocked)."""
    body = _json_body()
    key = body.get("key") if body else None
    if not isinstance(key, str) or not MIN_KEY_LENGTH <= len(key) <= MAX_KEY_LENGTH:
        return _json_error(400, "bad_request", _("Send the key as a JSON string."))
    sessions.set_unlock_key(current_user.get_id(), key)
    return jsonify(ok=True)


def init(bp: Blueprint) -> None:
    """Add the lock's routes and its guard to the sign-in blueprint."""
    bp.add_url_rule("/lock", "lock_screen", pwa.offline_page(lock_screen), methods=["GET"])
    for rule, endpoint, view in (
        ("/lock/session", "lock_session", lock_session),
        ("/lock/unlock", "unlock_session", unlock_session),
        ("/lock/key", "set_unlock_key", set_unlock_key),
    ):
        bp.add_url_rule(rule, endpoint, csrf.exempt(view), methods=["POST"])
    bp.before_app_request(guard_locked_sessions)
    bp.record_once(lambda state: pwa.register_offline_pages(state.app, offline_urls))
