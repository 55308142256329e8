"""Check one encounter record from a phone against the data contract in DESIGN.md.

Every problem is reported per field with a message a worker can act on. Messages never
repeat the participant code.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from outreach import sealing
from outreach.privacy import MAX_CODE_LENGTH
from outreach.privacy import normalise_participant_code
from outreach.privacy import participant_hash

MAX_SUPPLY_QUANTITY = 10_000
MAX_PEOPLE_SERVED = 100
MAX_SYRINGES_COLLECTED = 100_000
MAX_REVERSALS = 50
MAX_FUTURE = timedelta(hours=24)
MAX_AGE = timedelta(days=366)
MAX_KEY_IN_MESSAGE = 64

_CANONICAL_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)


@dataclass(frozen=True)
class CatalogIndex:
    """Catalogue keys → database ids, loaded once per batch. Deactivated keys still count:
    a phone with an older catalogue may send them, and the record is still true."""

    supplies: dict[str, int]
    referral_types: dict[str, int]
    zones: dict[str, int]


@dataclass
class CleanEncounter:
    """A record that passed every check, ready to store."""

    id: uuid.UUID
    occurred_at: datetime  # naive UTC
    local_date: date
    zone_id: int | None
    participant_hash: str | None
    people_served: int
    syringes_collected: int
    naloxone_reversals_reported: int
    supplies: dict[int, int] = field(default_factory=dict)
    referral_type_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ValidationContext:
    catalog: CatalogIndex
    now: datetime  # aware UTC
    timezone: ZoneInfo
    code_key: str


def parse_record_id(raw: object) -> tuple[uuid.UUID | None, str | None]:
    """The record's UUID, or an error message."""
    if not isinstance(raw, dict):
        return None, None
    value = raw.get("id")
    if value is None:
        return None, _("The record has no id. Discard it and log the encounter again.")
    if not isinstance(value, str) or not _CANONICAL_UUID.match(value):
        return None, _("The id must be a UUID like 6f1c2a8e-3b7d-4c1e-9a55-2f0c7d9e8b10.")
    return uuid.UUID(value), None


def echo_id(raw: object) -> str | None:
    """The id to repeat in the answer: the record's own when it is a short string."""
    if isinstance(raw, dict):
        value = raw.get("id")
        if isinstance(value, str) and len(value) <= 64:
            return value
    return None


def validate_encounter(
    raw: object,
    context: ValidationContext,
    parsed_id: tuple[uuid.UUID | None, str | None] | None = None,
) -> tuple[CleanEncounter | None, dict[str, str]]:
    """Check one record; return the clean record or the errors by field.

    ``parsed_id`` is ``parse_record_id(raw)`` when the caller has it already.
    """
    if not isinstance(raw, dict):
        return None, {"record": _("Each record must be a JSON object.")}
    errors: dict[str, str] = {}

    record_id, id_error = parsed_id or parse_record_id(raw)
    if id_error:
        errors["id"] = id_error

    occurred_at = _check_occurred_at(raw.get("occurred_at"), context.now, errors)
    # Lazy: the message is only looked up when the key is unknown (this runs per record).
    zone_id = _check_key(
        raw.get("zone"), context.catalog.zones, "zone", _l("unknown zone"), errors, optional=True
    )
    # Hook (phone, issue 13): a sealed code is opened here, then checked like a plain one.
    code = sealing.participant_code_of(raw, errors)
    code_hash = _check_participant_code(code, context.code_key, errors)
    people_served = _check_int(
        raw.get("people_served", 1), "people_served", 1, MAX_PEOPLE_SERVED, errors
    )
    collected = _check_int(
        raw.get("syringes_collected", 0), "syringes_collected", 0, MAX_SYRINGES_COLLECTED, errors
    )
    reversals = _check_int(
        raw.get("naloxone_reversals_reported", 0),
        "naloxone_reversals_reported",
        0,
        MAX_REVERSALS,
        errors,
    )
    supplies = _check_supplies(raw.get("supplies", {}), context.catalog.supplies, errors)
    referral_ids = _check_referrals(
        raw.get("referrals", []), context.catalog.referral_types, errors
    )

    if errors:
        return None, errors
    assert record_id is not None and occurred_at is not None
    return (
        CleanEncounter(
            id=record_id,
            occurred_at=occurred_at.astimezone(UTC).replace(tzinfo=None),
            local_date=occurred_at.astimezone(context.timezone).date(),
            zone_id=zone_id,
            participant_hash=code_hash,
            people_served=people_served,
            syringes_collected=collected,
            naloxone_reversals_reported=reversals,
            supplies=supplies,
            referral_type_ids=referral_ids,
        ),
        {},
    )


