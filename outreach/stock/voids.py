"""Voiding a stock event entered by mistake (a load-out, count or adjustment): it stays
stored, no bag counts it any more (every read of the bag skips voided events: there is
nothing stored to correct), and the audit log keeps who voided it and why. Reasons come from
the encounters' fixed list."""

from __future__ import annotations

import uuid

import sqlalchemy.orm as so

from outreach.encounters.voids import newest
from outreach.encounters.voids import void_and_audit
from outreach.models import StockEvent
from outreach.models import StockEventLine
from outreach.models import User

VOID_ACTION = "stock_event.void"


def recent(limit: int = 100) -> list[StockEvent]:
    """Stock events, newest first, with the worker and items the list shows."""
    return newest(
        StockEvent,
        limit,
        so.joinedload(StockEvent.worker),
        so.selectinload(StockEvent.lines).joinedload(StockEventLine.item),
    )


def void_stock_event(event_id: uuid.UUID, reason: str, actor: User) -> None:
    """Void one stock event (VoidError when missing or voided already)."""
    void_and_audit(
        StockEvent,
        event_id,
        reason,
        actor,
        VOID_ACTION,
        lambda row: {
            "type": row.type,
            "local_date": row.local_date.isoformat(),
            "worker": row.worker.username if row.worker else None,
        },
    )
