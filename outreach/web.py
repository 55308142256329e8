"""App-wide web behaviour: security headers, error pages, asset URLs."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import g
from flask import jsonify
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from outreach.auth import wants_json
from outreach.extensions import db
from outreach.extensions import login_manager

log = logging.getLogger("outreach.web")

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Production is served over HTTPS only: browsers must never try plain HTTP again for a year.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"

ERROR_MESSAGES = {
    400: _l("The request could not be read."),
    401: _l("Please sign in again."),
    403: _l("You do not have access to this page."),
    404: _l("That page does not exist."),
    405: _l("That method is not allowed here."),
    413: _l("That upload is too large."),
    429: _l("Too many requests. Wait a moment and try again."),
    500: _l("Something went wrong on the server. Nothing you saved on this device is lost."),
    503: _l("The server is busy or restarting. Try again in a moment."),
}


# The largest id or page number a URL may carry: ids are 32-bit integers in both databases,
# and no listing has more pages. Larger numbers answer 404 instead of overflowing the query.
MAX_URL_INTEGER = 2**31 - 1
MAX_PAGE = 1_000_000


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` that matches only ids the database can hold (others are 404)."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_URL_INTEGER)
        super().__init__(map, *args, **kwargs)


def init_url_map(app: Flask) -> None:
    """Before any route is added: converters every blueprint's rules use."""
    app.url_map.converters["int"] = BoundedIntegerConverter


def _refuse_impossible_pages() -> None:
    """A ``?page=`` past any listing is 404 before a view turns it into an OFFSET."""
    page = request.args.get("page")
    if not page:
        return
    try:
        number = int(page)
    except ValueError:
        return  # views read it as the first page
    if number > MAX_PAGE:
        abort(404)


def _refuse_nul_characters():
    """No real address or form holds U+0000; PostgreSQL cannot even compare it (400, not 500).

    The JSON API checks its own bodies, after its sign-in check.
    """
    if wants_json():
        return None
    found = "\x00" in request.path or any(
        "\x00" in name or any("\x00" in value for value in values)
        for source in (request.args, request.form)
        for name, values in source.lists()
    )
    if not found:
        return None
    if request.path.endswith(".json"):
        # JSON routes outside the API (report figures) answer their errors in JSON too.
        response = jsonify(error="bad_request", message=str(ERROR_MESSAGES[400]))
        response.status_code = 400
        return response
    abort(400)


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul_characters)
    app.before_request(_refuse_impossible_pages)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(sa.exc.OperationalError, _database_unavailable)
    app.register_error_handler(sa.exc.InterfaceError, _database_unavailable)

    static_dist = Path(app.static_folder) / "dist"

    @app.context_processor
    def _asset_helpers() -> dict:
        return {
            "asset_url": lambda name: asset_url(static_dist, name),
            # Lets shared templates link to features only where they are installed.
            "has_endpoint": lambda name: name in app.view_functions,
        }


def asset_url(dist: Path, name: str) -> str:
    """URL of a built asset, through the build's manifest of hashed file names."""
    mapping = _load_manifest(dist / "manifest.json", _mtime(dist / "manifest.json"))
    return url_for("static", filename="dist/" + mapping.get(name, name))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@lru_cache(maxsize=4)
def _load_manifest(path: Path, _mtime_key: float) -> dict[str, str]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
    if current_app.config["OUTREACH_ENV"] == "production":
        headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    if request.endpoint != "static" and "Cache-Control" not in headers:
        # Pages can hold staff data; the service worker decides what to keep offline.
        if not _is_private():
            headers["Cache-Control"] = "no-cache"
        elif _is_offline_page(response):
            # Kept offline by the service worker and free of private data; never shared.
            headers["Cache-Control"] = "private, no-cache"
        else:
            headers["Cache-Control"] = "no-store"
    return response


def _is_private() -> bool:
    from flask_login import current_user

    return bool(current_user and current_user.is_authenticated)


def _is_offline_page(response) -> bool:
    """A page marked with ``pwa.offline_page`` (and not an error answered in its place)."""
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "offline_page", False)) and response.status_code == 200


def _error_response(status: int, code: str, message: str):
    if wants_json():
        response = jsonify(error=code, message=message)
        response.status_code = status
        return response
    return render_template("error.html", status=status, message=message), status


def _http_error(error: HTTPException):
    status = error.code or 500
    message = str(ERROR_MESSAGES.get(status) or error.description or _("Error"))
    response = _error_response(status, (error.name or "error").lower().replace(" ", "_"), message)
    if isinstance(response, tuple):
        return response
    for name, value in error.get_headers() or []:
        if name.lower() in {"allow", "retry-after"}:
            response.headers[name] = value
    return response


def csrf_problem(error: CSRFError) -> str | None:
    """What is really wrong when the CSRF check fails for a reason other than an old token."""
    if current_app.config["OUTREACH_ENV"] == "production" and not request.is_secure:
        # Secure cookies never come back over plain HTTP, so every form looks expired.
        return _("This site needs a secure connection. Open it with an address starting https://.")
    description = (error.description or "").lower()
    if "referrer" in description:
        return _(
            "This request did not say it came from this site's own pages (the Referer header "
            "was missing or named another site). Allow the browser to send it, then try again."
        )
    return None


def _csrf_error(error: CSRFError):
    message = csrf_problem(error) or _("This form expired. Reload the page and try again.")
    return _error_response(400 if not wants_json() else 403, "csrf", message)


def _database_unavailable(error: Exception):
    # Never include the exception text: it can quote SQL parameters. The driver's error
    # class and SQLSTATE say enough to diagnose.
    original = getattr(error, "orig", None)
    log.warning(
        "database unavailable: %s (%s, sqlstate %s)",
        type(error).__name__,
        type(original).__name__ if original else "-",
        getattr(original, "sqlstate", None) or "-",
    )
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        db.session.remove()
    # The error page must not need the database: drawn as for a visitor, it does not load
    # the signed-in user (nor refresh one the rollback just expired).
    g._login_user = login_manager.anonymous_user()
    try:
        response = _error_response(503, "database_unavailable", str(ERROR_MESSAGES[503]))
    except sa.exc.SQLAlchemyError:
        response = Response(str(ERROR_MESSAGES[503]), 503, mimetype="text/plain")
    if isinstance(response, tuple):
        body, status = response
        return body, status, {"Retry-After": "5"}
    response.headers["Retry-After"] = "5"
    return response
