"""Stock arithmetic (outreach.stock.ledger), by property: for any history of a bag,
loaded - handed out - adjusted = expected, a count leaves exactly what was counted, and a
bag short of nothing is reported as negative, never rounded to zero."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from outreach.stock import ledger
from outreach.stock.contract import ADJUSTMENT
from outreach.stock.contract import COUNT
from outreach.stock.contract import LOAD
from outreach.stock.contract import NO_REASON
from outreach.stock.contract import REASONS
from outreach.stock.ledger import HANDED_OUT
from outreach.stock.ledger import Ledger
from outreach.stock.ledger import Movement

START = datetime(2026, 11, 1, 8, 0)
reasons = st.sampled_from(list(REASONS))


@st.composite
def movement(draw):
    kind = draw(st.sampled_from([LOAD, HANDED_OUT, ADJUSTMENT, COUNT]))
    at = START + timedelta(minutes=draw(st.integers(0, 600)))
    quantity = draw(st.integers(0 if kind == COUNT else 1, 200))
    reason = draw(reasons) if kind == ADJUSTMENT else draw(st.none() | reasons)
    phone_expected = draw(st.none() | st.integers(-50, 300)) if kind == COUNT else None
    return Movement(at, kind, quantity, reason, phone_expected)


histories = st.lists(movement(), max_size=30)


@settings(max_examples=40, deadline=None)
@given(histories)
def test_loaded_minus_handed_out_minus_adjusted_is_expected(history):
    result = ledger.replay(history)
    assert result.loaded - result.handed_out - result.adjusted_total == result.expected
    assert result.loaded == sum(m.quantity for m in history if m.kind == LOAD)
    assert result.handed_out == sum(m.quantity for m in history if m.kind == HANDED_OUT)


@settings(max_examples=40, deadline=None)
@given(histories)
def test_the_identity_holds_after_every_step(history):
    state = Ledger()
    for step in sorted(history, key=ledger.sort_key):
        made = ledger.apply(state, step)
        assert state.loaded - state.handed_out - state.adjusted_total == state.expected
        if step.kind == COUNT:
            assert state.expected == step.quantity
            assert all(reason in (*REASONS, NO_REASON) for reason in made)


@settings(max_examples=40, deadline=None)
@given(histories, st.integers(0, 500))
def test_never_silently_negative(history, extra):
    result = ledger.replay(history)
    # Hand out more than the bag holds: the figure goes below zero and says so.
    over = Movement(START + timedelta(days=1), HANDED_OUT, max(result.expected, 0) + extra + 1)
    after = ledger.replay([*history, over])
    assert after.expected == result.expected - over.quantity
    assert after.expected < 0 and after.short


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 500),
    st.integers(0, 500),
    st.none() | st.integers(-100, 600),
    st.none() | reasons,
)
def test_a_count_splits_its_difference_between_the_reason_and_none(
    expected, counted, phone, reason
):
    made = ledger.count_adjustments(expected, counted, phone, reason)
    assert sum(made.values()) == expected - counted
    if reason is None:
        assert set(made) <= {NO_REASON}
    else:
        declared = max((phone if phone is not None else expected) - counted, 0)
        assert made.get(reason, 0) == declared


def test_a_worked_example():
    """Loaded 100, handed out 30 and 25, counted 40 with 5 lost as the phone expected 45."""
    at = START
    history = [
        Movement(at, LOAD, 100),
        Movement(at + timedelta(hours=1), HANDED_OUT, 30),
        Movement(at + timedelta(hours=2), HANDED_OUT, 25),
        Movement(at + timedelta(hours=8), COUNT, 40, "lost", 45),
    ]
    result = ledger.replay(history)
    assert (result.loaded, result.handed_out, result.expected) == (100, 55, 40)
    assert dict(result.adjusted) == {"lost": 5}
    # An encounter the phone did not know (2 handed out before the count) arrives late: the
    # bag was expected to hold 43, not 45, so "no reason" takes -2; the bag still holds 40.
    late = ledger.replay([*history, Movement(at + timedelta(hours=3), HANDED_OUT, 2)])
    assert dict(late.adjusted) == {"lost": 5, NO_REASON: -2}
    assert late.expected == 40
