"""/reports/overdoses: supervisors find an overdose response logged by mistake and void it."""

from __future__ import annotations

import uuid

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from outreach.auth import role_required
from outreach.encounters.voids import VOID_REASONS
from outreach.encounters.voids import VoidError
from outreach.extensions import db
from outreach.models import OverdoseResponse
from outreach.models import Role
from outreach.overdoses import report
from outreach.overdoses import voids
from outreach.reports.forms import VoidForm

bp = Blueprint("overdoses", __name__, url_prefix="/reports/overdoses")


def _names() -> dict:
    return {
        "outcomes": report.outcome_names(),
        "givers": report.giver_names(),
        "ems": {"yes": _("Yes"), "no": _("No"), "unknown": _("Not known")},
        "reasons": VOID_REASONS,
        "timezone": current_app.config["PROGRAM_TIMEZONE"],
    }


@bp.get("")
@role_required(Role.SUPERVISOR)
def index():
    """The latest overdose responses, each with a way to void it."""
    return render_template("reports/overdoses.html", rows=voids.recent(), **_names())


@bp.route("/<uuid:response_id>/void", methods=["GET", "POST"])
@role_required(Role.SUPERVISOR)
def void(response_id: uuid.UUID):
    """Confirm, then void one overdose response with a reason."""
    row = db.session.get(OverdoseResponse, response_id)
    if row is None:
        abort(404)
    form = VoidForm()
    status = 200
    if row.voided_at is None and form.validate_on_submit():
        try:
            voids.void_overdose_response(response_id, form.reason.data, current_user)
        except VoidError:
            flash(_("That record was voided already."), "warning")
        else:
            flash(_("The record is voided. It no longer counts in any report."), "info")
        return redirect(url_for("overdoses.index"))
    if request.method == "POST":
        status = 400 if row.voided_at is None else 409
    return (
        render_template(
            "reports/overdose_void.html",
            form=form,
            record=row,
            back=url_for("overdoses.index"),
            **_names(),
        ),
        status,
    )
