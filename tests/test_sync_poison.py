"""Poison records: whatever JSON one record holds, it is rejected alone and never costs the
good records beside it (and a body nested too deep is a 400, never a 500)."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.conftest import count_rows
from tests.conftest import make_encounter
from tests.live import HttpSession
from tests.live import LiveServer
from tests.test_overdose_responses import make_overdose
from tests.test_stock import stock_event

LONE_SURROGATE = "\ud800"
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


def _post_with_a_good_record(sync_api, bad: dict):
    good = make_encounter()
    response = sync_api.post([good, bad])
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    accepted, rejected = response.get_json()["results"]
    assert accepted == {"id": good["id"], "status": "created"}
    return rejected


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param(
            {"participant_code": "M-KRTZ" + LONE_SURROGATE}, "participant_code", id="code"
        ),
        pytest.param({"id": str(uuid.uuid4()) + "\n"}, "id", id="id-newline"),
        pytest.param({"id": " " + str(uuid.uuid4())}, "id", id="id-leading-space"),
        pytest.param({"id": str(uuid.uuid4())[:-1] + LONE_SURROGATE}, "id", id="id-surrogate"),
        pytest.param({"zone": LONE_SURROGATE}, "zone", id="zone"),
        pytest.param({"occurred_at": "2026-11-21T22:15" + LONE_SURROGATE}, "occurred_at", id="at"),
        pytest.param({"referrals": [LONE_SURROGATE]}, "referrals", id="referral"),
        pytest.param({"supplies": {LONE_SURROGATE: 1}}, "supplies", id="supply-key"),
    ],
)
def test_a_poison_value_rejects_its_record_only(app, sync_api, overrides, field):
    bad = make_encounter(**overrides)
    rejected = _post_with_a_good_record(sync_api, bad)
    assert rejected["status"] == "rejected"
    assert any(key.split(".")[0] == field for key in rejected["errors"]), rejected
    assert all(isinstance(m, str) and len(m) > 5 for m in rejected["errors"].values())
    assert count_rows(app, "encounter") == 1


def test_a_value_nested_deep_in_one_field_rejects_that_record(app, sync_api):
    deep: object = 1
    for _ in range(12):  # 24 levels: within the limit of 32 for the whole body
        deep = {"x": [deep]}
    rejected = _post_with_a_good_record(sync_api, make_encounter(supplies=deep))
    assert rejected["status"] == "rejected"
    assert "supplies" in rejected["errors"] or any(
        key.startswith("supplies.") for key in rejected["errors"]
    )


@pytest.mark.parametrize("depth", [200, 5000, 100_000])
def test_a_body_nested_too_deep_answers_400_json(app, sync_api, depth):
    good = json.dumps(make_encounter())
    nested = "[" * depth + "1" + "]" * depth
    deep = '{"id": "' + str(uuid.uuid4()) + '", "supplies": ' + nested + "}"
    response = sync_api.post_raw('{"encounters": [' + good + "," + deep + "]}")
    assert response.status_code == 400
    assert response.is_json
    assert response.get_json()["error"] == "bad_request"
    assert count_rows(app, "encounter") == 0


def test_a_body_nested_within_the_limit_is_read(app, sync_api):
    extra: object = {}
    for _ in range(20):
        extra = {"x": extra}
    record = make_encounter(future_field=extra)
    assert sync_api.post([record]).get_json()["results"][0]["status"] == "created"


# Every JSON value, surrogates and huge integers included, and values that broke the old
# validator (a lone surrogate in a code, an id with a trailing newline) drawn often.
json_text = st.text(st.characters(exclude_categories=()), max_size=12)
TRICKY = [
    LONE_SURROGATE,
    "M-KRTZ-19" + LONE_SURROGATE,
    "\udfff\ud800",
    str(uuid.UUID(int=7)) + "\n",
    "\x00",
    "\u200b",
    "",
    " ",
    10**30,
    -0.0,
    1e308,
]
json_values = st.recursive(
    st.sampled_from(TRICKY)
    | st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(json_text, children, max_size=4)
    ),
    max_leaves=10,
)


@pytest.fixture
def live_session(app, users):
    server = LiveServer(app)
    session = HttpSession(server.url)
    session.login(users.worker)
    yield session
    server.stop()


@settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_any_json_in_any_field_costs_only_its_own_record(app, live_session, field, value):
    before, after = make_encounter(), make_encounter()
    poisoned = make_encounter()
    poisoned[field] = value
    status, body = live_session.sync([before, poisoned, after])
    assert status == 200, body
    assert_costs_only_its_own_record(body["results"], before, after)


def assert_costs_only_its_own_record(results: list, before: dict, after: dict) -> None:
    """The good records on either side are stored; the poisoned one is rejected with
    messages, or stored when its value happens to be within the contract."""
    first, middle, last = results
    assert first == {"id": before["id"], "status": "created"}
    assert last == {"id": after["id"], "status": "created"}
    if middle["status"] == "rejected":
        assert middle["errors"]
        assert all(isinstance(m, str) and m for m in middle["errors"].values())
    else:
        # Only a value inside the contract gets through (an id is then a fresh UUID).
        assert middle["status"] == "created", middle


# Every other record kind, each field of it: the same guarantee as for encounters.
OTHER_KINDS = {
    "overdose_responses": [
        "id",
        "occurred_at",
        "zone",
        "naloxone_doses",
        "given_by",
        "ems_called",
        "outcome",
        "logged_by",
    ],
    "stock_events": ["id", "type", "occurred_at", "items", "expected", "reasons", "logged_by"],
}


def _good(kind: str) -> dict:
    if kind == "overdose_responses":
        return make_overdose()
    return stock_event("count", {"naloxone_nasal": 2}, expected={"naloxone_nasal": 2})


@settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind_field=st.sampled_from([(k, f) for k, fields in OTHER_KINDS.items() for f in fields]),
    value=json_values,
)
def test_any_json_in_any_field_of_any_kind_costs_only_its_own_record(
    app, live_session, kind_field, value
):
    kind, field = kind_field
    before, poisoned, after = _good(kind), _good(kind), _good(kind)
    poisoned[field] = value
    encounter = make_encounter()
    status, body = live_session.sync([encounter], **{kind: [before, poisoned, after]})
    assert status == 200, body
    assert body["results"] == [{"id": encounter["id"], "status": "created"}]
    assert_costs_only_its_own_record(body[kind], before, after)
