"""Report figures: aggregates over local days, from the daily roll-ups or the raw records.

Definitions used everywhere (the dashboard explains them in words):
- Only non-voided encounters count; days are local days in PROGRAM_TIMEZONE, fixed at
  ingest (``Encounter.local_date``); periods are inclusive.
- *Participants*: distinct participant codes (their keyed hashes) among the encounters.
- *Returning participants*: those participants who were also seen on a day before the
  period starts (in the chosen zone when the report is for one zone; by any worker, with
  any supplies). The others are *new*.

Period and zone filters read the roll-ups (see ``rollups``); worker and supply-item filters
need the raw records and read them through their indexes.
"""

from __future__ import annotations

from collections import Counter
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from datetime import date

import sqlalchemy as sa
from sqlalchemy import orm as so

from outreach.extensions import db
from outreach.models import ALL_ZONES
from outreach.models import FIRST_VISIT
from outreach.models import NO_ZONE
from outreach.models import Encounter
from outreach.models import EncounterReferral
from outreach.models import EncounterSupply
from outreach.models import ReportDay
from outreach.models import ReportDayReferral
from outreach.models import ReportDaySupply
from outreach.models import ReportParticipantDay
from outreach.reports import own_records


@dataclass(frozen=True)
class ReportFilter:
    """Which encounters a report covers: local days start..end (inclusive) and filters."""

    start: date
    end: date
    zone_id: int | None = None
    worker_id: int | None = None
    item_id: int | None = None
    # Who reads the report: their own records never count in participant figures
    # (``own_records`` says why). None: everyone's records count (tests, benchmarks).
    reader_id: int | None = None

    @property
    def from_rollups(self) -> bool:
        """Whether the roll-ups can answer (they are kept per day and zone only)."""
        return self.worker_id is None and self.item_id is None


@dataclass
class Figures:
    """The headline figures of a report."""

    encounters: int = 0
    participants: int = 0
    returning_participants: int = 0
    people_served: int = 0
    syringes_collected: int = 0
    naloxone_reversals_reported: int = 0
    # Catalogue id → total; only ids with a non-zero total.
    supplies: dict[int, int] = field(default_factory=dict)
    referrals: dict[int, int] = field(default_factory=dict)
    # Collected syringes weighed instead of counted (reports estimate a count from it).
    syringes_collected_grams: int = 0

    @property
    def new_participants(self) -> int:
        return self.participants - self.returning_participants


@dataclass
class ZoneFigures:
    """One row of the by-zone table (zone_id NO_ZONE: encounters logged without a zone)."""

    zone_id: int
    encounters: int = 0
    participants: int = 0
    people_served: int = 0
    syringes_collected: int = 0
    naloxone_reversals_reported: int = 0
    supplies: dict[int, int] = field(default_factory=dict)
    referral_types: dict[int, int] = field(default_factory=dict)
    syringes_collected_grams: int = 0

    @property
    def referrals(self) -> int:
        return sum(self.referral_types.values())


@dataclass
class DayFigures:
    """Per local day: what the time charts draw."""

    encounters: int = 0
    people_served: int = 0
    syringes_collected: int = 0
    supplies: Counter = field(default_factory=Counter)


# --- figures -------------------------------------------------------------------------------


def figures(report: ReportFilter) -> Figures:
    """The headline figures for a report."""
    if report.from_rollups:
        return figures_from_rollups(report)
    return figures_from_records(report)


def figures_from_rollups(report: ReportFilter) -> Figures:
    """Headline figures read from the daily roll-ups (period and zone filters only)."""
    day = ReportDay
    where = [day.local_date.between(report.start, report.end)]
    if report.zone_id is not None:
        where.append(day.zone_id == report.zone_id)
    totals = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(day.encounters), 0),
            sa.func.coalesce(sa.func.sum(day.people_served), 0),
            sa.func.coalesce(sa.func.sum(day.syringes_collected), 0),
            sa.func.coalesce(sa.func.sum(day.naloxone_reversals_reported), 0),
            sa.func.coalesce(sa.func.sum(day.syringes_collected_grams), 0),
        ).where(*where)
    ).one()
    result = Figures(
        encounters=int(totals[0]),
        people_served=int(totals[1]),
        syringes_collected=int(totals[2]),
        naloxone_reversals_reported=int(totals[3]),
        syringes_collected_grams=int(totals[4]),
    )
    result.supplies = _rollup_totals(ReportDaySupply, ReportDaySupply.item_id, report, "quantity")
    result.referrals = _rollup_totals(
        ReportDayReferral, ReportDayReferral.referral_type_id, report, "encounters"
    )
    scope = ALL_ZONES if report.zone_id is None else report.zone_id
    result.participants, result.returning_participants = _chain_participants(
        scope, report.start, report.end, report.reader_id
    )
    return result


