"""Sync ingest over HTTP to gunicorn vs a raw executemany of the same rows (the floor).

    .venv/bin/python bench/sync_ingest.py [--batches 20] [--clients 2] [--repeat 3]
                                          [--engines sqlite,postgresql]

For each engine: a fresh database, gunicorn with the production settings, then --batches
batches of 500 encounters (2 supply lines each, some referrals) posted by --clients phones at
once. The floor inserts the same rows with the database driver's executemany into equivalent
plain tables, in one transaction per 500 rows: no HTTP, JSON, validation, hashing or
idempotency. Prints encounters per second for both and the ratio. The floor's tables have only
their primary keys and its rows placeholders (no participant hash, one zone); with
--floor-indexes a second floor stores the app's values into the same tables with the app's
secondary indexes, to show how much of the gap is the schema's own cost (the first floor stays
the aim's measure).

With --mixed, each batch instead carries 450 encounters, 25 overdose responses and 25 bag
load-outs (the record kinds a phone sends beside encounters), timed through gunicorn in
records per second beside the encounters-only figure (the floor stays the encounters' one).

On a shared machine absolute rates swing with the load, so each engine runs --repeat rounds of
app then floor back to back, and the table gives medians with the spread of the per-round
ratio (min-max), plus the load average before and after.
"""

from __future__ import annotations

import argparse
import hmac
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
from common import overdose_response
from common import prepare
from common import stock_event
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
# --floor-indexes: the app's secondary indexes on the same tables (migrations 0001-0004), for a
# second floor that also stores the app's values (participant hashes, zones, weights column).
APP_INDEXES = """
CREATE INDEX ix_enc_occurred_at ON enc (occurred_at);
CREATE INDEX ix_enc_worker_id ON enc (worker_id);
CREATE INDEX ix_enc_local_date_zone ON enc (local_date, zone_id);
CREATE INDEX ix_enc_participant_day ON enc (participant_hash, local_date, zone_id);
CREATE INDEX ix_enc_supply_item_id ON enc_supply (item_id);
"""
ZONE_IDS = {"downtown": 1, "riverside": 2, "eastside": 3, None: None}


