"""Participant figures (participants, new, returning) under disclosure control.

Why hiding small counts is not enough for them. A participant's first visit (in a zone, or
anywhere) falls on exactly one day, so *new participants add up over time*: new over a
quarter is the sum of new over its months, and new over 1 June-4 November less new over
1 June-3 November is new on 4 November. Participants over a range that starts before a
scope's first participant are new participants too (nobody can be returning), so the same
subtraction works on them; returning participants are participants less new. An auditor got
every hidden figure back that way: a December that read "fewer than 11" was Q4 less October
less November, and every day's new count by zone was the difference of two dashboard ranges
a day apart (with the void list, that points at the encounter that was someone's first visit).

The rule, held on every screen, summary.json, every CSV and every funder report:

1. Participant figures are published for **calendar months, quarters and years that have
   ended**, for all zones or one zone, and for nothing else: not for weeks, days or other
   dates (two ranges a day apart give a day's first visits), not for a period still under
   way (read every evening, "this month so far" gives each day's first visits), and not with
   a worker or supply-item filter (another count of the same people, outside this rule).
2. Within a year and a scope (all zones, or one zone), a month's new and returning are shown
   only when neither is small (1..threshold-1). A quarter's or the year's new and returning
   are shown only when every month in it shows them and its returning is not small: new is
   then the sum of shown months and says nothing more. A hidden month is never part of a
   shown sum, so no subtraction reaches it; the choice for a month depends on that month
   alone, so it never changes when later months end (reading the year again says no more).
3. Participants are shown when not small, except where they would give a hidden figure
   back: over a period before which the scope had no participant (nobody can be returning),
   participants *are* new participants, so they are hidden when new is; and when a quarter's
   or year's new is a sum of shown months but its returning is small, participants (new plus
   returning) are hidden too.

Every figure leaves out the reader's own records (``own_records``), like every participant
figure; each reader's figures follow the rule by themselves.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from datetime import timedelta

import sqlalchemy as sa
from flask import g
from flask import has_request_context

from outreach.extensions import db
from outreach.models import ALL_ZONES
from outreach.models import FIRST_VISIT
from outreach.models import ReportParticipantDay
from outreach.reports import own_records
from outreach.reports import periods as period_rules
from outreach.reports.disclosure import is_small

MONTH, QUARTER, YEAR = "month", "quarter", "year"

# How a figure may be shown.
SHOWN = "shown"
FEWER_THAN = "fewer_than"  # 1..threshold-1: "fewer than N"
HIDDEN = "hidden"  # not shown: it would give another hidden figure back
# Withheld: no participant figure at all for this report, and why (summary.json names these).
NOT_CALENDAR = "calendar_periods_only"
NOT_ENDED = "period_not_ended"
FILTERED = "no_worker_or_item_breakdown"
WITHHELD = (NOT_CALENDAR, NOT_ENDED, FILTERED)

# The day before every real visit day: the chains' participants over [_EVER, day] with
# prev_date < _EVER are the first visits up to that day.
_EVER = FIRST_VISIT + timedelta(days=1)


@dataclass(frozen=True)
class CalendarPeriod:
    """A calendar month (index 1..12), quarter (1..4) or year (index 0)."""

    kind: str
    year: int
    index: int = 0

    @property
    def months(self) -> range:
        """Its months, 0..11."""
        if self.kind == MONTH:
            return range(self.index - 1, self.index)
        if self.kind == QUARTER:
            return range(3 * (self.index - 1), 3 * self.index)
        return range(12)

    @property
    def start(self) -> date:
        return date(self.year, self.months[0] + 1, 1)

    @property
    def end(self) -> date:
        return period_rules.bucket_end(date(self.year, self.months[-1] + 1, 1), period_rules.MONTH)


def calendar_period(start: date, end: date) -> CalendarPeriod | None:
    """The calendar month, quarter or year that is exactly start..end, or None."""
    if start.day != 1 or start.year != end.year:
        return None
    for period in (
        CalendarPeriod(MONTH, start.year, start.month),
        CalendarPeriod(QUARTER, start.year, (start.month - 1) // 3 + 1),
        CalendarPeriod(YEAR, start.year),
    ):
        if (period.start, period.end) == (start, end):
            return period
    return None


@dataclass(frozen=True)
class Figure:
    """One participant figure as it may be shown: ``value`` only when ``status`` is SHOWN."""

    value: int | None
    status: str

    @property
    def shown(self) -> bool:
        return self.status == SHOWN


@dataclass(frozen=True)
class ParticipantFigures:
    participants: Figure
    new: Figure
    returning: Figure

    @property
    def withheld(self) -> str | None:
        """Why no participant figure is published for this report (None: they are)."""
        status = self.participants.status
        return status if status in WITHHELD else None


def withheld(reason: str) -> ParticipantFigures:
    nothing = Figure(None, reason)
    return ParticipantFigures(nothing, nothing, nothing)


def figures(
    start: date,
    end: date,
    scope: int,
    reader_id: int | None,
    threshold: int,
    filtered: bool = False,
) -> ParticipantFigures:
    """Participants, new and returning over start..end in one scope (a zone id, NO_ZONE or
    ALL_ZONES), as the reader may see them."""
    return by_scope(start, end, [scope], reader_id, threshold, filtered)[scope]


def by_scope(
    start: date,
    end: date,
    scopes: list[int],
    reader_id: int | None,
    threshold: int,
    filtered: bool = False,
) -> dict[int, ParticipantFigures]:
    """``figures`` for several scopes of one period (one read of the year)."""
    reason = why_withheld(start, end, filtered)
    if reason is not None:
        return {scope: withheld(reason) for scope in scopes}
    period = calendar_period(start, end)
    assert period is not None  # why_withheld said it is one
    table = year_figures(period.year, reader_id, threshold)
    return {scope: table.get(scope, _EMPTY)[period] for scope in scopes}


def why_withheld(start: date, end: date, filtered: bool = False) -> str | None:
    """Why no participant figure is published over start..end (None: they are)."""
    if filtered:
        return FILTERED
    if calendar_period(start, end) is None:
        return NOT_CALENDAR
    if end >= period_rules.today():
        return NOT_ENDED
    return None


def year_figures(
    year: int, reader_id: int | None, threshold: int
) -> dict[int, dict[CalendarPeriod, ParticipantFigures]]:
    """Every scope's figures for each month, quarter and the year (read once per request)."""
    today = period_rules.today()
    key = (year, reader_id, threshold, today)
    if not has_request_context():
        return _year_figures(year, reader_id, threshold, today)
    cache = g.setdefault("participant_years", {})
    if key not in cache:
        cache[key] = _year_figures(year, reader_id, threshold, today)
    return cache[key]


