"""Property-based fuzzing of the sync validator: any JSON in, a verdict out, never a crash."""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from outreach.encounters.catalog import CatalogIndex
from outreach.encounters.validation import MAX_PEOPLE_SERVED
from outreach.encounters.validation import MAX_SUPPLY_QUANTITY
from outreach.encounters.validation import ValidationContext
from outreach.encounters.validation import validate_encounter

CATALOG = CatalogIndex(
    supplies={"syringe_1ml_27g": 1, "naloxone_nasal": 2},
    referral_types={"moud": 1, "housing": 2},
    zones={"riverside": 1},
)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CONTEXT = ValidationContext(CATALOG, NOW, ZoneInfo("America/New_York"), "key")
FUZZ = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = [
    "id",
    "occurred_at",
    "zone",
    "participant_code",
    "people_served",
    "supplies",
    "syringes_collected",
    "naloxone_reversals_reported",
    "referrals",
]


def _valid_record() -> dict:
    return {
        "id": str(uuid.uuid4()),
        "occurred_at": (NOW - timedelta(hours=3)).isoformat(),
        "zone": "riverside",
        "people_served": 1,
        "supplies": {"syringe_1ml_27g": 10},
        "syringes_collected": 0,
        "naloxone_reversals_reported": 0,
        "referrals": ["moud"],
    }


@FUZZ
@given(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=9) | json_values)
def test_validator_gives_a_verdict_for_any_json(raw):
    clean, errors = validate_encounter(raw, CONTEXT)
    assert (clean is None) == bool(errors)
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in errors.items())


@FUZZ
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_validator_accepts_only_values_within_the_contract(field, value):
    record = _valid_record()
    record[field] = value
    clean, errors = validate_encounter(record, CONTEXT)
    if clean is None:
        assert errors
        return
    # Whatever got through honours every limit of the contract (docs/api.md).
    assert 1 <= clean.people_served <= MAX_PEOPLE_SERVED
    assert clean.syringes_collected >= 0
    assert 0 <= clean.naloxone_reversals_reported <= 50
    assert all(1 <= q <= MAX_SUPPLY_QUANTITY for q in clean.supplies.values())
    assert set(clean.supplies) <= set(CATALOG.supplies.values())
    assert set(clean.referral_type_ids) <= set(CATALOG.referral_types.values())
    occurred = clean.occurred_at.replace(tzinfo=UTC)
    assert NOW - timedelta(days=366) <= occurred <= NOW + timedelta(hours=24)
    for name in ("people_served", "syringes_collected", "naloxone_reversals_reported"):
        if field == name:
            assert type(value) is int


@FUZZ
@given(st.integers(min_value=-(10**20), max_value=10**20))
def test_quantity_is_accepted_exactly_in_range(quantity):
    record = _valid_record()
    record["supplies"] = {"naloxone_nasal": quantity}
    clean, _errors = validate_encounter(record, CONTEXT)
    assert (clean is not None) == (1 <= quantity <= MAX_SUPPLY_QUANTITY)


@FUZZ
@given(st.integers(min_value=-400 * 24 * 60, max_value=3 * 24 * 60))
def test_occurred_at_window_is_inclusive_of_the_documented_limits(minutes_from_now):
    moment = NOW + timedelta(minutes=minutes_from_now)
    record = _valid_record()
    record["occurred_at"] = moment.astimezone(ZoneInfo("Asia/Kolkata")).isoformat()
    clean, _errors = validate_encounter(record, CONTEXT)
    within = NOW - timedelta(days=366) <= moment <= NOW + timedelta(hours=24)
    assert (clean is not None) == within