def _rollup_sums(model, value: str, report: ReportFilter, *keys) -> list[tuple]:
    """(key values..., total) from one roll-up table over the report's period and zone,
    grouped by ``keys``; groups that sum to nothing are left out."""
    statement = (
        sa.select(*keys, sa.func.sum(getattr(model, value)))
        .where(model.local_date.between(report.start, report.end))
        .group_by(*keys)
    )
    if report.zone_id is not None:
        statement = statement.where(model.zone_id == report.zone_id)
    return [(*row[:-1], int(row[-1])) for row in db.session.execute(statement) if row[-1]]


def _rollup_totals(model, key_column, report: ReportFilter, value: str) -> dict[int, int]:
    return dict(_rollup_sums(model, value, report, key_column))


def _chain_participants(
    scope: int, start: date, end: date, reader_id: int | None = None
) -> tuple[int, int]:
    """(participants, returning participants) in start..end for one chain scope, without
    the reader's own records."""
    chain = ReportParticipantDay
    row = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(chain.participants), 0),
            sa.func.coalesce(
                sa.func.sum(sa.case((chain.prev_date > FIRST_VISIT, chain.participants), else_=0)),
                0,
            ),
        ).where(
            chain.zone_id == scope,
            chain.local_date.between(start, end),
            chain.prev_date < start,
        )
    ).one()
    cell = (start, end, scope)
    return own_records.corrected({cell: (int(row[0]), int(row[1]))}, reader_id)[cell]


def _record_conditions(report: ReportFilter) -> list:
    conditions = [
        Encounter.local_date.between(report.start, report.end),
        Encounter.voided_at.is_(None),
    ]
    if report.zone_id is not None:
        conditions.append(
            Encounter.zone_id.is_(None)
            if report.zone_id == NO_ZONE
            else Encounter.zone_id == report.zone_id
        )
    if report.worker_id is not None:
        conditions.append(Encounter.worker_id == report.worker_id)
    if report.item_id is not None:
        line = so.aliased(EncounterSupply)
        conditions.append(
            sa.select(line.encounter_id)
            .where(line.encounter_id == Encounter.id, line.item_id == report.item_id)
            .exists()
        )
    return conditions


def _counted_code(report: ReportFilter):
    """The participant hash as participant figures count it: not on the reader's records."""
    if report.reader_id is None:
        return Encounter.participant_hash
    return sa.case(
        (Encounter.worker_id.is_distinct_from(report.reader_id), Encounter.participant_hash),
        else_=None,
    )


def figures_from_records(report: ReportFilter) -> Figures:
    """Headline figures computed from the encounter records (any filter)."""
    conditions = _record_conditions(report)
    totals = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(Encounter.people_served), 0),
            sa.func.coalesce(sa.func.sum(Encounter.syringes_collected), 0),
            sa.func.coalesce(sa.func.sum(Encounter.naloxone_reversals_reported), 0),
            sa.func.count(sa.distinct(_counted_code(report))),
            sa.func.coalesce(sa.func.sum(Encounter.syringes_collected_grams), 0),
        ).where(*conditions)
    ).one()
    result = Figures(
        encounters=int(totals[0]),
        people_served=int(totals[1]),
        syringes_collected=int(totals[2]),
        naloxone_reversals_reported=int(totals[3]),
        participants=int(totals[4]),
        syringes_collected_grams=int(totals[5]),
    )
    earlier = so.aliased(Encounter)
    seen_before = [
        earlier.participant_hash == Encounter.participant_hash,
        earlier.local_date < report.start,
        earlier.voided_at.is_(None),
    ]
    if report.reader_id is not None:
        seen_before.append(earlier.worker_id.is_distinct_from(report.reader_id))
    if report.zone_id is not None:
        seen_before.append(
            earlier.zone_id.is_(None)
            if report.zone_id == NO_ZONE
            else earlier.zone_id == report.zone_id
        )
    result.returning_participants = int(
        db.session.scalar(
            sa.select(sa.func.count(sa.distinct(_counted_code(report)))).where(
                *conditions, sa.select(earlier.id).where(*seen_before).exists()
            )
        )
    )
    result.supplies = {
        item_id: int(quantity)
        for item_id, quantity in db.session.execute(
            sa.select(EncounterSupply.item_id, sa.func.sum(EncounterSupply.quantity))
            .join(Encounter, Encounter.id == EncounterSupply.encounter_id)
            .where(*conditions)
            .group_by(EncounterSupply.item_id)
        )
    }
    result.referrals = {
        type_id: int(count)
        for type_id, count in db.session.execute(
            sa.select(EncounterReferral.referral_type_id, sa.func.count())
            .join(Encounter, Encounter.id == EncounterReferral.encounter_id)
            .where(*conditions)
            .group_by(EncounterReferral.referral_type_id)
        )
    }
    return result


