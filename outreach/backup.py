"""Online backups and checked restores, for SQLite and PostgreSQL.

A backup is written readable by its owner only (it holds participant-code hashes) and is
checked with the same tests a restore applies before it is given its final name. A restore
first proves the file is a backup of this app (readable, of the live database's engine,
intact, holding this app's tables at a migration this code knows, not empty unless asked),
keeps a safety copy of the live database, and only then replaces it. Every refusal is a
:class:`BackupError` with a one-line reason, and leaves the live database untouched.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"
# Tables every Outreach database has, whatever its migration.
APP_TABLES = ("alembic_version", "user", "encounter", "supply_item", "zone", "audit_event")
# A backup with no rows in any of these holds nothing worth restoring.
CONTENT_TABLES = ("user", "encounter", "supply_item", "zone", "card")
OWNER_ONLY = 0o600
_COUNT_ROWS = {
    "user": 'SELECT COUNT(*) FROM "user"',
    "encounter": "SELECT COUNT(*) FROM encounter",
    "supply_item": "SELECT COUNT(*) FROM supply_item",
    "zone": "SELECT COUNT(*) FROM zone",
    "card": "SELECT COUNT(*) FROM card",
}


class BackupError(ValueError):
    """A backup or restore refused, with a one-line reason."""


@dataclass(frozen=True)
class BackupInfo:
    """What a checked backup holds."""

    engine: str
    revision: str
    rows: dict[str, int]

    @property
    def empty(self) -> bool:
        return not any(self.rows.values())

    def summary(self) -> str:
        counted = ", ".join(f"{count} {table}" for table, count in self.rows.items())
        return f"migration {self.revision}; rows: {counted}"


def describe_database(database_url: str) -> str:
    """Which database a URL names, in words (never the password)."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"the SQLite database {url.database}"
    where = f"{url.host or 'the local socket'}" + (f":{url.port}" if url.port else "")
    user = f" as {url.username}" if url.username else ""
    return f"the PostgreSQL database {url.database!r} on {where}{user}"


def _libpq_environment(url: sa.URL) -> dict[str, str]:
    """Connection settings for pg_dump/pg_restore as environment variables, so a password
    never appears on a command line."""
    environment = dict(os.environ)
    for name, value in (
        ("PGHOST", url.host),
        ("PGPORT", url.port),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
    ):
        if value is not None:
            environment[name] = str(value)
    return environment


