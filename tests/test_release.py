"""The release a server installs with Python only, installed in a fresh virtualenv (no Node,
no source tree, no network) and run the way docs/deploy.md says.

The PostgreSQL test is the deployment guide end to end: settings file, `flask upgrade`,
first admin, gunicorn, a sync, backup, restore with confirmation, an upgrade bringing a
revised card, and a key rotation, plus the quiet failures that must now fail loudly.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import stat
import subprocess
import sys
import tarfile
import uuid
from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import TEST_PG_URL
from tests.conftest import is_postgres
from tests.conftest import make_encounter
from tests.live import PROJECT
from tests.live import GunicornServer

PASSWORD = "a long release password"


@dataclass
class Installed:
    venv: Path
    home: Path
    release: Path
    archive: Path

    @property
    def package_dir(self) -> Path:
        return next((self.venv / "lib").glob("python3*/site-packages/outreach"))

    def environment(self, settings: Path) -> dict[str, str]:
        # The virtualenv and the PostgreSQL client tools: no node, npm or build tools.
        return {
            "PATH": f"{self.venv / 'bin'}:{self.home / 'bin'}",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "OUTREACH_SETTINGS": str(settings),
        }

    def run(self, args: list[str], settings: Path, input: str | None = None, **env):
        return subprocess.run(
            [str(self.venv / "bin" / args[0]), *args[1:]],
            cwd=self.home,
            env={**self.environment(settings), **env},
            input=input,
            capture_output=True,
            text=True,
            timeout=180,
        )

    def flask(self, args: list[str], settings: Path, input: str | None = None):
        return self.run(["flask", "--app", "outreach", *args], settings, input=input)


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Installed:
    """`make release`, unpacked and installed offline into a new virtualenv."""
    sys.path.insert(0, str(PROJECT / "scripts"))
    try:
        import build_release
    finally:
        sys.path.pop(0)
    work = tmp_path_factory.mktemp("release")
    archive = build_release.build(work / "dist")
    with tarfile.open(archive) as tar:
        tar.extractall(work / "unpacked", filter="data")
    release = next((work / "unpacked").iterdir())
    venv = work / "venv"
    # As docs/deploy.md says: the release's installer, into a folder of its own.
    subprocess.run(
        [sys.executable, str(release / "install.py"), str(venv)], check=True, timeout=300
    )
    home = work / "home"
    (home / "bin").mkdir(parents=True)
    for tool in ("pg_dump", "pg_restore", "psql"):
        if shutil.which(tool):
            (home / "bin" / tool).symlink_to(shutil.which(tool))
    return Installed(venv=venv, home=home, release=release, archive=archive)


def _settings_file(path: Path, **values: str) -> Path:
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    path.chmod(0o600)
    return path


class Server(GunicornServer):
    """gunicorn from the installed release, as the systemd unit starts it."""

    def __init__(self, installed: Installed, settings: Path):
        super().__init__(
            installed.environment(settings),
            command=[
                str(installed.venv / "bin" / "gunicorn"),
                "-c",
                "python:outreach.gunicorn_conf",
            ],
            cwd=installed.home,
        )
        assert self.port, "".join(self.output)


def _production_settings(path: Path, database_url: str, instance: Path, **extra) -> Path:
    return _settings_file(
        path,
        OUTREACH_ENV="production",
        SECRET_KEY=extra.pop("SECRET_KEY", secrets.token_hex(32)),
        PARTICIPANT_CODE_KEY=extra.pop("PARTICIPANT_CODE_KEY", secrets.token_hex(32)),
        DATABASE_URL=database_url,
        PUBLIC_URL="https://outreach.example.org",
        OUTREACH_INSTANCE_PATH=str(instance),
        PROGRAM_TIMEZONE="America/New_York",
        TRUSTED_PROXIES="1",
        OUTREACH_BIND="127.0.0.1:0",
        OUTREACH_WORKERS="2",
        **extra,
    )


def _assert_offline_ready(server: Server) -> None:
    """/log and everything the service worker precaches are served by the installed app."""
    response, page = server.client.request("GET", "/log")
    assert response.status == 200, response.status
    response, worker = server.client.request("GET", "/sw.js")
    assert response.status == 200
    precached = re.findall(r'"url":"(/[^"]+)"', worker.decode())
    page_scripts = re.findall(r'src="(/static/dist/[^"]+)"', page.decode())
    assert page_scripts and set(page_scripts) <= set(precached), (page_scripts, precached)
    for url in precached:
        response, _ = server.client.request("GET", url)
        assert response.status == 200, url
    response, pages = server.client.request("GET", "/offline-pages.json")
    assert response.status == 200
    assert json.loads(pages)


@pytest.mark.skipif(is_postgres(), reason="run once, on the SQLite pass")
def test_the_installed_release_serves_log_offline_ready(installed, tmp_path):
    located = installed.run(["python", "-c", "import outreach; print(outreach.__file__)"], Path())
    assert str(installed.venv) in located.stdout, located
    settings = _production_settings(
        tmp_path / "outreach.env", f"sqlite:///{tmp_path}/outreach.sqlite", tmp_path / "instance"
    )
    upgraded = installed.flask(["upgrade"], settings)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "Defaults for a new program" in upgraded.stdout
    made = installed.flask(["user", "create", "wren", "--password", PASSWORD], settings)
    assert made.returncode == 0, made.stderr
    server = Server(installed, settings)
    try:
        server.client.login("wren", PASSWORD)
        _assert_offline_ready(server)
    finally:
        server.stop()


def _hashes_of(url: str, code: str, key: str) -> int:
    from outreach.privacy import participant_hash

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.text("SELECT COUNT(*) FROM encounter WHERE participant_hash = :h"),
                {"h": participant_hash(code, key)},
            ).scalar_one()
    finally:
        engine.dispose()


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


@pytest.mark.postgres_only
def test_the_documented_production_path_end_to_end(installed, tmp_path):
    name = f"outreach_e2e_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(TEST_PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(TEST_PG_URL).set(database=name).render_as_string(False)
    old_key, new_key = secrets.token_hex(32), secrets.token_hex(32)
    # The seal keys in the database are wrapped by a key from SECRET_KEY: it stays.
    secret_key = secrets.token_hex(32)
    settings_path = tmp_path / "outreach.env"
    instance = tmp_path / "instance"
    try:
        settings = _production_settings(
            settings_path, url, instance, PARTICIPANT_CODE_KEY=old_key, SECRET_KEY=secret_key
        )
        # Migrations, content and the first admin (the password asked twice).
        upgraded = installed.flask(["upgrade"], settings)
        assert upgraded.returncode == 0, upgraded.stderr
        assert "Defaults for a new program" in upgraded.stdout
        first_admin = installed.flask(
            ["user", "create", "coordinator", "--role", "admin"],
            settings,
            input=f"{PASSWORD}\n" * 2,
        )
        assert first_admin.returncode == 0, first_admin.stderr
        assert installed.flask(["user", "create", "wren", "--password", PASSWORD], settings)

        server = Server(installed, settings)
        try:
            server.client.login("wren", PASSWORD)
            _assert_offline_ready(server)
            status, body = server.client.sync(
                [make_encounter(participant_code="E2E-RET-1") for _ in range(3)]
            )
            assert status == 200, body
        finally:
            server.stop()
        assert _count(url, "encounter") == 3

        # Backup, private; then a restore that names the database and asks first.
        backup = tmp_path / "backups" / "outreach.dump"
        made = installed.flask(["backup", str(backup)], settings)
        assert made.returncode == 0, made.stderr
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text("DELETE FROM encounter_supply"))
            connection.execute(sa.text("DELETE FROM encounter"))
        engine.dispose()
        declined = installed.flask(["restore", str(backup)], settings, input="n\n")
        assert declined.returncode != 0
        assert f"the PostgreSQL database '{name}'" in declined.stdout
        assert _count(url, "encounter") == 0
        restored = installed.flask(["restore", str(backup)], settings, input="y\n")
        assert restored.returncode == 0, restored.stderr
        assert "Safety copy of the current database: " in restored.stdout
        assert _count(url, "encounter") == 3
        assert list((instance / "safety-copies").glob("before-restore-*.dump"))

        # A new version revises a card: `flask upgrade` brings it, no `seed` needed.
        card = installed.package_dir / "content" / "cards" / "en" / "naloxone.md"
        card.write_text(card.read_text().replace("## ", "## Revised for release 2: ", 1))
        upgraded = installed.flask(["upgrade"], settings)
        assert upgraded.returncode == 0, upgraded.stderr
        assert "Cards: 1 added or revised" in upgraded.stdout

        # Key rotation: the new key with the previous one for a set period.
        _production_settings(
            settings_path,
            url,
            instance,
            PARTICIPANT_CODE_KEY=new_key,
            SECRET_KEY=secret_key,
            PARTICIPANT_CODE_KEY_PREVIOUS=old_key,
            PARTICIPANT_CODE_KEY_PREVIOUS_UNTIL=(date.today() + timedelta(days=90)).isoformat(),
        )
        server = Server(installed, settings)
        try:
            response, page = server.client.request("GET", "/cards/naloxone?lang=en")
            assert response.status == 200 and b"Revised for release 2: " in page
            server.client.login("wren", PASSWORD)
            status, body = server.client.sync([make_encounter(participant_code="e2e ret 1")])
            assert status == 200, body
        finally:
            server.stop()
        assert _hashes_of(url, "E2E-RET-1", old_key) == 0
        assert _hashes_of(url, "E2E-RET-1", new_key) == 4
        logs = "".join(server.output)
        assert "E2E-RET-1" not in logs and "e2e ret 1" not in logs

        # Two app servers on one database, as behind a round-robin proxy: a code sealed to
        # the key one server handed out opens on the other, also after a rotation made by a
        # command on neither (keys live in the database, nothing to copy between servers).
        from tests.test_sealing import seal_with_library

        first, second = Server(installed, settings), Server(installed, settings)
        try:
            for server in (first, second):
                response, body = server.client.request("GET", "/healthz")
                assert response.status == 200, body
                health = json.loads(body)
                assert installed.archive.name == f"outreach-{health['version']}.tar.gz"
                assert health["status"] == "ok" and health["seal_keys"] == "ok"
                server.client.login("wren", PASSWORD)
            _, body = first.client.request("GET", "/api/v1/session")
            before = json.loads(body)["seal_key"]
            rotated = installed.flask(["seal-key", "rotate"], settings)
            assert rotated.returncode == 0, rotated.stderr
            _, body = second.client.request("GET", "/api/v1/session")
            after = json.loads(body)["seal_key"]
            assert after["kid"] != before["kid"]
            for server, key in ((second, before), (first, after)):
                sealed = seal_with_library(key, "E2E-TWO-1")
                status, body = server.client.sync([make_encounter(participant_code_sealed=sealed)])
                assert status == 200 and body["results"][0]["status"] == "created", body
        finally:
            first.stop()
            second.stop()
        assert _hashes_of(url, "E2E-TWO-1", new_key) == 2

        # Quiet failures of before now fail loudly, in one line.
        broken = tmp_path / "broken.env"
        _settings_file(broken, OUTREACH_ENV="production", SECRET_KEY="x" * 64)
        refused = installed.flask(["upgrade"], broken)
        assert refused.returncode == 1
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and "DATABASE_URL" in lines[0] and "SECRET_KEY is weak" in lines[0]
        text = tmp_path / "notes.txt"
        text.write_text("not a backup\n")
        refused = installed.flask(["restore", "--yes", str(text)], settings)
        assert refused.returncode == 1 and refused.stderr.startswith("Error: Restore refused")
        assert _count(url, "encounter") == 6

        # Rollback: the earlier backup replaces the whole schema; newer records are in the
        # safety copy; `flask upgrade` then finds the schema current.
        rolled_back = installed.flask(["restore", "--yes", str(backup)], settings)
        assert rolled_back.returncode == 0, rolled_back.stderr
        assert _count(url, "encounter") == 3
        upgraded = installed.flask(["upgrade"], settings)
        assert upgraded.returncode == 0, upgraded.stderr
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.mark.skipif(is_postgres(), reason="run once, on the SQLite pass")
def test_the_release_is_named_by_its_git_version_and_says_it(installed, tmp_path):
    """Every build has its own version, so an upgrade never meets "already installed"."""
    sys.path.insert(0, str(PROJECT / "scripts"))
    try:
        import build_release
    finally:
        sys.path.pop(0)
    version = build_release.version()
    assert version not in ("0.1.0", build_release.UNKNOWN_VERSION)
    assert re.search(r"\.dev\d+|\.post\d+|^\d+\.\d+\.\d+$", version.split("+")[0])
    assert installed.archive.name == f"outreach-{version}.tar.gz"
    settings = _settings_file(tmp_path / "outreach.env", DATABASE_URL=f"sqlite:///{tmp_path}/v.db")
    answer = installed.flask(["version"], settings)
    assert answer.stdout.strip() == f"Outreach {version}", answer.stderr


@pytest.mark.skipif(is_postgres(), reason="run once, on the SQLite pass")
def test_the_release_installs_on_every_patch_release_of_its_python(installed):
    """redis needs async-timeout below Python 3.11.3: the release carries it whatever the
    build machine's patch release, so it installs on Debian 12's 3.11.2."""
    target = json.loads((installed.release / "target.json").read_text())
    assert target["python"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    names = {wheel.name.split("-")[0].lower() for wheel in (installed.release / "wheels").iterdir()}
    if target["python"] == "3.11":
        assert "async_timeout" in names


@pytest.mark.skipif(is_postgres(), reason="run once, on the SQLite pass")
def test_the_installer_refuses_another_python_in_one_line(installed, tmp_path):
    copy = tmp_path / "release"
    shutil.copytree(installed.release, copy, ignore=shutil.ignore_patterns("wheels"))
    target = json.loads((copy / "target.json").read_text())
    (copy / "target.json").write_text(json.dumps({**target, "python": "3.99"}))
    result = subprocess.run(
        [sys.executable, str(copy / "install.py"), str(tmp_path / "venv")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "built for cpython 3.99.x" in result.stderr
    assert not (tmp_path / "venv").exists()


def test_the_service_unit_runs_what_this_file_tests():
    unit = (PROJECT / "deploy" / "outreach.service").read_text()
    assert "ExecStartPre=/opt/outreach/current/bin/flask --app outreach upgrade\n" in unit
    assert "ExecStart=/opt/outreach/current/bin/gunicorn -c python:outreach.gunicorn_conf\n" in unit


def test_the_example_settings_file_is_refused_until_its_secrets_are_replaced(tmp_path):
    from outreach.config import ConfigurationError
    from outreach.config import check_settings
    from outreach.config import read_settings_file

    example = PROJECT / "deploy" / "outreach.env.example"
    values = read_settings_file(example)
    assert values["OUTREACH_ENV"] == "production"
    environ = {"OUTREACH_SETTINGS": str(example), "OUTREACH_INSTANCE_PATH": str(tmp_path)}
    with pytest.raises(ConfigurationError, match=r"SECRET_KEY is weak.*PARTICIPANT_CODE_KEY is"):
        check_settings(environ)


def test_the_npm_lock_lists_every_optional_platform_package():
    """`npm ci` installs exactly the lock; a lock missing some platform's optional package
    would be rewritten by `npm install` on that platform and block `git pull`."""
    lock = json.loads((PROJECT / "package-lock.json").read_text())
    packages = lock["packages"]
    missing = [
        f"{name} (optional for {path})"
        for path, package in packages.items()
        for name in package.get("optionalDependencies", {})
        if f"node_modules/{name}" not in packages and f"{path}/node_modules/{name}" not in packages
    ]
    assert missing == []
    makefile = (PROJECT / "Makefile").read_text()
    assert "npm ci " in makefile and "npm install" not in makefile
