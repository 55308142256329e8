"""Voiding an overdose response entered by mistake: it stays stored, leaves every report
(figures and exports read only non-voided ones; there are no roll-ups to correct), and the
audit log keeps who voided it and why. Reasons come from the encounters' fixed list."""

from __future__ import annotations

import uuid

import sqlalchemy.orm as so

from outreach.encounters.voids import newest
from outreach.encounters.voids import void_and_audit
from outreach.models import OverdoseResponse
from outreach.models import User

VOID_ACTION = "overdose_response.void"


def recent(limit: int = 100) -> list[OverdoseResponse]:
    """Overdose responses, newest first, with the worker and zone the list shows."""
    return newest(
        OverdoseResponse,
        limit,
        so.joinedload(OverdoseResponse.worker),
        so.joinedload(OverdoseResponse.zone),
    )


def void_overdose_response(response_id: uuid.UUID, reason: str, actor: User) -> None:
    """Void one overdose response (VoidError when missing or voided already)."""
    void_and_audit(
        OverdoseResponse,
        response_id,
        reason,
        actor,
        VOID_ACTION,
        lambda row: {
            "local_date": row.local_date.isoformat(),
            "zone": row.zone.key if row.zone else None,
            "worker": row.worker.username if row.worker else None,
        },
    )
