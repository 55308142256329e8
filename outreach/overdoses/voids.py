"""Voiding an overdose response entered by mistake: it stays stored, leaves every report
(figures and exports read only non-voided ones; there are no roll-ups to correct), and the
audit log keeps who voided it and why. Reasons come from the encounters' fixed list."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from outreach.auth.services import record_audit
from outreach.database import write_session
from outreach.encounters.voids import VOID_REASONS
from outreach.encounters.voids import VoidError
from outreach.extensions import db
from outreach.models import OverdoseResponse
from outreach.models import User
from outreach.models import utcnow

VOID_ACTION = "overdose_response.void"


def recent(limit: int = 100) -> list[OverdoseResponse]:
    """Overdose responses, newest first, to find one logged by mistake."""
    return list(
        db.session.scalars(
            sa.select(OverdoseResponse)
            .order_by(OverdoseResponse.occurred_at.desc(), OverdoseResponse.id)
            .limit(limit)
        )
    )


def void_overdose_response(response_id: uuid.UUID, reason: str, actor: User) -> None:
    """Void one overdose response (VoidError when missing or voided already)."""
    if reason not in VOID_REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    table = OverdoseResponse.__table__
    with write_session():
        connection = db.session.connection()
        # The guard on voided_at makes a second, concurrent void change nothing.
        changed = connection.execute(
            sa.update(table)
            .where(table.c.id == response_id, table.c.voided_at.is_(None))
            .values(voided_at=utcnow(), voided_by_id=actor.id, void_reason=reason)
        ).rowcount
        if changed != 1:
            raise VoidError("not found or voided already")
        row = db.session.get(OverdoseResponse, response_id)
        record_audit(
            actor,
            VOID_ACTION,
            "overdose_response",
            response_id,
            {
                "reason": reason,
                "local_date": row.local_date.isoformat(),
                "zone": row.zone.key if row.zone else None,
                "worker": row.worker.username if row.worker else None,
            },
        )
    db.session.expire_all()
