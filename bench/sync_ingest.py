"""Sync ingest over HTTP to gunicorn vs a raw executemany of the same rows (the floor).

    .venv/bin/python bench/sync_ingest.py [--batches 20] [--clients 2] [--repeat 3]
                                          [--engines sqlite,postgresql]

For each engine: a fresh database, gunicorn with the production settings, then --batches
batches of 500 encounters (2 supply lines each, some referrals) posted by --clients phones at
once. The floor inserts the same rows with the database driver's executemany into equivalent
plain tables, in one transaction per 500 rows: no HTTP, JSON, validation, hashing or
idempotency. Prints encounters per second for both and the ratio.

On a shared machine absolute rates swing with the load, so each engine runs --repeat rounds of
app then floor back to back, and the table gives medians with the spread of the per-round
ratio (min-max), plus the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import threading
import time
import uuid
from datetime import UTC
from datetime import datetime

import sqlalchemy as sa
from common import BENCH_PASSWORD
from common import bench_env
from common import encounter
from common import machine
from common import prepare
from common import throwaway_database

from harness.live import GunicornServer
from harness.live import ProxiedClient

BATCH = 500
FLAT_TABLES = """
CREATE TABLE enc (id CHAR(32) PRIMARY KEY, occurred_at TIMESTAMP NOT NULL, local_date DATE NOT NULL,
  zone_id INTEGER, participant_hash VARCHAR(64), people_served INTEGER NOT NULL,
  syringes_collected INTEGER NOT NULL, naloxone_reversals_reported INTEGER NOT NULL,
  worker_id INTEGER, received_at TIMESTAMP NOT NULL);
CREATE TABLE enc_supply (encounter_id CHAR(32) NOT NULL, item_id INTEGER NOT NULL,
  quantity INTEGER NOT NULL, PRIMARY KEY (encounter_id, item_id));
CREATE TABLE enc_referral (encounter_id CHAR(32) NOT NULL, referral_type_id INTEGER NOT NULL,
  PRIMARY KEY (encounter_id, referral_type_id));
"""


def make_batches(count: int, seed: int = 1) -> list[list[dict]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    return [[encounter(rng, now) for _ in range(BATCH)] for _ in range(count)]


def http_ingest(database_url: str, batches: list[list[dict]], clients: int) -> float:
    """Encounters per second through gunicorn."""
    prepare(database_url, workers=clients)
    server = GunicornServer(
        bench_env(database_url, TRUSTED_PROXIES="1", SYNC_RATE_PER_MINUTE="100000")
    )
    try:
        phones = []
        for n in range(clients):
            phone = ProxiedClient(server.port)
            phone.login(f"bench-worker-{n}", BENCH_PASSWORD)
            phones.append(phone)
        queues = [batches[n::clients] for n in range(clients)]
        failures: list[str] = []

        def run(phone: ProxiedClient, queue: list[list[dict]]) -> None:
            for batch in queue:
                status, body = phone.sync(batch)
                created = sum(
                    1 for r in (body or {}).get("results", []) if r["status"] == "created"
                )
                if status != 200 or created != len(batch):
                    failures.append(f"status {status}, created {created}")

        threads = [
            threading.Thread(target=run, args=pair) for pair in zip(phones, queues, strict=True)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        if failures:
            raise SystemExit(f"ingest failed: {failures[:3]}")
        for phone in phones:
            phone.close()
    finally:
        server.stop()
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT COUNT(*) FROM encounter")).scalar()
    engine.dispose()
    assert stored == sum(len(b) for b in batches), stored
    return stored / elapsed


def flat_rows(batches: list[list[dict]]):
    now = datetime.now(UTC).replace(tzinfo=None)
    for batch in batches:
        encounters, supplies, referrals = [], [], []
        for record in batch:
            key = uuid.UUID(record["id"]).hex
            occurred = (
                datetime.fromisoformat(record["occurred_at"]).astimezone(UTC).replace(tzinfo=None)
            )
            encounters.append(
                (
                    key,
                    occurred,
                    occurred.date(),
                    1,
                    None,
                    record["people_served"],
                    record["syringes_collected"],
                    0,
                    1,
                    now,
                )
            )
            supplies.extend((key, item, q) for item, q in enumerate(record["supplies"].values(), 1))
            referrals.extend((key, 3) for _ in record["referrals"])
        yield encounters, supplies, referrals


def floor_sqlite(database_url: str, batches) -> float:
    path = sa.engine.make_url(database_url).database
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.executescript(FLAT_TABLES)
    rows = list(flat_rows(batches))
    started = time.perf_counter()
    for encounters, supplies, referrals in rows:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany("INSERT INTO enc VALUES (?,?,?,?,?,?,?,?,?,?)", encounters)
        connection.executemany("INSERT INTO enc_supply VALUES (?,?,?)", supplies)
        connection.executemany("INSERT INTO enc_referral VALUES (?,?)", referrals)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return sum(len(b) for b in batches) / elapsed


def floor_postgresql(database_url: str, batches) -> float:
    import psycopg

    url = sa.engine.make_url(database_url)
    conninfo = f"host={url.host} port={url.port or 5432} dbname={url.database}"
    if url.username:
        conninfo += f" user={url.username}"
    rows = list(flat_rows(batches))
    with psycopg.connect(conninfo) as connection:
        connection.execute(FLAT_TABLES)
        connection.commit()
        started = time.perf_counter()
        for encounters, supplies, referrals in rows:
            with connection.transaction(), connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO enc VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", encounters
                )
                cursor.executemany("INSERT INTO enc_supply VALUES (%s,%s,%s)", supplies)
                cursor.executemany("INSERT INTO enc_referral VALUES (%s,%s)", referrals)
        elapsed = time.perf_counter() - started
    return sum(len(b) for b in batches) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    batches = make_batches(args.batches)
    print(f"Machine: {machine()}")
    print(f"{args.batches} batches of {BATCH} encounters, {args.clients} phones at once\n")
    print(f"Load average before: {_load()}")
    print("| engine | HTTP ingest (enc/s) | executemany floor (enc/s) | floor / HTTP (min-max) |")
    print("| --- | ---: | ---: | ---: |")
    for engine in args.engines.split(","):
        rates, floors, ratios = [], [], []
        for _round in range(args.repeat):
            with throwaway_database(engine) as url:
                rates.append(http_ingest(url, batches, args.clients))
            with throwaway_database(engine) as url:
                floors.append(
                    floor_sqlite(url, batches)
                    if engine == "sqlite"
                    else floor_postgresql(url, batches)
                )
            ratios.append(floors[-1] / rates[-1])
        print(
            f"| {engine} | {statistics.median(rates):,.0f} | {statistics.median(floors):,.0f} "
            f"| {statistics.median(ratios):.1f}x ({min(ratios):.1f}-{max(ratios):.1f}) |"
        )
    print(f"\nLoad average after: {_load()}")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} {five:.1f} {fifteen:.1f}"


if __name__ == "__main__":
    main()