def all_periods(year: int) -> list[CalendarPeriod]:
    """The year's months, quarters and the year itself, in that order."""
    return (
        [CalendarPeriod(MONTH, year, m) for m in range(1, 13)]
        + [CalendarPeriod(QUARTER, year, q) for q in range(1, 5)]
        + [CalendarPeriod(YEAR, year)]
    )


def _year_figures(
    year: int, reader_id: int | None, threshold: int, today: date
) -> dict[int, dict[CalendarPeriod, ParticipantFigures]]:
    counts, before = _year_counts(year, reader_id)
    result: dict[int, dict[CalendarPeriod, ParticipantFigures]] = {}
    for scope in {ALL_ZONES} | {scope for _period, scope in counts} | set(before):
        result[scope] = decide(
            year,
            {period: counts.get((period, scope), (0, 0)) for period in all_periods(year)},
            before.get(scope, 0),
            threshold,
            today,
        )
    return result


def decide(
    year: int,
    counts: dict[CalendarPeriod, tuple[int, int]],
    before: int,
    threshold: int,
    today: date,
) -> dict[CalendarPeriod, ParticipantFigures]:
    """How each period's figures of one scope may be shown (the module's rule).

    ``counts``: (participants, returning) per period; ``before``: participants the scope had
    before the year began. Pure, so the rule can be tested on its own.
    """
    shown: dict[CalendarPeriod, ParticipantFigures] = {}
    new_shown: dict[int, bool] = {}
    seen_in_month = [counts[CalendarPeriod(MONTH, year, m + 1)][0] > 0 for m in range(12)]
    for period in all_periods(year):
        if period.end >= today:
            shown[period] = withheld(NOT_ENDED)
            continue
        participants, returning = counts[period]
        new = participants - returning
        # Nobody seen in this scope before the period: its participants are all new.
        all_new = before == 0 and not any(seen_in_month[: period.months[0]])
        split_small = is_small(new, threshold) or is_small(returning, threshold)
        if period.kind == MONTH:
            parts_shown = True
            split_ok = not split_small
            new_shown[period.months[0]] = split_ok
        else:
            # A sum of months: shown only as the sum of shown months (never a new sum).
            parts_shown = all(new_shown[m] for m in period.months)
            split_ok = parts_shown and not is_small(returning, threshold)
        if is_small(participants, threshold):
            people = Figure(None, FEWER_THAN)
        elif (all_new and not split_ok) or (
            # A quarter's or year's new is the sum of its shown months: participants less
            # that sum would give a small returning count back.
            period.kind != MONTH and parts_shown and is_small(returning, threshold)
        ):
            people = Figure(None, HIDDEN)
        else:
            people = Figure(participants, SHOWN)
        if split_ok:
            shown[period] = ParticipantFigures(people, Figure(new, SHOWN), Figure(returning, SHOWN))
        else:
            shown[period] = ParticipantFigures(
                people,
                Figure(None, FEWER_THAN if is_small(new, threshold) else HIDDEN),
                Figure(None, FEWER_THAN if is_small(returning, threshold) else HIDDEN),
            )
    return shown


