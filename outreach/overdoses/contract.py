"""The sync contract for one overdose response, written once (like the encounter's).

``OverdoseResponsePayload`` is what a phone sends under ``overdose_responses`` in
``POST /api/v1/sync``. Choices only: there is no field for names or free text about the
people involved. The zone key depends on this server's catalogue and is resolved in ingest.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated
from typing import Literal

from flask_babel import lazy_gettext as _l
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import PlainValidator
from pydantic import WithJsonSchema

from outreach.encounters.contract import LOGGED_BY_MESSAGES
from outreach.encounters.contract import OCCURRED_AT_MESSAGES
from outreach.encounters.contract import RECORD_ID_MESSAGES

# The same id, time window and message machinery as encounters, so the two kinds of record
# are checked alike.
from outreach.encounters.contract import UUID_PATTERN
from outreach.encounters.contract import ZONE_MESSAGES
from outreach.encounters.contract import Messages
from outreach.encounters.contract import _occurred_at

# Doses of naloxone used on one person: a long response may take many, never dozens.
MAX_NALOXONE_DOSES = 20
GIVERS = ("worker", "participant", "bystander", "ems")
# "none": nobody gave naloxone (cannot be combined with a giver, nor with doses used).
NO_GIVER = "none"
EMS_CALLED = ("yes", "no", "unknown")
OUTCOMES = ("alive", "transported", "died", "unknown")

Giver = Literal["worker", "participant", "bystander", "ems", "none"]


class OverdoseResponsePayload(BaseModel):
    """One overdose response as logged on a phone. Unknown extra fields are ignored. A
    record breaking these rules does not fail the request: it is answered 'rejected' with
    field-level errors."""

    model_config = ConfigDict(extra="ignore", strict=True, title="OverdoseResponse", frozen=True)

    id: Annotated[
        str,
        Field(
            pattern=UUID_PATTERN,
            description="Made on the phone when the record is saved; the idempotency key.",
            json_schema_extra={"format": "uuid"},
        ),
        RECORD_ID_MESSAGES,
    ]
    occurred_at: Annotated[
        datetime,
        PlainValidator(_occurred_at),
        WithJsonSchema({"type": "string", "format": "date-time"}),
        Field(
            description=(
                "When the overdose happened: ISO 8601 with a UTC offset (or Z); at most 24 "
                "hours ahead of the server clock and at most 366 days old."
            )
        ),
        OCCURRED_AT_MESSAGES,
    ]
    zone: Annotated[
        str | None,
        Field(description="A zone key from the catalogue; blank or null for none."),
        ZONE_MESSAGES,
    ] = None
    logged_by: Annotated[
        str | None,
        Field(
            max_length=150,
            description=(
                "Username of the account that logged the record on the phone; a record "
                "another account logged is rejected (under logged_by)."
            ),
        ),
        LOGGED_BY_MESSAGES,
    ] = None
    naloxone_doses: Annotated[
        int,
        Field(ge=0, le=MAX_NALOXONE_DOSES, description="Doses of naloxone used, by anyone."),
        Messages(
            _l(
                "Enter a whole number from %(low)d to %(high)d.",
                low=0,
                high=MAX_NALOXONE_DOSES,
            )
        ),
    ] = 0
    given_by: Annotated[
        list[Giver],
        Field(
            max_length=len(GIVERS) + 1,
            description=(
                'Who gave naloxone: any of worker, participant, bystander, ems; or ["none"] '
                "(then naloxone_doses must be 0). Empty: not known."
            ),
        ),
        Messages(_l("Choose who gave naloxone from the list.")),
    ] = []
    ems_called: Annotated[
        Literal["yes", "no", "unknown"],
        Field(description="Whether emergency services were called."),
        Messages(_l("Choose whether emergency services were called.")),
    ]
    outcome: Annotated[
        Literal["alive", "transported", "died", "unknown"],
        Field(description="What happened to the person, as far as the worker knows."),
        Messages(_l("Choose the outcome.")),
    ]


def _field_messages() -> Mapping[str, Messages]:
    return {
        name: next(m for m in info.metadata if isinstance(m, Messages))
        for name, info in OverdoseResponsePayload.model_fields.items()
    }


FIELD_MESSAGES = _field_messages()


def json_schema() -> dict:
    """The JSON Schema of one overdose response, for the OpenAPI document."""
    return OverdoseResponsePayload.model_json_schema(ref_template="#/components/schemas/{model}")
