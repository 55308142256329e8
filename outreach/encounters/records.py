"""One encounter as the server stores it: declared once, used by ingest, voids and roll-ups."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime

# The ``encounter`` columns a record fills, in the order of ``CleanEncounter.values``.
ROW_COLUMNS = (
    "id",
    "occurred_at",
    "local_date",
    "zone_id",
    "participant_hash",
    "people_served",
    "syringes_collected",
    "naloxone_reversals_reported",
    "syringes_collected_grams",
    "worker_id",
    "received_at",
)
SUPPLY_COLUMNS = ("encounter_id", "item_id", "quantity")
REFERRAL_COLUMNS = ("encounter_id", "referral_type_id")


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
        return dict(zip(ROW_COLUMNS, self.values(worker_id, received_at), strict=True))

    def values(self, worker_id: int | None, received_at: datetime) -> tuple:
        """The ``encounter`` table row as a tuple, in ``ROW_COLUMNS`` order."""
        return (
            self.id,
            self.occurred_at,
            self.local_date,
            self.zone_id,
            self.participant_hash,
            self.people_served,
            self.syringes_collected,
            self.naloxone_reversals_reported,
            self.syringes_collected_grams,
            worker_id,
            received_at,
        )

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
