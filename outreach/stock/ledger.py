"""The stock arithmetic, in one place and pure (no database): tested with properties.

A bag is followed per worker and per item, in time order, from its first load-out or count:

    expected = last count (or 0) + loaded since - handed out since - adjusted since

A count also explains itself: the difference between what was expected just before it and
what was counted is an adjustment (positive when the bag holds less). The part the phone
declared (its own expected figure minus the count) carries the reason the worker chose; the
rest (records the phone had not counted yet, or a bag holding more than expected) is counted
under ``NO_REASON``. So over any stretch of history, exactly:

    loaded - handed out - adjusted = expected

A bag can be expected to hold less than nothing (more handed out than loaded). That is never
hidden or rounded to zero: ``Ledger.short`` says so, and the pages show the negative figure
with a note to count the bag.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from outreach.stock.contract import ADJUSTMENT
from outreach.stock.contract import COUNT
from outreach.stock.contract import LOAD
from outreach.stock.contract import NO_REASON

HANDED_OUT = "handed_out"
# Same-time events apply in this order: what was loaded, then handed out, then taken out,
# and a count last (it says what is left after all of them).
_ORDER = {LOAD: 0, HANDED_OUT: 1, ADJUSTMENT: 2, COUNT: 3}


@dataclass(frozen=True)
class Movement:
    """One change to one item of one bag."""

    at: datetime
    kind: str  # LOAD, HANDED_OUT, ADJUSTMENT or COUNT
    quantity: int
    reason: str | None = None
    # Count only: what the phone expected the bag to hold.
    phone_expected: int | None = None


@dataclass
class Ledger:
    """One item of one bag over a stretch of history."""

    loaded: int = 0
    handed_out: int = 0
    adjusted: Counter = field(default_factory=Counter)
    expected: int = 0

    @property
    def adjusted_total(self) -> int:
        return sum(self.adjusted.values())

    @property
    def short(self) -> bool:
        """More handed out than the bag can have held: shown, never rounded away."""
        return self.expected < 0


def to_the_second(at: datetime) -> datetime:
    """Times compared at whole seconds. Phones send encounters in whole seconds and stock
    events with milliseconds, so an encounter logged in the same second just after a load-out
    would otherwise sort before it (and before the bag's start) and be left out."""
    return at.replace(microsecond=0)


def sort_key(movement: Movement) -> tuple:
    return (to_the_second(movement.at), _ORDER[movement.kind])


def count_adjustments(
    expected_before: int, counted: int, phone_expected: int | None, reason: str | None
) -> Counter:
    """What a count records as adjustments, by reason (they sum to expected - counted)."""
    difference = expected_before - counted
    declared = 0
    if reason is not None:
        declared = (phone_expected if phone_expected is not None else expected_before) - counted
        declared = max(declared, 0)
    adjustments = Counter()
    if declared:
        adjustments[reason] += declared
    if difference - declared:
        adjustments[NO_REASON] += difference - declared
    return adjustments


def apply(ledger: Ledger, movement: Movement) -> Counter:
    """Apply one movement to the ledger; return the adjustments it made (a count's)."""
    made: Counter = Counter()
    if movement.kind == LOAD:
        ledger.loaded += movement.quantity
        ledger.expected += movement.quantity
    elif movement.kind == HANDED_OUT:
        ledger.handed_out += movement.quantity
        ledger.expected -= movement.quantity
    elif movement.kind == ADJUSTMENT:
        made[movement.reason or NO_REASON] += movement.quantity
        ledger.expected -= movement.quantity
    elif movement.kind == COUNT:
        made = count_adjustments(
            ledger.expected, movement.quantity, movement.phone_expected, movement.reason
        )
        ledger.expected = movement.quantity
    else:
        raise ValueError(f"unknown movement {movement.kind!r}")
    ledger.adjusted.update(made)
    # Counter.update keeps zero and negative sums; drop the zeros so reports list only reasons.
    for reason in [r for r, n in ledger.adjusted.items() if n == 0]:
        del ledger.adjusted[reason]
    return made


def replay(movements: list[Movement]) -> Ledger:
    """The ledger of one item of one bag after these movements (any order given)."""
    ledger = Ledger()
    for movement in sorted(movements, key=sort_key):
        apply(ledger, movement)
    return ledger
