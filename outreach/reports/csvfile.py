"""CSV files that open cleanly in any spreadsheet and never run a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
from itertools import islice

from flask import copy_current_request_context

# Text cells starting with these would run as formulas in spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_BOM = "\ufeff"


def safe_text(value: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_rows(rows: Iterable[Sequence]) -> str:
    """RFC 4180 lines (CRLF), with no header: the body of a file being streamed."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def stream_csv(rows: Iterable[Sequence], header: Sequence[str], chunk: int = 2000) -> Iterator[str]:
    """The text of ``write_csv`` in pieces: the header at once, then ``chunk`` rows at a time,
    so a long file starts at once and never sits whole in memory."""
    yield CSV_BOM + write_rows([header])
    yield from stream_rows(rows, chunk)


def stream_rows(rows: Iterable[Sequence], chunk: int = 2000) -> Iterator[str]:
    """``write_rows`` of ``rows``, ``chunk`` rows per piece (the same text, joined)."""
    iterator = iter(rows)
    while piece := list(islice(iterator, chunk)):
        yield write_rows(piece)


def in_request(pieces: Iterator[str]) -> Iterator[str]:
    """``pieces`` made inside a copy of this request's context, pushed for each piece and
    popped before it is handed on, for a response body read after the view returned.

    Unlike ``stream_with_context`` no context stays pushed between pieces: a body dropped
    half read (a client gone, a test that never reads it) is closed wherever it is
    collected, with nothing to pop there.
    """

    @copy_current_request_context
    def next_piece() -> str | None:
        return next(pieces, None)

    def body() -> Iterator[str]:
        while (piece := next_piece()) is not None:
            yield piece

    return body()


def write_csv(rows: Iterable[Sequence], header: Sequence[str]) -> str:
    """RFC 4180 CSV with a UTF-8 byte order mark (so spreadsheets read accents right)."""
    return CSV_BOM + write_rows([header]) + write_rows(rows)
