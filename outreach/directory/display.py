"""Words for the directory pages: opening status, weekday names, access, the "as of" date.

Presentation only (translated text); the logic lives in ``hours``. The status messages are
also handed to the page's script, with ``{time}`` and ``{day}`` placeholders, so a copy read
offline hours later can say whether a service is open at the time it is read.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from outreach.directory.hours import DAYS
from outreach.directory.hours import OpeningStatus
from outreach.i18n import current_lang

ACCESS_LABELS = {
    "walk_in": _l("Walk in"),
    "appointment": _l("By appointment"),
    "both": _l("Walk in or by appointment"),
}


def program_timezone() -> ZoneInfo:
    return ZoneInfo(current_app.config["PROGRAM_TIMEZONE"])


def weekday_names() -> list[str]:
    """Monday first, in the page's language."""
    names = get_day_names("wide", locale=current_lang())
    return [names[index] for index in range(7)]


def day_rows(hours: dict) -> list[tuple[str, str, list]]:
    """(day key, weekday name, ranges) for Monday to Sunday."""
    names = weekday_names()
    return [(day, names[index], hours.get(day) or []) for index, day in enumerate(DAYS)]


def status_messages() -> dict[str, str]:
    """Every status sentence with ``{time}``/``{day}`` placeholders (for the page's script)."""
    time, day = "{time}", "{day}"
    return {
        "always": _("Open 24 hours"),
        "open_today": _("Open now · closes at %(time)s", time=time),
        "open_tomorrow": _("Open now · closes tomorrow at %(time)s", time=time),
        "open_day": _("Open now · closes %(day)s at %(time)s", day=day, time=time),
        "closed_today": _("Closed now · opens today at %(time)s", time=time),
        "closed_tomorrow": _("Closed now · opens tomorrow at %(time)s", time=time),
        "closed_day": _("Closed now · opens %(day)s at %(time)s", day=day, time=time),
        "unknown": _("Hours not listed · call first"),
    }


def status_key(status: OpeningStatus) -> str:
    if status.state == "unknown":
        return "unknown"
    if status.always_open:
        return "always"
    days = status.closes_in_days if status.is_open else status.opens_in_days
    prefix = "open" if status.is_open else "closed"
    suffix = "today" if days == 0 else "tomorrow" if days == 1 else "day"
    return f"{prefix}_{suffix}"


def status_text(status: OpeningStatus) -> str:
    """One sentence: "Open now · closes at 17:00", "Closed now · opens Monday at 09:00"..."""
    template = status_messages()[status_key(status)]
    weekday = status.closes_weekday if status.is_open else status.opens_weekday
    time = status.closes_at if status.is_open else status.opens_at
    day = weekday_names()[weekday] if weekday is not None else ""
    return template.replace("{time}", time or "").replace("{day}", day)


def as_of_text(updated_at: datetime | None) -> str | None:
    """The local date the directory last changed, formatted for the page's language."""
    if updated_at is None:
        return None
    local = updated_at.replace(tzinfo=UTC).astimezone(program_timezone())
    return format_date(local.date(), format="long")
