"""One encounter as the server stores it: declared once, used by ingest, voids and roll-ups."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CleanEncounter:
    """A record that passed every check (or was read back to be voided), ready to store.

    The fields after ``occurred_at`` are what the record adds to the daily roll-ups.
    """

    id: uuid.UUID
    occurred_at: datetime  # naive UTC
    local_date: date
    zone_id: int | None
    participant_hash: str | None
    people_served: int
    syringes_collected: int
    naloxone_reversals_reported: int
    syringes_collected_grams: int = 0
    supplies: Mapping[int, int] = field(default_factory=dict)  # item id -> quantity
    referral_type_ids: Sequence[int] = ()
    # During a key rotation: the same code's hash under the previous key, so the records
    # stored under it can move to the current key. Never stored itself.
    previous_participant_hash: str | None = None

    def row(self, worker_id: int | None, received_at: datetime) -> dict:
        """The ``encounter`` table row."""
        return {
            "id": self.id,
            "occurred_at": self.occurred_at,
            "local_date": self.local_date,
            "zone_id": self.zone_id,
            "participant_hash": self.participant_hash,
            "people_served": self.people_served,
            "syringes_collected": self.syringes_collected,
            "naloxone_reversals_reported": self.naloxone_reversals_reported,
            "syringes_collected_grams": self.syringes_collected_grams,
            "worker_id": worker_id,
            "received_at": received_at,
        }

    def supply_rows(self) -> list[dict]:
        return [
            {"encounter_id": self.id, "item_id": item_id, "quantity": quantity}
            for item_id, quantity in self.supplies.items()
        ]

    def referral_rows(self) -> list[dict]:
        return [
            {"encounter_id": self.id, "referral_type_id": referral_type_id}
            for referral_type_id in self.referral_type_ids
        ]
