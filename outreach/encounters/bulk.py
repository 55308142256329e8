"""Bulk loading of many encounters at once (demo data, benchmarks), then one roll-up rebuild."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from outreach.database import write_transaction
from outreach.encounters import rollups
from outreach.encounters.records import CleanEncounter
from outreach.models import Encounter
from outreach.models import EncounterReferral
from outreach.models import EncounterSupply
from outreach.models import utcnow


def insert_chunk(encounters: Iterable[tuple[CleanEncounter, int | None]]) -> int:
    """Insert (encounter, worker id) pairs in one transaction, without roll-up upkeep.

    Call ``rebuild_rollups()`` once after the last chunk: per-record upkeep over hundreds of
    thousands of records is much slower than one rebuild.
    """
    received_at = utcnow()
    rows, supply_rows, referral_rows = [], [], []
    for record, worker_id in encounters:
        rows.append(record.row(worker_id, received_at))
        supply_rows.extend(record.supply_rows())
        referral_rows.extend(record.referral_rows())
    if not rows:
        return 0
    with write_transaction() as connection:
        connection.execute(sa.insert(Encounter.__table__), rows)
        if supply_rows:
            connection.execute(sa.insert(EncounterSupply.__table__), supply_rows)
        if referral_rows:
            connection.execute(sa.insert(EncounterReferral.__table__), referral_rows)
    return len(rows)


def rebuild_rollups() -> None:
    """Recompute every roll-up from the stored encounters."""
    with write_transaction() as connection:
        rollups.rebuild(connection)
