"""Export tables: one measure over periods x zones, from the daily roll-ups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date

import sqlalchemy as sa
from flask import current_app

from outreach.extensions import db
from outreach.models import ALL_ZONES
from outreach.models import NO_ZONE
from outreach.models import ReportDay
from outreach.models import ReportDayReferral
from outreach.models import ReportDaySupply
from outreach.reports import participant_figures
from outreach.reports.disclosure import Table
from outreach.reports.disclosure import additive_table

NONE_KEY = "none"
ENCOUNTER_MEASURES = (
    "encounters",
    "people_served",
    "syringes_collected",
    "naloxone_reversals_reported",
    "syringes_collected_grams",
)


# --- export cells --------------------------------------------------------------------------


@dataclass
class Cells:
    """Day-by-zone aggregates for the CSV export (additive, so periods are sums)."""

    # (local_date, zone_id) → {"encounters", "people_served", ...}
    days: dict[tuple[date, int], dict[str, int]] = field(default_factory=dict)
    # (local_date, zone_id, item_id) → (encounters, quantity)
    supplies: dict[tuple[date, int, int], tuple[int, int]] = field(default_factory=dict)
    # (local_date, zone_id, referral_type_id) → encounters
    referrals: dict[tuple[date, int, int], int] = field(default_factory=dict)


def export_cells(start: date, end: date) -> Cells:
    """Every daily roll-up row in start..end (read as plain rows: tens of thousands a year)."""
    cells = Cells()
    day, supply, referral = ReportDay, ReportDaySupply, ReportDayReferral
    for local_date, zone_id, encounters, people, collected, reversals, grams in db.session.execute(
        sa.select(
            day.local_date,
            day.zone_id,
            day.encounters,
            day.people_served,
            day.syringes_collected,
            day.naloxone_reversals_reported,
            day.syringes_collected_grams,
        ).where(day.local_date.between(start, end), day.encounters > 0)
    ):
        cells.days[(local_date, zone_id)] = {
            "encounters": encounters,
            "people_served": people,
            "syringes_collected": collected,
            "naloxone_reversals_reported": reversals,
            "syringes_collected_grams": grams,
        }
    for local_date, zone_id, item_id, encounters, quantity in db.session.execute(
        sa.select(
            supply.local_date, supply.zone_id, supply.item_id, supply.encounters, supply.quantity
        ).where(supply.local_date.between(start, end), supply.encounters > 0)
    ):
        cells.supplies[(local_date, zone_id, item_id)] = (encounters, quantity)
    for local_date, zone_id, type_id, encounters in db.session.execute(
        sa.select(
            referral.local_date, referral.zone_id, referral.referral_type_id, referral.encounters
        ).where(referral.local_date.between(start, end), referral.encounters > 0)
    ):
        cells.referrals[(local_date, zone_id, type_id)] = encounters
    return cells


def month_cells(start: date, end: date) -> Cells:
    """``export_cells`` summed by calendar month in the database, each month keyed by its
    first day: the same month tables from a few hundred rows instead of every day's."""
    cells = Cells()
    day, supply, referral = ReportDay, ReportDaySupply, ReportDayReferral

    def month(model) -> tuple:
        return sa.extract("year", model.local_date), sa.extract("month", model.local_date)

    grouped = (*month(day), day.zone_id)
    for year, number, zone_id, *totals in db.session.execute(
        sa.select(
            *grouped,
            *(sa.func.sum(getattr(day, measure)) for measure in ENCOUNTER_MEASURES),
        )
        .where(day.local_date.between(start, end), day.encounters > 0)
        .group_by(*grouped)
    ):
        cells.days[(date(int(year), int(number), 1), zone_id)] = {
            measure: int(total) for measure, total in zip(ENCOUNTER_MEASURES, totals, strict=True)
        }
    grouped = (*month(supply), supply.zone_id, supply.item_id)
    for year, number, zone_id, item_id, encounters, quantity in db.session.execute(
        sa.select(*grouped, sa.func.sum(supply.encounters), sa.func.sum(supply.quantity))
        .where(supply.local_date.between(start, end), supply.encounters > 0)
        .group_by(*grouped)
    ):
        cells.supplies[(date(int(year), int(number), 1), zone_id, item_id)] = (
            int(encounters),
            int(quantity),
        )
    grouped = (*month(referral), referral.zone_id, referral.referral_type_id)
    for year, number, zone_id, type_id, encounters in db.session.execute(
        sa.select(*grouped, sa.func.sum(referral.encounters))
        .where(referral.local_date.between(start, end), referral.encounters > 0)
        .group_by(*grouped)
    ):
        cells.referrals[(date(int(year), int(number), 1), zone_id, type_id)] = int(encounters)
    return cells


def participants_by_period(
    periods: list[tuple[date, date]], reader_id: int | None = None, threshold: int | None = None
) -> dict[tuple[int, int], int | None]:
    """Distinct participants per (period index, zone scope); scope ALL_ZONES is the total.

    As published (``participant_figures``): None where the figure is not published (a
    period that is no ended calendar month, quarter or year gives None under ALL_ZONES,
    which withholds the whole row; a count that would give a hidden new count back gives
    None in its scope). Small counts are kept for the table's own suppression to hide.
    Without the reader's own records (``own_records``)."""
    if threshold is None:
        threshold = current_app.config["SUPPRESSION_THRESHOLD"]
    result: dict[tuple[int, int], int | None] = {}
    for index, (start, end) in enumerate(periods):
        if participant_figures.why_withheld(start, end) is not None:
            result[(index, ALL_ZONES)] = None
            continue
        period = participant_figures.calendar_period(start, end)
        assert period is not None
        by_scope = participant_figures.year_figures(period.year, reader_id, threshold)
        for scope, shown in by_scope.items():
            figure = shown[period].participants
            if figure.status == participant_figures.FEWER_THAN:
                # A small count: any value 1..threshold-1 reads blank once the table is
                # suppressed, and 1 is never printed (the screens say "fewer than").
                result[(index, scope)] = 1
            elif figure.shown:
                if figure.value:
                    result[(index, scope)] = figure.value
            else:
                result[(index, scope)] = None
    return result


