"""Check one encounter record from a phone: the contract's shape, then this server's data.

Two steps, each reporting problems per field with a message a worker can act on (messages
never repeat the participant code):

1. ``EncounterPayload`` (contract.py) checks types, limits and the participant code's form.
2. ``resolve`` turns the payload into a ``CleanEncounter``: catalogue keys to ids, the time
   to UTC and the program's local day, and the participant code to its keyed hash.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from pydantic import ValidationError

from outreach import sealing
from outreach.encounters.catalog import CatalogIndex
from outreach.encounters.contract import FIELD_MESSAGES
from outreach.encounters.contract import MAX_PEOPLE_SERVED as MAX_PEOPLE_SERVED
from outreach.encounters.contract import MAX_REVERSALS as MAX_REVERSALS
from outreach.encounters.contract import MAX_SUPPLY_QUANTITY as MAX_SUPPLY_QUANTITY
from outreach.encounters.contract import MAX_SYRINGES_COLLECTED as MAX_SYRINGES_COLLECTED
from outreach.encounters.contract import EncounterPayload
from outreach.encounters.contract import to_grams
from outreach.encounters.records import CleanEncounter
from outreach.privacy import hash_normalised_code

MAX_KEY_IN_MESSAGE = 64
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class ValidationContext:
    """What checking a batch needs from the server: its catalogue, clock, zone and key."""

    catalog: CatalogIndex
    now: datetime  # aware UTC
    timezone: ZoneInfo
    code_key: str
    # Set only during a participant-code key rotation (see key_rotation.py).
    previous_code_key: str | None = None


def parse_record_id(raw: object) -> uuid.UUID | None:
    """The record's id when it is a canonical UUID string, else None (checked later)."""
    if not isinstance(raw, dict):
        return None
    value = raw.get("id")
    # Exactly 36 characters: "uuid\n" or "{uuid}" are not ids (UUID() would accept some).
    if (
        isinstance(value, str)
        and len(value) == 36
        and value[8] == value[13] == value[18] == value[23] == "-"
        and _HEX_DIGITS.issuperset(value.replace("-", ""))
    ):
        return uuid.UUID(value)
    return None


def echo_id(raw: object) -> str | None:
    """The id to repeat in the answer: the record's own when it is a short string."""
    if isinstance(raw, dict):
        value = raw.get("id")
        if isinstance(value, str) and len(value) <= 64:
            return _printable(value)
    return None


def validate_encounter(
    raw: object, context: ValidationContext, record_id: uuid.UUID | None = None
) -> tuple[CleanEncounter | None, dict[str, str]]:
    """Check one record; return the clean record or the errors by field.

    ``record_id`` is ``parse_record_id(raw)`` when the caller has it already.
    """
    if not isinstance(raw, dict):
        return None, {"record": _("Each record must be a JSON object.")}
    # A sealed code is opened first, then checked exactly like a typed one.
    seal_errors: dict[str, str] = {}
    if raw.get(sealing.SEALED_FIELD) is not None:
        opened = sealing.participant_code_of(raw, seal_errors)
        raw = {**raw, "participant_code": opened, sealing.SEALED_FIELD: None}
    try:
        payload = EncounterPayload.model_validate(raw, context={"now": context.now})
    except ValidationError as error:
        errors = contract_errors(error)
        # Also name unknown catalogue keys in the fields that had the right shape.
        _resolve_keys(raw, context.catalog, errors, skip=errors)
        return None, {**errors, **seal_errors}
    except RecursionError:
        return None, {"record": _("Each record must be a JSON object.")}
    clean, errors = resolve(payload, context, record_id)
    if seal_errors:
        return None, {**errors, **seal_errors}
    return clean, errors


def contract_errors(error: ValidationError) -> dict[str, str]:
    """Pydantic's errors as ``{field or field.key: translated message}``."""
    errors: dict[str, str] = {}
    for problem in error.errors(include_url=False, include_context=False, include_input=False):
        location = problem["loc"]
        name = str(location[0]) if location else "record"
        messages = FIELD_MESSAGES.get(name)
        if messages is None:
            errors.setdefault("record", _("Each record must be a JSON object."))
            continue
        if name == sealing.SEALED_FIELD:
            # The phone shows the code field, which the worker types again.
            name = "participant_code"
        if len(location) > 1 and isinstance(location[1], str):
            # A value inside an object field: named by its key (supplies.<item>).
            key = f"{name}.{_short(location[1])}"
            errors.setdefault(key, (messages.items or messages).message(problem["type"]))
        else:
            errors.setdefault(name, messages.message(problem["type"]))
    return errors


