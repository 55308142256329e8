"""/admin: accounts, supply items, referral types, zones and the audit log (admins only)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from outreach import program_settings
from outreach.admin import services
from outreach.admin.forms import ROLE_LABELS
from outreach.admin.forms import ActiveForm
from outreach.admin.forms import CatalogEntryForm
from outreach.admin.forms import ConfirmForm
from outreach.admin.forms import MoveForm
from outreach.admin.forms import PasswordForm
from outreach.admin.forms import ProgramSettingsForm
from outreach.admin.forms import RoleForm
from outreach.admin.forms import SupplyEntryForm
from outreach.admin.forms import UserCreateForm
from outreach.admin.services import AdminError
from outreach.auth import role_required
from outreach.auth import services as auth_services
from outreach.auth import sessions
from outreach.extensions import db
from outreach.models import Role
from outreach.models import SupplyItem
from outreach.models import User

bp = Blueprint("admin", __name__, url_prefix="/admin")

CATALOG_TITLES = {
    "supplies": _l("Supply items"),
    "referrals": _l("Referral types"),
    "zones": _l("Zones"),
}
ACTION_LABELS = {
    "user.create": _l("Account created"),
    "user.role": _l("Role changed"),
    "user.deactivate": _l("Account deactivated"),
    "user.reactivate": _l("Account reactivated"),
    "user.password_reset": _l("Password reset"),
    "user.sign_out_everywhere": _l("Signed out everywhere"),
    "user.unlock": _l("Sign-in lockout lifted"),
    "catalog.create": _l("Catalogue entry added"),
    "catalog.update": _l("Catalogue entry changed"),
    "catalog.move": _l("Catalogue entry moved"),
    "catalog.deactivate": _l("Catalogue entry deactivated"),
    "catalog.reactivate": _l("Catalogue entry reactivated"),
    "encounter.void": _l("Record voided"),
    "records.bulk_void": _l("A worker's records voided over a period"),
    "encounter.backdated": _l("Back-dated records received"),
    "overdose_response.void": _l("Overdose response voided"),
    "stock_event.void": _l("Stock record voided"),
    "directory.create": _l("Directory service added"),
    "directory.update": _l("Directory service changed"),
    "directory.deactivate": _l("Directory service removed"),
    "directory.import": _l("Directory imported"),
    "directory.export": _l("Directory exported"),
    "settings.update": _l("Program setting changed"),
    "funder.mapping": _l("Funder report categories changed"),
}
# An event this list does not know yet (a newer feature's) still reads as words.
OTHER_ACTION = _l("Other change")


def action_label(action: str) -> str:
    """The audit event's name in words, in the page language."""
    return str(ACTION_LABELS.get(action, OTHER_ACTION))


@bp.before_request
@role_required(Role.ADMIN)
def _admins_only():
    """Every /admin route is for admins."""


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/")
def index_with_slash():
    """``/admin/`` (as links and bookmarks often have it) leads to the admin home."""
    return redirect(url_for("admin.index"), 308)


@bp.get("")
def index():
    """The admin home: links to each area."""
    return render_template("admin/index.html", catalogs=CATALOG_TITLES)


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    """Program settings: the syringes-per-pound factor for collected syringes weighed."""
    form = ProgramSettingsForm(syringes_per_pound=program_settings.syringes_per_pound())
    status = 200
    if form.validate_on_submit():
        try:
            services.set_syringes_per_pound(form.syringes_per_pound.data, current_user)
        except AdminError as error:
            form.syringes_per_pound.errors.append(str(error))
            status = 400
        else:
            flash(_("Settings saved."), "info")
            return redirect(url_for("admin.settings"))
    elif request.method == "POST":
        status = 400
    return render_template(
        "admin/settings.html", form=form, default=program_settings.DEFAULT_SYRINGES_PER_POUND
    ), status


