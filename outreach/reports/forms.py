"""Report filters (GET, no CSRF needed: they change nothing) and the void form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired
from wtforms.validators import Optional

from outreach.encounters.voids import VOID_REASONS
from outreach.reports.periods import DEFAULT_PRESET
from outreach.reports.periods import PRESETS


def choices(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class _GetForm(FlaskForm):
    class Meta:
        csrf = False


class ReportFilterForm(_GetForm):
    preset = SelectField(
        _l("Period"), choices=choices(PRESETS.items()), default=DEFAULT_PRESET, validate_choice=True
    )
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    zone = SelectField(_l("Zone"), default="", validate_choice=True)
    worker = SelectField(_l("Worker"), default="", validate_choice=True)
    item = SelectField(_l("Supply item"), default="", validate_choice=True)


class ExportForm(_GetForm):
    """The internal (exact) export; the shareable one is always by month."""

    period = SelectField(
        _l("One row per"),
        choices=choices([("month", _l("Month")), ("week", _l("Week")), ("day", _l("Day"))]),
        default="month",
    )


class EncounterListForm(_GetForm):
    day = DateField(_l("Day"), validators=[Optional()])
    worker = SelectField(_l("Worker"), default="", validate_choice=True)
    zone = SelectField(_l("Zone"), default="", validate_choice=True)


class VoidForm(FlaskForm):
    reason = SelectField(
        _l("Why is this record a mistake?"),
        choices=choices([("", _l("Choose a reason")), *VOID_REASONS.items()]),
        validators=[DataRequired(message=_l("Choose a reason."))],
    )
