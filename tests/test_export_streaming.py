"""CSV exports are streamed: the header leaves before any figure is computed, the rows
follow a chunk at a time, and the file read whole is the file as it always was."""

from __future__ import annotations

import contextvars
import gc
from datetime import timedelta

import pytest

from outreach.reports import csvfile
from outreach.reports import exports
from outreach.reports import periods
from tests.conftest import make_encounter

HEADER = csvfile.CSV_BOM + ",".join(exports.HEADER) + "\r\n"


@pytest.mark.parametrize(
    ("who", "query"),
    [
        ("supervisor", "export.csv?period=day"),
        ("supervisor", "export.csv?period=month&suppress=1"),
        ("admin", "records.csv?"),
    ],
)
def test_an_export_is_streamed_header_first(
    app, supervisor_client, admin_client, sync_api, monkeypatch, who, query
):
    sync_api.post([make_encounter() for _ in range(5)])
    with app.app_context():
        today = periods.today()
    start = today - timedelta(days=3 * 366 - 1)
    client = supervisor_client if who == "supervisor" else admin_client
    url = f"/reports/{query}&start={start}&end={today}"
    whole = client.get(url).get_data(as_text=True)

    # Nothing is computed before the first piece leaves: the tables are built after it.
    real = exports._measure_tables
    built: list[bool] = []

    def measure_tables(*args, **kwargs):
        built.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(exports, "_measure_tables", measure_tables)
    response = client.get(url, buffered=False)
    assert response.status_code == 200 and response.is_streamed
    pieces = iter(response.response)
    first = next(pieces).decode("utf-8")
    if query.startswith("export"):
        assert first == HEADER
        assert not built
    else:
        assert first.startswith(csvfile.CSV_BOM + "local_date,")
    rest = b"".join(pieces).decode("utf-8")
    response.close()
    assert built or query.startswith("records")
    assert first + rest == whole
    assert whole.count("\r\n") > 2


def test_rows_come_a_chunk_at_a_time_and_join_to_the_whole_file():
    rows = [[n, f"=cell {n}", "x,y"] for n in range(4500)]
    pieces = list(csvfile.stream_csv(rows, ["n", "text", "pair"], chunk=2000))
    assert len(pieces) == 1 + 3  # the header, then 2000 + 2000 + 500 rows
    assert "".join(pieces) == csvfile.write_csv(rows, ["n", "text", "pair"])


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(
    ("who", "query"),
    [("supervisor", "export.csv?period=day"), ("admin", "records.csv?")],
)
def test_an_export_dropped_half_read_leaves_nothing_to_clean_up(
    supervisor_client, admin_client, sync_api, who, query
):
    """A client that goes away mid-file: the body is closed wherever it is collected (here
    in a context of its own, as a garbage collection may run anywhere), and nothing fails."""
    sync_api.post([make_encounter()])
    client = supervisor_client if who == "supervisor" else admin_client
    response = client.get(f"/reports/{query}", buffered=False)
    pieces = iter(response.response)
    assert next(pieces)
    del response

    def collect() -> None:
        nonlocal pieces
        del pieces
        gc.collect()

    contextvars.Context().run(collect)