@bp.route("/users", methods=["GET", "POST"])
def users():
    """Accounts, and a form to create one."""
    form = UserCreateForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.create_user(
                form.username.data, Role.from_key(form.role.data), form.password.data, current_user
            )
        except AdminError as error:
            form.username.errors.append(str(error))
            status = 400
        else:
            flash(_("Account %(name)s created.", name=user.username), "info")
            return redirect(url_for("admin.users"))
    elif request.method == "POST":
        status = 400
    accounts = db.session.scalars(
        sa.select(User).order_by(User.active.desc(), sa.func.lower(User.username))
    ).all()
    return render_template("admin/users.html", form=form, accounts=accounts), status


@bp.get("/users/<int:user_id>")
def user(user_id: int):
    """One account: role, password, deactivation."""
    account = _user_or_404(user_id)
    return _user_page(account)


def _user_page(account: User, status: int = 200, role_form=None, password_form=None):
    role_form = role_form or RoleForm(formdata=None, role=account.role.key)
    password_form = password_form or PasswordForm(formdata=None)
    return (
        render_template(
            "admin/user.html",
            account=account,
            role_form=role_form,
            password_form=password_form,
            confirm_form=ConfirmForm(),
            open_sessions=len(sessions.open_sessions(account)),
            lockout_seconds=auth_services.lockout_seconds(account),
        ),
        status,
    )


