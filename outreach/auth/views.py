"""Sign in and sign out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user

from outreach.auth import END_COOKIE
from outreach.auth import REF_COOKIE
from outreach.auth import lock
from outreach.auth import services
from outreach.auth import sessions
from outreach.auth.forms import LoginForm
from outreach.models import Role

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """Only a path on this site; never another host or scheme."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    # Control characters (CR/LF above all) have no place in a Location header.
    if any(ord(character) < 32 or ord(character) == 127 for character in target):
        return None
    return target


def home_for(user) -> str:
    """Where a sign-in lands: admins on /admin, supervisors on /reports, workers on /log."""
    for role, endpoint in ((Role.ADMIN, "admin.index"), (Role.SUPERVISOR, "reports.index")):
        if user.has_role(role) and endpoint in current_app.view_functions:
            return url_for(endpoint)
    return url_for("main.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show and handle the sign-in form."""
    # ?switch=1: another worker takes this phone; signing in replaces the session (phone).
    switching = request.args.get("switch") == "1"
    if current_user.is_authenticated and request.method == "GET" and not switching:
        return redirect(safe_next(request.args.get("next")) or home_for(current_user))
    form = LoginForm()
    status = 200
    headers = {}
    if form.validate_on_submit():
        result = services.authenticate(
            form.username.data, form.password.data, client=request.remote_addr or "unknown"
        )
        if result.outcome is services.LoginOutcome.OK:
            remember = bool(form.remember.data)
            # Another worker taking this phone (or the same one again): the session this
            # browser held ends here, instead of lingering until it expires.
            if current_user.is_authenticated:
                sessions.end(current_user.get_id())
            session.clear()
            session.permanent = True
            sessions.start(result.user, remember=remember)
            login_user(result.user, remember=remember)
            return redirect(safe_next(request.args.get("next")) or home_for(result.user))
        if result.outcome is services.LoginOutcome.THROTTLED:
            flash(
                ngettext(
                    "Too many failed sign-ins. Wait %(num)d minute, then try again.",
                    "Too many failed sign-ins. Wait %(num)d minutes, then try again.",
                    result.retry_minutes,
                ),
                "error",
            )
            status = 429
            headers["Retry-After"] = str(result.retry_after)
        else:
            flash(_("That username and password do not match an active account."), "error")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status, headers


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (CSRF-protected, so another site cannot sign a worker out)."""
    if current_user.is_authenticated:
        sessions.end(current_user.get_id())
    return signed_out_response(_("You are signed out."))


def signed_out_response(message: str):
    """Forget this device's sign-in: the session and the remember cookie, then go to sign-in."""
    logout_user()
    session.clear()
    flash(message, "info")
    response = redirect(url_for("auth.login"))
    # Flask-Login would delete the remember cookie itself, but session.clear() above drops
    # the note that tells it to; the session it names is revoked anyway.
    _forget_remember_cookie(response)
    return response


def _forget_remember_cookie(response) -> None:
    """Delete Flask-Login's remember cookie with the attributes it was set with."""
    config = current_app.config
    response.delete_cookie(
        config.get("REMEMBER_COOKIE_NAME", "remember_token"),
        path=config.get("REMEMBER_COOKIE_PATH", "/"),
        domain=config.get("REMEMBER_COOKIE_DOMAIN"),
        secure=bool(config.get("REMEMBER_COOKIE_SECURE")),
        httponly=bool(config.get("REMEMBER_COOKIE_HTTPONLY", True)),
        samesite=config.get("REMEMBER_COOKIE_SAMESITE"),
    )


lock.init(bp)


@bp.after_app_request
def _phone_cookies(response):
    """Keep the phone's two small cookies in step with the session (see REF_COOKIE)."""
    config = current_app.config
    secure = bool(config.get("SESSION_COOKIE_SECURE"))
    if g.get("end_cookie_seen"):
        # Done with, whether it ended this session or named one that had already gone.
        response.delete_cookie(END_COOKIE, path="/", secure=secure, samesite="Strict")
        if g.get("ended_by_phone"):
            response.delete_cookie(REF_COOKIE, path="/", secure=secure, samesite="Strict")
            _forget_remember_cookie(response)
            session.clear()
        return response
    # Only when this request already looked at who is signed in (never for static files).
    user = g.get("_login_user")
    if user is not None and user.is_authenticated:
        ref = sessions.public_ref(user.get_id())
        if request.cookies.get(REF_COOKIE) != ref:
            response.set_cookie(
                REF_COOKIE,
                ref,
                max_age=int(config["REMEMBER_COOKIE_DURATION"].total_seconds()),
                path="/",
                secure=secure,
                httponly=False,  # read by the phone's script; it signs nothing in
                samesite="Strict",
            )
    elif user is not None and request.cookies.get(REF_COOKIE):
        response.delete_cookie(REF_COOKIE, path="/", secure=secure, samesite="Strict")
    return response
