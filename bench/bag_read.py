"""What reading the bag costs after months of history.

    .venv/bin/python bench/bag_read.py [--engines sqlite,postgresql] [--shifts 250]
                                       [--encounters-per-shift 12] [--repeat 20]

One worker works ``--shifts`` shifts, one a day back from today: each shift a load-out of two
tracked items, ``--encounters-per-shift`` encounters handing them out, and an end-of-shift
count. All of it goes in through the sync ingest, as phones send it. Then, in one process
through Flask's test client and signed in as that worker, it times ``GET /api/v1/session``
(which carries the bag the server expects, read on every worker page load) and, signed in
as a supervisor, ``/reports/stock`` for its default period (which replays every bag for its
"holds now" column). Prints the median and 95th percentile of ``--repeat`` reads.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from common import BENCH_PASSWORD
from common import encounter
from common import in_process_app
from common import machine
from common import percentile
from common import prepare
from common import signed_in_client
from common import throwaway_database

TRACKED = ("syringe_1ml_27g", "naloxone_nasal")
BATCH = 500


def history(shifts: int, per_shift: int, seed: int = 7) -> tuple[list[dict], list[dict]]:
    """A worker's encounters and stock events over ``shifts`` days, oldest first."""
    rng = random.Random(seed)
    start = datetime.now(UTC).replace(hour=14, minute=0, second=0, microsecond=0)
    encounters, events = [], []
    for day in range(shifts, 0, -1):
        at = start - timedelta(days=day)
        loaded = {"syringe_1ml_27g": 800, "naloxone_nasal": 20}
        events.append(_event(rng, "load", at, loaded))
        handed = {"syringe_1ml_27g": 0, "naloxone_nasal": 0}
        for n in range(per_shift):
            record = encounter(rng, at + timedelta(minutes=10 + 20 * n))
            encounters.append(record)
            for key in handed:
                handed[key] += record["supplies"].get(key, 0)
        left = {key: max(0, loaded[key] - handed[key]) for key in handed}
        events.append(_event(rng, "count", at + timedelta(hours=8), left, expected=left))
    return encounters, events


def _event(rng, kind: str, at: datetime, items: dict, expected: dict | None = None) -> dict:
    event = {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "type": kind,
        "occurred_at": at.isoformat(),
        "items": items,
    }
    if expected is not None:
        event["expected"] = expected
    return event


def one_engine(engine: str, args) -> list[str]:
    from outreach.auth import services as auth_services
    from outreach.encounters.ingest import ingest_batch
    from outreach.extensions import db
    from outreach.models import Role
    from outreach.models import SupplyItem
    from outreach.models import User
    from outreach.stock.ingest import ingest_stock_events

    rows = []
    with throwaway_database(engine) as url:
        prepare(url, workers=1)
        app = in_process_app(url)
        username = "bench-worker-0"
        encounters, events = history(args.shifts, args.encounters_per_shift)
        with app.app_context():
            for item in db.session.scalars(
                db.select(SupplyItem).where(SupplyItem.key.in_(TRACKED))
            ):
                item.stock_tracked = True
            auth_services.create_user("bench-supervisor", Role.SUPERVISOR, BENCH_PASSWORD)
            db.session.commit()
            worker_id = db.session.query(User.id).filter_by(username=username).scalar()
            for i in range(0, len(encounters), BATCH):
                ingest_batch(encounters[i : i + BATCH], worker_id, author=username)
            for i in range(0, len(events), BATCH):
                ingest_stock_events(events[i : i + BATCH], worker_id, author=username)

        def timed(client, path: str) -> list[float]:
            client.get(path)  # warm: templates, catalogue cache
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            return times

        worker = signed_in_client(app, username)
        bag = worker.get("/api/v1/session").get_json()["bag"]
        assert bag["started"], bag
        supervisor = signed_in_client(app, "bench-supervisor")
        for label, client, path in (
            ("GET /api/v1/session (the worker's bag)", worker, "/api/v1/session"),
            ("/reports/stock (its default period)", supervisor, "/reports/stock"),
        ):
            times = timed(client, path)
            rows.append(
                f"| {engine} | {label} | {statistics.median(times):.1f} | "
                f"{percentile(times, 0.95):.1f} |"
            )
        with app.app_context():
            db.engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--shifts", type=int, default=250)
    parser.add_argument("--encounters-per-shift", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith(("OUTREACH_", "FLASK_"))]:
        del os.environ[name]
    os.environ["OUTREACH_INSTANCE_PATH"] = os.path.join(
        os.environ.get("TMPDIR", "/tmp"), f"outreach-bag-read-{os.getpid()}"
    )
    logging.getLogger("outreach").setLevel(logging.WARNING)
    print(f"Machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    print(
        f"One worker, {args.shifts} shifts: {args.shifts * args.encounters_per_shift} encounters "
        f"and {2 * args.shifts} stock events.\n"
    )
    print("| engine | read | median ms | p95 ms |")
    print("| --- | --- | ---: | ---: |")
    for engine in args.engines.split(","):
        for row in one_engine(engine, args):
            print(row)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
