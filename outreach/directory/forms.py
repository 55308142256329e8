"""Admin forms for the directory: a service, the CSV import, the deactivate confirmation."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed
from flask_wtf.file import FileField
from flask_wtf.file import FileRequired
from wtforms import BooleanField
from wtforms import RadioField
from wtforms import SelectChoice
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms import ValidationError
from wtforms import widgets
from wtforms.validators import DataRequired
from wtforms.validators import Length

from outreach.directory.hours import DAYS
from outreach.directory.hours import HoursError
from outreach.directory.hours import format_day_hours
from outreach.directory.hours import parse_day_hours
from outreach.directory.services import MAX_LENGTHS
from outreach.directory.services import NOTES_MAX_LENGTH
from outreach.directory.services import ServiceValues

DAY_LABELS = {
    "mon": _l("Monday"),
    "tue": _l("Tuesday"),
    "wed": _l("Wednesday"),
    "thu": _l("Thursday"),
    "fri": _l("Friday"),
    "sat": _l("Saturday"),
    "sun": _l("Sunday"),
}


class CheckboxListField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _check_hours(_form, field) -> None:
    try:
        parse_day_hours(field.data or "")
    except HoursError as error:
        raise ValidationError(str(error)) from error


class ServiceForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=MAX_LENGTHS["name"])])
    referral_types = CheckboxListField(_l("Referral types served"), choices=[])
    address = StringField(_l("Address"), validators=[Length(max=MAX_LENGTHS["address"])])
    phone = StringField(
        _l("Phone"),
        validators=[Length(max=MAX_LENGTHS["phone"])],
        render_kw={"type": "tel", "autocomplete": "off"},
    )
    languages = StringField(
        _l("Languages spoken"), validators=[Length(max=MAX_LENGTHS["languages"])]
    )
    access = RadioField(
        _l("How to get seen"),
        choices=[
            SelectChoice("walk_in", _l("Walk in")),
            SelectChoice("appointment", _l("By appointment")),
            SelectChoice("both", _l("Walk in or by appointment")),
        ],
        default="walk_in",
    )
    public_notes = TextAreaField(
        _l("Public notes"), validators=[Length(max=NOTES_MAX_LENGTH)], render_kw={"rows": 3}
    )
    staff_notes = TextAreaField(
        _l("Staff-only notes"), validators=[Length(max=NOTES_MAX_LENGTH)], render_kw={"rows": 3}
    )
    active = BooleanField(_l("Listed in the public directory"), default=True)

    def set_referral_choices(self, types, lang: str) -> None:
        self.referral_types.choices = [SelectChoice(t.key, t.display_name(lang)) for t in types]

    def hour_fields(self) -> list:
        return [getattr(self, f"hours_{day}") for day in DAYS]

    def fill_from(self, values: ServiceValues) -> None:
        """Put a service's values in the form (on GET)."""
        self.name.data = values.name
        self.referral_types.data = list(values.referral_keys)
        self.address.data = values.address
        self.phone.data = values.phone
        self.languages.data = values.languages
        self.access.data = values.access
        for day in DAYS:
            getattr(self, f"hours_{day}").data = format_day_hours(values.hours.get(day, []))
        self.public_notes.data = values.public_notes
        self.staff_notes.data = values.staff_notes
        self.active.data = values.active

    def values(self) -> ServiceValues:
        """The form's clean values (after it validated)."""
        return ServiceValues(
            name=self.name.data.strip(),
            referral_keys=list(self.referral_types.data or []),
            address=(self.address.data or "").strip(),
            phone=(self.phone.data or "").strip(),
            languages=(self.languages.data or "").strip(),
            access=self.access.data,
            hours={day: parse_day_hours(getattr(self, f"hours_{day}").data or "") for day in DAYS},
            public_notes=(self.public_notes.data or "").strip(),
            staff_notes=(self.staff_notes.data or "").strip(),
            active=bool(self.active.data),
        )


# One hours field per weekday, e.g. "09:00-12:00, 13:00-17:00"; blank when closed.
for _day in DAYS:
    setattr(
        ServiceForm,
        f"hours_{_day}",
        StringField(
            DAY_LABELS[_day],
            validators=[Length(max=120), _check_hours],
            render_kw={"inputmode": "text", "placeholder": "09:00-17:00"},
        ),
    )


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV file"),
        validators=[
            FileRequired(_l("Choose a CSV file.")),
            FileAllowed(["csv"], _l("Choose a file ending in .csv.")),
        ],
        render_kw={"accept": ".csv,text/csv"},
    )


class ConfirmForm(FlaskForm):
    """Only the CSRF token: a confirmation button."""
