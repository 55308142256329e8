"""Shared pieces of the benchmarks: throwaway databases, a prepared app, machine facts."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

PG_SERVER_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://127.0.0.1:5432/test")
BENCH_PASSWORD = "bench-password-long-enough"


def machine() -> str:
    """One line naming the machine: CPU model, cores, memory, date."""
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError), open("/proc/meminfo") as handle:
        kib = int(handle.readline().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    today = datetime.now(UTC).date().isoformat()
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory} RAM, Python {platform.python_version()}, {today}"
    )


@contextlib.contextmanager
def throwaway_database(engine: str) -> Iterator[str]:
    """A new empty database URL on SQLite (temp file) or the local PostgreSQL server."""
    if engine == "sqlite":
        with tempfile.TemporaryDirectory(prefix="outreach-bench-") as folder:
            yield f"sqlite:///{folder}/bench.sqlite"
        return
    name = f"outreach_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield (
            sa.engine.make_url(PG_SERVER_URL)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def bench_env(database_url: str, **extra: str) -> dict[str, str]:
    """Environment for the app under test (production settings, generous rate limits)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "OUTREACH_"))}
    env.update(
        OUTREACH_ENV="production",
        SECRET_KEY="bench-secret-key-0123456789abcdef0123456789abcdef",
        PARTICIPANT_CODE_KEY="bench-participant-key-0123456789abcdef",
        DATABASE_URL=database_url,
        PUBLIC_URL="https://outreach.example.org",
        OUTREACH_BIND="127.0.0.1:0",
        OUTREACH_ACCESS_LOG="/dev/null",
        OUTREACH_INSTANCE_PATH=tempfile.mkdtemp(prefix="outreach-bench-instance-"),
    )
    env.update(extra)
    return env


def prepare(database_url: str, workers: int = 1) -> None:
    """Migrate, seed, and create worker accounts bench-worker-0..N-1."""
    env = bench_env(database_url, OUTREACH_ENV="development")
    flask = [str(Path(sys.executable).parent / "flask"), "--app", "outreach"]
    subprocess.run([*flask, "db", "upgrade"], env=env, check=True, capture_output=True, cwd=PROJECT)
    subprocess.run([*flask, "seed"], env=env, check=True, capture_output=True, cwd=PROJECT)
    for n in range(workers):
        subprocess.run(
            [*flask, "user", "create", f"bench-worker-{n}", "--password", BENCH_PASSWORD],
            env=env,
            check=True,
            capture_output=True,
            cwd=PROJECT,
        )


def in_process_app(database_url: str):
    """The app on a prepared database, in this process (for Flask's test client)."""
    from outreach import create_app

    return create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789abcdef",
            "PARTICIPANT_CODE_KEY": "bench-participant-key-0123456789abcdef",
            "SYNC_RATE_PER_MINUTE": 100_000,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )


def signed_in_client(app, username: str):
    """A test client signed in through the real form (BENCH_PASSWORD)."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    client.post(
        "/login", data={"username": username, "password": BENCH_PASSWORD, "csrf_token": token}
    )
    return client


def encounter(rng, now: datetime | None = None) -> dict:
    """A realistic encounter record as a phone sends it."""
    now = now or datetime.now(UTC)
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "occurred_at": now.isoformat(timespec="seconds"),
        "zone": rng.choice(["downtown", "riverside", "eastside", None]),
        "participant_code": f"B-{rng.randrange(5000):04d}" if rng.random() < 0.7 else None,
        "people_served": 1 if rng.random() < 0.8 else rng.randint(2, 5),
        "supplies": {"syringe_1ml_27g": rng.choice([10, 20, 50]), "naloxone_nasal": 1},
        "syringes_collected": rng.choice([0, 10, 20]),
        "naloxone_reversals_reported": 0,
        "referrals": ["wound_care"] if rng.random() < 0.3 else [],
    }


def overdose_response(rng, now: datetime | None = None) -> dict:
    """An overdose response as the phone's form sends it."""
    now = now or datetime.now(UTC)
    doses = rng.choice([0, 1, 2, 2, 3])
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "occurred_at": now.isoformat(timespec="seconds"),
        "zone": rng.choice(["downtown", "riverside", "eastside", None]),
        "naloxone_doses": doses,
        "given_by": rng.choice([["worker"], ["bystander"], ["worker", "ems"]]) if doses else [],
        "ems_called": rng.choice(["yes", "no", "unknown"]),
        "outcome": rng.choice(["alive", "alive", "transported", "unknown"]),
    }


def stock_event(rng, now: datetime | None = None) -> dict:
    """A bag load-out as the phone's bag page sends it."""
    now = now or datetime.now(UTC)
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "type": "load",
        "occurred_at": now.isoformat(timespec="seconds"),
        "items": {"syringe_1ml_27g": rng.choice([100, 200]), "naloxone_nasal": rng.choice([5, 10])},
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]