def resolve(
    payload: EncounterPayload, context: ValidationContext, record_id: uuid.UUID | None = None
) -> tuple[CleanEncounter | None, dict[str, str]]:
    """A payload that has the contract's shape, resolved against this server's data."""
    keys = _known_keys(payload, context.catalog)
    if keys is None:
        # Some key is not in the catalogue: name each one (the slower, thorough way).
        errors: dict[str, str] = {}
        _resolve_keys(
            {"zone": payload.zone, "supplies": payload.supplies, "referrals": payload.referrals},
            context.catalog,
            errors,
        )
        return None, errors
    zone_id, supplies, referral_ids = keys
    occurred_at = payload.occurred_at
    participant_hash, previous_participant_hash = resolve_participant(payload, context)
    return (
        CleanEncounter(
            id=record_id or uuid.UUID(payload.id),
            occurred_at=occurred_at.astimezone(UTC).replace(tzinfo=None),
            local_date=occurred_at.astimezone(context.timezone).date(),
            zone_id=zone_id,
            participant_hash=participant_hash,
            people_served=payload.people_served,
            syringes_collected=payload.syringes_collected,
            naloxone_reversals_reported=payload.naloxone_reversals_reported,
            syringes_collected_grams=_grams(payload),
            supplies=supplies,
            referral_type_ids=referral_ids,
            previous_participant_hash=previous_participant_hash,
        ),
        {},
    )


def _known_keys(
    payload: EncounterPayload, catalog: CatalogIndex
) -> tuple[int | None, dict[int, int], list[int]] | None:
    """``_resolve_keys`` for a record whose keys are all in the catalogue (the usual case),
    with the same results; None when any key is unknown."""
    zone_id = None
    if payload.zone:
        zone_id = catalog.zones.get(payload.zone)
        if zone_id is None:
            return None
    supplies: dict[int, int] = {}
    if payload.supplies:
        lookup = catalog.supplies.get
        supplies = {lookup(key): quantity for key, quantity in payload.supplies.items()}
        if None in supplies:
            return None
    referral_ids: list[int] = []
    if payload.referrals:
        lookup = catalog.referral_types.get
        # Each type once, in the order first listed.
        referral_ids = list(dict.fromkeys(map(lookup, payload.referrals)))
        if None in referral_ids:
            return None
    return zone_id, supplies, referral_ids


def _grams(payload: EncounterPayload) -> int:
    weight = payload.syringes_collected_weight
    return 0 if weight is None else to_grams(weight.value, weight.unit)


def resolve_participant(
    payload: EncounterPayload, context: ValidationContext
) -> tuple[str | None, str | None]:
    """The keyed hash of the record's participant code (already normalised), or None; and,
    during a key rotation, its hash under the previous key."""
    code = payload.participant_code
    if code is None:
        return None, None
    previous = context.previous_code_key
    return (
        hash_normalised_code(code, context.code_key),
        hash_normalised_code(code, previous) if previous else None,
    )


def _short(key: str) -> str:
    return _printable(key[:MAX_KEY_IN_MESSAGE])


def _printable(text: str) -> str:
    # A lone surrogate cannot be encoded: answer with a replacement character instead.
    return text.encode("utf-8", "replace").decode("utf-8") if not text.isascii() else text


def _resolve_keys(
    raw: dict, catalog: CatalogIndex, errors: dict[str, str], skip: dict | None = None
) -> tuple[int | None, dict[int, int], list[int]]:
    """Catalogue keys to ids; unknown keys are errors. Tolerates values of the wrong type
    (they were reported by the contract), so it can also run on a rejected record."""
    skip = skip or {}
    zone_id = None
    zone = raw.get("zone")
    if isinstance(zone, str) and zone and "zone" not in skip:
        zone_id = catalog.zones.get(zone)
        if zone_id is None:
            errors["zone"] = _("unknown zone")
    supplies: dict[int, int] = {}
    given = raw.get("supplies")
    if isinstance(given, dict) and "supplies" not in skip:
        for key, quantity in given.items():
            item_id = catalog.supplies.get(key)
            if item_id is None:
                path = f"supplies.{_short(key)}"
                if path not in skip:
                    errors[path] = _("unknown item")
            else:
                supplies[item_id] = quantity
    referral_ids: list[int] = []
    listed = raw.get("referrals")
    if isinstance(listed, list) and "referrals" not in skip:
        for key in listed:
            if not isinstance(key, str):
                continue
            referral_id = catalog.referral_types.get(key)
            if referral_id is None:
                errors[f"referrals.{_short(key)}"] = _("unknown referral type")
            elif referral_id not in referral_ids:
                referral_ids.append(referral_id)
    return zone_id, supplies, referral_ids
