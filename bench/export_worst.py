"""The worst CSV export a supervisor can ask for: time to first byte, total time, peak memory.

    .venv/bin/python bench/export_worst.py --encounters 20000 [--engine sqlite|postgresql]

Makes a throwaway database with ``--encounters`` synthetic encounters spread over the
longest period an export allows (3 x 366 days, ``outreach.demo`` as ``flask demo-data``
does), signs a supervisor (and an admin, for the row-level file) in with Flask's test client,
then asks for each file below through the app, reading the answer as a client would, chunk
by chunk:

- ``/reports/export.csv?period=day`` over the whole span (one row per day, zone and measure:
  the largest file a supervisor can ask for);
- ``/reports/export.csv?period=month&suppress=1`` over the span (the shareable file);
- ``/reports/records.csv`` over the span (admins: one row per encounter).

Each is timed without tracing (time to first byte, total, bytes), then once more under
``tracemalloc`` for the peak of Python memory allocated while answering it.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_PASSWORD
from bench.common import machine
from bench.common import signed_in_client
from bench.common import throwaway_database

SPAN_DAYS = 3 * 366


def build(url: str, encounters: int):
    from flask_migrate import upgrade

    from outreach import create_app
    from outreach import demo
    from outreach.auth import services as auth_services
    from outreach.models import Role
    from outreach.seeding import seed_all

    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789abcdef",
            "PARTICIPANT_CODE_KEY": "bench-participant-key-0123456789abcdef",
            "PROGRAM_TIMEZONE": "America/New_York",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        upgrade()
        seed_all()
        for n in range(4):
            auth_services.create_user(f"bench-worker-{n}", Role.WORKER, BENCH_PASSWORD)
        auth_services.create_user("bench-supervisor", Role.SUPERVISOR, BENCH_PASSWORD)
        auth_services.create_user("bench-admin", Role.ADMIN, BENCH_PASSWORD)
        demo.generate(SPAN_DAYS - 1, encounters, random_seed=1)
    return app


def read(client, url: str) -> tuple[float, float, int]:
    """Seconds to the first non-empty chunk, seconds to the last, bytes."""
    started = time.perf_counter()
    response = client.get(url, buffered=False)
    assert response.status_code == 200, (url, response.status_code)
    first = None
    size = 0
    for chunk in response.response:
        if chunk and first is None:
            first = time.perf_counter() - started
        size += len(chunk)
    response.close()
    return first or 0.0, time.perf_counter() - started, size


def peak_memory(client, url: str) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        response = client.get(url, buffered=False)
        for _chunk in response.response:
            pass
        response.close()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encounters", type=int, default=20_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()

    from outreach.reports import periods

    with throwaway_database(args.engine) as url:
        app = build(url, args.encounters)
        with app.app_context():
            today = periods.today()
        start = today - timedelta(days=SPAN_DAYS - 1)
        supervisor = signed_in_client(app, "bench-supervisor")
        admin = signed_in_client(app, "bench-admin")
        span = f"start={start}&end={today}"
        files = [
            ("internal, by day", supervisor, f"/reports/export.csv?period=day&{span}"),
            (
                "shareable, by month",
                supervisor,
                f"/reports/export.csv?period=month&suppress=1&{span}",
            ),
            ("records (admins)", admin, f"/reports/records.csv?{span}"),
        ]
        print(f"{machine()}; {args.engine}; {args.encounters:,} encounters over {SPAN_DAYS} days")
        print("| file | first byte | total | size | peak Python memory |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, client, url in files:
            read(client, url)  # warm-up (catalogue, caches, SQLite pages)
            first, total, size = read(client, url)
            peak = peak_memory(client, url)
            print(
                f"| {name} | {first * 1000:,.0f} ms | {total:,.2f} s | "
                f"{size / 1e6:,.1f} MB | {peak / 1e6:,.1f} MB |"
            )


if __name__ == "__main__":
    main()
