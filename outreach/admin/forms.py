"""Administration forms (all with CSRF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import HiddenField
from wtforms import IntegerField
from wtforms import PasswordField
from wtforms import SelectField
from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional
from wtforms.validators import ValidationError

from outreach.models import Role

ROLE_LABELS = {
    Role.WORKER.key: _l("Outreach worker"),
    Role.SUPERVISOR.key: _l("Supervisor"),
    Role.ADMIN.key: _l("Admin"),
}
ROLE_CHOICES = [SelectChoice(key, label) for key, label in ROLE_LABELS.items()]


def long_enough(form, field) -> None:
    """A password too short is refused beside the password field, not elsewhere."""
    from outreach.auth import services as auth_services

    if field.data and auth_services.validate_password(field.data):
        raise ValidationError(
            _l("Use at least %(count)d characters.", count=auth_services.MIN_PASSWORD_LENGTH)
        )


NO_AUTOFILL = {"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}


class UserCreateForm(FlaskForm):
    username = StringField(
        _l("Username"), validators=[DataRequired(), Length(max=64)], render_kw=NO_AUTOFILL
    )
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default=Role.WORKER.key)
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=256), long_enough],
        render_kw={"autocomplete": "new-password"},
    )


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class PasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=256), long_enough],
        render_kw={"autocomplete": "new-password"},
    )


class ConfirmForm(FlaskForm):
    """Only the CSRF token: for buttons that act."""


class MoveForm(FlaskForm):
    direction = HiddenField(validators=[AnyOf(["up", "down"])])


class ActiveForm(FlaskForm):
    active = HiddenField(validators=[AnyOf(["0", "1"])])


class CatalogEntryForm(FlaskForm):
    key = StringField(
        _l("Key"),
        validators=[DataRequired(), Length(max=64)],
        render_kw=NO_AUTOFILL,
    )
    name = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=120)])
    name_es = StringField(_l("Name (Spanish)"), validators=[Optional(), Length(max=120)])


class ProgramSettingsForm(FlaskForm):
    syringes_per_pound = IntegerField(
        _l("Syringes per pound"),
        validators=[DataRequired(), NumberRange(min=1, max=2000)],
    )


class SupplyEntryForm(CatalogEntryForm):
    unit = StringField(_l("Unit"), default="each", validators=[Length(max=32)])
    category = StringField(_l("Category"), default="other", validators=[Length(max=32)])
    quick_amounts = StringField(
        _l("Quick amounts on the phone"), default="1", validators=[Length(max=64)]
    )
    is_syringe = BooleanField(_l("Counts as syringes distributed"))
    is_naloxone = BooleanField(_l("Counts as naloxone kits given"))
    doses_per_unit = IntegerField(
        _l("Naloxone doses in one unit"),
        default=1,
        validators=[Optional(), NumberRange(min=1, max=100)],
    )
    stock_tracked = BooleanField(_l("Kept in workers' bags (loaded and counted)"))
    low_stock_threshold = IntegerField(
        _l("Warn when a bag holds this many or fewer"),
        validators=[Optional(), NumberRange(min=0, max=10_000)],
    )
