"""Voiding an encounter entered by mistake: it stays stored, leaves every report, is audited."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from outreach.auth.services import record_audit
from outreach.database import write_session
from outreach.encounters import rollups
from outreach.encounters.records import CleanEncounter
from outreach.extensions import db
from outreach.models import Encounter
from outreach.models import EncounterReferral
from outreach.models import EncounterSupply
from outreach.models import OverdoseResponse
from outreach.models import StockEvent
from outreach.models import User
from outreach.models import Zone
from outreach.models import utcnow

# Reasons are chosen from a list: a free-text box would invite notes about participants.
VOID_REASONS = {
    "duplicate": _l("Logged twice"),
    "test": _l("Test or practice record"),
    "wrong_details": _l("Wrong details (logged again correctly)"),
    "wrong_day": _l("Wrong day or time"),
    "other": _l("Other mistake"),
}


class VoidError(Exception):
    """The encounter cannot be voided (missing or voided already)."""


def mark_voided(connection, table: sa.Table, record_id: uuid.UUID, reason: str, actor: User):
    """Mark one record of any kind voided, inside the caller's write transaction.

    The guard on voided_at makes a second, concurrent void change nothing: VoidError.
    """
    if reason not in VOID_REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    changed = connection.execute(
        sa.update(table)
        .where(table.c.id == record_id, table.c.voided_at.is_(None))
        .values(voided_at=utcnow(), voided_by_id=actor.id, void_reason=reason)
    ).rowcount
    if changed != 1:
        raise VoidError("not found or voided already")


def newest(model: type, limit: int, *options) -> list:
    """Records of one kind, newest first (with ``options``: the relations its list shows,
    loaded with it), to find one entered by mistake."""
    query = sa.select(model).options(*options).order_by(model.occurred_at.desc(), model.id)
    return list(db.session.scalars(query.limit(limit)))


def void_and_audit(
    model: type,
    record_id: uuid.UUID,
    reason: str,
    actor: User,
    action: str,
    facts: Callable[[object], dict],
) -> None:
    """Void one record of a kind without roll-ups (overdose responses, stock events) and
    audit it in the same transaction: the reason and ``facts(record)`` (never participant
    data). VoidError when missing or voided already."""
    with write_session():
        mark_voided(db.session.connection(), model.__table__, record_id, reason, actor)
        record = db.session.get(model, record_id)
        record_audit(
            actor, action, model.__tablename__, record_id, {"reason": reason, **facts(record)}
        )
    db.session.expire_all()


def void_encounter(encounter_id: uuid.UUID, reason: str, actor: User) -> None:
    """Void one encounter: it stays stored, leaves every report, and is audited."""
    table = Encounter.__table__
    with write_session():
        connection = db.session.connection()
        mark_voided(connection, table, encounter_id, reason, actor)
        voided = rollups.read_encounter(connection, encounter_id)
        rollups.apply(connection, [voided], -1)
        row = connection.execute(
            sa.select(table.c.worker_id, table.c.received_at).where(table.c.id == encounter_id)
        ).one()
        worker = db.session.get(User, row.worker_id) if row.worker_id else None
        zone = db.session.get(Zone, voided.zone_id) if voided.zone_id else None
        record_audit(
            actor,
            "encounter.void",
            "encounter",
            encounter_id,
            {
                "reason": reason,
                "local_date": voided.local_date.isoformat(),
                "zone": zone.key if zone else None,
                "worker": worker.username if worker else None,
            },
        )
    db.session.expire_all()


# --- Bulk void: every record of one worker over a period -------------------------------------

BULK_VOID_ACTION = "records.bulk_void"


def _bulk_kinds() -> dict[str, sa.Table]:
    return {
        "encounters": Encounter.__table__,
        "overdose_responses": OverdoseResponse.__table__,
        "stock_events": StockEvent.__table__,
    }


class BulkVoidChanged(Exception):
    """What the period holds changed since it was confirmed; ``counts`` is what it holds now."""

    def __init__(self, counts: dict[str, int]):
        super().__init__("the records changed since they were confirmed")
        self.counts = counts


def _still_counted(table: sa.Table, worker_id: int, start: date, end: date) -> tuple:
    """The worker's records on local days ``start``..``end`` that still count (not voided)."""
    return (
        table.c.worker_id == worker_id,
        table.c.local_date >= start,
        table.c.local_date <= end,
        table.c.voided_at.is_(None),
    )