def make_batches(count: int, seed: int = 1) -> list[list[dict]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    return [[encounter(rng, now) for _ in range(BATCH)] for _ in range(count)]


# --mixed: per batch of 500 records, the other kinds a phone sends beside its encounters.
MIXED_OTHERS = {"overdose_responses": (25, overdose_response), "stock_events": (25, stock_event)}
KIND_TABLES = {
    "encounters": "encounter",
    "overdose_responses": "overdose_response",
    "stock_events": "stock_event",
}


def make_mixed_batches(count: int, seed: int = 1) -> list[dict[str, list[dict]]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    others = sum(number for number, _make in MIXED_OTHERS.values())
    return [
        {
            "encounters": [encounter(rng, now) for _ in range(BATCH - others)],
            **{key: [make(rng, now) for _ in range(n)] for key, (n, make) in MIXED_OTHERS.items()},
        }
        for _ in range(count)
    ]


def mixed_ingest(
    database_url: str, batches: list[dict[str, list[dict]]], clients: int, server_env: dict
) -> float:
    """Records (every kind) per second through gunicorn; each kind must be stored once."""
    prepare(database_url, workers=clients)
    server = GunicornServer(
        bench_env(database_url, TRUSTED_PROXIES="1", SYNC_RATE_PER_MINUTE="100000", **server_env)
    )
    failures: list[str] = []
    try:
        phones = []
        for n in range(clients):
            phone = ProxiedClient(server.port)
            phone.login(f"bench-worker-{n}", BENCH_PASSWORD)
            phones.append(phone)

        def run(phone: ProxiedClient, queue: list[dict[str, list[dict]]]) -> None:
            for batch in queue:
                others = {key: value for key, value in batch.items() if key != "encounters"}
                status, body = phone.sync(batch["encounters"], **others)
                for key, sent in batch.items():
                    answers = (body or {}).get("results" if key == "encounters" else key, [])
                    created = sum(1 for r in answers if r["status"] == "created")
                    if status != 200 or created != len(sent):
                        failures.append(f"{key}: status {status}, created {created}")

        queues = [batches[n::clients] for n in range(clients)]
        threads = [
            threading.Thread(target=run, args=pair) for pair in zip(phones, queues, strict=True)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        for phone in phones:
            phone.close()
    finally:
        server.stop()
    if failures:
        raise SystemExit(f"mixed ingest failed: {failures[:3]}")
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        for key, table in KIND_TABLES.items():
            stored = connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar()
            assert stored == sum(len(b[key]) for b in batches), (table, stored)
    engine.dispose()
    return sum(len(records) for b in batches for records in b.values()) / elapsed


def http_ingest(
    database_url: str, batches: list[list[dict]], clients: int, server_env: dict[str, str]
) -> float:
    """Encounters per second through gunicorn."""
    prepare(database_url, workers=clients)
    server = GunicornServer(
        bench_env(database_url, TRUSTED_PROXIES="1", SYNC_RATE_PER_MINUTE="100000", **server_env)
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


def flat_rows(batches: list[list[dict]], same_values: bool = False):
    """The rows each batch stores. ``same_values``: the app's values (participant hashes
    computed beforehand, zones, a weight column), not placeholders."""
    now = datetime.now(UTC).replace(tzinfo=None)
    for batch in batches:
        encounters, supplies, referrals = [], [], []
        for record in batch:
            key = uuid.UUID(record["id"]).hex
            occurred = (
                datetime.fromisoformat(record["occurred_at"]).astimezone(UTC).replace(tzinfo=None)
            )
            zone, code = 1, None
            if same_values:
                zone = ZONE_IDS[record["zone"]]
                if record["participant_code"]:
                    code = hmac.new(b"floor", record["participant_code"].encode(), "sha256")
                    code = code.hexdigest()
            row = [key, occurred, occurred.date(), zone, code, record["people_served"]]
            row += [record["syringes_collected"], 0, 1, now]
            if same_values:
                row.append(0)
            encounters.append(tuple(row))
            supplies.extend((key, item, q) for item, q in enumerate(record["supplies"].values(), 1))
            referrals.extend((key, 3) for _ in record["referrals"])
        yield encounters, supplies, referrals


def _schema(indexes: bool) -> str:
    if not indexes:
        return FLAT_TABLES
    weight = "received_at TIMESTAMP NOT NULL, syringes_collected_grams INTEGER NOT NULL"
    return FLAT_TABLES.replace("received_at TIMESTAMP NOT NULL", weight) + APP_INDEXES


def floor_sqlite(database_url: str, batches, indexes: bool = False) -> float:
    path = sa.engine.make_url(database_url).database
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.executescript(_schema(indexes))
    rows = list(flat_rows(batches, same_values=indexes))
    marks = ",".join("?" * len(rows[0][0][0]))
    started = time.perf_counter()
    for encounters, supplies, referrals in rows:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(f"INSERT INTO enc VALUES ({marks})", encounters)
        connection.executemany("INSERT INTO enc_supply VALUES (?,?,?)", supplies)
        connection.executemany("INSERT INTO enc_referral VALUES (?,?)", referrals)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return sum(len(b) for b in batches) / elapsed


def floor_postgresql(database_url: str, batches, indexes: bool = False) -> float:
    import psycopg

    url = sa.engine.make_url(database_url)
    conninfo = f"host={url.host} port={url.port or 5432} dbname={url.database}"
    if url.username:
        conninfo += f" user={url.username}"
    rows = list(flat_rows(batches, same_values=indexes))
    marks = ",".join(["%s"] * len(rows[0][0][0]))
    with psycopg.connect(conninfo) as connection:
        connection.execute(_schema(indexes))
        connection.commit()
        started = time.perf_counter()
        for encounters, supplies, referrals in rows:
            with connection.transaction(), connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO enc VALUES ({marks})", encounters)
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
    parser.add_argument(
        "--server",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a gunicorn setting for the app side, e.g. OUTREACH_THREADS=1 (repeatable)",
    )
    parser.add_argument(
        "--mixed",
        action="store_true",
        help="also time batches that mix encounters, overdose responses and bag load-outs",
    )
    parser.add_argument(
        "--floor-indexes",
        action="store_true",
        help="also a second floor: the app's values and secondary indexes (informative)",
    )
    args = parser.parse_args()
    server_env = dict(setting.split("=", 1) for setting in args.server)
    batches = make_batches(args.batches)
    print(f"Machine: {machine()}")
    print(f"{args.batches} batches of {BATCH} encounters, {args.clients} phones at once")
    print(f"gunicorn: {server_env or 'production settings (gunicorn.conf.py)'}\n")
    print(f"Load average before: {_load()}")
    mixed = make_mixed_batches(args.batches) if args.mixed else None
    header = "| engine | HTTP ingest (enc/s) | executemany floor (enc/s) | floor / HTTP (min-max) |"
    if mixed:
        header += " HTTP ingest, mixed batches (records/s) |"
    if args.floor_indexes:
        header += " floor, app's values and indexes (enc/s) | that floor / HTTP |"
    print(header)
    print(
        "| --- | ---: | ---: | ---: |"
        + (" ---: |" if mixed else "")
        + (" ---: | ---: |" if args.floor_indexes else "")
    )
    for engine in args.engines.split(","):
        floor = floor_sqlite if engine == "sqlite" else floor_postgresql
        rates, floors, ratios, indexed, mixed_rates = [], [], [], [], []
        for _round in range(args.repeat):
            with throwaway_database(engine) as url:
                rates.append(http_ingest(url, batches, args.clients, server_env))
            if mixed:
                with throwaway_database(engine) as url:
                    mixed_rates.append(mixed_ingest(url, mixed, args.clients, server_env))
            with throwaway_database(engine) as url:
                floors.append(floor(url, batches))
            ratios.append(floors[-1] / rates[-1])
            if args.floor_indexes:
                with throwaway_database(engine) as url:
                    indexed.append(floor(url, batches, indexes=True))
        line = (
            f"| {engine} | {statistics.median(rates):,.0f} | {statistics.median(floors):,.0f} "
            f"| {statistics.median(ratios):.1f}x ({min(ratios):.1f}-{max(ratios):.1f}) |"
        )
        if mixed_rates:
            line += f" {statistics.median(mixed_rates):,.0f} |"
        if indexed:
            ratio = statistics.median(i / r for i, r in zip(indexed, rates, strict=True))
            line += f" {statistics.median(indexed):,.0f} | {ratio:.1f}x |"
        print(line)
    print(f"\nLoad average after: {_load()}")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} {five:.1f} {fifteen:.1f}"


if __name__ == "__main__":
    main()
