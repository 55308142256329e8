"""Report periods: presets, parsing and limits, in the program's local days."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from outreach import clock

DAY = "day"
WEEK = "week"
MONTH = "month"

# Longer periods would only be slow and unreadable; three years covers every comparison.
MAX_SPAN_DAYS = 3 * 366

PRESETS = {
    "this_week": _l("This week"),
    "last_week": _l("Last week"),
    "this_month": _l("This month"),
    "last_month": _l("Last month"),
    "last_90_days": _l("Last 90 days"),
    "custom": _l("Custom dates"),
}
DEFAULT_PRESET = "this_month"


class PeriodError(ValueError):
    """A period parameter that cannot be used; the message says why."""


def today() -> date:
    """Today in PROGRAM_TIMEZONE (from the app's clock)."""
    return clock.today()


def preset_range(preset: str, on: date) -> tuple[date, date]:
    """The whole calendar period a preset names, as seen on day ``on``."""
    if preset == "this_week":
        start = bucket_start(on, WEEK)
        return start, bucket_end(start, WEEK)
    if preset == "last_week":
        start = bucket_start(on, WEEK) - timedelta(days=7)
        return start, bucket_end(start, WEEK)
    if preset == "last_month":
        start = bucket_start(bucket_start(on, MONTH) - timedelta(days=1), MONTH)
        return start, bucket_end(start, MONTH)
    if preset == "last_90_days":
        return on - timedelta(days=89), on
    start = bucket_start(on, MONTH)
    return start, bucket_end(start, MONTH)


def parse_day(text: str, name: str) -> date:
    """A YYYY-MM-DD date, or a PeriodError naming the parameter."""
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(_("%(name)s must be a date written as YYYY-MM-DD.", name=name)) from None


def resolve(start_text: str | None, end_text: str | None, on: date) -> tuple[date, date]:
    """The inclusive period asked for; each missing end defaults to this month's."""
    default_start, default_end = preset_range("this_month", on)
    start = parse_day(start_text, "start") if start_text else default_start
    end = parse_day(end_text, "end") if end_text else default_end
    check(start, end)
    return start, end


def check(start: date, end: date) -> None:
    """Refuse reversed or overlong periods."""
    if end < start:
        raise PeriodError(_("The end date is before the start date."))
    if (end - start).days + 1 > MAX_SPAN_DAYS:
        raise PeriodError(_("Choose a period of at most %(days)d days.", days=MAX_SPAN_DAYS))


def bucket_start(day: date, period: str) -> date:
    """The first day of the day's period (weeks start on Monday)."""
    if period == WEEK:
        return day - timedelta(days=day.weekday())
    if period == MONTH:
        return day.replace(day=1)
    return day


def bucket_end(start: date, period: str) -> date:
    """The last day of the period that begins on ``start``."""
    if period == WEEK:
        return start + timedelta(days=6)
    if period == MONTH:
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(days=1)
    return start


def buckets(start: date, end: date, period: str) -> list[tuple[date, date]]:
    """Consecutive periods covering start..end, each clipped to the range."""
    result = []
    cursor = bucket_start(start, period)
    while cursor <= end:
        last = bucket_end(cursor, period)
        result.append((max(cursor, start), min(last, end)))
        cursor = last + timedelta(days=1)
    return result