# --- tables from the roll-ups --------------------------------------------------------------


@dataclass(frozen=True)
class Labels:
    """Names to print: measures, zones (by id) and catalogue entries (by id)."""

    measures: dict[str, str]
    zones: dict[int, tuple[str, str]]  # id → (key, name); NO_ZONE included
    items: dict[int, tuple[str, str]]
    referral_types: dict[int, tuple[str, str]]
    all_zones: str
    item_order: Sequence[int] = ()
    referral_order: Sequence[int] = ()


def build_tables(
    cells: Cells,
    periods: Sequence[tuple[date, date]],
    zone_ids: Sequence[int],
    participants: dict[tuple[int, int], int],
    range_participants: dict[int, int],
    labels: Labels,
) -> list[Table]:
    """One table per measure over the periods (rows) and zones (columns)."""
    period_of = {}
    for index, (start, end) in enumerate(periods):
        for ordinal in range(start.toordinal(), end.toordinal() + 1):
            period_of[date.fromordinal(ordinal)] = index
    zone_index = {zone_id: j for j, zone_id in enumerate(zone_ids)}
    shape = (len(periods), len(zone_ids))

    def empty() -> list[list[list[int]]]:
        return [[[0, 0] for _ in range(shape[1])] for _ in range(shape[0])]

    def frozen(grid) -> list[list[tuple[int, int]]]:
        return [[(v, c) for v, c in row] for row in grid]

    encounter_grids = {measure: empty() for measure in ENCOUNTER_MEASURES}
    for (local_date, zone_id), totals in cells.days.items():
        i, j = period_of.get(local_date), zone_index.get(zone_id)
        if i is None or j is None:
            continue
        for measure in ENCOUNTER_MEASURES:
            encounter_grids[measure][i][j][0] += totals[measure]
            encounter_grids[measure][i][j][1] += totals["encounters"]
    item_grids: dict[int, list] = {}
    for (local_date, zone_id, item_id), (encounters, quantity) in cells.supplies.items():
        i, j = period_of.get(local_date), zone_index.get(zone_id)
        if i is None or j is None:
            continue
        grid = item_grids.get(item_id) or item_grids.setdefault(item_id, empty())
        grid[i][j][0] += quantity
        grid[i][j][1] += encounters
    referral_grids: dict[int, list] = {}
    for (local_date, zone_id, type_id), encounters in cells.referrals.items():
        i, j = period_of.get(local_date), zone_index.get(zone_id)
        if i is None or j is None:
            continue
        grid = referral_grids.get(type_id) or referral_grids.setdefault(type_id, empty())
        grid[i][j][0] += encounters
        grid[i][j][1] += encounters

    tables = [
        additive_table(
            "encounters", "", labels.measures["encounters"], frozen(encounter_grids["encounters"])
        ),
        participants_table(shape, zone_ids, participants, range_participants, labels),
    ]
    for measure in ENCOUNTER_MEASURES[1:]:
        tables.append(
            additive_table(measure, "", labels.measures[measure], frozen(encounter_grids[measure]))
        )
    for item_id in _ordered(item_grids, labels.item_order):
        key, name = labels.items[item_id]
        tables.append(additive_table("supplies", key, name, frozen(item_grids[item_id])))
    for type_id in _ordered(referral_grids, labels.referral_order):
        key, name = labels.referral_types[type_id]
        tables.append(additive_table("referrals", key, name, frozen(referral_grids[type_id])))
    return tables


def _ordered(grids: dict[int, list], order: Sequence[int]) -> list[int]:
    known = [item_id for item_id in order if item_id in grids]
    return known + sorted(set(grids) - set(known))


def participants_table(
    shape: tuple[int, int],
    zone_ids: Sequence[int],
    participants: dict[tuple[int, int], int],
    range_participants: dict[int, int],
    labels: Labels,
) -> Table:
    """Distinct participants per period and zone; totals are distinct counts too.

    A None in ``participants`` (or ``range_participants``) is a figure not published: under
    ALL_ZONES it withholds its whole row, elsewhere its cell (``participants_by_period``)."""
    rows = shape[0]
    grid = [[participants.get((i, z), 0) for z in (*zone_ids, ALL_ZONES)] for i in range(rows)]
    grid.append([range_participants.get(z, 0) for z in (*zone_ids, ALL_ZONES)])
    withheld = {
        (i, j)
        for i, row in enumerate(grid)
        for j, value in enumerate(row)
        if value is None or row[-1] is None
    }
    values = [
        [0 if (i, j) in withheld else v for j, v in enumerate(row)] for i, row in enumerate(grid)
    ]
    return Table(
        "participants",
        "",
        labels.measures["participants"],
        values,
        [list(row) for row in values],
        additive=False,
        withheld=withheld,
    )


def zone_label(zone_id: int, zones: dict[int, tuple[str, str]], no_zone: str) -> tuple[str, str]:
    """(key, name) of a zone id, NO_ZONE included."""
    if zone_id == NO_ZONE:
        return NONE_KEY, no_zone
    return zones[zone_id]