def _tool(name: str) -> str:
    """The absolute path of a PostgreSQL client tool, or a clear error."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


def _owner_only_file(directory: Path, suffix: str) -> Path:
    """A new empty file readable and writable by its owner only."""
    fd, name = tempfile.mkstemp(prefix=".outreach-backup-", suffix=suffix, dir=directory)
    os.close(fd)
    os.chmod(name, OWNER_ONLY)
    return Path(name)


def backup(database_url: str, destination: Path, known_revisions: set[str]) -> BackupInfo:
    """Write a consistent, checked copy of the live database to ``destination`` (mode 0600).

    The copy is written beside ``destination`` and renamed into place only once it passed
    the restore checks, so a failed backup never leaves a file that looks like one.
    """
    url = sa.engine.make_url(database_url)
    engine = url.get_backend_name()
    if engine not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups are not supported for {engine}")
    destination = destination.absolute()
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = _owner_only_file(destination.parent, destination.suffix)
    except OSError as error:
        raise BackupError(f"Cannot write to {destination.parent}: {error.strerror}") from None
    try:
        if engine == "sqlite":
            _sqlite_backup(url, partial)
        else:
            _run(
                [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(partial)],
                url,
                "pg_dump",
            )
        os.chmod(partial, OWNER_ONLY)
        try:
            info = inspect_backup(partial, engine, known_revisions)
        except BackupError as error:
            raise BackupError(
                f"The live database is not an Outreach database ready to back up ({error}); "
                f"nothing was written"
            ) from None
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    return info


def _sqlite_backup(url: sa.URL, destination: Path) -> None:
    # SQLite's online backup API copies a consistent snapshot while phones keep syncing.
    # Read-only: a wrong path is an error, never a new empty database backed up.
    try:
        live = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True)
        with contextlib.closing(live), contextlib.closing(sqlite3.connect(destination)) as copy:
            live.backup(copy)
            # One self-contained file: the live database's WAL mode would leave -wal and
            # -shm files beside the copy, under the temporary name.
            copy.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as error:
        raise BackupError(f"Cannot read {describe_database(str(url))}: {error}") from None


def _run(command: list[str], url: sa.URL, what: str) -> str:
    result = subprocess.run(  # noqa: S603
        command, env=_libpq_environment(url), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise BackupError(
            f"{what} failed: {lines[-1] if lines else 'exit ' + str(result.returncode)}"
        )
    return result.stdout


def inspect_backup(source: Path, engine: str, known_revisions: set[str]) -> BackupInfo:
    """Prove ``source`` is an intact backup of this app for ``engine``, or raise BackupError."""
    try:
        with open(source, "rb") as handle:
            header = handle.read(16)
    except IsADirectoryError:
        raise BackupError(f"{source} is a folder, not a backup file") from None
    except OSError as error:
        raise BackupError(f"Cannot read {source}: {error.strerror}") from None
    if not header:
        raise BackupError(f"{source} is empty: not a backup")
    if header.startswith(SQLITE_HEADER):
        found = "sqlite"
    elif header.startswith(PG_DUMP_HEADER):
        found = "postgresql"
    else:
        raise BackupError(f"{source} is not a backup made by 'flask backup' (unknown format)")
    if found != engine:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise BackupError(
            f"{source} is a {names[found]} backup; the live database is {names[engine]}"
        )
    if engine == "sqlite":
        revision, rows = _inspect_sqlite(source)
    else:
        revision, rows = _inspect_pg_dump(source)
    if revision not in known_revisions:
        raise BackupError(
            f"{source} is at migration {revision!r}, which this version of Outreach does not "
            f"know (made by a newer version?)"
        )
    return BackupInfo(engine=engine, revision=revision, rows=rows)


def _inspect_sqlite(source: Path) -> tuple[str, dict[str, int]]:
    try:
        connection = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        with contextlib.closing(connection):
            check = connection.execute("PRAGMA integrity_check").fetchall()
            if check != [("ok",)]:
                raise BackupError(f"{source} is damaged (SQLite integrity check failed)")
            tables = {
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'"
                )
            }
            missing = [table for table in APP_TABLES if table not in tables]
            if missing:
                raise BackupError(
                    f"{source} is not an Outreach backup (no {', '.join(missing)} table)"
                )
            versions = [v for (v,) in connection.execute("SELECT version_num FROM alembic_version")]
            rows = {
                table: connection.execute(_COUNT_ROWS[table]).fetchone()[0]
                for table in CONTENT_TABLES
                if table in tables
            }
    except sqlite3.Error as error:
        raise BackupError(f"{source} is damaged or truncated ({error})") from None
    if len(versions) != 1:
        raise BackupError(f"{source} is not an Outreach backup (no single migration recorded)")
    return versions[0], rows


_COPY_START = re.compile(r'^COPY public\.("?)(?P<table>[a-z_]+)\1 ')


def _inspect_pg_dump(source: Path) -> tuple[str, dict[str, int]]:
    pg_restore = _tool("pg_restore")
    listing = subprocess.run(  # noqa: S603
        [pg_restore, "--list", str(source)], capture_output=True, text=True, check=False
    )
    if listing.returncode != 0:
        raise BackupError(f"{source} is damaged or truncated (pg_restore cannot read it)")
    tables = set(re.findall(r"\bTABLE public (\S+) ", listing.stdout))
    missing = [table for table in APP_TABLES if table not in tables]
    if missing:
        raise BackupError(f"{source} is not an Outreach backup (no {', '.join(missing)} table)")
    # Reading every data block finds a truncated or damaged file; rows are counted as they
    # stream past, so a large backup is never held in memory.
    counts: dict[str, int] = {}
    versions: list[str] = []
    current: str | None = None
    with subprocess.Popen(  # noqa: S603
        [pg_restore, "--data-only", "--file", "-", str(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        errors="replace",
    ) as script:
        for line in script.stdout:
            line = line.rstrip("\n")
            if current is None:
                match = _COPY_START.match(line)
                if match:
                    current = match["table"]
                    counts.setdefault(current, 0)
                continue
            if line == "\\.":
                current = None
                continue
            counts[current] += 1
            if current == "alembic_version":
                versions.append(line.strip())
    if script.returncode != 0:
        raise BackupError(f"{source} is damaged or truncated (pg_restore cannot read its data)")
    if len(versions) != 1:
        raise BackupError(f"{source} is not an Outreach backup (no single migration recorded)")
    return versions[0], {table: counts.get(table, 0) for table in CONTENT_TABLES if table in tables}


# Run first, in the restore's own transaction: the whole schema goes, whatever migration the
# live database is at, so a backup from an older version restores into an upgraded database
# (pg_restore --clean could only drop what the backup itself holds, and stopped at the
# newer version's constraints). On any error the transaction, and so the drop, is undone.
_REPLACE_SCHEMA = b"""SET client_min_messages = warning;
DROP SCHEMA IF EXISTS public CASCADE;
CREATE SCHEMA public;
"""


def _restore_postgres(url: sa.URL, source: Path) -> None:
    """pg_restore's script, after the schema is dropped, run by psql in one transaction."""
    environment = _libpq_environment(url)
    with (
        subprocess.Popen(  # noqa: S603 (fixed tool paths and arguments)
            [_tool("pg_restore"), "--no-owner", "--no-privileges", "--file", "-", str(source)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=environment,
        ) as script,
        subprocess.Popen(  # noqa: S603 (fixed tool paths and arguments)
            [
                _tool("psql"),
                *("--no-psqlrc", "--quiet", "--single-transaction"),
                *("--set", "ON_ERROR_STOP=1", "--file", "-"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=environment,
        ) as psql,
    ):
        try:
            psql.stdin.write(_REPLACE_SCHEMA)
            shutil.copyfileobj(script.stdout, psql.stdin)
            psql.stdin.close()
        except BrokenPipeError:
            pass  # psql stopped at an error: reported below
        errors = psql.stderr.read().decode("utf-8", "replace")
        psql.wait()
        script.wait()
    if psql.returncode != 0 or script.returncode != 0:
        lines = [line for line in errors.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit {psql.returncode or script.returncode}"
        raise BackupError(f"Restore failed, the live database is unchanged: {reason}")


def safety_copy_path(directory: Path, engine: str) -> Path:
    """Where the live database is copied before a restore replaces it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = ".sqlite" if engine == "sqlite" else ".dump"
    path = directory / f"before-restore-{stamp}{suffix}"
    number = 1
    # Never over an earlier copy (which may be the very backup being restored).
    while path.exists():
        number += 1
        path = directory / f"before-restore-{stamp}-{number}{suffix}"
    return path


def restore(database_url: str, source: Path) -> None:
    """Replace the database's contents with a backup already checked by inspect_backup."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        try:
            with (
                contextlib.closing(
                    sqlite3.connect(f"file:{source}?mode=ro", uri=True)
                ) as backup_db,
                contextlib.closing(sqlite3.connect(url.database)) as target,
            ):
                # One step: the copy is one write transaction on the target, all or nothing.
                backup_db.backup(target)
        except sqlite3.Error as error:
            raise BackupError(f"Restore failed, the live database is unchanged: {error}") from None
        return
    if url.get_backend_name() == "postgresql":
        _restore_postgres(url, source)
        return
    raise BackupError(f"Restores are not supported for {url.get_backend_name()}")


# ---------------------------------------------------------------------------------------
# The whole schema: a restore compares the backup's with what the migrations make at the
# backup's migration, and refuses any difference and anything extra (triggers, views,
# tables, indexes the app does not make), which a file could otherwise smuggle in: a
# trigger that deletes every synced encounter, or tables with the right names and none of
# the columns.


def check_schema(source: Path, info: BackupInfo, live_url: str) -> None:
    """Raise BackupError unless ``source`` holds exactly this app's schema at its migration."""
    with _reference_database(info.engine, info.revision, live_url) as (reference, schema):
        if info.engine == "sqlite":
            found = _sqlite_schema(source)
            wanted = _sqlite_schema(Path(sa.engine.make_url(reference).database))
        else:
            found = _pg_statements(_pg_backup_schema(source))
            wanted = _pg_statements(_pg_reference_schema(live_url, schema), schema=schema)
    differences = _differences(found, wanted)
    if differences:
        raise BackupError(
            f"{source} does not hold this app's schema at migration {info.revision} "
            f"({'; '.join(differences[:3])}"
            f"{f'; and {len(differences) - 3} more' if len(differences) > 3 else ''})"
        )


@contextlib.contextmanager
def _reference_database(engine: str, revision: str, live_url: str):
    """A scratch database the migrations bring to ``revision``: (its URL, its PG schema).

    SQLite: a temporary file. PostgreSQL: a temporary schema in the live database (the
    app's role may not create databases; it owns this one), dropped afterwards. The
    migrations run in a child process, so their log lines stay out of this command's one.
    """
    with tempfile.TemporaryDirectory(prefix="outreach-restore-check-") as folder:
        if engine == "sqlite":
            url = f"sqlite:///{Path(folder) / 'reference.sqlite'}"
            _migrate(url, revision, folder)
            yield url, None
            return
        schema = f"outreach_restore_check_{secrets.token_hex(4)}"
        admin = sa.create_engine(live_url, poolclass=sa.pool.NullPool)
        try:
            with admin.begin() as connection:
                connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            url = (
                sa.engine.make_url(live_url)
                .update_query_dict({"options": f"-csearch_path={schema}"})
                .render_as_string(hide_password=False)
            )
            _migrate(url, revision, folder)
            yield url, schema
        finally:
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()


def _migrate(url: str, revision: str, folder: str) -> None:
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        # Its own instance folder: nothing generated lands in the live one.
        "OUTREACH_INSTANCE_PATH": os.environ.get("OUTREACH_INSTANCE_PATH") or folder,
    }
    result = subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, "-m", "flask", "--app", "outreach", "db", "upgrade", revision],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise BackupError(
            f"Cannot build the schema of migration {revision} to compare the backup with: "
            f"{lines[-1] if lines else 'exit ' + str(result.returncode)}"
        )


def _sqlite_schema(path: Path) -> Counter:
    """Every table's columns, indexes and foreign keys, and every trigger and view."""
    items: Counter = Counter()
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with contextlib.closing(connection):
        objects = connection.execute(
            "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
        ).fetchall()
        for kind, name, table in objects:
            if kind in ("trigger", "view"):
                items[f"{kind} {name} on {table}"] += 1
                continue
            if kind != "table":
                continue
            items[f"table {name}"] += 1
            quoted = '"' + name.replace('"', '""') + '"'
            for _cid, column, declared, notnull, default, pk in connection.execute(
                f"PRAGMA table_info({quoted})"
            ):
                kind_of = " ".join(str(declared).upper().split())
                items[
                    f"table {name}: column {column} {kind_of}"
                    f"{' NOT NULL' if notnull else ''}{' PRIMARY KEY' if pk else ''}"
                    f"{f' DEFAULT {default}' if default is not None else ''}"
                ] += 1
            for _seq, index, unique, origin, partial in connection.execute(
                f"PRAGMA index_list({quoted})"
            ):
                columns = [
                    str(row[2])
                    for row in connection.execute(
                        'PRAGMA index_info("' + index.replace('"', '""') + '")'
                    )
                ]
                label = index if origin == "c" else origin
                items[
                    f"table {name}: {'unique ' if unique else ''}index {label} "
                    f"({', '.join(columns)}){' partial' if partial else ''}"
                ] += 1
            for row in connection.execute(f"PRAGMA foreign_key_list({quoted})"):
                _id, _seq, target, source_column, target_column, on_update, on_delete = row[:7]
                items[
                    f"table {name}: foreign key {source_column} -> {target}.{target_column} "
                    f"on update {on_update} on delete {on_delete}"
                ] += 1
            sql = connection.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            ).fetchone()[0]
            for check in re.findall(r"CONSTRAINT\s+(\S+)\s+CHECK", sql or "", re.IGNORECASE):
                items[f"table {name}: check {check.strip(chr(34))}"] += 1
    return items


def _pg_backup_schema(source: Path) -> str:
    result = subprocess.run(  # noqa: S603 (fixed tool path and arguments)
        [
            _tool("pg_restore"),
            *("--schema-only", "--no-owner", "--no-privileges", "--file", "-", str(source)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"{source} is damaged or truncated (pg_restore cannot read it)")
    return result.stdout


def _pg_reference_schema(live_url: str, schema: str) -> str:
    return _run(
        [
            _tool("pg_dump"),
            *("--schema-only", "--no-owner", "--no-privileges", "--schema", schema),
        ],
        sa.engine.make_url(live_url),
        "pg_dump of the reference schema",
    )


_PG_SKIPPED = ("SET ", "SELECT pg_catalog.set_config", "CREATE SCHEMA", "COMMENT ON SCHEMA")


def _pg_statements(sql: str, schema: str | None = None) -> Counter:
    """pg_dump's statements, one string each, whitespace normalised; the settings and
    schema lines every dump has left out, the reference's schema renamed to public."""
    kept = [
        line
        for line in sql.splitlines()
        if line.strip() and not line.startswith("--") and not line.startswith("\\")
    ]
    text = "\n".join(kept)
    if schema:
        text = text.replace(f"{schema}.", "public.")
    statements: Counter = Counter()
    for statement in text.split(";\n"):
        normal = _without_check_bodies(" ".join(statement.split()).rstrip(";"))
        if normal and not normal.startswith(_PG_SKIPPED):
            statements[normal] += 1
    return statements


def _without_check_bodies(statement: str) -> str:
    """CHECK constraints by name only: PostgreSQL prints a restored IN-list check differently
    from the migrated one (the same rule), so their bodies cannot be compared as text."""
    out, position = [], 0
    while (start := statement.find("CHECK (", position)) != -1:
        out.append(statement[position : start + len("CHECK ")])
        depth, index = 0, start + len("CHECK ")
        while index < len(statement):
            depth += {"(": 1, ")": -1}.get(statement[index], 0)
            index += 1
            if depth == 0:
                break
        out.append("(…)")
        position = index
    out.append(statement[position:])
    return "".join(out)


def _differences(found: Counter, wanted: Counter) -> list[str]:
    def short(item: str) -> str:
        return item if len(item) <= 90 else item[:87] + "..."

    extra = [f"extra: {short(item)}" for item in sorted((found - wanted).elements())]
    missing = [f"missing: {short(item)}" for item in sorted((wanted - found).elements())]
    return extra + missing


# Every connection the app makes to PostgreSQL says who it is (config.finalise), so a restore
# can tell whether app servers are using the database.
APPLICATION_NAME = "outreach"


def serving_from(database_url: str) -> str | None:
    """Who is using the database now besides this command, in words; None when nobody is.

    SQLite: any other process with the database file (or its WAL) open, from /proc. The app
    servers run as the same user as the commands, so their open files are visible.
    PostgreSQL: the app's other connections (application_name ``outreach``); an app server
    holds some in its pool from its first request on.
    """
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _processes_with_open(Path(url.database or ""))
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            count = connection.execute(
                sa.text(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND application_name = :name"
                ),
                {"name": APPLICATION_NAME},
            ).scalar_one()
    finally:
        engine.dispose()
    return f"{count} connection(s) from app servers" if count else None


def _processes_with_open(database: Path) -> str | None:
    if not database.name:
        return None
    targets = {str(database.resolve()), f"{database.resolve()}-wal"}
    found = []
    for process in Path("/proc").glob("[0-9]*"):
        if process.name == str(os.getpid()):
            continue
        try:
            descriptors = list((process / "fd").iterdir())
            if any(os.readlink(fd) in targets for fd in descriptors):
                found.append(f"{(process / 'comm').read_text().strip()} (pid {process.name})")
        except OSError:
            continue  # gone, or another user's
    return f"process {', '.join(found[:3])} has it open" if found else None