def bulk_void_counts(worker_id: int, start: date, end: date) -> dict[str, int]:
    """How many records of each kind a bulk void of this worker and period would void."""
    return {
        kind: db.session.scalar(
            sa.select(sa.func.count())
            .select_from(table)
            .where(*_still_counted(table, worker_id, start, end))
        )
        for kind, table in _bulk_kinds().items()
    }


def bulk_void(
    worker: User, start: date, end: date, reason: str, actor: User, expected: dict[str, int]
) -> dict[str, int]:
    """Void every record ``worker`` sent on local days ``start``..``end``, in one transaction.

    ``expected``: the counts the supervisor confirmed. When the period holds other records
    now (some arrived, or were voided one by one meanwhile) nothing changes and
    BulkVoidChanged carries the new counts, so nobody voids records they were not shown.
    Encounters leave the daily roll-ups in the same transaction. One audit entry names the
    worker, the period, the reason and the count per kind; every record keeps who voided it,
    when and why in its own row.
    """
    if reason not in VOID_REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    counts: dict[str, int] = {}
    with write_session():
        connection = db.session.connection()
        at = utcnow()
        for kind, table in _bulk_kinds().items():
            # UPDATE … RETURNING: exactly the rows this statement voided, also when a single
            # void or a sync runs at the same moment (their rows are locked or not matched).
            voided = list(
                connection.scalars(
                    sa.update(table)
                    .where(*_still_counted(table, worker.id, start, end))
                    .values(voided_at=at, voided_by_id=actor.id, void_reason=reason)
                    .returning(table.c.id)
                )
            )
            counts[kind] = len(voided)
            if kind == "encounters":
                rollups.apply(connection, read_encounters(connection, voided), -1)
        if counts != {kind: int(expected.get(kind, 0)) for kind in counts}:
            # Raising rolls the whole transaction back.
            raise BulkVoidChanged(counts)
        record_audit(
            actor,
            BULK_VOID_ACTION,
            "user",
            worker.id,
            {
                "reason": reason,
                "worker": worker.username,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "counts": counts,
            },
        )
    db.session.expire_all()
    return counts


# Encounters read back per query when voiding many (one placeholder each on SQLite).
READ_CHUNK = 500


def read_encounters(connection: sa.Connection, ids: list[uuid.UUID]) -> list[CleanEncounter]:
    """The stored encounters with their lines (what they add to the roll-ups), a chunk of
    ids per query instead of three queries a record."""
    table = Encounter.__table__
    supply_table = EncounterSupply.__table__
    referral_table = EncounterReferral.__table__
    read: list[CleanEncounter] = []
    for first in range(0, len(ids), READ_CHUNK):
        chunk = ids[first : first + READ_CHUNK]
        supplies: dict[uuid.UUID, dict[int, int]] = defaultdict(dict)
        for encounter_id, item_id, quantity in connection.execute(
            sa.select(
                supply_table.c.encounter_id, supply_table.c.item_id, supply_table.c.quantity
            ).where(supply_table.c.encounter_id.in_(chunk))
        ):
            supplies[encounter_id][item_id] = quantity
        referrals: dict[uuid.UUID, list[int]] = defaultdict(list)
        for encounter_id, referral_type_id in connection.execute(
            sa.select(referral_table.c.encounter_id, referral_table.c.referral_type_id).where(
                referral_table.c.encounter_id.in_(chunk)
            )
        ):
            referrals[encounter_id].append(referral_type_id)
        rows = connection.execute(
            sa.select(
                table.c.id,
                table.c.occurred_at,
                table.c.local_date,
                table.c.zone_id,
                table.c.participant_hash,
                table.c.people_served,
                table.c.syringes_collected,
                table.c.naloxone_reversals_reported,
                table.c.syringes_collected_grams,
            ).where(table.c.id.in_(chunk))
        )
        read.extend(
            CleanEncounter(*row, supplies=supplies[row.id], referral_type_ids=referrals[row.id])
            for row in rows
        )
    return read
