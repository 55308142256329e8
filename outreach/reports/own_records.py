"""Participant figures never count the reader's own records.

Why: a distinct count is exact by nature, and anyone who can both log a record and read a
report could watch one move. Log a record with a guessed participant code, read "new" and
"returning" (or "participants this month") before and after: a known code moves
"returning" (or nothing), an unknown one moves "new" (or the total). Hiding small counts
blunts that only where the counts are small. So every participant figure a signed-in
person reads (screens, summary.json, both CSV exports, funder reports) is computed as if
the records *they* logged did not exist: nothing they log can move a participant figure
they can see, whatever its size, and the two outcomes of the probe read the same.

What it costs: a supervisor who also logs codes sees participant figures without those
codes (everyone else sees them counted); every other figure (encounters, supplies,
referrals, people served) counts every record for everyone.

How: the roll-ups' participant chains count everyone's records. For a reader who has
logged codes, this module reads the visits of just those participants (the reader's and
everyone else's) and works out, for each participant figure asked for, how much the
reader's own visits added; the caller subtracts it. Readers who never logged a code (most
supervisors and admins) cost one indexed lookup.
"""

from __future__ import annotations

from bisect import bisect_left
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import g
from flask import has_request_context

from outreach.extensions import db
from outreach.models import ALL_ZONES
from outreach.models import NO_ZONE
from outreach.models import Encounter

# A participant figure's cell: (first day, last day, scope). Scope is a zone id, NO_ZONE
# for encounters without a zone, or ALL_ZONES, as in the participant chains.
Cell = tuple[date, date, int]


@dataclass(frozen=True)
class Visits:
    """One participant's visit days in one scope: the reader's and everyone else's, sorted."""

    by_reader: list[date]
    by_others: list[date]

    def in_and_before(self, start: date, end: date) -> tuple[bool, bool, bool, bool]:
        """(seen in start..end, by others in it, seen before start, by others before it)."""
        reader_before = bisect_left(self.by_reader, start)
        others_before = bisect_left(self.by_others, start)
        reader_in = bisect_right(self.by_reader, end) > reader_before
        others_in = bisect_right(self.by_others, end) > others_before
        return (
            reader_in or others_in,
            others_in,
            bool(reader_before or others_before),
            bool(others_before),
        )


@dataclass(frozen=True)
class OwnVisits:
    """Every non-voided visit of every participant the reader has ever logged, per scope."""

    scopes: dict[int, list[Visits]]

    def correction(self, cell: Cell) -> tuple[int, int]:
        """(participants, returning participants) the reader's own records add to ``cell``.

        Subtract both from the figures over everyone's records. A participant counts in a
        cell if a visit falls in it, and is returning if they also had a visit in scope
        before the cell's first day; without the reader's visits either can turn false.
        """
        start, end, scope = cell
        participants = returning = 0
        for visits in self.scopes.get(scope, ()):
            seen, seen_by_others, before, before_by_others = visits.in_and_before(start, end)
            participants += seen - seen_by_others
            returning += (seen and before) - (seen_by_others and before_by_others)
        return participants, returning


def own_visits(reader_id: int | None) -> OwnVisits | None:
    """The reader's participants' visits, or None when the reader never logged a code.

    Costs a read of every visit of those participants: nothing for a reader who logs no
    codes, more for one who logs many (bench/README.md has the figures). Read once per
    request: a page asks for several participant figures."""
    if reader_id is None:
        return None
    if not has_request_context():
        return _read_own_visits(reader_id)
    cache = g.setdefault("own_visits", {})
    if reader_id not in cache:
        cache[reader_id] = _read_own_visits(reader_id)
    return cache[reader_id]


def _read_own_visits(reader_id: int) -> OwnVisits | None:
    own_codes = sa.select(Encounter.participant_hash).where(
        Encounter.worker_id == reader_id,
        Encounter.participant_hash.is_not(None),
        Encounter.voided_at.is_(None),
    )
    if db.session.scalar(own_codes.limit(1)) is None:
        return None
    days: dict[tuple[int, str], tuple[set[date], set[date]]] = defaultdict(lambda: (set(), set()))
    for participant, local_date, zone_id, worker_id in db.session.execute(
        sa.select(
            Encounter.participant_hash,
            Encounter.local_date,
            Encounter.zone_id,
            Encounter.worker_id,
        ).where(
            Encounter.participant_hash.in_(own_codes.distinct().scalar_subquery()),
            Encounter.voided_at.is_(None),
        )
    ):
        side = 0 if worker_id == reader_id else 1
        days[(ALL_ZONES, participant)][side].add(local_date)
        days[(NO_ZONE if zone_id is None else zone_id, participant)][side].add(local_date)
    scopes: dict[int, list[Visits]] = defaultdict(list)
    for (scope, _participant), (mine, theirs) in days.items():
        scopes[scope].append(Visits(sorted(mine), sorted(theirs)))
    return OwnVisits(dict(scopes))


def corrected(
    counts: dict[Cell, tuple[int, int]], reader_id: int | None
) -> dict[Cell, tuple[int, int]]:
    """``counts`` ((participants, returning) per cell, over everyone's records) without
    the reader's own records. The reader's records only ever add to a cell, so a cell
    missing from ``counts`` (no participants at all) stays empty."""
    mine = own_visits(reader_id)
    if mine is None:
        return counts
    result = {}
    for cell, (participants, returning) in counts.items():
        less_participants, less_returning = mine.correction(cell)
        result[cell] = (participants - less_participants, returning - less_returning)
    return result
