"""Ingest: check a batch of records from a phone and store each exactly once.

The steps, in order, for one batch (``ingest_batch``):

1. context: the catalogue, the clock, the program's time zone and the participant-code key,
   read once per batch (``IngestContext.for_batch``);
2. idempotency: ids this account stored already, or repeated in the batch, answer
   ``duplicate``; ids another account's record holds answer ``conflict``
   (``outreach.sync.batch``, the loop every record kind shares);
3. check each record (``validation.validate_encounter``): the contract's shape, then resolve
   catalogue keys and the participant code's hash (``validation.resolve_participant``);
4. store the good ones in one transaction: the rows, their lines, the daily roll-ups and the
   audit note for back-dated records (``_store``).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from outreach import clock
from outreach.database import write_transaction
from outreach.encounters import key_rotation
from outreach.encounters import rollups
from outreach.encounters.catalog import load_catalog_index
from outreach.encounters.records import REFERRAL_COLUMNS
from outreach.encounters.records import ROW_COLUMNS
from outreach.encounters.records import SUPPLY_COLUMNS
from outreach.encounters.records import CleanEncounter
from outreach.encounters.validation import ValidationContext
from outreach.encounters.validation import validate_encounter
from outreach.encounters.writes import existing_ids
from outreach.encounters.writes import insert_rows
from outreach.models import AuditEvent
from outreach.models import Encounter
from outreach.models import EncounterReferral
from outreach.models import EncounterSupply
from outreach.models import utcnow
from outreach.sync import batch
from outreach.sync.batch import CONFLICT
from outreach.sync.batch import CREATED
from outreach.sync.batch import DUPLICATE
from outreach.sync.batch import REJECTED
from outreach.sync.batch import RecordKind
from outreach.sync.batch import answer_batch

log = logging.getLogger("outreach.sync")
encounter_table = Encounter.__table__

# A record that happened more than this many days before it arrived is noted in the audit
# log with who sent it: back-dating is how someone could probe whether a code was seen.
DEFAULT_BACKDATED_AUDIT_DAYS = 3
BACKDATED_ACTION = "encounter.backdated"


@dataclass
class BatchOutcome:
    results: list[dict]

    def count(self, status: str) -> int:
        return batch.count(self.results, status)


def validation_context() -> ValidationContext:
    """The catalogue, clock, time zone and participant-code key for one batch."""
    config = current_app.config
    return ValidationContext(
        catalog=load_catalog_index(),
        now=clock.now(),
        timezone=ZoneInfo(config["PROGRAM_TIMEZONE"]),
        code_key=config["PARTICIPANT_CODE_KEY"],
        previous_code_key=config.get("PARTICIPANT_CODE_KEY_PREVIOUS") or None,
    )


def ingest_batch(records: list, worker_id: int | None, author: str | None = None) -> BatchOutcome:
    """Validate and store a batch; answer one result per record, in order.

    Idempotent: an id this account stored already answers ``duplicate`` (another account's:
    ``conflict``) and changes nothing, also when
    two copies of the batch arrive at once (the insert ignores a conflicting id at the
    database, so the loser of a race sees ``duplicate``, never an error).
    """
    context = validation_context()
    kind = RecordKind(
        id_column=encounter_table.c.id,
        owner_column=encounter_table.c.worker_id,
        check=lambda raw, record_id: validate_encounter(raw, context, record_id),
        id_of=lambda clean: clean.id,
        store=lambda encounters: _store(encounters, worker_id),
    )
    results = answer_batch(records, kind, author, worker_id)

    outcome = BatchOutcome(results)
    log.info(
        "sync batch worker=%s records=%d created=%d duplicate=%d conflict=%d rejected=%d",
        worker_id,
        len(records),
        outcome.count(CREATED),
        outcome.count(DUPLICATE),
        outcome.count(CONFLICT),
        outcome.count(REJECTED),
    )
    return outcome


def _store(encounters: list[CleanEncounter], worker_id: int | None) -> set[uuid.UUID]:
    """Insert the encounters and their lines in one transaction; return the ids inserted."""
    received_at = utcnow()
    with write_transaction() as connection:
        # Key rotation: visits stored under a code's previous-key hash move to its current
        # hash first, in this same transaction, so the batch and the move stand or fall together.
        key_rotation.move_to_current_key(connection, key_rotation.hash_moves(encounters))
        if connection.dialect.name == "sqlite":
            # SQLite's writer holds the database lock from BEGIN IMMEDIATE: an id absent now
            # stays absent until this transaction ends, so a plain insert of the rest is exact.
            present = existing_ids(connection, encounter_table.c.id, [e.id for e in encounters])
            stored = [e for e in encounters if e.id not in present]
            insert_rows(
                connection,
                encounter_table,
                ROW_COLUMNS,
                [e.values(worker_id, received_at) for e in stored],
            )
            inserted = {e.id for e in stored}
        else:
            # PostgreSQL: a concurrent copy of the batch may insert the same ids; the loser's
            # rows are skipped by ON CONFLICT and it answers "duplicate".
            inserted = set(
                insert_rows(
                    connection,
                    encounter_table,
                    ROW_COLUMNS,
                    [e.values(worker_id, received_at) for e in encounters],
                    skip_conflicts_on="id",
                )
            )
            stored = [e for e in encounters if e.id in inserted]
        insert_rows(
            connection,
            EncounterSupply.__table__,
            SUPPLY_COLUMNS,
            [(e.id, item, quantity) for e in stored for item, quantity in e.supplies.items()],
        )
        insert_rows(
            connection,
            EncounterReferral.__table__,
            REFERRAL_COLUMNS,
            [(e.id, referral) for e in stored for referral in e.referral_type_ids],
        )
        # Reports read daily roll-ups; they change in this same transaction.
        rollups.apply(connection, stored, +1)
        _note_backdated(connection, stored, worker_id, received_at)
    return inserted


def insert_many(connection: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """INSERT rows (dicts with the same keys, in the same order) in one go (``insert_rows``)."""
    if rows:
        columns = tuple(rows[0])
        insert_rows(connection, table, columns, [tuple(row.values()) for row in rows])


def _note_backdated(
    connection: sa.Connection,
    stored: list[CleanEncounter],
    worker_id: int | None,
    received_at: datetime,
) -> None:
    """One audit entry per batch naming who sent records dated long before they arrived."""
    days = int(current_app.config.get("BACKDATED_AUDIT_DAYS", DEFAULT_BACKDATED_AUDIT_DAYS))
    cutoff = received_at - timedelta(days=days)
    backdated = sorted(str(e.id) for e in stored if e.occurred_at < cutoff)
    if not backdated:
        return
    connection.execute(
        sa.insert(AuditEvent.__table__),
        {
            "at": received_at,
            "actor_id": worker_id,
            "action": BACKDATED_ACTION,
            "target_type": "encounter",
            "target_id": None,
            # Ids and a count only: never a code, a zone or anything about a participant.
            "details": {"records": len(backdated), "older_than_days": days, "ids": backdated},
        },
    )
