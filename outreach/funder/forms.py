"""Funder report choice (GET, no CSRF: it changes nothing) and the admin mapping form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField

from outreach.reports.forms import choices

MONTH_NAMES = (
    _l("January"),
    _l("February"),
    _l("March"),
    _l("April"),
    _l("May"),
    _l("June"),
    _l("July"),
    _l("August"),
    _l("September"),
    _l("October"),
    _l("November"),
    _l("December"),
)


def period_choices() -> list:
    """The whole year, each quarter, each month: one select beside the year."""
    pairs = [("year", _l("Whole year"))]
    pairs += [(f"q{n}", _l("Quarter %(n)d", n=n)) for n in range(1, 5)]
    pairs += [(f"m{n:02d}", name) for n, name in enumerate(MONTH_NAMES, start=1)]
    return choices(pairs)


class FunderReportForm(FlaskForm):
    class Meta:
        csrf = False

    template = SelectField(_l("Template"), validate_choice=True)
    period = SelectField(_l("Period"), validate_choice=True)
    year = SelectField(_l("Year"), validate_choice=True)


class MappingForm(FlaskForm):
    """One select per catalogue entry (fields added per template by ``mapping_form``)."""


def mapping_form(rows: list[tuple[str, str, list]], formdata=None, data=None) -> MappingForm:
    """A form with one select per (field name, label, choices) row."""

    class Form(MappingForm):
        pass

    for name, label, options in rows:
        setattr(Form, name, SelectField(label, choices=choices(options), validate_choice=True))
    return Form(formdata=formdata, data=data)
