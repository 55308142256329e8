"""`flask backup` and `flask restore`: private files, and a restore that proves its input first.

Every refusal is one line, a non-zero exit, and leaves the live database as it was.
"""

from __future__ import annotations

import contextlib
import sqlite3
import stat
import subprocess

import pytest
import sqlalchemy as sa

from outreach.extensions import db
from outreach.seeding import seed_all
from tests.conftest import TEST_PG_URL
from tests.conftest import count_rows
from tests.conftest import is_postgres
from tests.conftest import make_encounter


def _invoke(app, *args, input=None):
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    # A ClickException is the one-line refusal; anything else would be a traceback.
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result


def _backup(app, path):
    result = _invoke(app, "backup", str(path))
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def stored(app, sync_api):
    assert sync_api.post([make_encounter() for _ in range(3)]).status_code == 200
    return 3


def test_backups_are_written_readable_by_their_owner_only(app, stored, tmp_path):
    path = _backup(app, tmp_path / "backups" / "outreach.backup")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # No partial file is left beside it.
    assert [p.name for p in path.parent.iterdir()] == ["outreach.backup"]


def test_backup_of_a_database_that_is_not_outreach_writes_nothing(make_app, tmp_path):
    """An unmigrated database (the old quiet fallback) is no backup: no "Backup written"."""
    empty = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/never-migrated.sqlite")
    with empty.app_context():
        db.session.execute(sa.text("SELECT 1"))  # the file now exists, with no tables
    result = _invoke(empty, "backup", str(tmp_path / "b.backup"))
    assert result.exit_code == 1
    assert "not an Outreach database" in result.output
    assert "Backup written" not in result.output
    assert not (tmp_path / "b.backup").exists()


def test_restore_names_the_database_before_asking_and_a_no_changes_nothing(app, stored, tmp_path):
    path = _backup(app, tmp_path / "outreach.backup")
    result = _invoke(app, "restore", str(path), input="n\n")
    assert result.exit_code != 0
    target = db_description(app)
    assert f"This replaces everything in {target} with the backup." in result.output
    assert result.output.index(target) < result.output.index("Continue?")
    assert count_rows(app, "encounter") == stored
    assert not (tmp_path / "instance" / "safety-copies").exists()


def db_description(app) -> str:
    from outreach.backup import describe_database

    with app.app_context():
        return describe_database(db.engine.url.render_as_string(hide_password=False))


def test_restore_keeps_a_safety_copy_and_says_where(app, stored, sync_api, tmp_path):
    path = _backup(app, tmp_path / "outreach.backup")
    sync_api.post([make_encounter() for _ in range(2)])
    result = _invoke(app, "restore", "--yes", str(path))
    assert result.exit_code == 0, result.output
    assert count_rows(app, "encounter") == stored
    copies = list((tmp_path / "instance" / "safety-copies").iterdir())
    assert len(copies) == 1
    assert f"Safety copy of the current database: {copies[0]}" in result.output
    assert stat.S_IMODE(copies[0].stat().st_mode) == 0o600
    # The safety copy is itself a good backup: it brings back the state before the restore.
    back = _invoke(app, "restore", "--yes", str(copies[0]))
    assert back.exit_code == 0, back.output
    assert count_rows(app, "encounter") == stored + 2, back.output


