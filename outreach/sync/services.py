"""Store synced encounters exactly once, and describe the catalogue to phones."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from outreach import device
from outreach.database import dialect_insert
from outreach.database import write_transaction
from outreach.extensions import db
from outreach.models import Encounter
from outreach.models import EncounterReferral
from outreach.models import EncounterSupply
from outreach.models import ReferralType
from outreach.models import SupplyItem
from outreach.models import Zone
from outreach.models import utcnow
from outreach.reports import rollups
from outreach.sync.validation import CatalogIndex
from outreach.sync.validation import CleanEncounter
from outreach.sync.validation import ValidationContext
from outreach.sync.validation import echo_id
from outreach.sync.validation import parse_record_id
from outreach.sync.validation import validate_encounter

log = logging.getLogger("outreach.sync")

CREATED = "created"
DUPLICATE = "duplicate"
REJECTED = "rejected"


@dataclass
class BatchOutcome:
    results: list[dict]

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result["status"] == status)


def load_catalog_index() -> CatalogIndex:
    """Every catalogue key, active or not, with its id."""

    def keys(model) -> dict[str, int]:
        return {key: pk for key, pk in db.session.execute(sa.select(model.key, model.id))}

    return CatalogIndex(
        supplies=keys(SupplyItem), referral_types=keys(ReferralType), zones=keys(Zone)
    )


def ingest_batch(records: list, worker_id: int | None, author: str | None = None) -> BatchOutcome:
    """Validate and store a batch; answer one result per record, in order.

    Idempotent: an id already stored answers ``duplicate`` and changes nothing, also when
    two copies of the batch arrive at once (the insert ignores a conflicting id at the
    database, so the loser of a race sees ``duplicate``, never an error).
    """
    config = current_app.config
    context = ValidationContext(
        catalog=load_catalog_index(),
        now=datetime.now(UTC),
        timezone=ZoneInfo(config["PROGRAM_TIMEZONE"]),
        code_key=config["PARTICIPANT_CODE_KEY"],
    )
    parsed_ids = [parse_record_id(raw) for raw in records]
    ids = [record_id for record_id, _error in parsed_ids]
    already_stored = _existing_ids({record_id for record_id in ids if record_id})
    # End the read transaction before writing, so the write can take SQLite's lock cleanly.
    db.session.rollback()

    results: list[dict] = []
    to_store: list[CleanEncounter] = []
    slot_of: dict[uuid.UUID, int] = {}
    for raw, parsed in zip(records, parsed_ids, strict=True):
        record_id = parsed[0]
        if record_id is not None and (record_id in already_stored or record_id in slot_of):
            results.append({"id": str(record_id), "status": DUPLICATE})
            continue
        # Hook (phone, issue 13): never store a record under an account that did not log it.
        foreign = device.foreign_author_errors(raw, author)
        if foreign:
            results.append({"id": echo_id(raw), "status": REJECTED, "errors": foreign})
            continue
        clean, errors = validate_encounter(raw, context, parsed)
        if clean is None:
            results.append({"id": echo_id(raw), "status": REJECTED, "errors": errors})
            continue
        slot_of[clean.id] = len(results)
        results.append({"id": str(clean.id), "status": CREATED})
        to_store.append(clean)

    if to_store:
        inserted = _store(to_store, worker_id)
        for clean in to_store:
            if clean.id not in inserted:
                results[slot_of[clean.id]]["status"] = DUPLICATE

    outcome = BatchOutcome(results)
    log.info(
        "sync batch worker=%s records=%d created=%d duplicate=%d rejected=%d",
        worker_id,
        len(records),
        outcome.count(CREATED),
        outcome.count(DUPLICATE),
        outcome.count(REJECTED),
    )
    return outcome


def _existing_ids(candidates: set[uuid.UUID]) -> set[uuid.UUID]:
    if not candidates:
        return set()
    return set(db.session.scalars(sa.select(Encounter.id).where(Encounter.id.in_(candidates))))


def _store(encounters: list[CleanEncounter], worker_id: int | None) -> set[uuid.UUID]:
    """Insert the encounters and their lines in one transaction; return the ids inserted."""
    received_at = utcnow()
    rows = [
        {
            "id": e.id,
            "occurred_at": e.occurred_at,
            "local_date": e.local_date,
            "zone_id": e.zone_id,
            "participant_hash": e.participant_hash,
            "people_served": e.people_served,
            "syringes_collected": e.syringes_collected,
            "naloxone_reversals_reported": e.naloxone_reversals_reported,
            "worker_id": worker_id,
            "received_at": received_at,
        }
        for e in encounters
    ]
    with write_transaction() as connection:
        statement = (
            dialect_insert(connection, Encounter.__table__)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(Encounter.__table__.c.id)
        )
        inserted = set(connection.execute(statement, rows).scalars())
        supply_rows = [
            {"encounter_id": e.id, "item_id": item_id, "quantity": quantity}
            for e in encounters
            if e.id in inserted
            for item_id, quantity in e.supplies.items()
        ]
        referral_rows = [
            {"encounter_id": e.id, "referral_type_id": referral_id}
            for e in encounters
            if e.id in inserted
            for referral_id in e.referral_type_ids
        ]
        if supply_rows:
            connection.execute(sa.insert(EncounterSupply.__table__), supply_rows)
        if referral_rows:
            connection.execute(sa.insert(EncounterReferral.__table__), referral_rows)
        # Reports read daily roll-ups; they change in this same transaction.
        rollups.apply(connection, [e for e in encounters if e.id in inserted], +1)
    return inserted


def catalog_payload(lang: str) -> dict:
    """The active catalogue for phones, with a version that changes when it changes."""

    def active(model):
        return db.session.scalars(
            sa.select(model).where(model.active).order_by(model.sort_order, model.name)
        ).all()

    supplies = [
        {
            "key": item.key,
            "name": item.display_name(lang),
            "unit": item.unit,
            "category": item.category,
            "quick_amounts": [int(n) for n in item.quick_amounts.split() if n.isdigit()],
        }
        for item in active(SupplyItem)
    ]
    referral_types = [{"key": r.key, "name": r.display_name(lang)} for r in active(ReferralType)]
    zones = [{"key": z.key, "name": z.display_name(lang)} for z in active(Zone)]
    body = {"supplies": supplies, "referral_types": referral_types, "zones": zones}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return {"version": digest, "lang": lang, **body}
