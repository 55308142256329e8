"""Reports latency at scale: roll-ups vs indexes vs the raw GROUP BY floor.

One command, on SQLite and on PostgreSQL (a throwaway database on the local server):

    .venv/bin/python bench/reports_latency.py --encounters 1000000

For each engine it makes a fresh migrated database, adds ``--encounters`` synthetic
encounters over 365 days (``outreach.demo``, as ``flask demo-data`` does), then times, for
the last 365 local days (median of ``--repeat`` runs after one warm-up):

- floor: one GROUP BY over a flat table holding one row per encounter (what "as fast as a
  raw GROUP BY" means in the issue);
- records: the report's figures computed from the encounter tables with the indexes the
  migrations create (the path worker and item filters use);
- records + covering indexes: the same after adding indexes that cover those queries;
- roll-ups: summary.json's figures and the dashboard's queries from the daily roll-ups,
  and the whole /reports page, /reports/summary.json and the monthly CSV exports
  (shareable and internal) through the app; the last whole quarter's funder report (page
  and CSV, generic template) beside summary.json for the same quarter;
- upkeep: a 500-record sync batch and one void, which maintain the roll-ups.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade

from outreach import create_app
from outreach import demo
from outreach.auth import services as auth_services
from outreach.database import write_transaction
from outreach.encounters import rollups
from outreach.encounters import voids
from outreach.encounters.ingest import ingest_batch
from outreach.extensions import db
from outreach.models import Encounter
from outreach.models import Role
from outreach.models import User
from outreach.reports import figures as queries
from outreach.reports.figures import ReportFilter
from outreach.seeding import seed_all

PASSWORD = "bench password 123"
TIMEZONE = "America/New_York"
COVERING_INDEXES = {
    "ix_bench_encounter_cover": (
        "encounter",
        "local_date, zone_id, voided_at, participant_hash, people_served, "
        "syringes_collected, naloxone_reversals_reported, id",
    ),
    "ix_bench_supply_cover": ("encounter_supply", "encounter_id, item_id, quantity"),
}
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def median_ms(action: Callable[[], object], repeat: int) -> float:
    action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def make_database(engine_name: str, pg_url: str, workdir: Path) -> tuple[str, Callable[[], None]]:
    if engine_name == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite'}", lambda: None
    name = f"bench_reports_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(pg_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url, drop


def analyze() -> None:
    # End the session's read transaction first: DDL on PostgreSQL waits for it otherwise.
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        # VACUUM sets the visibility map after the bulk load, as autovacuum would on a live
        # server; without it PostgreSQL cannot use index-only scans and every plan reads
        # the heap. VACUUM cannot run inside a transaction block.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        return
    with write_transaction() as connection:
        connection.exec_driver_sql("ANALYZE")


def run_engine(engine_name: str, args, workdir: Path) -> dict:
    url, drop = make_database(engine_name, args.pg_url, workdir)
    os.environ["OUTREACH_INSTANCE_PATH"] = str(workdir / f"instance-{engine_name}")
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "PARTICIPANT_CODE_KEY": "bench",
            "PROGRAM_TIMEZONE": TIMEZONE,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SYNC_RATE_PER_MINUTE": 1_000_000,
        }
    )
    results: dict = {}
    try:
        with app.app_context():
            upgrade()
            seed_all()
            for n in range(8):
                auth_services.create_user(f"worker{n}", Role.WORKER, PASSWORD)
            auth_services.create_user("boss", Role.SUPERVISOR, PASSWORD)
            started = time.perf_counter()
            demo.generate(365, args.encounters, random_seed=1)
            results["generate_s"] = time.perf_counter() - started
            started = time.perf_counter()
            with write_transaction() as connection:
                rollups.rebuild(connection)
            results["rebuild_s"] = time.perf_counter() - started
            with write_transaction() as connection:
                connection.exec_driver_sql(
                    "CREATE TABLE bench_flat AS SELECT local_date, zone_id, participant_hash, "
                    "people_served, syringes_collected, naloxone_reversals_reported "
                    "FROM encounter WHERE voided_at IS NULL"
                )
            analyze()
            today = datetime.now(UTC).astimezone(ZoneInfo(TIMEZONE)).date()
            start = today - timedelta(days=364)
            year = ReportFilter(start, today)
            zone_id = db.session.scalar(sa.select(sa.func.min(Encounter.zone_id)))
            one_zone = ReportFilter(start, today, zone_id=zone_id)
            db.session.rollback()
            repeat = args.repeat

            flat = sa.text(
                "SELECT zone_id, COUNT(*), SUM(people_served), SUM(syringes_collected), "
                "SUM(naloxone_reversals_reported) FROM bench_flat "
                "WHERE local_date BETWEEN :start AND :end GROUP BY zone_id"
            )
            results["floor"] = median_ms(
                lambda: db.session.execute(flat, {"start": start, "end": today}).all(), repeat
            )

            def records_summary():
                return queries.figures_from_records(year)

            def records_dashboard():
                queries.figures_from_records(year)
                queries._by_zone_from_records(year)
                queries.by_day_from_records(year)

            results["records_summary"] = median_ms(records_summary, repeat)
            results["records_dashboard"] = median_ms(records_dashboard, max(1, repeat // 2))
            db.session.rollback()
            with write_transaction() as connection:
                for name, (table, columns) in COVERING_INDEXES.items():
                    connection.exec_driver_sql(f"CREATE INDEX {name} ON {table} ({columns})")
            analyze()
            results["indexed_summary"] = median_ms(records_summary, repeat)
            results["indexed_dashboard"] = median_ms(records_dashboard, max(1, repeat // 2))
            db.session.rollback()
            with write_transaction() as connection:
                for name in COVERING_INDEXES:
                    drop_sql = f"DROP INDEX {name}"
                    connection.exec_driver_sql(drop_sql)
            analyze()

            results["rollup_summary"] = median_ms(lambda: queries.figures(year), repeat)
            results["rollup_summary_zone"] = median_ms(lambda: queries.figures(one_zone), repeat)
            # A reader's own codes never count in the figures they read: for a reader who
            # logged one encounter in eight (worker0 here), every visit of their
            # participants is read to take them out (supervisors usually log few or none).
            logger = db.session.scalar(sa.select(User.id).where(User.username == "worker0"))
            results["rollup_summary_logging_reader"] = median_ms(
                lambda: queries.figures(ReportFilter(start, today, reader_id=logger)), repeat
            )
            results["rollup_dashboard"] = median_ms(
                lambda: (queries.figures(year), queries.by_zone(year), queries.by_day(year)),
                repeat,
            )
            results["rollup_rows"] = {
                model.__tablename__: db.session.scalar(
                    sa.select(sa.func.count()).select_from(model)
                )
                for model in rollups.ROLLUP_MODELS
            }
            db.session.rollback()

        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        client.post(
            "/login",
            data={"username": "boss", "password": PASSWORD, "csrf_token": CSRF.search(page)[1]},
        )
        summary_url = f"/reports/summary.json?start={start}&end={today}"
        page_url = f"/reports?preset=custom&start={start}&end={today}"
        assert client.get(summary_url).status_code == 200
        results["http_summary"] = median_ms(lambda: client.get(summary_url), repeat)
        results["http_dashboard"] = median_ms(lambda: client.get(page_url), repeat)
        export_url = f"/reports/export.csv?period=month&start={start}&end={today}"
        assert client.get(export_url + "&suppress=1").status_code == 200
        results["http_export_shareable"] = median_ms(
            lambda: client.get(export_url + "&suppress=1"), repeat
        )
        results["http_export_internal"] = median_ms(lambda: client.get(export_url), repeat)
        # The last whole quarter: a funder report beside summary.json for the same dates.
        quarter = (today.month - 1) // 3 or 4
        year = today.year if today.month > 3 else today.year - 1
        q_start = datetime(year, 3 * quarter - 2, 1).date()
        q_end = (datetime(year + quarter // 4, 3 * quarter % 12 + 1, 1) - timedelta(days=1)).date()
        quarter_summary = f"/reports/summary.json?start={q_start}&end={q_end}"
        funder_url = f"/reports/funder?template=generic_ssp_quarterly&period=q{quarter}&year={year}"
        assert client.get(funder_url).status_code == 200
        assert client.get(funder_url + "&format=csv").status_code == 200
        results["http_summary_quarter"] = median_ms(lambda: client.get(quarter_summary), repeat)
        results["http_funder_quarter"] = median_ms(lambda: client.get(funder_url), repeat)
        results["http_funder_quarter_csv"] = median_ms(
            lambda: client.get(funder_url + "&format=csv"), repeat
        )

        with app.test_request_context():
            worker = db.session.scalar(sa.select(User.id).where(User.username == "worker0"))
            now = datetime.now(UTC)

            def batch() -> list[dict]:
                return [
                    {
                        "id": str(uuid.uuid4()),
                        "occurred_at": (now - timedelta(hours=n)).isoformat(),
                        "zone": "riverside",
                        "participant_code": f"DEMO-{n:07d}",
                        "supplies": {"syringe_1ml_27g": 20, "naloxone_nasal": 1},
                        "referrals": ["wound_care"],
                    }
                    for n in range(500)
                ]

            results["sync_500"] = median_ms(lambda: ingest_batch(batch(), worker), 5)
            keep = rollups.apply
            rollups.apply = lambda *args, **kwargs: None
            try:
                results["sync_500_bare"] = median_ms(lambda: ingest_batch(batch(), worker), 5)
            finally:
                rollups.apply = keep
            with write_transaction() as connection:
                rollups.rebuild(connection)
            boss = db.session.scalar(sa.select(User).where(User.username == "boss"))
            ids = list(
                db.session.scalars(
                    sa.select(Encounter.id).where(Encounter.voided_at.is_(None)).limit(8)
                )
            )
            results["void_one"] = median_ms(
                lambda: voids.void_encounter(ids.pop(), "test", boss), 5
            )
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
    return results


ROWS = [
    ("floor", "floor: GROUP BY over a flat table (1 row per encounter)"),
    ("records_summary", "summary figures from the records (migration indexes)"),
    ("indexed_summary", "summary figures from the records + covering indexes"),
    ("rollup_summary", "summary figures from the roll-ups"),
    ("rollup_summary_zone", "summary figures from the roll-ups, one zone"),
    (
        "rollup_summary_logging_reader",
        "  the same, read by someone who logged 1 in 8 of the encounters (own codes left out)",
    ),
    ("records_dashboard", "dashboard queries from the records (migration indexes)"),
    ("indexed_dashboard", "dashboard queries from the records + covering indexes"),
    ("rollup_dashboard", "dashboard queries from the roll-ups"),
    ("http_summary", "GET /reports/summary.json (whole request)"),
    ("http_dashboard", "GET /reports (whole page, charts included)"),
    ("http_export_shareable", "GET /reports/export.csv?suppress=1, by month (shareable)"),
    ("http_export_internal", "GET /reports/export.csv, by month (internal)"),
    ("http_summary_quarter", "GET /reports/summary.json, the last whole quarter"),
    ("http_funder_quarter", "GET /reports/funder, the same quarter (printable page)"),
    ("http_funder_quarter_csv", "GET /reports/funder?format=csv, the same quarter"),
    ("sync_500", "upkeep: sync batch of 500 records (incl. roll-ups)"),
    ("sync_500_bare", "  the same batch without roll-up upkeep (for comparison)"),
    ("void_one", "upkeep: void one record (incl. roll-ups)"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encounters", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("TEST_PG_URL", "postgresql+psycopg://127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    all_results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine_name in engines:
            print(f"[{engine_name}] {args.encounters:,} encounters ...", flush=True)
            all_results[engine_name] = run_engine(engine_name, args, Path(tmp))
            print(f"[{engine_name}] done", flush=True)
    print()
    print(f"{args.encounters:,} encounters over 365 days; period: the last 365 days; ms, median")
    print(f"Python {platform.python_version()}, SQLAlchemy {sa.__version__}")
    header = f"| {'measure':<58} |" + "".join(f" {e:>10} |" for e in engines)
    print(header)
    print("|" + "-" * 60 + "|" + "".join("-" * 11 + ":|" for _ in engines))
    for key, label in ROWS:
        cells = "".join(f" {all_results[e][key]:>10.1f} |" for e in engines)
        print(f"| {label:<58} |{cells}")
    for engine_name in engines:
        r = all_results[engine_name]
        print(
            f"{engine_name}: generated in {r['generate_s']:.0f} s, roll-up rebuild "
            f"{r['rebuild_s']:.1f} s, roll-up rows {r['rollup_rows']}"
        )


if __name__ == "__main__":
    main()