def _truncated(source, tmp_path):
    data = source.read_bytes()
    path = tmp_path / "truncated.backup"
    path.write_bytes(data[: len(data) // 2])
    return path


def _text_file(_source, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("this is a list of things to do\n" * 50)
    return path


def _empty_file(_source, tmp_path):
    path = tmp_path / "empty.backup"
    path.touch()
    return path


def _other_app(_source, tmp_path):
    """Another application's database of the live engine."""
    path = tmp_path / "other-app.backup"
    if not is_postgres():
        with contextlib.closing(sqlite3.connect(path)) as other:
            other.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
            other.execute("INSERT INTO invoices (total) VALUES (12.5)")
            other.commit()
        return path
    name = f"other_app_{tmp_path.name[-12:].replace('-', '_').lower()}"
    admin = sa.create_engine(TEST_PG_URL, isolation_level="AUTOCOMMIT")
    url = sa.engine.make_url(TEST_PG_URL).set(database=name)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        other = sa.create_engine(url)
        with other.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE invoices (id serial PRIMARY KEY, total real)")
            connection.exec_driver_sql("INSERT INTO invoices (total) VALUES (12.5)")
        other.dispose()
        subprocess.run(
            ["pg_dump", "--format=custom", "--file", str(path), "--dbname", name],
            env={"PGHOST": url.host or "", "PGPORT": str(url.port or 5432), "PATH": "/usr/bin"},
            check=True,
        )
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    return path


def _other_engine(_source, tmp_path):
    """A backup of the other engine: a pg_dump on SQLite, a SQLite file on PostgreSQL."""
    path = tmp_path / "other-engine.backup"
    if is_postgres():
        with contextlib.closing(sqlite3.connect(path)) as other:
            other.execute("CREATE TABLE t (x)")
    else:
        path.write_bytes(b"PGDMP\x01\x0e\x00" + b"\x00" * 200)
    return path


def _unknown_migration(source, tmp_path, app=None):
    path = tmp_path / "newer.backup"
    if not is_postgres():
        path.write_bytes(source.read_bytes())
        with contextlib.closing(sqlite3.connect(path)) as copy:
            copy.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
            copy.commit()
        return path
    raise NotImplementedError  # made in the test from the live database


BAD_BACKUPS = {
    "truncated": (_truncated, "damaged or truncated"),
    "text": (_text_file, "not a backup made by 'flask backup'"),
    "empty file": (_empty_file, "is empty"),
    "another app": (_other_app, "not an Outreach backup"),
    "other engine": (_other_engine, "backup; the live database is"),
    "unknown migration": (_unknown_migration, "does not know"),
}


@pytest.mark.parametrize("kind", list(BAD_BACKUPS))
def test_restore_refuses_what_is_not_a_backup_of_this_app(app, stored, tmp_path, kind):
    make_bad, message = BAD_BACKUPS[kind]
    good = _backup(app, tmp_path / "good.backup")
    if kind == "unknown migration" and is_postgres():
        with app.app_context():
            with db.engine.begin() as connection:
                head = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
                head = head.scalar_one()
                connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999_x'"))
            bad = _backup_bypassing_checks(app, tmp_path / "newer.backup")
            with db.engine.begin() as connection:
                connection.execute(
                    sa.text("UPDATE alembic_version SET version_num = :head"), {"head": head}
                )
            db.engine.dispose()
    else:
        bad = make_bad(good, tmp_path)
    result = _invoke(app, "restore", "--yes", str(bad))
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Restore refused:"), result.output
    assert message in lines[0]
    assert count_rows(app, "encounter") == stored
    assert not (tmp_path / "instance" / "safety-copies").exists()


def _backup_bypassing_checks(app, path):
    url = sa.engine.make_url(db.engine.url.render_as_string(hide_password=False))
    subprocess.run(
        ["pg_dump", "--format=custom", "--file", str(path), "--dbname", url.database],
        env={"PGHOST": url.host or "", "PGPORT": str(url.port or 5432), "PATH": "/usr/bin"},
        check=True,
    )
    return path


def test_restore_refuses_an_empty_backup_unless_allowed(app, stored, tmp_path):
    with app.app_context():
        tables = [t for t in reversed(db.metadata.sorted_tables)]
        saved = count_rows(app, "encounter")
        with db.engine.begin() as connection:
            snapshot = {t.name: connection.execute(sa.select(t)).mappings().all() for t in tables}
            for table in tables:
                connection.execute(sa.delete(table))
        db.engine.dispose()
    empty = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "empty.backup")])
    assert empty.exit_code == 0 and "(empty:" in empty.output, empty.output
    with app.app_context():
        seed_all()
        db.engine.dispose()
    refused = _invoke(app, "restore", "--yes", str(tmp_path / "empty.backup"))
    assert refused.exit_code == 1
    assert "holds no accounts, catalogue or records (--allow-empty" in refused.output
    assert count_rows(app, "supply_item") > 0
    allowed = _invoke(app, "restore", "--yes", "--allow-empty", str(tmp_path / "empty.backup"))
    assert allowed.exit_code == 0, allowed.output
    assert count_rows(app, "supply_item") == 0
    assert saved == stored and snapshot  # the live data was there before the empty restore


