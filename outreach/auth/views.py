"""Sign in and sign out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user

from outreach.auth import services
from outreach.auth.forms import LoginForm

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
    return target


def home_for(user) -> str:
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
    if form.validate_on_submit():
        result = services.authenticate(
            form.username.data, form.password.data, client=request.remote_addr or "unknown"
        )
        if result.outcome is services.LoginOutcome.OK:
            session.clear()
            session.permanent = True
            login_user(result.user, remember=bool(form.remember.data))
            return redirect(safe_next(request.args.get("next")) or home_for(result.user))
        if result.outcome is services.LoginOutcome.THROTTLED:
            flash(
                _(
                    "Too many failed sign-ins. Wait %(minutes)d minutes, then try again.",
                    minutes=result.retry_minutes,
                ),
                "error",
            )
            status = 429
        else:
            flash(_("That username and password do not match an active account."), "error")
            status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out (CSRF-protected, so another site cannot sign a worker out)."""
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
