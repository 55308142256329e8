"""Opening hours of directory services: reading, writing, and whether one is open now."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

# Hours are kept as ``{"mon": [["09:00", "17:00"]], ...}`` in PROGRAM_TIMEZONE wall-clock time.
# A range whose end is not after its start runs past midnight into the next day ("22:00" to
# "02:00"); "24:00" is allowed as an end and means midnight.

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_RANGE_SPLIT = re.compile(r"\s*[-\u2013\u2014]\s*")
_LIST_SPLIT = re.compile(r"[,;]")


class HoursError(ValueError):
    """Opening hours that cannot be read; the message says what is wrong."""


def _minutes(text: str, *, is_end: bool) -> int:
    match = _TIME.match(text.strip())
    if not match:
        raise HoursError(_l("%(value)s is not a time like 09:00", value=text.strip()))
    hours, minutes = int(match.group(1)), int(match.group(2))
    total = hours * 60 + minutes
    if minutes > 59 or total > MINUTES_PER_DAY or (total == MINUTES_PER_DAY and not is_end):
        raise HoursError(_l("%(value)s is not a time like 09:00", value=text.strip()))
    return total


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_day_hours(text: str) -> list[list[str]]:
    """``"09:00-12:00, 13:00-17:00"`` to ``[["09:00", "12:00"], ["13:00", "17:00"]]``.

    Blank (or "closed") means closed that day.
    """
    text = (text or "").strip()
    if not text or text.lower() in {"closed", "cerrado"}:
        return []
    ranges = []
    for part in _LIST_SPLIT.split(text):
        part = part.strip()
        if not part:
            continue
        pieces = _RANGE_SPLIT.split(part)
        if len(pieces) != 2:
            raise HoursError(_l("%(value)s is not a range like 09:00-17:00", value=part))
        start = _minutes(pieces[0], is_end=False)
        end = _minutes(pieces[1], is_end=True)
        if start == end:
            raise HoursError(
                _l("%(value)s starts and ends at the same time (use 00:00-24:00)", value=part)
            )
        ranges.append([_clock(start), _clock(end)])
    return ranges


def format_day_hours(ranges: list) -> str:
    """The inverse of ``parse_day_hours``: ``"09:00-12:00, 13:00-17:00"``; blank when closed."""
    return ", ".join(f"{start}-{end}" for start, end in ranges)


def normalise_hours(hours: dict | None) -> dict[str, list[list[str]]]:
    """Every weekday present, valid ranges only (stored data is never trusted blindly)."""
    clean: dict[str, list[list[str]]] = {}
    for day in DAYS:
        kept = []
        for item in (hours or {}).get(day) or []:
            try:
                kept.extend(parse_day_hours(f"{item[0]}-{item[1]}"))
            except (HoursError, TypeError, IndexError, KeyError):
                continue
        clean[day] = kept
    return clean


@dataclass(frozen=True)
class OpeningStatus:
    """Whether a service is open at a moment, and when that changes.

    ``state`` is "open", "closed" or "unknown" (no hours listed). Days count from the
    moment's own local day (0 = the same day, 1 = the next); weekdays are 0 = Monday.
    """

    state: str
    closes_at: str | None = None
    closes_in_days: int | None = None
    closes_weekday: int | None = None
    opens_at: str | None = None
    opens_in_days: int | None = None
    opens_weekday: int | None = None

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    @property
    def always_open(self) -> bool:
        return self.state == "open" and self.closes_at is None


def _week_intervals(hours: dict) -> list[tuple[int, int]]:
    """Opening intervals in minutes from Monday 00:00, merged, repeated a week either side."""
    raw = []
    clean = normalise_hours(hours)
    for index, day in enumerate(DAYS):
        for start_text, end_text in clean[day]:
            start = index * MINUTES_PER_DAY + _minutes(start_text, is_end=False)
            end = index * MINUTES_PER_DAY + _minutes(end_text, is_end=True)
            if end <= start:
                end += MINUTES_PER_DAY
            for shift in (-MINUTES_PER_WEEK, 0, MINUTES_PER_WEEK):
                raw.append((start + shift, end + shift))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(raw):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def opening_status(hours: dict, now: datetime, timezone: str | ZoneInfo) -> OpeningStatus:
    """Whether a service with these hours is open at ``now`` (an aware datetime).

    Hours are wall-clock times in ``timezone`` (PROGRAM_TIMEZONE). Ranges past midnight,
    closed days and several ranges a day are handled; a closing time at midnight is
    reported as "24:00" of the day it ends.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
    local = now.astimezone(tz)
    current = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
    today = current // MINUTES_PER_DAY
    intervals = _week_intervals(hours)
    if not intervals:
        return OpeningStatus("unknown")
    for start, end in intervals:
        if start <= current < end:
            if end - start >= 3 * MINUTES_PER_WEEK:
                return OpeningStatus("open")
            # A close exactly at midnight belongs to the day before it ("24:00").
            day = (end - 1) // MINUTES_PER_DAY
            return OpeningStatus(
                "open",
                closes_at=_clock(end - day * MINUTES_PER_DAY),
                closes_in_days=day - today,
                closes_weekday=day % 7,
            )
    start = min(start for start, _end in intervals if start > current)
    day = start // MINUTES_PER_DAY
    return OpeningStatus(
        "closed",
        opens_at=_clock(start - day * MINUTES_PER_DAY),
        opens_in_days=day - today,
        opens_weekday=day % 7,
    )