def test_restore_without_a_traceback_from_the_command_line(app, stored, tmp_path):
    """The operator's view: a real `flask restore` process on a text file."""
    import os
    import sys

    from tests.live import PROJECT

    text = _text_file(None, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "FLASK_"))}
    with app.app_context():
        env.update(
            DATABASE_URL=db.engine.url.render_as_string(hide_password=False),
            OUTREACH_INSTANCE_PATH=str(tmp_path / "instance"),
            OUTREACH_SETTINGS="",
        )
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "outreach", "restore", "--yes", str(text)],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"Error: Restore refused: {text} is not a backup made by 'flask backup' (unknown format)"
    ]
    assert count_rows(app, "encounter") == stored


def test_rolling_back_restores_an_older_backup_into_the_upgraded_database(app, stored, tmp_path):
    """The rollback path: the backup taken before an upgrade restores into the upgraded
    database (the newer schema is replaced, not merged), then `flask upgrade` brings it
    forward again. On PostgreSQL this stopped at `pg_restore … DROP CONSTRAINT`."""
    from flask_migrate import downgrade
    from flask_migrate import upgrade

    older = "0007_funder"
    with app.app_context():
        downgrade(revision=older)
        db.engine.dispose()
    before_upgrade = _backup(app, tmp_path / "before-upgrade.backup")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    result = _invoke(app, "restore", "--yes", str(before_upgrade))
    assert result.exit_code == 0, result.output
    assert "older version" in result.output
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT version_num FROM alembic_version")) == older
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("stock_event")}
        db.session.remove()
        db.engine.dispose()
    assert "voided_at" not in columns  # 0008's column is gone with the newer schema
    assert count_rows(app, "encounter") == stored
    result = _invoke(app, "upgrade")
    assert result.exit_code == 0, result.output
    assert count_rows(app, "encounter") == stored
    assert app.test_client().get("/healthz").status_code == 200


def _copy_bypassing_checks(app, path):
    """A copy of the live database as it is now, made without `flask backup`'s checks."""
    if is_postgres():
        with app.app_context():
            _backup_bypassing_checks(app, path)
            db.engine.dispose()
        return path
    with app.app_context():
        live = db.engine.url.database
        db.engine.dispose()
    with (
        contextlib.closing(sqlite3.connect(live)) as source,
        contextlib.closing(sqlite3.connect(path)) as copy,
    ):
        source.backup(copy)
    return path


