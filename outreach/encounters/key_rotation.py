"""Rotating PARTICIPANT_CODE_KEY with continuity: returning codes move to the new key.

During a rotation the settings hold the new key (``PARTICIPANT_CODE_KEY``) and the previous
one (``PARTICIPANT_CODE_KEY_PREVIOUS``) until a last day (``…_PREVIOUS_UNTIL``). New records
are always stored under the new key. When a batch brings a code, its hash under the previous
key is looked up too: encounters stored under it are rewritten to the new key's hash in one
transaction, and the roll-ups' participant visit chains are merged to match, so the
participant counts once and is "returning" as before. After the last day the previous key
is dropped (see ``config.check_key_rotation``): a code not seen during the rotation looks new.

Both hashes are computed where validation turns the code into a hash
(``validation.resolve_participant``); the raw code goes no further.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from outreach.encounters import rollups
from outreach.encounters.records import CleanEncounter
from outreach.models import Encounter

encounter = Encounter.__table__


def hash_moves(stored: Iterable[CleanEncounter]) -> dict[str, str]:
    """Previous-key hash → current-key hash for each coded record about to be stored.

    Validation computed both hashes from the same normalised code (typed or sealed), so a
    move is never a guess.
    """
    return {
        clean.previous_participant_hash: clean.participant_hash
        for clean in stored
        if clean.participant_hash and clean.previous_participant_hash
    }


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


def _visit(local_date, zone_id, hashed: str) -> CleanEncounter:
    # Only the roll-up fields matter here; the id and time are placeholders.
    return CleanEncounter(
        id=uuid.UUID(int=0),
        occurred_at=datetime(2000, 1, 1),
        local_date=local_date,
        zone_id=zone_id,
        participant_hash=hashed,
        people_served=0,
        syringes_collected=0,
        naloxone_reversals_reported=0,
    )
