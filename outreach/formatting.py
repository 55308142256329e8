"""Template filters every page may use: numbers, percentages and times in the user's locale."""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

from flask import Flask
from flask import current_app
from flask_babel import format_datetime
from flask_babel import format_decimal
from flask_babel import format_percent


def number(value) -> str:
    """A count with the locale's grouping (1,234 or 1.234)."""
    return format_decimal(value)


def program_time(moment) -> str:
    """A stored (naive UTC) time, shown on the program's clock."""
    zone = ZoneInfo(current_app.config["PROGRAM_TIMEZONE"])
    return format_datetime(moment.replace(tzinfo=UTC).astimezone(zone), "medium", rebase=False)


def percent(value) -> str:
    """A ratio as a whole percentage."""
    return format_percent(value, "#,##0%")


def init_app(app: Flask) -> None:
    """Register the filters for every template."""
    app.add_template_filter(number, "number")
    app.add_template_filter(program_time, "program_time")
    app.add_template_filter(percent, "percent")
