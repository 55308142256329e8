"""Rotating PARTICIPANT_CODE_KEY with continuity: returning codes move to the new key.

During a rotation the settings hold the new key (``PARTICIPANT_CODE_KEY``) and the previous
one (``PARTICIPANT_CODE_KEY_PREVIOUS``) until a last day (``…_PREVIOUS_UNTIL``). New records
are always stored under the new key. When a batch brings a code, its hash under the previous
key is looked up too: encounters stored under it are rewritten to the new key's hash in one
transaction, and the roll-ups' participant visit chains are merged to match, so the
participant counts once and is "returning" as before. After the last day the previous key
is dropped (see ``config.check_key_rotation``): a code not seen during the rotation looks new.

The raw code is used only here, in memory, to compute the two hashes; it goes no further.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from collections.abc import Sequence

import sqlalchemy as sa
from flask import current_app

from outreach.database import write_transaction
from outreach.models import Encounter
from outreach.privacy import participant_hash
from outreach.reports import rollups

encounter = Encounter.__table__


def _raw_codes(records: Iterable) -> dict[uuid.UUID, str]:
    """The participant code of every record with a readable id and a text code."""
    codes: dict[uuid.UUID, str] = {}
    for raw in records:
        if not isinstance(raw, dict):
            continue
        code, record_id = raw.get("participant_code"), raw.get("id")
        if not isinstance(code, str) or not isinstance(record_id, str):
            continue
        try:
            codes[uuid.UUID(record_id)] = code.strip()
        except ValueError:
            continue
    return codes


def hash_moves(records: Sequence, stored: Iterable, current_key: str, previous_key: str):
    """Previous-key hash → current-key hash for each coded record about to be stored."""
    codes = _raw_codes(records)
    moves: dict[str, str] = {}
    for clean in stored:
        code = codes.get(clean.id)
        if clean.participant_hash is None or code is None:
            continue
        # Only a code the validator hashed exactly this way (never a guess).
        if participant_hash(code, current_key) != clean.participant_hash:
            continue
        moves[participant_hash(code, previous_key)] = clean.participant_hash
    return moves


def move_to_current_key(connection: sa.Connection, moves: dict[str, str]) -> int:
    """Rewrite encounters stored under a previous-key hash to the current key's hash.

    The roll-ups count visit chains, not hashes: moving a participant's visits from one
    hash to another is, for them, removing those visits from the old chain and adding them
    to the new one (which may already hold visits: the chains merge). Returns how many
    encounters moved.
    """
    if not moves:
        return 0
    present = connection.scalars(
        sa.select(encounter.c.participant_hash)
        .where(encounter.c.participant_hash.in_(sorted(moves)))
        .distinct()
    ).all()
    moved = 0
    for old_hash in sorted(present):
        new_hash = moves[old_hash]
        # UPDATE … RETURNING: exactly the rows this transaction moved, even when two
        # batches bring the same returning code at once.
        rows = connection.execute(
            sa.update(encounter)
            .where(encounter.c.participant_hash == old_hash)
            .values(participant_hash=new_hash)
            .returning(encounter.c.local_date, encounter.c.zone_id, encounter.c.voided_at)
        ).all()
        moved += len(rows)
        visits = [(day, zone) for day, zone, voided_at in rows if voided_at is None]
        if not visits:
            continue
        # Counts of zero: only the chains change; the day totals go +1 and back -1.
        rollups.apply(connection, [_visit(day, zone, new_hash) for day, zone in visits], +1)
        rollups.apply(connection, [_visit(day, zone, old_hash) for day, zone in visits], -1)
    return moved


def _visit(local_date, zone_id, hashed: str) -> rollups.StoredContribution:
    return rollups.StoredContribution(
        local_date=local_date,
        zone_id=zone_id,
        participant_hash=hashed,
        people_served=0,
        syringes_collected=0,
        naloxone_reversals_reported=0,
    )


def move_returning_codes(records: Sequence, stored: Sequence) -> int:
    """During a rotation, move this batch's returning codes to the current key (ingest hook)."""
    previous_key = current_app.config.get("PARTICIPANT_CODE_KEY_PREVIOUS")
    if not previous_key or not stored:
        return 0
    moves = hash_moves(records, stored, current_app.config["PARTICIPANT_CODE_KEY"], previous_key)
    if not moves:
        return 0
    with write_transaction() as connection:
        return move_to_current_key(connection, moves)