def _year_counts(
    year: int, reader_id: int | None
) -> tuple[dict[tuple[CalendarPeriod, int], tuple[int, int]], dict[int, int]]:
    """(participants, returning) per (period, scope) of the year, and participants each scope
    had before the year, from the visit chains, without the reader's own records.

    One grouped read: each chain row counts by the month of its day and the month of its
    previous visit (-2: none, -1: before the year), which is all a month, quarter or year
    of the same calendar year needs (``ReportParticipantDay``)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    chain = ReportParticipantDay
    month = sa.extract("month", chain.local_date)
    previous = sa.case(
        (chain.prev_date == FIRST_VISIT, -2),
        (chain.prev_date < first, -1),
        else_=sa.extract("month", chain.prev_date) - 1,
    )
    # scope → month (0..11) → previous class → participants
    rows: dict[int, dict[int, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for scope, month_number, previous_class, participants in db.session.execute(
        sa.select(chain.zone_id, month, previous, sa.func.sum(chain.participants))
        .where(chain.local_date.between(first, last))
        .group_by(chain.zone_id, month, previous)
    ):
        rows[scope][int(month_number) - 1][int(previous_class)] = int(participants)
    cells: dict[own_records.Cell, tuple[int, int]] = {}
    for scope, by_month in rows.items():
        for period in all_periods(year):
            opening = period.months[0]
            participants = returning = 0
            for m in period.months:
                for previous_class, count in by_month.get(m, {}).items():
                    if previous_class < opening:
                        participants += count
                        returning += count if previous_class != -2 else 0
            if participants:
                cells[(period.start, period.end, scope)] = (participants, returning)
    for scope, participants in db.session.execute(
        sa.select(chain.zone_id, sa.func.sum(chain.participants))
        .where(chain.local_date < first, chain.prev_date == FIRST_VISIT)
        .group_by(chain.zone_id)
    ):
        if participants:
            cells[(_EVER, first - timedelta(days=1), scope)] = (int(participants), 0)
    cells = own_records.corrected(cells, reader_id)
    by_dates = {(p.start, p.end): p for p in all_periods(year)}
    counts: dict[tuple[CalendarPeriod, int], tuple[int, int]] = {}
    before: dict[int, int] = {}
    for (start, end, scope), value in cells.items():
        if start == _EVER:
            before[scope] = value[0]
        else:
            counts[(by_dates[(start, end)], scope)] = value
    return counts, before


class _Empty(dict):
    """A scope with no participant at all this year: zeros where ended, else withheld."""

    def __missing__(self, period: CalendarPeriod) -> ParticipantFigures:
        if period.end >= period_rules.today():
            return withheld(NOT_ENDED)
        zero = Figure(0, SHOWN)
        return ParticipantFigures(zero, zero, zero)


_EMPTY = _Empty()
