"""Reads of the bag: what each bag holds now, and the supervisor's figures for a period.

Every figure comes from ``ledger.replay`` over the stored events and the encounters'
supplies, so it is the same arithmetic everywhere. A bag starts at its worker's first
load-out or count: supplies handed out before a worker ever used the bag are not in it.
Voided stock events, like voided encounters, are left out of every figure.
"""

from __future__ import annotations

from collections import Counter
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime

import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import Encounter
from outreach.models import EncounterSupply
from outreach.models import StockEvent
from outreach.models import StockEventLine
from outreach.models import SupplyItem
from outreach.models import User
from outreach.stock import ledger
from outreach.stock.contract import COUNT
from outreach.stock.contract import NO_REASON
from outreach.stock.contract import REASONS
from outreach.stock.ledger import HANDED_OUT
from outreach.stock.ledger import Ledger
from outreach.stock.ledger import Movement

# The reasons in the order reports show them: the worker's four, then the unexplained rest.
REPORT_REASONS = (*REASONS, NO_REASON)

BagKey = tuple[int, int]  # (worker id, item id)


@dataclass(frozen=True)
class DayMovement:
    day: date
    movement: Movement


def _stock_movements(
    worker_ids: list[int] | None,
) -> tuple[dict[BagKey, list[DayMovement]], dict[int, datetime]]:
    """Every load-out, count and adjustment (of these workers), by (worker, item), voided
    events left out; and when each worker's bag starts (its first event's second)."""
    query = sa.select(
        StockEvent.worker_id,
        StockEvent.type,
        StockEvent.occurred_at,
        StockEvent.local_date,
        StockEventLine.item_id,
        StockEventLine.quantity,
        StockEventLine.expected,
        StockEventLine.reason,
    ).join(StockEventLine, StockEventLine.event_id == StockEvent.id)
    # A voided event (outreach.stock.voids) never happened, as far as any bag is concerned.
    query = query.where(StockEvent.voided_at.is_(None))
    if worker_ids is not None:
        query = query.where(StockEvent.worker_id.in_(worker_ids))
    bags: dict[BagKey, list[DayMovement]] = defaultdict(list)
    first: dict[int, datetime] = {}
    for worker, kind, at, day, item, quantity, expected, reason in db.session.execute(query):
        bags[(worker, item)].append(
            DayMovement(day, Movement(at, kind, quantity, reason, expected))
        )
        # The bag starts at its first event's second: see ledger.to_the_second.
        at = ledger.to_the_second(at)
        first[worker] = min(first.get(worker, at), at)
    return bags, first


def _add_handed_out(
    bags: dict[BagKey, list[DayMovement]], since: dict[int, datetime], tracked: set[int]
) -> None:
    """Add what each worker handed out in non-voided encounters from ``since[worker]`` on,
    of tracked items and of items already in their bag."""
    if not since:
        return
    items = tracked | {item for _worker, item in bags}
    handed = (
        sa.select(
            Encounter.worker_id,
            Encounter.occurred_at,
            Encounter.local_date,
            EncounterSupply.item_id,
            EncounterSupply.quantity,
        )
        .join(EncounterSupply, EncounterSupply.encounter_id == Encounter.id)
        .where(
            Encounter.worker_id.in_(list(since)),
            Encounter.voided_at.is_(None),
            Encounter.occurred_at >= min(since.values()),
            EncounterSupply.item_id.in_(items),
        )
    )
    for worker, at, day, item, quantity in db.session.execute(handed):
        if at >= since[worker]:
            bags[(worker, item)].append(DayMovement(day, Movement(at, HANDED_OUT, quantity)))


def _tracked_ids() -> set[int]:
    return set(db.session.scalars(sa.select(SupplyItem.id).where(SupplyItem.stock_tracked)))


def _movements(worker_ids: list[int] | None = None) -> dict[BagKey, list[DayMovement]]:
    """Every movement of every bag (of these workers), by (worker, item), from each bag's
    start."""
    bags, first = _stock_movements(worker_ids)
    _add_handed_out(bags, first, _tracked_ids())
    return bags


def bag_of(worker_id: int) -> dict[int, Ledger]:
    """What one worker's bag is expected to hold now, by item id."""
    return {
        item: ledger.replay([m.movement for m in moves])
        for (_worker, item), moves in _movements([worker_id]).items()
    }


def _last_counts(
    bags: dict[BagKey, list[DayMovement]], before: date | None = None
) -> dict[BagKey, tuple]:
    """Where each bag item's replay can start: its last count (of a day before ``before``),
    as a sort key. A count says what the bag held, whatever came before it."""
    starts: dict[BagKey, tuple] = {}
    for key, moves in bags.items():
        counts = [
            ledger.sort_key(m.movement)
            for m in moves
            if m.movement.kind == COUNT and (before is None or m.day < before)
        ]
        if counts:
            starts[key] = max(counts)
    return starts


