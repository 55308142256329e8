"""The stock report's period (GET, no CSRF: it changes nothing)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms import SelectField
from wtforms.validators import Optional

from outreach.reports.forms import choices
from outreach.reports.periods import DEFAULT_PRESET
from outreach.reports.periods import PRESETS


class StockPeriodForm(FlaskForm):
    class Meta:
        csrf = False

    preset = SelectField(
        _l("Period"), choices=choices(PRESETS.items()), default=DEFAULT_PRESET, validate_choice=True
    )
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
