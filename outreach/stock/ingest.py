"""A batch of stock events from a phone: each stored exactly once, one result per record.

The same contract as encounters (outreach.encounters.ingest): an id this account stored
already, or repeated in the batch, answers ``duplicate`` (another account's: ``conflict``);
a record that breaks the contract, names an unknown item or was made by another account
answers ``rejected`` with a message per field, alone; the others are stored in one
transaction with ``INSERT … ON CONFLICT DO NOTHING``, so a copy racing in from another
request becomes ``duplicate`` (or ``conflict``), never an error.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from pydantic import ValidationError

from outreach import clock
from outreach.database import dialect_insert
from outreach.database import write_transaction
from outreach.encounters.catalog import load_catalog_index
from outreach.models import StockEvent
from outreach.models import StockEventLine
from outreach.models import utcnow
from outreach.stock.contract import COUNT
from outreach.stock.contract import FIELD_MESSAGES
from outreach.stock.contract import PROBLEM_MESSAGES
from outreach.stock.contract import StockEventPayload
from outreach.sync.batch import CREATED
from outreach.sync.batch import RecordKind
from outreach.sync.batch import answer_batch
from outreach.sync.batch import count

log = logging.getLogger("outreach.sync")

MAX_KEY_IN_MESSAGE = 64


@dataclass(frozen=True)
class CleanStockEvent:
    id: uuid.UUID
    type: str
    occurred_at: object
    local_date: object
    lines: list[dict]


def ingest_stock_events(records: list, worker_id: int, author: str | None) -> list[dict]:
    """Validate and store a batch of stock events; one result per record, in order."""
    supplies = load_catalog_index().supplies
    now = clock.now()
    timezone = ZoneInfo(current_app.config["PROGRAM_TIMEZONE"])
    kind = RecordKind(
        id_column=StockEvent.__table__.c.id,
        owner_column=StockEvent.__table__.c.worker_id,
        check=lambda raw, _record_id: validate_stock_event(raw, supplies, now, timezone),
        id_of=lambda clean: clean.id,
        store=lambda events: _store(events, worker_id),
    )
    results = answer_batch(records, kind, author, worker_id)
    log.info(
        "sync stock worker=%s records=%d created=%d",
        worker_id,
        len(records),
        count(results, CREATED),
    )
    return results


def validate_stock_event(
    raw: object, supplies: dict[str, int], now, timezone: ZoneInfo
) -> tuple[CleanStockEvent | None, dict[str, str]]:
    """The clean event, or the errors by field (``items.<key>`` for one item)."""
    if not isinstance(raw, dict):
        return None, {"record": _("Each record must be a JSON object.")}
    try:
        payload = StockEventPayload.model_validate(raw, context={"now": now})
    except ValidationError as error:
        return None, _errors(error)
    except RecursionError:
        return None, {"record": _("Each record must be a JSON object.")}
    errors: dict[str, str] = {}
    lines = []
    for key, quantity in payload.items.items():
        item_id = supplies.get(key)
        if item_id is None:
            errors[f"items.{key[:MAX_KEY_IN_MESSAGE]}"] = _("unknown item")
            continue
        lines.append(
            {
                "item_id": item_id,
                "quantity": quantity,
                "expected": (payload.expected or {}).get(key) if payload.type == COUNT else None,
                "reason": (payload.reasons or {}).get(key),
            }
        )
    if errors:
        return None, errors
    occurred_at = payload.occurred_at
    return (
        CleanStockEvent(
            id=uuid.UUID(payload.id),
            type=payload.type,
            occurred_at=occurred_at.astimezone(UTC).replace(tzinfo=None),
            local_date=occurred_at.astimezone(timezone).date(),
            lines=lines,
        ),
        {},
    )


def _errors(error: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for problem in error.errors(include_url=False, include_input=False):
        location = problem["loc"]
        if problem["type"] in PROBLEM_MESSAGES:
            name, message = PROBLEM_MESSAGES[problem["type"]]
            key = str(problem.get("ctx", {}).get("key", ""))[:MAX_KEY_IN_MESSAGE]
            errors.setdefault(f"{name}.{key}", str(message))
            continue
        name = str(location[0]) if location else "record"
        messages = FIELD_MESSAGES.get(name)
        if messages is None:
            errors.setdefault("record", _("Each record must be a JSON object."))
        elif len(location) > 1 and isinstance(location[1], str):
            path = f"{name}.{location[1][:MAX_KEY_IN_MESSAGE]}"
            errors.setdefault(path, (messages.items or messages).message(problem["type"]))
        else:
            errors.setdefault(name, messages.message(problem["type"]))
    # A lone surrogate in a key cannot be encoded in the answer.
    return {k.encode("utf-8", "replace").decode("utf-8"): v for k, v in errors.items()}


def _store(events: list[CleanStockEvent], worker_id: int) -> set[uuid.UUID]:
    received_at = utcnow()
    rows = [
        {
            "id": e.id,
            "type": e.type,
            "worker_id": worker_id,
            "occurred_at": e.occurred_at,
            "local_date": e.local_date,
            "received_at": received_at,
        }
        for e in events
    ]
    table = StockEvent.__table__
    with write_transaction() as connection:
        statement = (
            dialect_insert(connection, table)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(table.c.id)
        )
        inserted = {
            row_id for row in rows for row_id in connection.execute(statement, row).scalars()
        }
        lines = [{"event_id": e.id, **line} for e in events if e.id in inserted for line in e.lines]
        if lines:
            connection.execute(sa.insert(StockEventLine.__table__), lines)
    return inserted