def _read_from(
    bags: dict[BagKey, list[DayMovement]],
    first: dict[int, datetime],
    starts: dict[BagKey, tuple],
    tracked: set[int],
) -> dict[int, datetime]:
    """From when each worker's hand-outs are needed: the earliest of their items' starts, or
    the bag's start when an item (tracked, or in the bag) has no count to start from."""
    items: dict[int, set[BagKey]] = {worker: {(worker, i) for i in tracked} for worker in first}
    for key in bags:
        items[key[0]].add(key)
    return {
        worker: (
            first[worker]
            if any(key not in starts for key in keys)
            else min(starts[key][0] for key in keys)
        )
        for worker, keys in items.items()
    }


def _from_start(moves: list[DayMovement], start: tuple | None) -> list[DayMovement]:
    """The movements from ``start`` (a sort key) on, in replay order."""
    ordered = sorted(moves, key=lambda m: ledger.sort_key(m.movement))
    return [m for m in ordered if start is None or ledger.sort_key(m.movement) >= start]


def expected_now(worker_id: int, tracked: set[int]) -> dict[int, int]:
    """What one worker's bag is expected to hold now, by item id: ``bag_of``'s figures,
    read from each item's last count on, so a page load reads the encounters since the last
    end-of-shift count, not the worker's whole history."""
    bags, first = _stock_movements([worker_id])
    starts = _last_counts(bags)
    _add_handed_out(bags, _read_from(bags, first, starts, tracked), tracked)
    return {
        item: ledger.replay(
            [m.movement for m in _from_start(moves, starts.get((worker, item)))]
        ).expected
        for (worker, item), moves in bags.items()
    }


def session_bag(worker_id: int) -> dict:
    """For ``GET /api/v1/session``: the bag the server expects, tracked items by key."""
    # One read gives both the tracked items and their keys (this runs on every page load).
    tracked = sa.select(SupplyItem.id, SupplyItem.key).where(SupplyItem.stock_tracked)
    keys = {item: key for item, key in db.session.execute(tracked)}
    bag = expected_now(worker_id, set(keys))
    return {
        "started": bool(bag),
        "items": {keys[item]: expected for item, expected in bag.items() if item in keys},
    }


@dataclass
class ItemFigures:
    """One item over a period, summed over every bag."""

    item: SupplyItem
    loaded: int = 0
    handed_out: int = 0
    adjusted: Counter = field(default_factory=Counter)

    @property
    def adjusted_total(self) -> int:
        return sum(self.adjusted.values())


@dataclass
class BagRow:
    """One worker's bag now: expected per item id (negative when more went out than in)."""

    worker: str
    expected: dict[int, int]


@dataclass
class StockReport:
    start: date
    end: date
    items: list[ItemFigures]
    bags: list[BagRow]

    @property
    def short_bags(self) -> int:
        return sum(1 for bag in self.bags for n in bag.expected.values() if n < 0)


def stock_report(start: date, end: date) -> StockReport:
    """Per item over [start, end]: loaded, handed out from bags, adjusted by reason; and what
    each bag holds now. Only staff names and item totals: no participant counts."""
    tracked = db.session.scalars(sa.select(SupplyItem).where(SupplyItem.stock_tracked)).all()
    tracked_ids = {item.id for item in tracked}
    # Each bag item is replayed from its last count before the period (what came earlier
    # changes no figure of the period, nor what the bag holds now), so the report reads the
    # encounters of about the period, not of every year.
    bags, first = _stock_movements(None)
    starts = _last_counts(bags, before=start)
    _add_handed_out(bags, _read_from(bags, first, starts, tracked_ids), tracked_ids)
    seen_ids = {item for _worker, item in bags}
    extra = (
        db.session.scalars(
            sa.select(SupplyItem).where(SupplyItem.id.in_(seen_ids - {i.id for i in tracked}))
        ).all()
        if seen_ids
        else []
    )
    items = sorted([*tracked, *extra], key=lambda i: (i.sort_order, i.name))
    figures = {item.id: ItemFigures(item) for item in items}
    now: dict[int, dict[int, int]] = defaultdict(dict)
    for (worker, item), moves in bags.items():
        state = Ledger()
        row = figures[item]
        for entry in _from_start(moves, starts.get((worker, item))):
            made = ledger.apply(state, entry.movement)
            if not start <= entry.day <= end:
                continue
            if entry.movement.kind == "load":
                row.loaded += entry.movement.quantity
            elif entry.movement.kind == HANDED_OUT:
                row.handed_out += entry.movement.quantity
            row.adjusted.update(made)
        now[worker][item] = state.expected
    names = {
        i: n
        for i, n in db.session.execute(sa.select(User.id, User.username).where(User.id.in_(now)))
    }
    rows = sorted(
        (BagRow(names.get(worker, "?"), expected) for worker, expected in now.items()),
        key=lambda row: row.worker,
    )
    return StockReport(start, end, list(figures.values()), rows)
