"""The confirm-then-void page every record kind shares (encounters, overdose responses,
stock events): a reason from the fixed list, then the record leaves every figure."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from outreach.encounters.voids import VoidError
from outreach.reports.forms import VoidForm


def confirm_and_void(
    record,
    void: Callable[[str], None],
    *,
    template: str,
    back: str,
    done: str,
    **context,
) -> ResponseReturnValue:
    """GET shows the record and the reasons; a valid POST voids it (``void(reason)``) and
    goes ``back`` saying ``done``. A bad form answers 400, a record voided already 409."""
    if record is None:
        abort(404)
    form = VoidForm()
    if record.voided_at is None and form.validate_on_submit():
        try:
            void(form.reason.data)
        except VoidError:
            # Another supervisor voided it a moment ago.
            flash(_("That record was voided already."), "warning")
        else:
            flash(done, "info")
        return redirect(back)
    status = 200
    if request.method == "POST":
        status = 400 if record.voided_at is None else 409
    page = render_template(template, form=form, record=record, back=back, **context)
    return page, status
