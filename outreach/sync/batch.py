"""The idempotent answer to one batch of phone records, the same for every record kind.

Each record gets exactly one result, in the order sent:

- ``duplicate``: this account stored its id already, or it came earlier in this batch.
  Nothing changes.
- ``conflict``: its id is held by a record another account sent. Nothing changes; the phone
  gives the record a fresh id and sends it again. (An id is the phone's idempotency key, not
  a claim: answering ``duplicate`` here would make the phone drop a record never stored, so
  anyone who read an id off a shared phone could erase that record by sending it first.)
- ``rejected``: it names an account other than the sender (a shared phone), or fails its
  kind's checks; the errors say why, by field. The rest of the batch goes on.
- ``created``: stored now. If a concurrent copy of the batch stored it first, the insert
  skips it and the answer turns to ``duplicate`` (or ``conflict`` when the copy that won
  came from another account), never an error.

A record kind brings its table's id and worker columns (the ids stored already, and who sent
them, are looked up there), how
to check one record, and how to store the good ones (answering the ids it inserted).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic
from typing import TypeVar

import sqlalchemy as sa

from outreach import device
from outreach.encounters.validation import echo_id
from outreach.encounters.validation import parse_record_id
from outreach.encounters.writes import stored_owners
from outreach.extensions import db

CREATED = "created"
DUPLICATE = "duplicate"
CONFLICT = "conflict"
REJECTED = "rejected"

Clean = TypeVar("Clean")


@dataclass(frozen=True)
class RecordKind(Generic[Clean]):
    """How one kind of record is checked and stored."""

    # The table's id column, where the ids stored already are looked up.
    id_column: sa.Column
    # The table's column naming the account that sent the record.
    owner_column: sa.Column
    # One record (and its parsed id, or None): the clean record, or the errors by field.
    check: Callable[[object, uuid.UUID | None], tuple[Clean | None, dict[str, str]]]
    # The id of a clean record.
    id_of: Callable[[Clean], uuid.UUID]
    # Store the clean records in one transaction; answer the ids inserted.
    store: Callable[[list[Clean]], set[uuid.UUID]]


def answer_batch(
    records: list, kind: RecordKind[Clean], author: str | None, worker_id: int | None
) -> list[dict]:
    """Check and store a batch of one kind from ``worker_id``; one result per record, in order."""
    ids = [parse_record_id(raw) for raw in records]
    wanted = {record_id for record_id in ids if record_id}
    owners = stored_owners(db.session.connection(), kind.id_column, kind.owner_column, list(wanted))
    # End the read transaction before writing, so the write can take SQLite's lock cleanly.
    db.session.rollback()

    results: list[dict] = []
    to_store: list[Clean] = []
    slot_of: dict[uuid.UUID, int] = {}
    for raw, record_id in zip(records, ids, strict=True):
        if record_id is not None and record_id in owners:
            results.append({"id": str(record_id), "status": _held(owners[record_id], worker_id)})
            continue
        if record_id is not None and record_id in slot_of:
            results.append({"id": str(record_id), "status": DUPLICATE})
            continue
        # Never store a record under an account that did not log it.
        errors = device.foreign_author_errors(raw, author)
        clean = None
        if not errors:
            clean, errors = kind.check(raw, record_id)
        if clean is None:
            results.append({"id": echo_id(raw), "status": REJECTED, "errors": errors})
            continue
        clean_id = kind.id_of(clean)
        slot_of[clean_id] = len(results)
        results.append({"id": str(clean_id), "status": CREATED})
        to_store.append(clean)

    if to_store:
        inserted = kind.store(to_store)
        skipped = [kind.id_of(clean) for clean in to_store if kind.id_of(clean) not in inserted]
        if skipped:
            # A concurrent request stored these ids first: whose request was it?
            raced = stored_owners(
                db.session.connection(), kind.id_column, kind.owner_column, skipped
            )
            db.session.rollback()
            for clean_id in skipped:
                results[slot_of[clean_id]]["status"] = _held(raced.get(clean_id), worker_id)
    return results


def _held(owner: object, worker_id: int | None) -> str:
    """The answer for an id already stored by ``owner``, sent now by ``worker_id``."""
    return DUPLICATE if owner is not None and owner == worker_id else CONFLICT


def count(results: list[dict], status: str) -> int:
    return sum(1 for result in results if result["status"] == status)