def overview(report: ReportFilter) -> tuple[Figures, dict[int, ZoneFigures]]:
    """Headline figures and the by-zone table together (the roll-ups need fewer scans)."""
    if not report.from_rollups:
        return figures_from_records(report), _by_zone_from_records(report)
    zones = _by_zone_from_rollups(report)
    result = Figures()
    supplies: Counter = Counter()
    referrals: Counter = Counter()
    for row in zones.values():
        result.encounters += row.encounters
        result.people_served += row.people_served
        result.syringes_collected += row.syringes_collected
        result.naloxone_reversals_reported += row.naloxone_reversals_reported
        result.syringes_collected_grams += row.syringes_collected_grams
        supplies.update(row.supplies)
        referrals.update(row.referral_types)
    result.supplies = {k: v for k, v in supplies.items() if v}
    result.referrals = {k: v for k, v in referrals.items() if v}
    scope = ALL_ZONES if report.zone_id is None else report.zone_id
    result.participants, result.returning_participants = _chain_participants(
        scope, report.start, report.end, report.reader_id
    )
    return result, zones


# --- by zone -------------------------------------------------------------------------------


def by_zone(report: ReportFilter) -> dict[int, ZoneFigures]:
    """Figures per zone (NO_ZONE for encounters without one), zones with encounters only."""
    if report.from_rollups:
        return _by_zone_from_rollups(report)
    return _by_zone_from_records(report)


def _by_zone_from_rollups(report: ReportFilter) -> dict[int, ZoneFigures]:
    in_period = ReportDay.local_date.between(report.start, report.end)
    zone_filter = [] if report.zone_id is None else [ReportDay.zone_id == report.zone_id]
    rows: dict[int, ZoneFigures] = {}
    for zone_id, encounters, people, collected, reversals, grams in db.session.execute(
        sa.select(
            ReportDay.zone_id,
            sa.func.sum(ReportDay.encounters),
            sa.func.sum(ReportDay.people_served),
            sa.func.sum(ReportDay.syringes_collected),
            sa.func.sum(ReportDay.naloxone_reversals_reported),
            sa.func.sum(ReportDay.syringes_collected_grams),
        )
        .where(in_period, *zone_filter)
        .group_by(ReportDay.zone_id)
    ):
        if encounters:
            rows[zone_id] = ZoneFigures(
                zone_id,
                int(encounters),
                0,
                int(people),
                int(collected),
                int(reversals),
                syringes_collected_grams=int(grams),
            )
    supply, referral = ReportDaySupply, ReportDayReferral
    for zone_id, item_id, quantity in _rollup_sums(
        supply, "quantity", report, supply.zone_id, supply.item_id
    ):
        if zone_id in rows:
            rows[zone_id].supplies[item_id] = quantity
    for zone_id, type_id, count in _rollup_sums(
        referral, "encounters", report, referral.zone_id, referral.referral_type_id
    ):
        if zone_id in rows:
            rows[zone_id].referral_types[type_id] = count
    chain = ReportParticipantDay
    counts = {
        (report.start, report.end, zone_id): (int(participants), 0)
        for zone_id, participants in db.session.execute(
            sa.select(chain.zone_id, sa.func.sum(chain.participants))
            .where(
                chain.zone_id.in_(list(rows)),
                chain.local_date.between(report.start, report.end),
                chain.prev_date < report.start,
            )
            .group_by(chain.zone_id)
        )
    }
    for (_start, _end, zone_id), (participants, _returning) in own_records.corrected(
        counts, report.reader_id
    ).items():
        rows[zone_id].participants = participants
    return rows


