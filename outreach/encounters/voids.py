"""Voiding an encounter entered by mistake: it stays stored, leaves every report, is audited."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from outreach.auth.services import record_audit
from outreach.database import write_session
from outreach.encounters import rollups
from outreach.extensions import db
from outreach.models import Encounter
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
