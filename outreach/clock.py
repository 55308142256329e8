"""The app's clock: what "now" and "today" are, settable from tests.

Report presets, default periods and export file names read the time here, so a test can
fix the date (``clock.set_now(...)``) and check what a preset produces on any day.
"""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app

_fixed: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return _fixed if _fixed is not None else datetime.now(UTC)


def today() -> date:
    """Today in PROGRAM_TIMEZONE."""
    return now().astimezone(ZoneInfo(current_app.config["PROGRAM_TIMEZONE"])).date()


def set_now(moment: datetime | None) -> None:
    """Fix the clock at ``moment`` (aware), or let it run again with None (tests only)."""
    global _fixed
    if moment is not None and moment.tzinfo is None:
        raise ValueError("the clock needs an aware datetime")
    _fixed = moment.astimezone(UTC) if moment is not None else None
