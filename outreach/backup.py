"""Online backups and restores, for SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa


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
        raise OSError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


def backup(database_url: str, destination: Path) -> Path:
    """Write a consistent copy of the live database to ``destination``."""
    url = sa.engine.make_url(database_url)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        # SQLite's online backup API copies a consistent snapshot while phones keep syncing.
        # Read-only: a wrong path is an error, never a new empty database backed up.
        live = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True)
        with contextlib.closing(live), contextlib.closing(sqlite3.connect(destination)) as copy:
            live.backup(copy)
        return destination
    if url.get_backend_name() == "postgresql":
        subprocess.run(  # noqa: S603
            [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(destination)],
            env=_libpq_environment(url),
            check=True,
        )
        return destination
    raise ValueError(f"Backups are not supported for {url.get_backend_name()}")


def restore(database_url: str, source: Path) -> None:
    """Replace the database's contents with a backup made by :func:`backup`."""
    if not source.exists():
        raise FileNotFoundError(source)
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(source) as backup_db, sqlite3.connect(url.database) as target:
            backup_db.backup(target)
        return
    if url.get_backend_name() == "postgresql":
        subprocess.run(  # noqa: S603
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
                url.database,
                str(source),
            ],
            env=_libpq_environment(url),
            check=True,
        )
        return
    raise ValueError(f"Restores are not supported for {url.get_backend_name()}")