def _by_zone_from_records(report: ReportFilter) -> dict[int, ZoneFigures]:
    conditions = _record_conditions(report)
    zone = sa.func.coalesce(Encounter.zone_id, sa.literal_column(str(NO_ZONE)))
    rows: dict[int, ZoneFigures] = {}
    for (
        zone_id,
        encounters,
        people,
        collected,
        reversals,
        participants,
        grams,
    ) in db.session.execute(
        sa.select(
            zone,
            sa.func.count(),
            sa.func.sum(Encounter.people_served),
            sa.func.sum(Encounter.syringes_collected),
            sa.func.sum(Encounter.naloxone_reversals_reported),
            sa.func.count(sa.distinct(_counted_code(report))),
            sa.func.sum(Encounter.syringes_collected_grams),
        )
        .where(*conditions)
        .group_by(zone)
    ):
        rows[zone_id] = ZoneFigures(
            zone_id,
            int(encounters),
            int(participants),
            int(people),
            int(collected),
            int(reversals),
            syringes_collected_grams=int(grams),
        )
    for zone_id, item_id, quantity in db.session.execute(
        sa.select(zone, EncounterSupply.item_id, sa.func.sum(EncounterSupply.quantity))
        .join(Encounter, Encounter.id == EncounterSupply.encounter_id)
        .where(*conditions)
        .group_by(zone, EncounterSupply.item_id)
    ):
        rows[zone_id].supplies[item_id] = int(quantity)
    for zone_id, type_id, count in db.session.execute(
        sa.select(zone, EncounterReferral.referral_type_id, sa.func.count())
        .join(Encounter, Encounter.id == EncounterReferral.encounter_id)
        .select_from(EncounterReferral)
        .where(*conditions)
        .group_by(zone, EncounterReferral.referral_type_id)
    ):
        rows[zone_id].referral_types[type_id] = int(count)
    return rows


# --- over time -----------------------------------------------------------------------------


def by_day(report: ReportFilter, item_ids: Iterable[int] | None = None) -> dict[date, DayFigures]:
    """Figures per local day that has encounters (what the time charts draw).

    ``item_ids`` limits the per-day supplies to those items (the charts need only some).
    """
    return _by_day(report, report.from_rollups, item_ids)


def by_day_from_records(
    report: ReportFilter, item_ids: Iterable[int] | None = None
) -> dict[date, DayFigures]:
    """Figures per local day, computed from the encounter records."""
    return _by_day(report, False, item_ids)


def _by_day(
    report: ReportFilter, from_rollups: bool, item_ids: Iterable[int] | None = None
) -> dict[date, DayFigures]:
    days: dict[date, DayFigures] = defaultdict(DayFigures)
    items = None if item_ids is None else sorted(set(item_ids))
    if from_rollups:
        zone_filter = [] if report.zone_id is None else [ReportDay.zone_id == report.zone_id]
        day_rows = db.session.execute(
            sa.select(
                ReportDay.local_date,
                sa.func.sum(ReportDay.encounters),
                sa.func.sum(ReportDay.people_served),
                sa.func.sum(ReportDay.syringes_collected),
            )
            .where(ReportDay.local_date.between(report.start, report.end), *zone_filter)
            .group_by(ReportDay.local_date)
        )
        supply_rows = db.session.execute(
            sa.select(
                ReportDaySupply.local_date,
                ReportDaySupply.item_id,
                sa.func.sum(ReportDaySupply.quantity),
            )
            .where(
                ReportDaySupply.local_date.between(report.start, report.end),
                *([] if report.zone_id is None else [ReportDaySupply.zone_id == report.zone_id]),
                *([] if items is None else [ReportDaySupply.item_id.in_(items)]),
            )
            .group_by(ReportDaySupply.local_date, ReportDaySupply.item_id)
        )
    else:
        conditions = _record_conditions(report)
        day_rows = db.session.execute(
            sa.select(
                Encounter.local_date,
                sa.func.count(),
                sa.func.sum(Encounter.people_served),
                sa.func.sum(Encounter.syringes_collected),
            )
            .where(*conditions)
            .group_by(Encounter.local_date)
        )
        supply_rows = db.session.execute(
            sa.select(
                Encounter.local_date, EncounterSupply.item_id, sa.func.sum(EncounterSupply.quantity)
            )
            .join(Encounter, Encounter.id == EncounterSupply.encounter_id)
            .where(*conditions, *([] if items is None else [EncounterSupply.item_id.in_(items)]))
            .group_by(Encounter.local_date, EncounterSupply.item_id)
        )
    for local_date, encounters, people, collected in day_rows:
        if encounters:
            figures_of_day = days[local_date]
            figures_of_day.encounters = int(encounters)
            figures_of_day.people_served = int(people)
            figures_of_day.syringes_collected = int(collected)
    for local_date, item_id, quantity in supply_rows:
        if quantity:
            days[local_date].supplies[item_id] += int(quantity)
    return dict(days)
