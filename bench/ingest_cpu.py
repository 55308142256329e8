"""CPU cost of sync ingest in one process: steadier than rates on a shared machine.

    .venv/bin/python bench/ingest_cpu.py [--engines sqlite,postgresql] [--batches 20]
                                         [--rounds 3] [--http] [--profile N]

For each engine and round: a fresh migrated, seeded database, then the same --batches batches
of 500 bench encounters (bench/common.py, as bench/sync_ingest.py sends them) stored through
``ingest_batch`` (or, with --http, posted to /api/v1/sync through Flask's test client: JSON,
sign-in and CSRF checks included). Prints wall time and this process's CPU time per record
(CPU time leaves out what the database server does, and the time spent waiting for others on
the machine). --profile N prints cProfile's N costliest functions (cumulative and own time)
over the last round.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import random
import statistics
import sys
import time
from datetime import UTC
from datetime import datetime

from common import encounter
from common import in_process_app
from common import machine
from common import prepare
from common import signed_in_client
from common import throwaway_database

BATCH = 500


def make_batches(count: int, seed: int = 1) -> list[list[dict]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    return [[encounter(rng, now) for _ in range(BATCH)] for _ in range(count)]


def one_round(url: str, batches, http: bool, profiler: cProfile.Profile | None):
    from outreach.encounters.ingest import ingest_batch
    from outreach.extensions import db
    from outreach.models import User

    prepare(url, workers=1)
    app = in_process_app(url)
    username = "bench-worker-0"
    if http:
        client = signed_in_client(app, username)
        api_token = client.get("/api/v1/session").get_json()["csrf_token"]

        def send(batch):
            response = client.post(
                "/api/v1/sync", json={"encounters": batch}, headers={"X-CSRFToken": api_token}
            )
            results = response.get_json()["results"]
            assert all(r["status"] == "created" for r in results), results[:3]
    else:
        with app.app_context():
            worker_id = db.session.query(User.id).filter_by(username=username).scalar()

        def send(batch):
            with app.app_context():
                outcome = ingest_batch(batch, worker_id, author=username)
                assert outcome.count("created") == len(batch)

    wall = cpu = 0.0
    for batch in batches:
        started, started_cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        send(batch)
        if profiler:
            profiler.disable()
        wall += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
    with app.app_context():
        db.engine.dispose()
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--http", action="store_true", help="through /api/v1/sync")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    # The app's settings come from the arguments above, not from this shell.
    for name in [n for n in os.environ if n.startswith(("OUTREACH_", "FLASK_"))]:
        del os.environ[name]
    os.environ["OUTREACH_INSTANCE_PATH"] = os.path.join(
        os.environ.get("TMPDIR", "/tmp"), f"outreach-ingest-cpu-{os.getpid()}"
    )
    # One log line per batch is the app's; the bench does not need them.
    logging.getLogger("outreach").setLevel(logging.WARNING)
    batches = make_batches(args.batches)
    records = sum(len(b) for b in batches)
    print(f"Machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    path = "HTTP (test client)" if args.http else "ingest_batch"
    print(f"{args.batches} batches of {BATCH}, {path}")
    print("| engine | wall µs/record (rounds) | CPU µs/record (rounds) | median CPU |")
    print("| --- | --- | --- | ---: |")
    for engine in args.engines.split(","):
        walls, cpus = [], []
        profiler = None
        for n in range(args.rounds):
            profiler = cProfile.Profile() if args.profile and n == args.rounds - 1 else None
            with throwaway_database(engine) as url:
                wall, cpu = one_round(url, batches, args.http, profiler)
            walls.append(wall / records * 1e6)
            cpus.append(cpu / records * 1e6)
        print(
            f"| {engine} | {' / '.join(f'{w:.0f}' for w in walls)} "
            f"| {' / '.join(f'{c:.0f}' for c in cpus)} | {statistics.median(cpus):.0f} |"
        )
        if profiler:
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.sort_stats("cumulative").print_stats(args.profile)
            stats.sort_stats("tottime").print_stats(args.profile)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
