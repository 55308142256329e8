"""Synthetic encounters for demos and benchmarks: plausible shapes, no real people."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from outreach import clock
from outreach.encounters import bulk
from outreach.encounters.records import CleanEncounter
from outreach.extensions import db
from outreach.models import Encounter
from outreach.models import OverdoseResponse
from outreach.models import ReferralType
from outreach.models import Role
from outreach.models import StockEvent
from outreach.models import StockEventLine
from outreach.models import SupplyItem
from outreach.models import User
from outreach.models import Zone
from outreach.privacy import participant_hash

CHUNK = 5_000
# Evening and night outreach shifts dominate.
HOUR_WEIGHTS = [2, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 5, 5, 6, 7, 8, 9, 9, 8, 6, 4, 3]


def generate(
    days: int,
    encounters: int,
    random_seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Insert ``encounters`` synthetic encounters over the last ``days`` days."""
    # Synthetic data only: a seeded, repeatable generator, not a source of secrets.
    rng = random.Random(random_seed)  # noqa: S311
    tz = ZoneInfo(current_app.config["PROGRAM_TIMEZONE"])
    key = current_app.config["PARTICIPANT_CODE_KEY"]

    items = {
        i.key: i.id for i in db.session.scalars(sa.select(SupplyItem).where(SupplyItem.active))
    }
    syringes = [
        i.id for i in db.session.scalars(sa.select(SupplyItem).where(SupplyItem.is_syringe))
    ]
    others = [item_id for k, item_id in items.items() if item_id not in syringes]
    naloxone = items.get("naloxone_nasal")
    referrals = list(db.session.scalars(sa.select(ReferralType.id).where(ReferralType.active)))
    zones = list(db.session.scalars(sa.select(Zone.id).where(Zone.active)))
    # Outreach workers log; supervisors and admins read. A reader's own codes never count in
    # the participant figures they read (reports/own_records.py), so demo records by a
    # reader would make a demo report undercount for that reader.
    workers = list(db.session.scalars(sa.select(User.id).where(User.role_level == Role.WORKER)))
    if not workers:
        workers = list(db.session.scalars(sa.select(User.id).where(User.role_level >= Role.WORKER)))
    db.session.rollback()

    # A pool of returning participants, about one for every four encounters.
    pool = [participant_hash(f"DEMO-{n:07d}", key) for n in range(max(10, encounters // 4))]
    now = clock.now()  # the app's clock, so a test can place the data on any day
    start = now - timedelta(days=days)
    span = (now - start).total_seconds() - 3600
    added = 0
    while added < encounters:
        size = min(CHUNK, encounters - added)
        chunk: list[tuple[CleanEncounter, int | None]] = []
        for _ in range(size):
            moment = start + timedelta(seconds=rng.uniform(0, span))
            moment = moment.replace(hour=rng.choices(range(24), HOUR_WEIGHTS)[0])
            if moment > now:
                moment -= timedelta(days=1)
            encounter_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            zone_id = rng.choice(zones) if zones and rng.random() < 0.9 else None
            code_hash = rng.choice(pool) if rng.random() < 0.7 else None
            people_served = 1 if rng.random() < 0.8 else rng.randint(2, 6)
            collected = rng.choice([0, 0, 0, 10, 20, 30, 50, 100])
            reversals = 1 if rng.random() < 0.02 else 0
            worker_id = rng.choice(workers) if workers else None
            chosen: dict[int, int] = {}
            if syringes and rng.random() < 0.75:
                chosen[rng.choice(syringes)] = rng.choice([10, 10, 20, 20, 30, 50, 100])
            if naloxone and rng.random() < 0.25:
                chosen[naloxone] = rng.choice([1, 1, 2])
            for item_id in rng.sample(others, k=min(len(others), rng.randint(0, 3))):
                chosen.setdefault(item_id, rng.choice([1, 2, 5, 10]))
            referral_ids = (rng.choice(referrals),) if referrals and rng.random() < 0.15 else ()
            record = CleanEncounter(
                id=encounter_id,
                occurred_at=moment.replace(tzinfo=None),
                local_date=moment.astimezone(tz).date(),
                zone_id=zone_id,
                participant_hash=code_hash,
                people_served=people_served,
                syringes_collected=collected,
                naloxone_reversals_reported=reversals,
                supplies=chosen,
                referral_type_ids=referral_ids,
            )
            chunk.append((record, worker_id))
        bulk.insert_chunk(chunk)
        added += size
        if progress:
            progress(size)
    # Bulk inserts skip the per-record roll-up upkeep; one rebuild is much faster.
    bulk.rebuild_rollups()
    return added


# --- A fresh development database's first look (`make run`) -----------------------------

# Tables holding what workers record: a database with a row in any of them is left alone.
RECORD_TABLES = (Encounter, OverdoseResponse, StockEvent)
OVERDOSE_OUTCOMES = ["alive"] * 14 + ["transported"] * 4 + ["unknown"] * 2 + ["died"]


def holds_records() -> bool:
    return any(
        db.session.scalar(sa.select(sa.func.count()).select_from(model)) for model in RECORD_TABLES
    )


def fill_fresh_database(days: int = 90, encounters: int = 1500, random_seed: int = 2026) -> dict:
    """A few months of activity so every report has something to show: encounters, overdose
    responses and workers' bag load-outs and end-of-shift counts. Refuses (ValueError) over a
    database that already holds records."""
    if holds_records():
        raise ValueError("the database already holds records")
    added = generate(days, encounters, random_seed)
    rng = random.Random(random_seed + 1)  # noqa: S311 (synthetic data, repeatable)
    tz = ZoneInfo(current_app.config["PROGRAM_TIMEZONE"])
    zones = list(db.session.scalars(sa.select(Zone.id).where(Zone.active)))
    workers = list(db.session.scalars(sa.select(User.id).where(User.role_level == Role.WORKER)))
    db.session.rollback()
    now = clock.now()

    def moment_on(day: int, hour: int) -> datetime:
        return (now - timedelta(days=day)).replace(hour=hour, minute=rng.randrange(60))

    overdoses = []
    for _ in range(max(1, encounters // 40)):
        moment = moment_on(rng.randrange(1, days), rng.choices(range(24), HOUR_WEIGHTS)[0])
        ems = rng.choice(["yes", "yes", "no", "unknown"])
        overdoses.append(
            {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "occurred_at": moment.replace(tzinfo=None),
                "local_date": moment.astimezone(tz).date(),
                "zone_id": rng.choice(zones) if zones else None,
                "naloxone_doses": rng.choice([1, 1, 2, 2, 3]),
                "given_by_worker": rng.random() < 0.5,
                "given_by_participant": rng.random() < 0.3,
                "given_by_bystander": rng.random() < 0.2,
                "given_by_ems": ems == "yes" and rng.random() < 0.5,
                "ems_called": ems,
                "outcome": rng.choice(OVERDOSE_OUTCOMES),
                "worker_id": rng.choice(workers) if workers else None,
                "received_at": moment.replace(tzinfo=None),
            }
        )
    bag_events = _bag_events(rng, workers, days, moment_on, tz)
    with db.engine.begin() as connection:
        connection.execute(sa.insert(OverdoseResponse.__table__), overdoses)
        if bag_events:
            events, lines = bag_events
            connection.execute(sa.insert(StockEvent.__table__), events)
            connection.execute(sa.insert(StockEventLine.__table__), lines)
    return {
        "encounters": added,
        "overdose responses": len(overdoses),
        "bag events": len(bag_events[0]) if bag_events else 0,
    }


def _bag_events(rng, workers, days, moment_on, tz):
    """A load-out at the start of some shifts and a count at their end, for the syringes and
    naloxone (marked as kept in bags, as a program would)."""
    tracked = list(
        db.session.scalars(
            sa.select(SupplyItem).where(
                SupplyItem.active, SupplyItem.is_syringe | SupplyItem.is_naloxone
            )
        )
    )
    if not tracked or not workers:
        db.session.rollback()
        return None
    for item in tracked:
        item.stock_tracked = True
    db.session.commit()
    events, lines = [], []
    for worker in workers:
        for day in range(days - 1, 0, -3):
            for kind, hour, amount in (("load", 16, (100, 300)), ("count", 23, (0, 80))):
                moment = moment_on(day, hour)
                event_id = uuid.UUID(int=rng.getrandbits(128), version=4)
                events.append(
                    {
                        "id": event_id,
                        "type": kind,
                        "worker_id": worker,
                        "occurred_at": moment.replace(tzinfo=None),
                        "local_date": moment.astimezone(tz).date(),
                        "received_at": moment.replace(tzinfo=None),
                    }
                )
                for item in tracked:
                    low, high = amount if item.is_syringe else (amount[0] // 20, amount[1] // 20)
                    lines.append(
                        {
                            "event_id": event_id,
                            "item_id": item.id,
                            "quantity": rng.randint(low, max(low, high)),
                            "expected": None,
                            "reason": None,
                        }
                    )
    db.session.rollback()
    return events, lines
