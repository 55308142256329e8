"""The sync contract for one encounter, written once.

``EncounterPayload`` is what a phone sends: each field with its type, limits, description and
the messages a worker sees when a value breaks them. Validation (``validation.py``) and the
OpenAPI document (``outreach.sync.openapi``) are both generated from it, so they cannot drift
apart. Catalogue keys and the participant code's hash depend on this server's data and key;
they are resolved after this shape check, in ``validation.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from datetime import timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal
from typing import Annotated
from typing import Any
from typing import Literal

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from pydantic import AfterValidator
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import PlainValidator
from pydantic import ValidationInfo
from pydantic import WithJsonSchema
from pydantic_core import PydanticCustomError

from outreach import privacy
from outreach.sealing import MAX_TOKEN_LENGTH

MAX_SUPPLY_QUANTITY = 10_000
MAX_PEOPLE_SERVED = 100
MAX_SYRINGES_COLLECTED = 100_000
MAX_REVERSALS = 50
# A full 5-gallon sharps bin weighs about 10 kg; 500 (kg or lb) leaves room for a drop box.
MAX_COLLECTED_WEIGHT = 500
# The lightest weight taken: 0.01 lb is 5 g, so every accepted weight is at least a gram.
MIN_COLLECTED_WEIGHT = 0.01
GRAMS_PER_UNIT = {"kg": Decimal(1000), "lb": Decimal("453.59237")}
MAX_CODE_LENGTH = privacy.MAX_CODE_LENGTH
MAX_FUTURE = timedelta(hours=24)
MAX_AGE = timedelta(days=366)
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class Messages:
    """What a worker reads when a field breaks the contract: one message per kind of
    problem (pydantic's error type, or our own), with a default; ``items`` for the values
    inside an object or list field."""

    def __init__(
        self, default: LazyString, items: Messages | None = None, **by_problem: LazyString
    ):
        self.default, self.items, self.by_problem = default, items, by_problem

    def message(self, problem: str) -> str:
        return str(self.by_problem.get(problem, self.default))


def _whole_number(low: int, high: int) -> Messages:
    return Messages(_l("Enter a whole number from %(low)d to %(high)d.", low=low, high=high))


def _occurred_at(value: Any, info: ValidationInfo) -> datetime:
    """An ISO 8601 time with a UTC offset, inside the window around the server's clock."""
    if not isinstance(value, str) or not value.strip():
        raise PydanticCustomError("missing", "missing")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise PydanticCustomError("unreadable", "unreadable") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise PydanticCustomError("no_offset", "no offset")
    now = info.context["now"]
    if parsed > now + MAX_FUTURE:
        raise PydanticCustomError("future", "future")
    if parsed < now - MAX_AGE:
        raise PydanticCustomError("too_old", "too old")
    return parsed


def _participant_code(value: str | None) -> str | None:
    """The normalised code (None when blank), or the reason it cannot be used."""
    if value is None or not value.strip():
        return None
    problem, normalised = privacy.checked_participant_code(value)
    if problem:
        raise PydanticCustomError(problem, problem)
    return normalised


Quantity = Annotated[int, Field(ge=1, le=MAX_SUPPLY_QUANTITY)]


def to_grams(value: float | int, unit: str) -> int:
    """A weight in whole grams, half up (1 lb = 453.59237 g exactly)."""
    exact = Decimal(repr(value)) * GRAMS_PER_UNIT[unit]
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class CollectedWeight(BaseModel):
    """Collected syringes weighed instead of counted."""

    model_config = ConfigDict(extra="ignore", strict=True, title="CollectedWeight", frozen=True)

    value: Annotated[
        float,
        Field(
            ge=MIN_COLLECTED_WEIGHT,
            le=MAX_COLLECTED_WEIGHT,
            allow_inf_nan=False,
            description="The weight, in the unit given.",
        ),
    ]
    unit: Annotated[Literal["kg", "lb"], Field(description="Kilograms or pounds.")]


# Messages every record kind shares (overdose responses and stock events use them too).
OCCURRED_AT_MESSAGES = Messages(
    _l("The date and time are missing."),
    unreadable=_l(
        "The date and time could not be read; use a form like 2026-11-21T22:15:00-05:00."
    ),
    no_offset=_l("The date and time need a UTC offset, like 2026-11-21T22:15:00-05:00."),
    future=_l("The date is in the future. Check the phone's date and time, then fix the record."),
    too_old=_l("The date is more than a year ago. Check it and fix the record."),
)
# For kinds other than encounters ("log the encounter again" would be the wrong advice).
RECORD_ID_MESSAGES = Messages(
    _l("The id must be a UUID like 6f1c2a8e-3b7d-4c1e-9a55-2f0c7d9e8b10."),
    missing=_l("The record has no id. Discard it and enter it again."),
)
ZONE_MESSAGES = Messages(_l("This must be a key from the catalogue."))
LOGGED_BY_MESSAGES = Messages(
    _l("This must be the username of the account that logged the record.")
)


class EncounterPayload(BaseModel):
    """One anonymous encounter as logged on a phone. Unknown extra fields are ignored. A
    record breaking these rules does not fail the request: it is answered 'rejected' with
    field-level errors."""

    model_config = ConfigDict(extra="ignore", strict=True, title="Encounter", frozen=True)

    id: Annotated[
        str,
        Field(
            pattern=UUID_PATTERN,
            description="Made on the phone when the record is saved; the idempotency key.",
            json_schema_extra={"format": "uuid"},
        ),
        Messages(
            _l("The id must be a UUID like 6f1c2a8e-3b7d-4c1e-9a55-2f0c7d9e8b10."),
            missing=_l("The record has no id. Discard it and log the encounter again."),
        ),
    ]
    occurred_at: Annotated[
        datetime,
        PlainValidator(_occurred_at),
        WithJsonSchema({"type": "string", "format": "date-time"}),
        Field(
            description=(
                "ISO 8601 with a UTC offset (or Z); at most 24 hours ahead of the server "
                "clock and at most 366 days old."
            )
        ),
        OCCURRED_AT_MESSAGES,
    ]
    zone: Annotated[
        str | None,
        Field(description="A zone key from the catalogue; blank or null for none."),
        ZONE_MESSAGES,
    ] = None
    participant_code: Annotated[
        str | None,
        AfterValidator(_participant_code),
        Field(
            description=(
                f"1-{MAX_CODE_LENGTH} characters after trimming (blank means none), with a "
                "letter or digit, and nothing that identifies a person: no email address "
                "(also spelled out: at … dot), no date of birth (numbers with any "
                "separator, or a month's name in English or Spanish), no run of "
                f"{privacy.PHONE_DIGITS} or more digits whatever separates them, and not "
                "two or more words that read as a name. Checked after NFKC. Normalised "
                "(case, width, spaces, -_./ and invisible characters ignored) and hashed "
                "with a server key; never stored or returned."
            ),
            json_schema_extra={"maxLength": MAX_CODE_LENGTH},
        ),
        Messages(
            _l("The participant code must be text."),
            too_long=_l(
                "The participant code is too long (at most %(max)d characters).",
                max=MAX_CODE_LENGTH,
            ),
            unreadable=_l("The participant code holds characters that cannot be read."),
            no_letter_or_digit=_l("The participant code needs letters or digits."),
            email=_l(
                "A participant code must not contain an email address: it would identify "
                "the person."
            ),
            phone=_l(
                "A participant code must not contain a phone number or a long number "
                "(%(digits)d or more digits, whatever separates them): it would identify "
                "the person.",
                digits=privacy.PHONE_DIGITS,
            ),
            dob=_l(
                "A participant code must not contain a date of birth (day, month and "
                "year): the year alone is enough."
            ),
            name=_l("A participant code must not be a name: it would identify the person."),
        ),
    ] = None
    participant_code_sealed: Annotated[
        str | None,
        Field(
            max_length=MAX_TOKEN_LENGTH,
            description=(
                "The participant code sealed on the phone at save time: JWE compact, alg "
                "ECDH-ES, enc A256GCM, to the seal_key of GET /api/v1/session (its kid in the "
                "header). Opened by the server, then checked and hashed exactly like "
                "participant_code; send one or the other. Errors are reported under "
                "participant_code, the field the worker types again."
            ),
        ),
        Messages(_l("The participant code could not be read. Type it again and save.")),
    ] = None
    logged_by: Annotated[
        str | None,
        Field(
            max_length=150,
            description=(
                "Username of the account that logged the record on the phone. A record "
                "another account logged is rejected (under logged_by), never stored under "
                "the signed-in one; phones that predate it may leave it out."
            ),
        ),
        LOGGED_BY_MESSAGES,
    ] = None
    people_served: Annotated[
        int,
        Field(ge=1, le=MAX_PEOPLE_SERVED, description="Including secondary distribution."),
        _whole_number(1, MAX_PEOPLE_SERVED),
    ] = 1
    supplies: Annotated[
        dict[str, Quantity] | None,
        Field(description="Supply item keys from the catalogue, each with a quantity."),
        Messages(
            _l("Supplies must map item keys to quantities."),
            items=_whole_number(1, MAX_SUPPLY_QUANTITY),
        ),
    ] = None
    syringes_collected: Annotated[
        int, Field(ge=0, le=MAX_SYRINGES_COLLECTED), _whole_number(0, MAX_SYRINGES_COLLECTED)
    ] = 0
    syringes_collected_weight: Annotated[
        CollectedWeight | None,
        Field(
            description=(
                "Collected syringes weighed instead of (or as well as) counted: "
                f'{{"value": a number from {MIN_COLLECTED_WEIGHT} to {MAX_COLLECTED_WEIGHT}, '
                '"unit": "kg" or "lb"}. Stored in whole grams (half up); reports estimate a '
                "count with the program's syringes-per-pound factor."
            )
        ),
        Messages(
            _l(
                "The weight of syringes collected must be a number from %(min)s to %(max)d, "
                'with the unit "kg" or "lb".',
                min=MIN_COLLECTED_WEIGHT,
                max=MAX_COLLECTED_WEIGHT,
            )
        ),
    ] = None
    naloxone_reversals_reported: Annotated[
        int, Field(ge=0, le=MAX_REVERSALS), _whole_number(0, MAX_REVERSALS)
    ] = 0
    referrals: Annotated[
        list[str] | None,
        Field(description="Referral type keys from the catalogue."),
        Messages(_l("Referrals must be a list of referral type keys.")),
    ] = None


def _field_messages(model: type[BaseModel]) -> Mapping[str, Messages]:
    found = {}
    for name, info in model.model_fields.items():
        found[name] = next(m for m in info.metadata if isinstance(m, Messages))
    return found


FIELD_MESSAGES = _field_messages(EncounterPayload)


def json_schema() -> dict:
    """The JSON Schema of one encounter, for the OpenAPI document."""
    return EncounterPayload.model_json_schema(ref_template="#/components/schemas/{model}")


def json_schemas() -> dict[str, dict]:
    """The encounter's schema and the schemas it refers to, by name (OpenAPI components)."""
    encounter = json_schema()
    return {"Encounter": encounter, **encounter.pop("$defs", {})}
