"""Bulk statements for ingest: many rows per statement, with as little Python per row as we can.

SQLAlchemy's per-row parameter handling cost more than the databases' own work on a
500-record batch (see bench/README.md, "Sync ingest"), so these helpers hand the driver
plain tuples. Every value still passes its column type's bind processor, exactly as
SQLAlchemy would: the rows stored are the same.

- SQLite: the driver's ``executemany`` (sqlite3 steps one prepared statement per row in C).
- PostgreSQL: one statement per batch, ``INSERT … SELECT FROM unnest(array, array, …)``, one
  array parameter per column. psycopg's ``executemany`` and SQLAlchemy's multi-row VALUES
  both spent tens of microseconds of Python per row (the latter mostly parsing a fresh
  5,000-placeholder query text every batch); an array per column is one short, prepared
  statement whatever the batch size, and the same ``ON CONFLICT`` and ``RETURNING`` apply.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa

# Ids per existence query on SQLite (one placeholder each; SQLite allows 32,766).
ID_CHUNK = 500


def insert_rows(
    connection: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[tuple],
    *,
    skip_conflicts_on: str | None = None,
) -> list | None:
    """INSERT ``rows`` (tuples in ``columns`` order) in one go.

    With ``skip_conflicts_on`` (PostgreSQL only): rows whose value in that unique column is
    already stored are skipped (``ON CONFLICT DO NOTHING``), and the values of that column
    for the rows actually inserted are returned.
    """
    if not rows:
        return [] if skip_conflicts_on else None
    dialect = connection.dialect
    values = _processed_columns(dialect, table, columns, rows)
    if dialect.name == "postgresql":
        return _insert_unnest(connection, table, columns, values, skip_conflicts_on)
    if skip_conflicts_on:
        raise ValueError("skip_conflicts_on needs PostgreSQL")
    compiled = sa.insert(table).compile(dialect=dialect, column_keys=list(columns))
    order = [list(columns).index(name) for name in compiled.positiontup]
    connection.exec_driver_sql(compiled.string, list(zip(*(values[i] for i in order), strict=True)))
    return None


def _processed_columns(dialect, table: sa.Table, columns: Sequence[str], rows) -> list[list]:
    """The rows' values column by column, each through its type's bind processor."""
    processed = []
    for name, column_values in zip(columns, zip(*rows, strict=True), strict=True):
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            processed.append(list(column_values))
        elif len(set(map(id, column_values))) == 1:
            # The very same object on every row (the batch's arrival time): processed once.
            processed.append([process(column_values[0])] * len(column_values))
        else:
            processed.append(list(map(process, column_values)))
    return processed


def _insert_unnest(
    connection: sa.Connection,
    table: sa.Table,
    columns: Sequence[str],
    values: list[list],
    skip_conflicts_on: str | None,
) -> list | None:
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    arrays = ", ".join(f"%s::{table.c[name].type.compile(dialect=dialect)}[]" for name in columns)
    # Only quoted names from the table's metadata go into the text; values are parameters.
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "  # noqa: S608  # nosec B608
        f"({', '.join(quote(name) for name in columns)}) SELECT * FROM unnest({arrays})"
    )
    if skip_conflicts_on is None:
        connection.exec_driver_sql(sql, tuple(values))
        return None
    key = quote(skip_conflicts_on)
    sql += f" ON CONFLICT ({key}) DO NOTHING RETURNING {key}"
    return list(connection.exec_driver_sql(sql, tuple(values)).scalars())


def existing_ids(
    connection: sa.Connection, column: sa.Column, candidates: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``candidates`` (UUIDs) are stored in ``column``, in as few queries as we can."""
    return set(stored_owners(connection, column, None, candidates))


def stored_owners(
    connection: sa.Connection,
    column: sa.Column,
    owner: sa.Column | None,
    candidates: Sequence[uuid.UUID],
) -> dict[uuid.UUID, object]:
    """The ``candidates`` (UUIDs) stored in ``column``, each with its row's ``owner`` value.

    ``owner`` None: the values are all None (only which ids are stored matters).
    """
    if not candidates:
        return {}
    # Only quoted names from the table's metadata go into the text; values are parameters.
    dialect = connection.dialect
    table = dialect.identifier_preparer.format_table(column.table)
    name = dialect.identifier_preparer.quote(column.name)
    owner_sql = dialect.identifier_preparer.quote(owner.name) if owner is not None else "NULL"
    if dialect.name == "postgresql":
        # One array parameter, whatever the count.
        rows = connection.exec_driver_sql(
            f"SELECT {name}, {owner_sql} FROM {table} WHERE {name} = ANY(%s::uuid[])",  # noqa: S608  # nosec B608
            (list(candidates),),
        )
        return {row[0]: row[1] for row in rows}
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    by_stored = {process(value) if process else value: value for value in candidates}
    stored = list(by_stored)
    found: dict[uuid.UUID, object] = {}
    for start in range(0, len(stored), ID_CHUNK):
        chunk = stored[start : start + ID_CHUNK]
        placeholders = ", ".join("?" * len(chunk))
        rows = connection.exec_driver_sql(
            f"SELECT {name}, {owner_sql} FROM {table} WHERE {name} IN ({placeholders})",  # noqa: S608  # nosec B608
            tuple(chunk),
        )
        found.update((by_stored[row[0]], row[1]) for row in rows)
    return found
