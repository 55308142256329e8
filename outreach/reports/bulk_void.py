"""/reports/bulk-void: a supervisor voids every record one worker sent over a period.

For a flood (an account that sent thousands of bad records) or a practice phone: one reason
from the same list as single voids, one confirmation page that shows what will be voided
(the worker, the local days, the count per kind), then one transaction that voids them, takes
the encounters out of the roll-ups and writes one audit entry.

GET with no choice shows the choice form; GET with a valid choice adds the confirmation (it
changes nothing, so it needs no token); POST (CSRF) voids what was shown, or shows the new
counts again when the period changed meanwhile (409).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms import HiddenField
from wtforms import IntegerField
from wtforms import SelectField
from wtforms.validators import DataRequired
from wtforms.validators import InputRequired
from wtforms.validators import NumberRange

from outreach.auth import role_required
from outreach.encounters import voids
from outreach.extensions import db
from outreach.models import Role
from outreach.models import User
from outreach.reports.forms import choices

bp = Blueprint("bulk_void", __name__, url_prefix="/reports/bulk-void")

# What a bulk void covers, in the order the confirmation lists it.
KIND_LABELS = {
    "encounters": _l("Encounters"),
    "overdose_responses": _l("Overdose responses"),
    "stock_events": _l("Stock records"),
}


class BulkVoidChoiceForm(FlaskForm):
    """Whose records and which local days (GET: changes nothing, no token)."""

    class Meta:
        csrf = False

    worker = SelectField(_l("Worker"), validators=[DataRequired(message=_l("Choose a worker."))])
    start = DateField(_l("From"), validators=[DataRequired(message=_l("Enter a date."))])
    end = DateField(_l("To"), validators=[DataRequired(message=_l("Enter a date."))])

    def validate_end(self, field) -> None:
        if self.start.data and field.data and field.data < self.start.data:
            from wtforms.validators import ValidationError

            raise ValidationError(_l("The end date is before the start date."))


class BulkVoidForm(BulkVoidChoiceForm):
    """The confirmation: the same choice (hidden), the counts shown, and the reason."""

    class Meta:
        csrf = True

    worker = HiddenField(validators=[DataRequired()])
    start = DateField(widget=HiddenField.widget, validators=[DataRequired()])
    end = DateField(widget=HiddenField.widget, validators=[DataRequired()])
    reason = SelectField(
        _l("Why are these records a mistake?"),
        choices=choices([("", _l("Choose a reason")), *voids.VOID_REASONS.items()]),
        validators=[DataRequired(message=_l("Choose a reason."))],
    )
    # The counts the page showed: a period that changed since is shown again, not voided.
    encounters = IntegerField(
        widget=HiddenField.widget, validators=[InputRequired(), NumberRange(min=0)]
    )
    overdose_responses = IntegerField(
        widget=HiddenField.widget, validators=[InputRequired(), NumberRange(min=0)]
    )
    stock_events = IntegerField(
        widget=HiddenField.widget, validators=[InputRequired(), NumberRange(min=0)]
    )


def _workers() -> list:
    users = db.session.scalars(sa.select(User).order_by(sa.func.lower(User.username)))
    return choices(
        [("", _("Choose a worker"))]
        + [
            (str(u.id), u.username if u.active else _("%(name)s (deactivated)", name=u.username))
            for u in users
        ]
    )


def _worker(raw: str | None) -> User | None:
    try:
        return db.session.get(User, int(raw)) if raw else None
    except ValueError:
        return None


@bp.route("", methods=["GET", "POST"])
@role_required(Role.SUPERVISOR)
def bulk_void() -> ResponseReturnValue:
    """Choose a worker and a period, see what it holds, then void it with one reason."""
    choice = BulkVoidChoiceForm(formdata=request.args or None)
    choice.worker.choices = _workers()
    confirm = BulkVoidForm(formdata=request.form if request.method == "POST" else None)
    status = 200
    changed = False
    if request.method == "POST":
        worker = _worker(confirm.worker.data)
        if worker is None or not confirm.validate():
            status = 400
        else:
            expected = {kind: getattr(confirm, kind).data for kind in KIND_LABELS}
            try:
                counts = voids.bulk_void(
                    worker,
                    confirm.start.data,
                    confirm.end.data,
                    confirm.reason.data,
                    current_user,
                    expected,
                )
            except voids.BulkVoidChanged:
                status, changed = 409, True
            else:
                flash(
                    _(
                        "%(count)d records of %(worker)s are voided. They no longer count in "
                        "any report.",
                        count=sum(counts.values()),
                        worker=worker.username,
                    ),
                    "info",
                )
                return redirect(url_for("bulk_void.bulk_void"))
        chosen = (worker, confirm.start.data, confirm.end.data) if worker else None
        # The choice form above shows the same worker and days.
        choice.worker.data = confirm.worker.data
        choice.start.data, choice.end.data = confirm.start.data, confirm.end.data
    elif request.args and choice.validate():
        chosen = (_worker(choice.worker.data), choice.start.data, choice.end.data)
    else:
        status = 400 if request.args else 200
        chosen = None
    preview = _preview(confirm, *chosen) if chosen and chosen[0] and chosen[1] else None
    page = render_template(
        "reports/bulk_void.html",
        choice=choice,
        confirm=confirm,
        preview=preview,
        changed=changed,
        kinds=KIND_LABELS,
        timezone=current_app.config["PROGRAM_TIMEZONE"],
    )
    return page, status


def _preview(confirm: BulkVoidForm, worker: User, start: date, end: date | None) -> dict | None:
    """What the period holds now, with the confirmation form filled to void exactly that."""
    if end is None or end < start:
        return None
    counts = voids.bulk_void_counts(worker.id, start, end)
    confirm.worker.data = str(worker.id)
    confirm.start.data, confirm.end.data = start, end
    for kind, count in counts.items():
        # Shown counts are what the next POST must find (not what a stale POST sent).
        getattr(confirm, kind).data = count
        getattr(confirm, kind).raw_data = [str(count)]
    return {"worker": worker, "start": start, "end": end, "counts": counts}
