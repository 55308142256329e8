"""Admin editing of the directory under /admin/directory: list, edit, deactivate, CSV."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from flask import Blueprint
from flask import Response
from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from outreach.auth import role_required
from outreach.auth.services import record_audit
from outreach.directory import display
from outreach.directory import services
from outreach.directory import transfer
from outreach.directory.forms import ConfirmForm
from outreach.directory.forms import ImportForm
from outreach.directory.forms import ServiceForm
from outreach.extensions import db
from outreach.i18n import current_lang
from outreach.models import Role

bp = Blueprint("directory_admin", __name__, url_prefix="/admin/directory")


@bp.before_request
@role_required(Role.ADMIN)
def _admins_only():
    """Every page here is for admins."""
    return None


@bp.after_request
def _never_cache(response):
    # Staff notes are on these pages and in the export.
    response.headers["Cache-Control"] = "no-store, private"
    return response


def _service_or_404(service_id: int):
    service = services.get_service(service_id)
    if service is None:
        abort(404)
    return service


def _service_form(**kwargs) -> ServiceForm:
    form = ServiceForm(**kwargs)
    form.set_referral_choices(services.referral_types(active_only=False), current_lang())
    return form


@bp.get("/")
def index():
    """Every service, active ones first."""
    listing = services.list_services(include_inactive=True)
    listing.sort(key=lambda s: (not s.active, s.name.lower()))
    lang = current_lang()
    return render_template(
        "directory_admin/index.html",
        services=listing,
        type_names={t.key: t.display_name(lang) for t in services.referral_types(False)},
        as_of=display.as_of_text(services.directory_as_of()),
    )


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Add a service."""
    form = _service_form()
    if form.validate_on_submit():
        service = services.save_service(None, form.values(), current_user)
        flash(_("Added %(name)s.", name=service.name), "success")
        return redirect(url_for(".index"))
    return render_template("directory_admin/form.html", form=form, service=None)


@bp.route("/<int:service_id>/edit", methods=["GET", "POST"])
def edit(service_id: int):
    """Change a service."""
    service = _service_or_404(service_id)
    form = _service_form()
    if form.validate_on_submit():
        services.save_service(service, form.values(), current_user)
        flash(_("Saved %(name)s.", name=service.name), "success")
        return redirect(url_for(".index"))
    if not form.is_submitted():
        form.fill_from(services.values_from_service(service))
    return render_template("directory_admin/form.html", form=form, service=service)


@bp.route("/<int:service_id>/deactivate", methods=["GET", "POST"])
def deactivate(service_id: int):
    """Ask, then take a service out of the public directory."""
    service = _service_or_404(service_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        services.deactivate_service(service, current_user)
        flash(_("%(name)s is no longer listed.", name=service.name), "success")
        return redirect(url_for(".index"))
    return render_template("directory_admin/deactivate.html", form=form, service=service)


@bp.get("/export.csv")
def export():
    """The whole directory as CSV, staff notes included."""
    body = transfer.export_csv()
    record_audit(current_user, "directory.export", "directory_service", None, {})
    db.session.commit()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="directory-{stamp}.csv"'},
    )


@bp.route("/import", methods=["GET", "POST"])
def import_csv():
    """Upload a CSV: every row is checked first; nothing changes unless all are fine."""
    form = ImportForm()
    errors = []
    status = 200
    if form.validate_on_submit():
        text = transfer.decode_upload(form.file.data.read())
        result = transfer.import_csv(text, current_user)
        if result.ok:
            flash(
                _(
                    "Imported: %(created)d added, %(updated)d changed, %(unchanged)d unchanged.",
                    created=result.created,
                    updated=result.updated,
                    unchanged=result.unchanged,
                ),
                "success",
            )
            return redirect(url_for(".index"))
        errors = result.errors
        status = 422
    elif form.is_submitted():
        status = 422
    return (
        render_template(
            "directory_admin/import.html", form=form, errors=errors, columns=transfer.CSV_COLUMNS
        ),
        status,
    )
