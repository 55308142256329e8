"""CSV exports: the internal aggregate file, the shareable one, and row-level records.

Every file is UTF-8 with a byte order mark, RFC 4180, formulas defused (``csvfile``). In
the aggregate files each row says what it is (column ``row``): ``detail`` for one period
and one zone, ``total_zones`` for a period over every zone, ``total_periods`` for a zone
over every period of the file, ``total`` for both. Participants are distinct people, so
their totals are named ``distinct_…``: a person seen in two zones counts once in the total.
A plain sum of a measure's ``detail`` rows is its ``total`` row (when nothing is hidden).
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from datetime import date
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from outreach.extensions import db
from outreach.models import NO_ZONE
from outreach.models import Encounter
from outreach.models import EncounterReferral
from outreach.models import EncounterSupply
from outreach.overdoses import tables as overdose_tables
from outreach.reports import csvfile
from outreach.reports import disclosure
from outreach.reports import periods as period_rules
from outreach.reports import tables as measure_tables
from outreach.reports.catalog import Catalog
from outreach.reports.disclosure import Table
from outreach.reports.tables import NONE_KEY
from outreach.reports.tables import Labels

ALL_KEY = "all"
HEADER = [
    "period",
    "period_start",
    "period_end",
    "zone",
    "zone_name",
    "measure",
    "key",
    "name",
    "value",
    "suppressed",
    "row",
]
# Sums over every item marked as naloxone, in kits (units) and in doses.
NALOXONE_KITS = "naloxone_kits"
NALOXONE_DOSES = "naloxone_doses"
DERIVED_MEASURES = (NALOXONE_KITS, NALOXONE_DOSES)
# The only period a shareable file is published in (see ``disclosure``).
SHAREABLE_PERIOD = period_rules.MONTH
RECORDS_CHUNK_DAYS = 31


class ExportError(ValueError):
    """An export that cannot be made as asked; the message says why."""


def _labels(catalog: Catalog, lang: str, zone_ids: Sequence[int]) -> Labels:
    return Labels(
        measures={
            "encounters": _("Encounters"),
            "participants": _("Participants"),
            "people_served": _("People served"),
            "syringes_collected": _("Syringes collected"),
            "naloxone_reversals_reported": _("Overdose reversals reported"),
            "syringes_collected_grams": _("Syringes collected by weight (grams)"),
            NALOXONE_KITS: _("Naloxone kits given"),
            NALOXONE_DOSES: _("Naloxone doses given"),
        },
        zones={
            zone_id: measure_tables.zone_label(
                zone_id,
                {z.id: (z.key, z.display_name(lang)) for z in catalog.zones},
                _("No zone"),
            )
            for zone_id in zone_ids
        },
        items={i.id: (i.key, i.display_name(lang)) for i in catalog.items},
        referral_types={r.id: (r.key, r.display_name(lang)) for r in catalog.referral_types},
        all_zones=_("All zones"),
        item_order=[i.id for i in catalog.items],
        referral_order=[r.id for r in catalog.referral_types],
    )


def _measure_tables(
    periods: list[tuple[date, date]],
    catalog: Catalog,
    lang: str,
    reader_id: int | None = None,
    by_month: bool = False,
    with_participants: bool = True,
) -> tuple[list[Table], list[int], Labels]:
    """Every measure's table over ``periods`` (rows) and the zones with encounters in them.

    ``by_month``: the periods are whole calendar months (the roll-ups are summed by month
    in the database). Without participants, their table is all zeros (funder reports count
    participants over their own period).
    """
    first, last = periods[0][0], periods[-1][1]
    if by_month:
        cells = measure_tables.month_cells(first, last)
    else:
        cells = measure_tables.export_cells(first, last)
    overdose_cells = overdose_tables.day_cells(first, last)
    # Zones with encounters or overdose responses: a zone left out had neither.
    zone_ids = sorted(
        {zone_id for _day, zone_id in cells.days} | overdose_tables.zones_of(overdose_cells)
    )
    order = [zone.id for zone in catalog.zones]
    zone_ids.sort(key=lambda z: (z == NO_ZONE, order.index(z) if z in order else 0))
    participants: dict[tuple[int, int], int] = {}
    range_participants: dict[int, int] = {}
    if with_participants:
        participants = measure_tables.participants_by_period(periods, reader_id)
        range_participants = {
            scope: count
            for (_index, scope), count in measure_tables.participants_by_period(
                [(first, last)], reader_id
            ).items()
        }
    labels = _labels(catalog, lang, zone_ids)
    built = measure_tables.build_tables(
        cells, periods, zone_ids, participants, range_participants, labels
    )
    built.extend(_naloxone_tables(built, catalog, labels))
    built.extend(overdose_tables.build_tables(overdose_cells, periods, zone_ids))
    return built, zone_ids, labels


def _naloxone_tables(built: list[Table], catalog: Catalog, labels: Labels) -> list[Table]:
    """Naloxone kits and doses: the naloxone item tables summed cell by cell (margins too)."""
    shape = built[0].shape
    kits = [[[0, 0] for _ in range(shape[1])] for _ in range(shape[0])]
    doses = [[0] * shape[1] for _ in range(shape[0])]
    per_unit = catalog.naloxone_doses_per_unit
    keys = {key: item_id for item_id, (key, _name) in labels.items.items()}
    for table in built:
        item_id = keys.get(table.key) if table.measure == "supplies" else None
        if item_id not in per_unit:
            continue
        for i in range(shape[0]):
            for j in range(shape[1]):
                kits[i][j][0] += table.values[i][j]
                kits[i][j][1] += table.contributors[i][j]
                doses[i][j] += table.values[i][j] * per_unit[item_id]
    contributors = [[c for _v, c in row] for row in kits]
    return [
        Table(
            NALOXONE_KITS,
            "",
            labels.measures[NALOXONE_KITS],
            [[v for v, _c in row] for row in kits],
            contributors,
        ),
        Table(
            NALOXONE_DOSES,
            "",
            labels.measures[NALOXONE_DOSES],
            doses,
            [list(row) for row in contributors],
        ),
    ]


def _suppress_all(built: list[Table], threshold: int, catalog: Catalog) -> None:
    """Suppress every table; the naloxone sums last, hiding whatever a part hides."""
    hidden_in_parts: set[tuple[int, int]] = set()
    naloxone_keys = {item.key for item in catalog.items if item.is_naloxone}
    for table in built:
        if table.measure in DERIVED_MEASURES:
            continue
        disclosure.suppress(table, threshold)
        if table.measure == "supplies" and table.key in naloxone_keys:
            hidden_in_parts |= table.suppressed
    for table in built:
        if table.measure in DERIVED_MEASURES:
            disclosure.suppress(table, threshold, must_hide=hidden_in_parts)
    # Overdose outcomes add up to the responses: those tables hide each other's cells.
    overdose_tables.suppress_together(built, threshold)


def internal_export(
    start: date,
    end: date,
    period: str,
    threshold: int,
    catalog: Catalog,
    lang: str,
    reader_id: int | None = None,
) -> tuple[date, date, Iterator[str]]:
    """The exact aggregate CSV, not for sharing (whole weeks or months for those periods).

    Exact except for participant counts from 1 to threshold-1, which are blank here as on
    every screen: with a record logged on purpose, they would tell whether a guessed code
    was seen in the period (``disclosure``).

    The text comes in pieces (read them in the request's context, ``csvfile.in_request``): the
    header at once, then the rows a chunk at a time, so a three-year daily file starts at
    once and is never held whole.
    """
    start = period_rules.bucket_start(start, period)
    end = period_rules.bucket_end(period_rules.bucket_start(end, period), period)
    periods = period_rules.buckets(start, end, period)

    def pieces() -> Iterator[str]:
        yield csvfile.CSV_BOM + csvfile.write_rows([HEADER])
        built, zone_ids, labels = _measure_tables(periods, catalog, lang, reader_id)
        if period != period_rules.MONTH:
            # Participants only for calendar months, quarters and years (participant_figures).
            built = [table for table in built if table.measure != "participants"]
        for table in built:
            if not table.additive:
                disclosure.suppress(table, threshold)
        yield from csvfile.stream_rows(
            table_rows(built, period, periods, zone_ids, labels, ALL_KEY, len(periods) > 1)
        )

    return start, end, pieces()


def shareable_export(
    start: date,
    end: date,
    period: str,
    threshold: int,
    catalog: Catalog,
    lang: str,
    reader_id: int | None = None,
) -> tuple[date, date, Iterator[str]]:
    """The shareable CSV: whole months from each year's published table (``disclosure``).

    In pieces, as ``internal_export``; a period it refuses raises ExportError at once.
    """
    if period != SHAREABLE_PERIOD:
        raise ExportError(
            _(
                "Files with small counts hidden are by month only (period=month): weekly "
                "or daily figures could be combined with monthly ones to work out hidden "
                "counts. Weekly and daily figures are in the internal export."
            )
        )
    start = period_rules.bucket_start(start, period)
    end = period_rules.bucket_end(period_rules.bucket_start(end, period), period)

    def pieces() -> Iterator[str]:
        yield csvfile.CSV_BOM + csvfile.write_rows([HEADER])
        years = []
        for year in range(start.year, end.year + 1):
            months, built, zone_ids, labels = published_year_tables(
                year, threshold, catalog, lang, reader_id=reader_id
            )
            chosen = [i for i, (first, last) in enumerate(months) if start <= first and last <= end]
            years.append((months, built, zone_ids, labels, len(chosen) == len(months), chosen))
        yield from csvfile.stream_rows(_rows_by_measure(period, years))

    return start, end, pieces()


def _rows_by_measure(period: str, years: list[tuple]) -> Iterator[list]:
    """Rows grouped by measure (in first-seen order), then by period as the years run: one
    measure's rows of every year, then the next measure's (the year tables are small; the
    rows are made as they are written)."""
    order: dict[tuple[str, str], list[tuple[int, Table]]] = {}
    for index, (_months, built, *_rest) in enumerate(years):
        for table in built:
            order.setdefault((table.measure, table.key), []).append((index, table))
    for tables in order.values():
        for index, table in tables:
            months, _built, zone_ids, labels, whole_year, chosen = years[index]
            yield from table_rows(
                [table], period, months, zone_ids, labels, "year", whole_year, chosen
            )


def published_year_tables(
    year: int,
    threshold: int,
    catalog: Catalog,
    lang: str,
    with_participants: bool = True,
    reader_id: int | None = None,
) -> tuple[list[tuple[date, date]], list[Table], list[int], Labels]:
    """One year's published tables (months x zones, suppressed): every shareable figure,
    funder reports' included, is copied or summed from these (``disclosure``). The
    participant table's suppression depends on it alone (others: on their own table, the
    naloxone sums on their parts, overdose outcomes with the responses), so leaving it
    empty changes no other table."""
    months = period_rules.buckets(date(year, 1, 1), date(year, 12, 31), SHAREABLE_PERIOD)
    built, zone_ids, labels = _measure_tables(
        months,
        catalog,
        lang,
        reader_id=reader_id,
        by_month=True,
        with_participants=with_participants,
    )
    _suppress_all(built, threshold, catalog)
    return months, built, zone_ids, labels


def _row_kind(table: Table, is_period_total: bool, is_zone_total: bool) -> str:
    kind = {
        (False, False): "detail",
        (False, True): "total_zones",
        (True, False): "total_periods",
        (True, True): "total",
    }[(is_period_total, is_zone_total)]
    if table.additive or kind == "detail":
        return kind
    return "distinct_" + kind


def table_rows(
    built: Iterable[Table],
    period: str,
    periods: Sequence[tuple[date, date]],
    zone_ids: Sequence[int],
    labels: Labels,
    total_name: str,
    with_period_totals: bool,
    chosen: Sequence[int] | None = None,
) -> Iterator[list]:
    """CSV rows of every table (suppressed cells left blank).

    ``chosen`` picks the period rows to print (all by default); the totals over periods
    (named ``total_name``) are printed only ``with_period_totals``.
    """
    first, last = periods[0][0], periods[-1][1]
    row_labels = [(i, period, start, end) for i, (start, end) in enumerate(periods)]
    if chosen is not None:
        row_labels = [row_labels[i] for i in chosen]
    if with_period_totals:
        row_labels.append((len(periods), total_name, first, last))
    column_labels = [labels.zones[zone_id] for zone_id in zone_ids] + [(ALL_KEY, labels.all_zones)]
    # With one period and no totals over periods, the total over zones is the file's total.
    only_period = len(row_labels) == 1
    # Each period's dates and each zone's name are written once, not once a row: a daily
    # file over three years has hundreds of thousands of rows.
    row_labels = [
        (i, name, begins.isoformat(), ends.isoformat()) for i, name, begins, ends in row_labels
    ]
    column_labels = [(key, csvfile.safe_text(name)) for key, name in column_labels]
    for table in built:
        table_name = csvfile.safe_text(table.name)
        for i, period_name, start, end in row_labels:
            for j, (zone_key, zone_name) in enumerate(column_labels):
                hidden = (i, j) in table.suppressed
                yield [
                    period_name,
                    start,
                    end,
                    zone_key,
                    zone_name,
                    table.measure,
                    table.key,
                    table_name,
                    "" if hidden else table.values[i][j],
                    "yes" if hidden else "",
                    _row_kind(
                        table,
                        i == len(periods) or (only_period and j == len(zone_ids)),
                        j == len(zone_ids),
                    ),
                ]


def records_export(start: date, end: date, catalog: Catalog) -> Iterator[str]:
    """Row-level records without participant codes, their hashes or any link between them.

    Whether a record's participant was seen before is left out: read with a record the
    reader logged on purpose, it would tell whether a guessed code was known.
    """
    items = catalog.items
    referral_types = catalog.referral_types
    zone_keys = {zone.id: zone.key for zone in catalog.zones}
    header = [
        "local_date",
        "zone",
        "people_served",
        "syringes_collected",
        "naloxone_reversals_reported",
        "participant_code_given",
        *(f"supply:{item.key}" for item in items),
        *(f"referral:{kind.key}" for kind in referral_types),
    ]
    yield csvfile.write_csv([], header)
    table = Encounter.__table__
    live = table.c.voided_at.is_(None)
    cursor = start
    while cursor <= end:
        last = min(end, cursor + timedelta(days=RECORDS_CHUNK_DAYS - 1))
        in_range = sa.and_(live, table.c.local_date.between(cursor, last))
        rows = db.session.execute(
            sa.select(
                table.c.id,
                table.c.local_date,
                table.c.zone_id,
                table.c.participant_hash.is_not(None).label("code_given"),
                table.c.people_served,
                table.c.syringes_collected,
                table.c.naloxone_reversals_reported,
            )
            .where(in_range)
            .order_by(table.c.local_date, table.c.id)
        ).all()
        supplies: dict = {}
        for encounter_id, item_id, quantity in db.session.execute(
            sa.select(
                EncounterSupply.encounter_id, EncounterSupply.item_id, EncounterSupply.quantity
            )
            .join(table, table.c.id == EncounterSupply.encounter_id)
            .where(in_range)
        ):
            supplies.setdefault(encounter_id, {})[item_id] = quantity
        referrals: dict = {}
        for encounter_id, type_id in db.session.execute(
            sa.select(EncounterReferral.encounter_id, EncounterReferral.referral_type_id)
            .join(table, table.c.id == EncounterReferral.encounter_id)
            .where(in_range)
        ):
            referrals.setdefault(encounter_id, set()).add(type_id)
        lines = []
        for row in rows:
            given = supplies.get(row.id, {})
            made = referrals.get(row.id, set())
            lines.append(
                [
                    row.local_date.isoformat(),
                    zone_keys.get(row.zone_id, NONE_KEY),
                    row.people_served,
                    row.syringes_collected,
                    row.naloxone_reversals_reported,
                    "yes" if row.code_given else "no",
                    *(given.get(item.id, 0) for item in items),
                    *(1 if kind.id in made else 0 for kind in referral_types),
                ]
            )
        if lines:
            yield csvfile.write_rows(lines)
        cursor = last + timedelta(days=1)
