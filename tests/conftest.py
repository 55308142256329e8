"""Shared fixtures: an app on a fresh database per test, clients signed in by role.

The database is SQLite by default; with TEST_DATABASE_URL pointing at a PostgreSQL server,
each test run makes its own throwaway database there and drops it afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from outreach import create_app
from outreach.auth import services as auth_services
from outreach.extensions import db
from outreach.models import Role
from outreach.seeding import seed_all

PASSWORD = "correct horse battery"
TEST_PG_URL = os.environ.get("TEST_DATABASE_URL")
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def base_config(database_url: str) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "PARTICIPANT_CODE_KEY": "test-participant-code-key",
        "PROGRAM_TIMEZONE": "America/New_York",
        # Hashing is deliberately slow in production; tests sign in often.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "SYNC_RATE_PER_MINUTE": 10_000,
    }


def is_postgres() -> bool:
    return bool(TEST_PG_URL)


def _with_database(url: str, name: str) -> str:
    return sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory, worker_id):
    """A migrated, seeded database made once per test process."""
    if is_postgres():
        name = f"outreach_test_{worker_id}_{uuid.uuid4().hex[:8]}"
        admin_engine = sa.create_engine(TEST_PG_URL, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = _with_database(TEST_PG_URL, name)
        _migrate_and_seed(url)
        seeded = SeededPostgres(url)
        yield seeded
        seeded.engine.dispose()
        with admin_engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_engine.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite"
        _migrate_and_seed(f"sqlite:///{path}")
        yield path


def _migrate_and_seed(url: str) -> None:
    app = create_app(base_config(url))
    with app.app_context():
        upgrade()
        seed_all()
        db.engine.dispose()


class SeededPostgres:
    """The PostgreSQL test database and a copy of its freshly seeded rows.

    Each test gets the database back as it was just after seeding, as the SQLite pass gets a
    copy of its seeded file. Truncating and putting the recorded rows back costs a fraction
    of building an app and seeding again, which once took a minute of every PostgreSQL run.
    """

    def __init__(self, url: str):
        self.url = url
        # No pool: a test may restart PostgreSQL, and every reset starts by ending sessions.
        self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        self.tables = list(db.metadata.sorted_tables)
        with self.engine.connect() as connection:
            self.head = self._version(connection)
            self.rows = {
                table: [dict(row) for row in connection.execute(sa.select(table)).mappings()]
                for table in self.tables
            }
            # Each id sequence goes back to where seeding left it (or to its start).
            self.sequences = list(
                connection.execute(
                    sa.text(
                        "SELECT schemaname || '.' || sequencename, "
                        "coalesce(last_value, start_value), last_value IS NOT NULL "
                        "FROM pg_sequences"
                    )
                )
            )

    @staticmethod
    def _version(connection) -> str | None:
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()

    def reset(self) -> None:
        """Empty every table but Alembic's and put the seeded rows back: a fresh database."""
        with self.engine.connect() as connection:
            # A live server's request thread can be cut off mid-request when its test ends,
            # leaving a transaction open that would block TRUNCATE forever: end such sessions.
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            connection.commit()
            at_head = self._version(connection) == self.head
        if not at_head:
            # A test migrated down: bring the schema back to head first.
            app = create_app(base_config(self.url))
            with app.app_context():
                upgrade()
                db.engine.dispose()
        with self.engine.begin() as connection:
            # DELETE, children first: on these small tables it is several times quicker than
            # TRUNCATE, which replaces every table's files.
            for table in reversed(self.tables):
                connection.execute(table.delete())
            for table in self.tables:
                if self.rows[table]:
                    connection.execute(table.insert(), self.rows[table])
            connection.execute(
                sa.text("SELECT setval(:name, :value, :called)"),
                [{"name": n, "value": v, "called": c} for n, v, c in self.sequences],
            )


@pytest.fixture
def database_url(database_template, tmp_path) -> str:
    """A fresh, migrated and seeded database for one test."""
    if is_postgres():
        database_template.reset()
        return database_template.url
    path = tmp_path / "outreach.sqlite"
    shutil.copyfile(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app_config(database_url, tmp_path, monkeypatch) -> dict:
    """Settings for this test's app; tests may change them before using ``app``."""
    config = base_config(database_url)
    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(tmp_path / "instance"))
    return config


@pytest.fixture
def make_app(app_config):
    """Build apps on this test's database (with changed settings); disposed afterwards."""
    made = []

    def build(**overrides):
        made.append(create_app({**app_config, **overrides}))
        return made[-1]

    yield build
    for built in made:
        with built.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def fixed_clock():
    """Fix the app's clock (``outreach.clock``) for one test, then let it run again."""
    from outreach import clock

    yield clock.set_now
    clock.set_now(None)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@dataclass