TRIGGER = {
    "sqlite": [
        "CREATE TRIGGER wipe_encounters AFTER INSERT ON encounter BEGIN DELETE FROM encounter; END"
    ],
    "postgresql": [
        "CREATE FUNCTION wipe() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN DELETE FROM encounter; RETURN NULL; END $$",
        "CREATE TRIGGER wipe_encounters AFTER INSERT ON encounter "
        "FOR EACH ROW EXECUTE FUNCTION wipe()",
    ],
}
UNDO_TRIGGER = {
    "sqlite": ["DROP TRIGGER wipe_encounters"],
    "postgresql": ["DROP TRIGGER wipe_encounters ON encounter", "DROP FUNCTION wipe()"],
}
TAMPERING = {
    "a trigger that deletes encounters": (TRIGGER, UNDO_TRIGGER, "wipe_encounters"),
    "a view": (
        {"sqlite": ["CREATE VIEW everyone AS SELECT * FROM encounter"]}
        | {"postgresql": ["CREATE VIEW everyone AS SELECT * FROM encounter"]},
        {"sqlite": ["DROP VIEW everyone"], "postgresql": ["DROP VIEW everyone"]},
        "everyone",
    ),
    "another table": (
        {e: ["CREATE TABLE notes (body TEXT)"] for e in ("sqlite", "postgresql")},
        {e: ["DROP TABLE notes"] for e in ("sqlite", "postgresql")},
        "notes",
    ),
    "an extra index": (
        {e: ["CREATE INDEX ix_sneaky ON zone (name)"] for e in ("sqlite", "postgresql")},
        {e: ["DROP INDEX ix_sneaky"] for e in ("sqlite", "postgresql")},
        "ix_sneaky",
    ),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_restore_refuses_a_backup_with_anything_the_app_does_not_make(app, stored, tmp_path, kind):
    """A real backup plus one trigger restored before, and every later sync answered 500."""
    add, undo, name = TAMPERING[kind]
    engine = "postgresql" if is_postgres() else "sqlite"
    with app.app_context():
        with db.engine.begin() as connection:
            for statement in add[engine]:
                connection.exec_driver_sql(statement)
        db.engine.dispose()
    tampered = _copy_bypassing_checks(app, tmp_path / "tampered.backup")
    with app.app_context():
        with db.engine.begin() as connection:
            for statement in undo[engine]:
                connection.exec_driver_sql(statement)
        db.engine.dispose()
    result = _invoke(app, "restore", "--yes", str(tampered))
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Restore refused:"), result.output
    assert "does not hold this app's schema" in lines[0] and name in lines[0]
    assert count_rows(app, "encounter") == stored
    assert not (tmp_path / "instance" / "safety-copies").exists()


@pytest.mark.skipif(is_postgres(), reason="a hand-made SQLite file")
def test_restore_refuses_a_file_with_the_apps_table_names_and_nothing_else(app, stored, tmp_path):
    """This app's table names at migration 0008, one column each: not a backup."""
    with app.app_context():
        tables = [table.name for table in db.metadata.sorted_tables]
        db.engine.dispose()
    lookalike = tmp_path / "lookalike.sqlite"
    with contextlib.closing(sqlite3.connect(lookalike)) as connection:
        for table in tables:
            connection.execute(f'CREATE TABLE "{table}" (id INTEGER)')
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        connection.execute("INSERT INTO alembic_version VALUES ('0008_stock_void')")
        connection.execute('INSERT INTO "user" VALUES (1)')
        connection.commit()
    result = _invoke(app, "restore", "--yes", str(lookalike))
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "does not hold this app's schema at migration 0008" in lines[0]
    assert count_rows(app, "encounter") == stored


def test_restore_refuses_while_the_app_is_serving_unless_forced(app, stored, tmp_path):
    """An app server still using the database would keep writing records the restore then
    throws away: refused, unless --force (which says where those records end up)."""
    import sys

    good = _backup(app, tmp_path / "good.backup")
    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=False)
        db.engine.dispose()
    # Another process holding the database as an app server does.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, sqlalchemy as sa\n"
            "from outreach.config import normalise_database_url\n"
            "url = sys.argv[1]\n"
            "args = {'application_name': 'outreach'} if url.startswith('postgresql') else {}\n"
            "engine = sa.create_engine(url, connect_args=args)\n"
            "connection = engine.connect(); connection.exec_driver_sql('SELECT 1')\n"
            "print('ready', flush=True); time.sleep(120)\n",
            url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        refused = _invoke(app, "restore", "--yes", str(good))
        assert refused.exit_code == 1, refused.output
        assert "the app is serving from" in refused.output and "--force" in refused.output
        assert len(refused.output.strip().splitlines()) == 1
        assert not (tmp_path / "instance" / "safety-copies").exists()
        if not is_postgres():  # PostgreSQL would wait for the other session's locks
            forced = _invoke(app, "restore", "--yes", "--force", str(good))
            assert forced.exit_code == 0, forced.output
            assert "exist only in the safety copy" in forced.output
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
