"""The sync contract for one stock event (a load-out, a count or an adjustment), written once.

``StockEventPayload`` is what a phone sends under ``"stock_events"`` in ``POST /api/v1/sync``.
The validator and the OpenAPI document both come from it, as for encounters
(outreach.encounters.contract); catalogue keys are resolved after this shape check.
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
from pydantic import model_validator
from pydantic_core import PydanticCustomError

from outreach.encounters.contract import MAX_SUPPLY_QUANTITY
from outreach.encounters.contract import OCCURRED_AT_MESSAGES
from outreach.encounters.contract import RECORD_ID_MESSAGES
from outreach.encounters.contract import UUID_PATTERN
from outreach.encounters.contract import Messages
from outreach.encounters.contract import _occurred_at

LOAD = "load"
COUNT = "count"
ADJUSTMENT = "adjustment"
EVENT_TYPES = (LOAD, COUNT, ADJUSTMENT)

# Why a bag holds less than expected: a fixed list, never free text (it could name someone).
REASONS = {
    "unrecorded": _l("Given out without a record"),
    "lost": _l("Lost"),
    "damaged": _l("Damaged"),
    "returned": _l("Returned to stock"),
}
# Where a difference nobody gave a reason for is counted (a record that reached the server
# after the count, or a bag holding more than expected). Never chosen on a phone.
NO_REASON = "none"
# An expected figure can be negative (more handed out than loaded); it is bounded all the same.
MAX_EXPECTED = 1_000_000
MAX_ITEMS = 200

Reason = Literal["unrecorded", "lost", "damaged", "returned"]
Quantity = Annotated[int, Field(ge=0, le=MAX_SUPPLY_QUANTITY)]


def _quantities() -> Messages:
    return Messages(
        _l("Items must map item keys to quantities."),
        items=Messages(
            _l("Enter a whole number from %(low)d to %(high)d.", low=0, high=MAX_SUPPLY_QUANTITY)
        ),
    )


class StockEventPayload(BaseModel):
    """One change to a worker's bag, made on the phone. A load-out adds ``items`` to the bag;
    a count says what the bag holds (``items``), with what the phone expected (``expected``)
    and a reason for each item short of it (``reasons``); an adjustment takes ``items`` out of
    the bag, each with a reason. Unknown extra fields are ignored; a record breaking these
    rules is answered 'rejected' with field-level errors."""

    model_config = ConfigDict(extra="ignore", strict=True, title="StockEvent", frozen=True)

    id: Annotated[
        str,
        Field(
            pattern=UUID_PATTERN,
            description="Made on the phone when the event is saved; the idempotency key.",
            json_schema_extra={"format": "uuid"},
        ),
        RECORD_ID_MESSAGES,
    ]
    type: Annotated[
        Literal["load", "count", "adjustment"],
        Field(description="load, count or adjustment."),
        Messages(_l('The type must be "load", "count" or "adjustment".')),
    ]
    occurred_at: Annotated[
        datetime,
        PlainValidator(_occurred_at),
        WithJsonSchema({"type": "string", "format": "date-time"}),
        Field(description="ISO 8601 with a UTC offset, in the same window as encounters."),
        OCCURRED_AT_MESSAGES,
    ]
    logged_by: Annotated[
        str | None,
        Field(max_length=150, description="Username of the account that made the record."),
        Messages(_l("This must be the username of the account that logged the record.")),
    ] = None
    items: Annotated[
        dict[str, Quantity],
        Field(
            min_length=1,
            max_length=MAX_ITEMS,
            description=(
                f"Supply item keys, each with a whole number 0-{MAX_SUPPLY_QUANTITY}: loaded "
                "(load, at least 1), counted in the bag (count), or taken out (adjustment, "
                "at least 1)."
            ),
        ),
        _quantities(),
    ]
    expected: Annotated[
        dict[str, Annotated[int, Field(ge=-MAX_EXPECTED, le=MAX_EXPECTED)]] | None,
        Field(description="Count only: what the phone expected each item's bag to hold."),
        Messages(
            _l("Expected quantities must map item keys to whole numbers."),
            items=Messages(_l("Expected quantities must be whole numbers.")),
        ),
    ] = None
    reasons: Annotated[
        dict[str, Reason] | None,
        Field(
            description=(
                "Why an item's bag holds less than expected (count) or why it was taken out "
                "(adjustment): unrecorded (given out without a record), lost, damaged or "
                "returned (to stock)."
            )
        ),
        Messages(
            _l("Reasons must map item keys to reasons."),
            items=Messages(
                _l("Choose a reason: given out without a record, lost, damaged or returned.")
            ),
        ),
    ] = None

    @model_validator(mode="after")
    def _by_type(self) -> StockEventPayload:
        """The rules that depend on the type, each reported on its item."""
        reasons = self.reasons or {}
        for key, quantity in self.items.items():
            if self.type != COUNT and quantity < 1:
                raise PydanticCustomError("at_least_one", "at least one", {"key": key})
            short = self.type == COUNT and (self.expected or {}).get(key, quantity) > quantity
            if (self.type == ADJUSTMENT or short) and key not in reasons:
                raise PydanticCustomError("reason_needed", "reason needed", {"key": key})
        return self


PROBLEM_MESSAGES = {
    "at_least_one": ("items", _l("Enter at least 1.")),
    "reason_needed": (
        "reasons",
        _l("Choose a reason: given out without a record, lost, damaged or returned."),
    ),
}


def _field_messages() -> Mapping[str, Messages]:
    return {
        name: next(m for m in info.metadata if isinstance(m, Messages))
        for name, info in StockEventPayload.model_fields.items()
    }


FIELD_MESSAGES = _field_messages()


def json_schema() -> dict:
    """The JSON Schema of one stock event, for the OpenAPI document."""
    return StockEventPayload.model_json_schema(ref_template="#/components/schemas/{model}")
