"""The list of recent records a supervisor searches to void one logged by mistake."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy import orm as so

from outreach.extensions import db
from outreach.models import NO_ZONE
from outreach.models import Encounter


def recent_encounters(
    local_date: date | None,
    worker_id: int | None,
    zone_id: int | None,
    limit: int = 50,
    offset: int = 0,
) -> list[Encounter]:
    """Encounters, newest first, for finding one entered by mistake (no participant data)."""
    statement = sa.select(Encounter).options(
        so.selectinload(Encounter.supplies),
        so.selectinload(Encounter.referrals),
        so.joinedload(Encounter.worker),
        so.joinedload(Encounter.zone),
    )
    if local_date is not None:
        statement = statement.where(Encounter.local_date == local_date)
    if worker_id is not None:
        statement = statement.where(Encounter.worker_id == worker_id)
    if zone_id is not None:
        statement = statement.where(
            Encounter.zone_id.is_(None) if zone_id == NO_ZONE else Encounter.zone_id == zone_id
        )
    statement = statement.order_by(Encounter.occurred_at.desc(), Encounter.id).limit(limit)
    return list(db.session.scalars(statement.offset(offset)).unique())
