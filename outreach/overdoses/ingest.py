"""Ingest overdose responses from a phone: check each record, store each id exactly once.

The same contract as encounters (``outreach.encounters.ingest``): one result per record, in
order, ``created`` / ``duplicate`` / ``rejected`` with field-level errors; an id this account
stored already (or repeated in the batch) is ``duplicate`` and changes nothing (another
account's: ``conflict``), also when two copies
of a batch race (the insert skips an id that is present at the database).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from pydantic import ValidationError

from outreach import clock
from outreach.database import dialect_insert
from outreach.database import write_transaction
from outreach.encounters.catalog import load_catalog_index
from outreach.encounters.ingest import insert_many
from outreach.models import OverdoseResponse
from outreach.models import utcnow
from outreach.overdoses.contract import FIELD_MESSAGES
from outreach.overdoses.contract import GIVERS
from outreach.overdoses.contract import NO_GIVER
from outreach.overdoses.contract import OverdoseResponsePayload
from outreach.sync.batch import CREATED
from outreach.sync.batch import REJECTED
from outreach.sync.batch import RecordKind
from outreach.sync.batch import answer_batch
from outreach.sync.batch import count

log = logging.getLogger("outreach.sync")


@dataclass(frozen=True)
class Context:
    """What checking a batch needs from the server, read once per batch."""

    zones: dict[str, int]
    now: datetime  # aware UTC
    timezone: ZoneInfo


def ingest_overdoses(records: list, worker_id: int | None, author: str | None = None) -> list[dict]:
    """Validate and store a batch of overdose responses; one result per record, in order."""
    context = Context(
        zones=load_catalog_index().zones,
        now=clock.now(),
        timezone=ZoneInfo(current_app.config["PROGRAM_TIMEZONE"]),
    )
    kind = RecordKind(
        id_column=OverdoseResponse.__table__.c.id,
        owner_column=OverdoseResponse.__table__.c.worker_id,
        check=lambda raw, record_id: check(raw, context, record_id),
        id_of=lambda row: row["id"],
        store=lambda rows: _store(rows, worker_id),
    )
    results = answer_batch(records, kind, author, worker_id)
    log.info(
        "sync overdose responses worker=%s records=%d created=%d rejected=%d",
        worker_id,
        len(records),
        count(results, CREATED),
        count(results, REJECTED),
    )
    return results


def check(
    raw: object, context: Context, record_id: uuid.UUID | None = None
) -> tuple[dict | None, dict[str, str]]:
    """One record: the row to store, or the errors by field."""
    if not isinstance(raw, dict):
        return None, {"record": _("Each record must be a JSON object.")}
    try:
        payload = OverdoseResponsePayload.model_validate(raw, context={"now": context.now})
    except ValidationError as error:
        return None, _contract_errors(error, raw, context)
    except RecursionError:
        return None, {"record": _("Each record must be a JSON object.")}
    errors = _zone_errors(payload.zone, context)
    givers = set(payload.given_by)
    if NO_GIVER in givers and (len(givers) > 1 or payload.naloxone_doses > 0):
        errors["given_by"] = _(
            '"Nobody" cannot go with naloxone doses used or with someone who gave it.'
        )
    if errors:
        return None, errors
    occurred_at = payload.occurred_at
    return {
        "id": record_id or uuid.UUID(payload.id),
        "occurred_at": occurred_at.astimezone(UTC).replace(tzinfo=None),
        "local_date": occurred_at.astimezone(context.timezone).date(),
        "zone_id": context.zones[payload.zone] if payload.zone else None,
        "naloxone_doses": payload.naloxone_doses,
        **{f"given_by_{giver}": giver in givers for giver in GIVERS},
        "ems_called": payload.ems_called,
        "outcome": payload.outcome,
    }, {}


def _zone_errors(zone: object, context: Context) -> dict[str, str]:
    if isinstance(zone, str) and zone and zone not in context.zones:
        return {"zone": _("unknown zone")}
    return {}


def _contract_errors(error: ValidationError, raw: dict, context: Context) -> dict[str, str]:
    """Pydantic's errors as ``{field: translated message}``, plus an unknown zone."""
    errors: dict[str, str] = {}
    for problem in error.errors(include_url=False, include_context=False, include_input=False):
        location = problem["loc"]
        name = str(location[0]) if location else "record"
        messages = FIELD_MESSAGES.get(name)
        if messages is None:
            errors.setdefault("record", _("Each record must be a JSON object."))
        else:
            errors.setdefault(name, messages.message(problem["type"]))
    if "zone" not in errors:
        errors.update(_zone_errors(raw.get("zone"), context))
    return errors


def _store(rows: list[dict], worker_id: int | None) -> set[uuid.UUID]:
    """Insert the rows in one transaction; return the ids inserted."""
    received_at = utcnow()
    rows = [{**row, "worker_id": worker_id, "received_at": received_at} for row in rows]
    table = OverdoseResponse.__table__
    with write_transaction() as connection:
        if connection.dialect.name == "sqlite":
            # SQLite's writer holds the database lock from BEGIN IMMEDIATE: an id absent now
            # stays absent until this transaction ends.
            present = set(
                connection.scalars(
                    sa.select(table.c.id).where(table.c.id.in_([row["id"] for row in rows]))
                )
            )
            rows = [row for row in rows if row["id"] not in present]
            insert_many(connection, table, rows)
            return {row["id"] for row in rows}
        statement = (
            dialect_insert(connection, table)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(table.c.id)
        )
        return set(connection.execute(statement, rows).scalars())