@bp.post("/users/<int:user_id>/role")
def user_role(user_id: int):
    """Change an account's role."""
    account = _user_or_404(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _user_page(account, 400, role_form=form)
    try:
        services.change_role(account, Role.from_key(form.role.data), current_user)
    except AdminError as error:
        form.role.errors.append(str(error))
        return _user_page(account, 400, role_form=form)
    flash(_("%(name)s is now: %(role)s.", name=account.username, role=_role_label(account)), "info")
    return redirect(url_for("admin.user", user_id=account.id))


def _role_label(account: User) -> str:
    return str(ROLE_LABELS[account.role.key])


@bp.post("/users/<int:user_id>/password")
def user_password(user_id: int):
    """Set a new password for an account (it is signed out everywhere)."""
    account = _user_or_404(user_id)
    form = PasswordForm()
    if not form.validate_on_submit():
        return _user_page(account, 400, password_form=form)
    try:
        services.reset_password(account, form.password.data, current_user)
    except AdminError as error:
        form.password.errors.append(str(error))
        return _user_page(account, 400, password_form=form)
    flash(
        _("New password set for %(name)s; their devices are signed out.", name=account.username),
        "info",
    )
    return redirect(url_for("admin.user", user_id=account.id))


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
def user_deactivate(user_id: int):
    """Confirm, then deactivate an account and sign it out everywhere."""
    account = _user_or_404(user_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            services.set_user_active(account, False, current_user)
        except AdminError as error:
            flash(str(error), "error")
            return redirect(url_for("admin.user", user_id=account.id))
        flash(_("%(name)s is deactivated and signed out.", name=account.username), "info")
        return redirect(url_for("admin.user", user_id=account.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/confirm_deactivate.html", account=account, form=form), status


@bp.post("/users/<int:user_id>/reactivate")
def user_reactivate(user_id: int):
    """Let a deactivated account sign in again."""
    account = _user_or_404(user_id)
    if ConfirmForm().validate_on_submit():
        services.set_user_active(account, True, current_user)
        flash(_("%(name)s can sign in again.", name=account.username), "info")
    return redirect(url_for("admin.user", user_id=account.id))


@bp.post("/users/<int:user_id>/sign-out-everywhere")
def user_sign_out_everywhere(user_id: int):
    """End every session of an account, e.g. for a lost phone (audit-logged)."""
    account = _user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ended = auth_services.sign_out_everywhere(account, actor=current_user)
    message = _(
        "%(name)s is signed out on every device (%(count)d).", name=account.username, count=ended
    )
    flash(message, "info")
    return redirect(url_for("admin.user", user_id=account.id))


@bp.post("/users/<int:user_id>/unlock")
def user_unlock(user_id: int):
    """Lift the sign-in pauses on an account (audit-logged)."""
    account = _user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    auth_services.lift_lockout(account, actor=current_user)
    flash(_("%(name)s can try to sign in again now.", name=account.username), "info")
    return redirect(url_for("admin.user", user_id=account.id))


def _entry_form(kind: str, **kwargs):
    form_class = SupplyEntryForm if kind == "supplies" else CatalogEntryForm
    return form_class(**kwargs)


def _entry_fields(form) -> dict:
    return {name: f.data for name, f in form._fields.items() if name not in ("key", "csrf_token")}


@bp.route("/catalog/<any(supplies, referrals, zones):kind>", methods=["GET", "POST"])
def catalog(kind: str):
    """A catalogue: its entries in order, and a form to add one."""
    model = services.CATALOGS[kind]
    form = _entry_form(kind)
    status = 200
    if form.validate_on_submit():
        try:
            entry = services.add_entry(model, form.key.data, _entry_fields(form), current_user)
        except AdminError as error:
            form.key.errors.append(str(error))
            status = 400
        else:
            flash(_("%(name)s added.", name=entry.name), "info")
            return redirect(url_for("admin.catalog", kind=kind))
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "admin/catalog.html",
            kind=kind,
            title=CATALOG_TITLES[kind],
            entries=services.entries(model),
            form=form,
            move_form=MoveForm(formdata=None),
            active_form=ActiveForm(formdata=None),
            is_supplies=model is SupplyItem,
        ),
        status,
    )


def _entry_or_404(kind: str, entry_id: int):
    entry = db.session.get(services.CATALOGS[kind], entry_id)
    if entry is None:
        abort(404)
    return entry


@bp.route("/catalog/<any(supplies, referrals, zones):kind>/<int:entry_id>", methods=["GET", "POST"])
def catalog_entry(kind: str, entry_id: int):
    """Rename an entry (its key only while no stored record uses it)."""
    entry = _entry_or_404(kind, entry_id)
    locked = services.key_in_use(entry)
    form = _entry_form(kind, obj=entry)
    if locked:
        form.key.render_kw = {**(form.key.render_kw or {}), "readonly": True}
    status = 200
    if form.validate_on_submit():
        try:
            services.update_entry(
                entry, None if locked else form.key.data, _entry_fields(form), current_user
            )
        except AdminError as error:
            form.key.errors.append(str(error))
            status = 400
        else:
            flash(_("%(name)s saved.", name=entry.name), "info")
            return redirect(url_for("admin.catalog", kind=kind))
    elif request.method == "POST":
        status = 400
    return (
        render_template(
            "admin/catalog_entry.html",
            kind=kind,
            title=CATALOG_TITLES[kind],
            entry=entry,
            form=form,
            locked=locked,
            is_supplies=kind == "supplies",
        ),
        status,
    )


@bp.post("/catalog/<any(supplies, referrals, zones):kind>/<int:entry_id>/move")
def catalog_move(kind: str, entry_id: int):
    """Move an entry up or down."""
    entry = _entry_or_404(kind, entry_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    services.move_entry(entry, form.direction.data, current_user)
    return redirect(url_for("admin.catalog", kind=kind, _anchor=f"entry-{entry.id}"))


@bp.post("/catalog/<any(supplies, referrals, zones):kind>/<int:entry_id>/active")
def catalog_active(kind: str, entry_id: int):
    """Deactivate or reactivate an entry (past reports keep it either way)."""
    entry = _entry_or_404(kind, entry_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    services.set_entry_active(entry, form.active.data == "1", current_user)
    if entry.active:
        flash(_("%(name)s is active again.", name=entry.name), "info")
    else:
        flash(_("%(name)s is deactivated: phones stop offering it.", name=entry.name), "info")
    return redirect(url_for("admin.catalog", kind=kind, _anchor=f"entry-{entry.id}"))


@bp.get("/audit")
def audit():
    """The audit log: who did what and when, newest first."""
    page = max(1, request.args.get("page", 1, type=int))
    action = request.args.get("action") or None
    if action is not None and action not in ("user", "catalog", "directory", "encounter"):
        action = None
    events, has_more = services.audit_page(page, action)
    return render_template(
        "admin/audit.html",
        events=events,
        page=page,
        has_more=has_more,
        action=action,
        action_label=action_label,
    )