def _is_json_integer(value: object) -> bool:
    # bool is a subclass of int in Python; JSON true is not a count.
    return type(value) is int


def _check_int(value: object, name: str, low: int, high: int, errors: dict) -> int:
    if not _is_json_integer(value):
        errors[name] = _("Enter a whole number from %(low)d to %(high)d.", low=low, high=high)
        return low
    if not low <= value <= high:
        errors[name] = _("Enter a whole number from %(low)d to %(high)d.", low=low, high=high)
        return low
    return value


def _check_occurred_at(value: object, now: datetime, errors: dict) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        errors["occurred_at"] = _("The date and time are missing.")
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        errors["occurred_at"] = _(
            "The date and time could not be read; use a form like 2026-11-21T22:15:00-05:00."
        )
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        errors["occurred_at"] = _(
            "The date and time need a UTC offset, like 2026-11-21T22:15:00-05:00."
        )
        return None
    if parsed > now + MAX_FUTURE:
        errors["occurred_at"] = _(
            "The date is in the future. Check the phone's date and time, then fix the record."
        )
        return None
    if parsed < now - MAX_AGE:
        errors["occurred_at"] = _("The date is more than a year ago. Check it and fix the record.")
        return None
    return parsed


def _short(key: str) -> str:
    return key[:MAX_KEY_IN_MESSAGE]


def _check_key(
    value: object,
    known: dict[str, int],
    name: str,
    unknown_message: LazyString,
    errors: dict,
    *,
    optional: bool,
) -> int | None:
    if value is None or (optional and value == ""):
        return None
    if not isinstance(value, str):
        errors[name] = _("This must be a key from the catalogue.")
        return None
    if value not in known:
        errors[name] = str(unknown_message)
        return None
    return known[value]


def _check_participant_code(value: object, key: str, errors: dict) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors["participant_code"] = _("The participant code must be text.")
        return None
    trimmed = value.strip()
    if not trimmed:
        return None
    if len(trimmed) > MAX_CODE_LENGTH:
        errors["participant_code"] = _(
            "The participant code is too long (at most %(max)d characters).", max=MAX_CODE_LENGTH
        )
        return None
    if not normalise_participant_code(trimmed):
        errors["participant_code"] = _("The participant code needs letters or digits.")
        return None
    return participant_hash(trimmed, key)


def _check_supplies(value: object, known: dict[str, int], errors: dict) -> dict[int, int]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors["supplies"] = _("Supplies must map item keys to quantities.")
        return {}
    clean: dict[int, int] = {}
    for key, quantity in value.items():
        path = f"supplies.{_short(key)}"
        if key not in known:
            errors[path] = _("unknown item")
            continue
        if not _is_json_integer(quantity) or not 1 <= quantity <= MAX_SUPPLY_QUANTITY:
            errors[path] = _("Enter a whole number from 1 to %(max)d.", max=MAX_SUPPLY_QUANTITY)
            continue
        clean[known[key]] = quantity
    return clean


def _check_referrals(value: object, known: dict[str, int], errors: dict) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors["referrals"] = _("Referrals must be a list of referral type keys.")
        return []
    clean: list[int] = []
    for key in value:
        if not isinstance(key, str):
            errors["referrals"] = _("Referrals must be a list of referral type keys.")
            continue
        if key not in known:
            errors[f"referrals.{_short(key)}"] = _("unknown referral type")
            continue
        if known[key] not in clean:
            clean.append(known[key])
    return clean