class Accounts:
    worker: str = "wendy"
    supervisor: str = "sam"
    admin: str = "ada"


@pytest.fixture
def users(app) -> Accounts:
    """One account per role, all with PASSWORD."""
    accounts = Accounts()
    with app.app_context():
        for role in Role:
            auth_services.create_user(getattr(accounts, role.key), role, PASSWORD)
    return accounts


@pytest.fixture
def auth_events(caplog):
    """Structured sign-in log events, by name (event=...)."""
    import logging

    # Alembic's logging set-up (run by the database fixtures) disables loggers made before it.
    logging.getLogger("outreach.auth").disabled = False
    caplog.set_level(logging.INFO, logger="outreach")

    def events(name: str) -> list:
        return [r for r in caplog.records if getattr(r, "event", None) == name]

    return events


def csrf_token_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class AuthActions:
    """Sign a test client in and out through the real forms."""

    def __init__(self, client):
        self._client = client

    def login(self, username: str, password: str = PASSWORD, remember: bool = False, **extra):
        page = self._client.get("/login")
        data = {
            "username": username,
            "password": password,
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        }
        if remember:
            data["remember"] = "y"
        return self._client.post("/login", data=data, **extra)

    def logout(self):
        page = self._client.get("/", follow_redirects=True)
        token = csrf_token_from(page.get_data(as_text=True))
        return self._client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


def _signed_in_client(app, username: str):
    client = app.test_client()
    response = AuthActions(client).login(username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def worker_client(app, users):
    return _signed_in_client(app, users.worker)


@pytest.fixture
def supervisor_client(app, users):
    return _signed_in_client(app, users.supervisor)


@pytest.fixture
def admin_client(app, users):
    return _signed_in_client(app, users.admin)


class SyncApi:
    """Posts batches to /api/v1/sync the way the phone does."""

    def __init__(self, client):
        self.client = client
        self._token: str | None = None

    @property
    def token(self) -> str:
        if self._token is None:
            self._token = self.client.get("/api/v1/session").get_json()["csrf_token"]
        return self._token

    def post(self, encounters, **kwargs):
        return self.client.post(
            "/api/v1/sync",
            json={"encounters": encounters},
            headers={"X-CSRFToken": self.token},
            **kwargs,
        )

    def post_raw(self, data, content_type="application/json"):
        return self.client.post(
            "/api/v1/sync",
            data=data,
            content_type=content_type,
            headers={"X-CSRFToken": self.token},
        )


@pytest.fixture
def sync_api(worker_client) -> SyncApi:
    return SyncApi(worker_client)


def make_encounter(**overrides) -> dict:
    """A valid encounter as a phone would send it."""
    record = {
        "id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
        "zone": "riverside",
        "participant_code": None,
        "people_served": 1,
        "supplies": {"syringe_1ml_27g": 20, "naloxone_nasal": 1},
        "syringes_collected": 15,
        "naloxone_reversals_reported": 0,
        "referrals": ["wound_care"],
    }
    record.update(overrides)
    return record


def assert_stored_once_and_whole(app, expected_ids: set[str]) -> None:
    """Exactly these encounters, each stored once with both of its supply lines and its
    referral (as ``make_encounter`` makes them): nothing lost, doubled or half-written."""
    with app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT e.id, COUNT(DISTINCT s.item_id), COUNT(DISTINCT r.referral_type_id) "
                "FROM encounter e "
                "LEFT JOIN encounter_supply s ON s.encounter_id = e.id "
                "LEFT JOIN encounter_referral r ON r.encounter_id = e.id GROUP BY e.id"
            )
        ).all()
        db.session.remove()
    stored = [str(uuid.UUID(str(row[0]))) for row in rows]
    assert len(stored) == len(set(stored))
    assert set(stored) == expected_ids
    assert all(row[1] == 2 and row[2] == 1 for row in rows)


def count_rows(app, table: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.text(f"SELECT COUNT(*) FROM {table}"))


def pytest_collection_modifyitems(config, items):
    if is_postgres():
        # What no database engine takes part in is checked once, on the SQLite pass.
        once = pytest.mark.skip(reason="engine-independent: run once, on the SQLite pass")
        for item in items:
            if "engine_independent" in item.keywords:
                item.add_marker(once)
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set TEST_DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def project_dir() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def private_postgres():
    """A PostgreSQL server of this test's own, migrated and seeded, that it may stop and
    start (see tests/pg_cluster.py). A test uses it by overriding ``database_url``."""
    from tests.pg_cluster import PrivateCluster
    from tests.pg_cluster import find_bindir

    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    cluster = PrivateCluster(bindir)
    try:
        _migrate_and_seed(cluster.url())
        yield cluster
    finally:
        cluster.close()
