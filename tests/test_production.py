"""Production mode, /healthz, upgrades, backups: the deployment guide's commands, run."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import threading
import time
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade
from flask_migrate import upgrade

from outreach import create_app
from outreach.config import ConfigurationError
from outreach.extensions import db
from tests.conftest import PASSWORD
from tests.conftest import count_rows
from tests.conftest import csrf_token_from
from tests.conftest import is_postgres
from tests.conftest import make_encounter
from tests.live import BIN
from tests.live import PROJECT
from tests.live import GunicornServer
from tests.live import production_env


@pytest.fixture
def production_environ(monkeypatch, database_url, tmp_path):
    for name, value in production_env(database_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("FLASK_DEBUG", raising=False)


def test_production_sets_secure_cookies(production_environ):
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SECRET_KEY", "dev", "SECRET_KEY"),
        ("SECRET_KEY", "short-secret", "SECRET_KEY"),
        ("SECRET_KEY", None, "SECRET_KEY"),
        ("PARTICIPANT_CODE_KEY", None, "PARTICIPANT_CODE_KEY"),
        ("DATABASE_URL", None, "DATABASE_URL"),
        ("FLASK_DEBUG", "1", "debug"),
    ],
)
def test_production_refuses_development_settings(
    production_environ, monkeypatch, variable, value, message
):
    if value is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=message):
        create_app()


def test_production_refuses_debug_from_test_config(production_environ):
    with pytest.raises(ConfigurationError, match="debug"):
        create_app({"DEBUG": True})


def test_healthz_reports_database_and_migrations(app, client):
    from outreach.health import _head_revision
    from outreach.version import app_version

    response = client.get("/healthz")
    assert response.status_code == 200
    head = _head_revision(app.extensions["migrate"].directory)
    assert response.get_json() == {
        "status": "ok",
        "version": app_version(),
        "migration": head,
        "database": "ok",
        "migrations": "current",
        "seal_keys": "ok",
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_answers_503_when_redis_is_unreachable(make_app, database_url):
    """Sign-ins count failures in Redis: a wrong port makes every sign-in fail."""
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["redis"] == "unreachable"
    assert response.get_json()["status"] == "unavailable"


def test_healthz_answers_503_when_the_seal_keys_are_unusable(app, client, make_app):
    """Every phone's session call needs the current seal key: a server whose wrap key is not
    the one the keys were stored with cannot hand it out, and says so."""
    assert client.get("/healthz").status_code == 200
    stranger = make_app(SEAL_WRAP_KEY="not-the-key-these-seal-keys-were-wrapped-with")
    response = stranger.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["seal_keys"] == "unusable"


def test_healthz_answers_503_when_migrations_are_pending(app, client):
    with app.app_context():
        downgrade(revision="base")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["migrations"] == "pending"


def test_healthz_answers_503_when_the_database_is_unreachable(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/missing-dir/x.sqlite")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["database"] == "unreachable"
    assert body["migration"] is None


def test_upgrade_from_the_first_schema_keeps_every_record(app):
    """Data written under the first schema survives `flask db upgrade` to the latest."""
    with app.app_context():
        downgrade(revision="base")
        upgrade(revision="0001")
        with db.engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO zone (key, name, sort_order, active, updated_at) "
                    "VALUES ('old_zone', 'Old zone', 1, :t, :now)"
                ),
                {"t": True, "now": "2026-01-01 00:00:00"},
            )
            zone_id = connection.execute(sa.text("SELECT id FROM zone")).scalar_one()
            for n in range(5):
                connection.execute(
                    sa.text(
                        "INSERT INTO encounter (id, occurred_at, local_date, zone_id, "
                        "people_served, syringes_collected, naloxone_reversals_reported, "
                        "received_at) VALUES (:id, :at, :day, :zone, 1, :n, 0, :at)"
                    ),
                    {
                        "id": f"0000000000004000800000000000000{n}"
                        if not is_postgres()
                        else f"00000000-0000-4000-8000-00000000000{n}",
                        "at": "2026-01-02 03:00:00",
                        "day": "2026-01-01",
                        "zone": zone_id,
                        "n": n,
                    },
                )
        upgrade()
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT COUNT(*) FROM encounter")).scalar() == 5
            collected = connection.execute(
                sa.text("SELECT SUM(syringes_collected) FROM encounter")
            ).scalar()
            assert collected == 10
            assert connection.execute(sa.text("SELECT key FROM zone")).scalar() == "old_zone"


def _flask(args: list[str], env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "flask"), "--app", "outreach", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def test_backup_while_syncing_then_restore(app, sync_api, database_url, tmp_path):
    """`flask backup` runs online; `flask restore --yes` brings back exactly that state."""
    env = production_env(database_url, OUTREACH_ENV="development")
    env["OUTREACH_INSTANCE_PATH"] = str(tmp_path / "instance")
    sync_api.post([make_encounter() for _ in range(50)])

    stop = threading.Event()
    writer_app = create_app(app.config.copy())

    def keep_writing():
        # Writes during the backup must not break it (online backup).
        with writer_app.app_context():
            while not stop.is_set():
                with db.engine.begin() as connection:
                    connection.execute(sa.text("UPDATE zone SET sort_order = sort_order + 1"))
                time.sleep(0.01)
            db.engine.dispose()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        backup_file = tmp_path / "backups" / "outreach.backup"
        made = _flask(["backup", str(backup_file)], env)
    finally:
        stop.set()
        writer.join()
    assert made.returncode == 0, made.stderr
    assert backup_file.stat().st_size > 0

    sync_api.post([make_encounter() for _ in range(7)])
    assert count_rows(app, "encounter") == 57
    with app.app_context():
        db.session.remove()
        db.engine.dispose()

    refused = _flask(["restore", str(backup_file)], env, input="n\n")
    assert refused.returncode != 0
    assert count_rows(app, "encounter") == 57
    with app.app_context():
        db.engine.dispose()

    restored = _flask(["restore", "--yes", str(backup_file)], env)
    assert restored.returncode == 0, restored.stderr
    assert count_rows(app, "encounter") == 50
    assert count_rows(app, "encounter_supply") == 100
    health = app.test_client().get("/healthz")
    assert health.status_code == 200


def test_production_server_serves_health_and_a_sync_round_trip(app, users, database_url):
    env = production_env(database_url, OUTREACH_BIND="127.0.0.1:0", OUTREACH_WORKERS="2")
    server = GunicornServer(env)
    try:
        assert server.port, "".join(server.output)
        response, body = server.request("GET", "/healthz")
        assert response.status == 200
        assert json.loads(body)["migrations"] == "current"

        response, page = server.request("GET", "/login?lang=en&probe=secret-query")
        token = csrf_token_from(page.decode())
        assert "Secure" in response.getheader("Set-Cookie")
        form = urlencode({"username": users.worker, "password": PASSWORD, "csrf_token": token})
        response, _ = server.request(
            "POST",
            "/login",
            body=form,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status == 302
        response, body = server.request("GET", "/api/v1/session")
        api_token = json.loads(body)["csrf_token"]
        record = make_encounter(participant_code="PROD-CODE-7731")
        response, body = server.request(
            "POST",
            "/api/v1/sync",
            body=json.dumps({"encounters": [record]}),
            headers={"Content-Type": "application/json", "X-CSRFToken": api_token},
        )
        assert response.status == 200, body
        assert json.loads(body)["results"] == [{"id": record["id"], "status": "created"}]
        assert count_rows(app, "encounter") == 1
    finally:
        server.stop()
    log = "".join(server.output)
    # Every line, gunicorn's own included, is one JSON object shaped like the app's.
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    assert any("Listening at" in entry["message"] for entry in entries)
    access = [entry for entry in entries if entry["logger"] == "gunicorn.access"]
    sync = [entry for entry in access if entry["path"] == "/api/v1/sync"]
    assert sync and sync[0]["method"] == "POST" and sync[0]["status"] == 200, log
    assert {"method", "path", "status", "bytes", "duration_ms"} <= set(sync[0])
    assert "secret-query" not in log
    assert "PROD-CODE-7731" not in log
    assert "203.0.113.9" not in log


def test_production_server_refuses_to_start_with_a_development_secret(database_url):
    env = production_env(database_url, SECRET_KEY="dev", OUTREACH_BIND="127.0.0.1:0")
    result = subprocess.run(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "outreach:create_app()"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Refusing to start in production" in result.stdout + result.stderr


def test_nginx_compresses_every_text_type_the_app_serves(client):
    """deploy/nginx.conf's gzip_types must name the exact Content-Types the app sends (nginx
    matches them literally): scripts, styles, the manifest, JSON and SVG."""
    import re

    config = (PROJECT / "deploy" / "nginx.conf").read_text()
    listed = set(re.search(r"gzip_types([^;]+);", config).group(1).split())
    listed.add("text/html")  # nginx always compresses HTML when gzip is on
    script = next((PROJECT / "static" / "dist").glob("log-*.js")).name
    style = next((PROJECT / "static" / "dist").glob("app-*.css")).name
    paths = [
        f"/static/dist/{script}",
        f"/static/dist/{style}",
        "/sw.js",
        "/manifest.webmanifest",
        "/offline-pages.json",
        "/cards",
        "/cards/naloxone/qr.svg?lang=en",
    ]
    for path in paths:
        response = client.get(path)
        response.close()  # static files answer with an open file
        assert response.status_code == 200, path
        assert response.mimetype in listed, (path, response.mimetype)


def test_backup_of_a_relative_sqlite_path_copies_the_file_the_app_uses(tmp_path, monkeypatch):
    """Flask-SQLAlchemy puts a relative SQLite path in the instance folder; the backup must
    copy that file, not open (and create) an empty one beside the working directory."""
    instance = tmp_path / "instance"
    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(instance))
    monkeypatch.chdir(tmp_path)
    app = create_app({"DATABASE_URL": "sqlite:///outreach-relative.sqlite", "SECRET_KEY": "t" * 32})
    with app.app_context():
        upgrade()
        from outreach.seeding import seed_all

        seed_all()
        db.engine.dispose()
    assert (instance / "outreach-relative.sqlite").exists()
    backup_file = tmp_path / "copy.sqlite"
    result = app.test_cli_runner().invoke(args=["backup", str(backup_file)])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "outreach-relative.sqlite").exists()
    with contextlib.closing(sqlite3.connect(backup_file)) as copy:
        assert copy.execute("SELECT COUNT(*) FROM supply_item").fetchone()[0] > 0


def _unit_commands(name: str, backups) -> dict[str, list[str]]:
    """The shipped unit's command lines, as systemd runs them, aimed at this test's folder."""
    import shlex

    commands = {}
    for line in (PROJECT / "deploy" / name).read_text().splitlines():
        key, separator, value = line.partition("=")
        if separator and key in ("ExecStart", "ExecStartPre", "ExecStartPost"):
            value = value.replace("%%", "%")
            value = value.replace("/opt/outreach/current/bin/flask", str(BIN / "flask"))
            value = value.replace("/var/lib/outreach/backups", str(backups))
            commands[key] = shlex.split(value)
    return commands


def test_the_backup_timer_writes_a_checked_backup_and_prunes_old_ones(app, database_url, tmp_path):
    import os

    backups = tmp_path / "backups"
    env = production_env(database_url, OUTREACH_ENV="development")
    env["OUTREACH_INSTANCE_PATH"] = str(tmp_path / "instance")
    commands = _unit_commands("outreach-backup.service", backups)
    assert "%" not in (PROJECT / "deploy" / "outreach-backup.service").read_text().replace(
        "%%", ""
    ), "a single % is a systemd specifier"
    subprocess.run(commands["ExecStartPre"], check=True)
    stale = backups / "outreach-2020-01-01T000000Z.backup"
    stale.write_bytes(b"old")
    old = time.time() - 20 * 86400
    os.utime(stale, (old, old))
    kept = backups / "notes.txt"
    kept.write_text("not a backup")
    result = subprocess.run(commands["ExecStart"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    subprocess.run(commands["ExecStartPost"], check=True)
    made = sorted(p.name for p in backups.glob("outreach-*.backup"))
    assert len(made) == 1 and made[0] != stale.name
    assert (backups / made[0]).stat().st_mode & 0o077 == 0
    assert kept.exists()
    timer = (PROJECT / "deploy" / "outreach-backup.timer").read_text()
    assert "OnCalendar=" in timer and "Persistent=true" in timer
