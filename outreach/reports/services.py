"""The reports area's exports (voids are written by ``outreach.encounters.voids``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from outreach.extensions import db
from outreach.models import NO_ZONE
from outreach.models import Encounter
from outreach.models import EncounterReferral
from outreach.models import EncounterSupply
from outreach.reports import export
from outreach.reports import queries

# --- exports -------------------------------------------------------------------------------

RECORDS_CHUNK_DAYS = 31
IN_CHUNK = 500


def aggregate_export(
    start: date,
    end: date,
    period: str,
    suppress_small: bool,
    threshold: int,
    catalog: queries.Catalog,
    lang: str,
) -> tuple[date, date, str]:
    """The aggregate CSV (whole weeks or months for those periods): (start, end, text)."""
    start = queries.bucket_start(start, period)
    end = queries.bucket_end(queries.bucket_start(end, period), period)
    periods = queries.buckets(start, end, period)
    cells = queries.export_cells(start, end)
    zone_ids = sorted({zone_id for _day, zone_id in cells.days})
    order = [zone.id for zone in catalog.zones]
    zone_ids.sort(key=lambda z: (z == NO_ZONE, order.index(z) if z in order else 0))
    participants = queries.participants_by_period(periods)
    range_participants = {
        scope: count
        for (_index, scope), count in queries.participants_by_period([(start, end)]).items()
    }
    labels = export.Labels(
        measures={
            "encounters": _("Encounters"),
            "participants": _("Participants"),
            "people_served": _("People served"),
            "syringes_collected": _("Syringes collected"),
            "naloxone_reversals_reported": _("Overdose reversals reported"),
        },
        zones={
            zone_id: export.zone_label(
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
    tables = export.build_tables(cells, periods, zone_ids, participants, range_participants, labels)
    if suppress_small:
        for table in tables:
            export.suppress(table, threshold)
    rows = export.table_rows(tables, period, periods, zone_ids, labels)
    return start, end, export.write_csv(rows)


def records_export(start: date, end: date, catalog: queries.Catalog) -> Iterator[str]:
    """Row-level records without participant codes or their hashes, streamed as CSV."""
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
        "participant_seen_before",
        *(f"supply:{item.key}" for item in items),
        *(f"referral:{kind.key}" for kind in referral_types),
    ]
    yield export.write_csv([], header)
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
                table.c.participant_hash,
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
        first_seen = _first_seen({row.participant_hash for row in rows if row.participant_hash})
        lines = []
        for row in rows:
            if row.participant_hash:
                seen_before = "yes" if first_seen[row.participant_hash] < row.local_date else "no"
            else:
                seen_before = ""
            given = supplies.get(row.id, {})
            made = referrals.get(row.id, set())
            lines.append(
                [
                    row.local_date.isoformat(),
                    zone_keys.get(row.zone_id, export.NONE_KEY),
                    row.people_served,
                    row.syringes_collected,
                    row.naloxone_reversals_reported,
                    "yes" if row.participant_hash else "no",
                    seen_before,
                    *(given.get(item.id, 0) for item in items),
                    *(1 if kind.id in made else 0 for kind in referral_types),
                ]
            )
        if lines:
            # Strip the header and byte order mark write_csv adds; they went out first.
            yield export.write_csv(lines, header)[len(export.write_csv([], header)) :]
        cursor = last + timedelta(days=1)


def _first_seen(hashes: set[str]) -> dict[str, date]:
    """Each participant's first non-voided visit day (hashes never leave this function)."""
    table = Encounter.__table__
    result = {}
    ordered = sorted(hashes)
    for index in range(0, len(ordered), IN_CHUNK):
        chunk = ordered[index : index + IN_CHUNK]
        result.update(
            db.session.execute(
                sa.select(table.c.participant_hash, sa.func.min(table.c.local_date))
                .where(table.c.participant_hash.in_(chunk), table.c.voided_at.is_(None))
                .group_by(table.c.participant_hash)
            ).all()
        )
    return result
