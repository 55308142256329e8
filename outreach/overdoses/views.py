"""/reports/overdoses: supervisors find an overdose response logged by mistake and void it."""

from __future__ import annotations

import uuid

from flask import Blueprint
from flask import current_app
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from outreach.auth import role_required
from outreach.encounters.voids import VOID_REASONS
from outreach.extensions import db
from outreach.models import OverdoseResponse
from outreach.models import Role
from outreach.overdoses import report
from outreach.overdoses import voids
from outreach.reports.void_view import confirm_and_void

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
    return confirm_and_void(
        db.session.get(OverdoseResponse, response_id),
        lambda reason: voids.void_overdose_response(response_id, reason, current_user),
        template="reports/overdose_void.html",
        back=url_for("overdoses.index"),
        done=_("The record is voided. It no longer counts in any report."),
        **_names(),
    )
