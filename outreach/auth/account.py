"""/account: the signed-in user's own sessions, and sign-in lockouts for supervisors."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required

from outreach.admin.forms import ConfirmForm
from outreach.auth import role_required
from outreach.auth import services
from outreach.auth import sessions
from outreach.auth.views import signed_out_response
from outreach.extensions import db
from outreach.models import Role
from outreach.models import User

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("")
@login_required
def index():
    """Who is signed in, on which devices, and a way to end them all."""
    return render_template(
        "account/index.html",
        open_sessions=sessions.open_sessions(current_user),
        this_session=sessions.token_hash(current_user.get_id()),
        form=ConfirmForm(),
    )


@bp.post("/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    """End every session of this account, this device's too (for a lost phone)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.sign_out_everywhere(current_user, actor=current_user)
    return signed_out_response(_("You are signed out on every device."))


@bp.get("/lockouts")
@role_required(Role.SUPERVISOR)
def lockouts():
    """Accounts someone is failing to sign in to, and a way to let them try again now."""
    locked = services.locked_accounts()
    accounts = [(db.session.get(User, user_id), wait) for user_id, wait in locked.items()]
    accounts = sorted(
        ((user, wait) for user, wait in accounts if user is not None),
        key=lambda pair: pair[0].username.lower(),
    )
    return render_template("account/lockouts.html", accounts=accounts, form=ConfirmForm())


@bp.post("/lockouts/<int:user_id>/lift")
@role_required(Role.SUPERVISOR)
def lift_lockout(user_id: int):
    """Lift the sign-in pauses on one account (audit-logged)."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.lift_lockout(user, actor=current_user)
    flash(_("%(name)s can try to sign in again now.", name=user.username), "info")
    return redirect(url_for("account.lockouts"))
