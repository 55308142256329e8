"""Small-count suppression cannot be undone, and the CSV exports open cleanly anywhere."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from outreach.extensions import db
from outreach.models import Zone
from outreach.reports import csvfile
from outreach.reports import disclosure as export
from outreach.reports import exports
from tests.conftest import make_encounter

THRESHOLD = 11


# --- an independent check: linear algebra over the published numbers ----------------------


def _constraints(rows: int, columns: int) -> list[dict[tuple[int, int], int]]:
    """Every additive relation of a table with margins: sum of a line minus its total = 0."""
    last_row, last_column = rows - 1, columns - 1
    relations = []
    for i in range(rows):
        relation = {(i, j): 1 for j in range(last_column)}
        relation[(i, last_column)] = -1
        relations.append(relation)
    for j in range(columns):
        relation = {(i, j): 1 for i in range(last_row)}
        relation[(last_row, j)] = -1
        relations.append(relation)
    return relations


def _rank(matrix: list[list[Fraction]]) -> int:
    matrix = [row[:] for row in matrix]
    rank, columns = 0, len(matrix[0]) if matrix else 0
    for column in range(columns):
        pivot = next((r for r in range(rank, len(matrix)) if matrix[r][column] != 0), None)
        if pivot is None:
            continue
        matrix[rank], matrix[pivot] = matrix[pivot], matrix[rank]
        for r in range(len(matrix)):
            if r != rank and matrix[r][column] != 0:
                factor = matrix[r][column] / matrix[rank][column]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[rank], strict=True)]
        rank += 1
    return rank


def determined_by_subtraction(shape: tuple[int, int], hidden: set) -> set:
    """Hidden cells some combination of published rows, columns and totals pins down.

    A hidden cell is determined exactly when its unit vector lies in the row space of the
    relations restricted to the hidden cells (published cells only shift the right side).
    """
    unknowns = sorted(hidden)
    position = {cell: k for k, cell in enumerate(unknowns)}
    matrix = []
    for relation in _constraints(*shape):
        row = [Fraction(0)] * len(unknowns)
        for cell, coefficient in relation.items():
            if cell in position:
                row[position[cell]] = Fraction(coefficient)
        if any(row):
            matrix.append(row)
    base = _rank(matrix) if matrix else 0
    determined = set()
    for cell in unknowns:
        unit = [Fraction(0)] * len(unknowns)
        unit[position[cell]] = Fraction(1)
        if _rank([*matrix, unit]) == base:
            determined.add(cell)
    return determined


def _row_options(table: export.Table, hidden: set, i: int, bound: int) -> list[dict]:
    """Every way to fill row i's hidden cells (each 1..bound) that fits a published total."""
    columns = table.shape[1]
    unknown = [(i, j) for j in range(columns - 1) if (i, j) in hidden]
    known = sum(table.values[i][j] for j in range(columns - 1) if (i, j) not in hidden)
    total_known = (i, columns - 1) not in hidden
    options = []
    free = unknown[:-1] if total_known and unknown else unknown
    for guess in itertools.product(range(1, bound + 1), repeat=len(free)):
        filled = dict(zip(free, guess, strict=True))
        if total_known and unknown:
            last = table.values[i][columns - 1] - known - sum(guess)
            if last < 1:
                continue
            filled[unknown[-1]] = last
        options.append(filled)
    return options


def feasible_values(table: export.Table, hidden: set, bound: int) -> dict:
    """Brute force: each hidden cell's possible values, knowing hidden ones are 1..bound."""
    rows, columns = table.shape
    possible: dict = {cell: set() for cell in hidden}
    per_row = [_row_options(table, hidden, i, bound) for i in range(rows - 1)]
    for choice in itertools.product(*per_row):
        values = [row[:] for row in table.values]
        for filled in choice:
            for (i, j), value in filled.items():
                values[i][j] = value
        for i in range(rows - 1):
            values[i][columns - 1] = sum(values[i][: columns - 1])
        for j in range(columns):
            values[rows - 1][j] = sum(values[i][j] for i in range(rows - 1))
        if any(
            values[i][j] != table.values[i][j]
            for i in range(rows)
            for j in range(columns)
            if (i, j) not in hidden
        ):
            continue
        if any(values[i][j] < 1 for i, j in hidden):
            continue
        for cell in hidden:
            possible[cell].add(values[cell[0]][cell[1]])
    return possible


small_counts = st.one_of(st.just(0), st.integers(1, 10), st.integers(11, 60))


@st.composite
def tables(draw, max_rows=6, max_columns=4, counts=small_counts):
    rows = draw(st.integers(1, max_rows))
    columns = draw(st.integers(1, max_columns))
    cells = []
    for _ in range(rows):
        row = []
        for _ in range(columns):
            value = draw(counts)
            # Quantities (supplies) can come from fewer encounters than their value.
            contributors = draw(st.integers(min(value, 1), value)) if value else 0
            row.append((value, contributors))
        cells.append(row)
    return export.additive_table("supplies", "x", "x", cells)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(table=tables())
def test_suppression_cannot_be_undone_by_subtraction(table):
    hidden = export.suppress(table, THRESHOLD)
    primary = export.primary_cells(table, THRESHOLD)
    assert primary <= hidden
    assert determined_by_subtraction(table.shape, hidden) & primary == set()
    assert all(table.values[i][j] >= 1 for i, j in hidden), "zeros are never hidden"


@settings(max_examples=120, derandomize=True, deadline=None)
@given(table=tables(max_rows=2, max_columns=3, counts=st.integers(0, 6)))
def test_suppression_holds_when_readers_know_hidden_counts_are_at_least_one(table):
    # A low threshold keeps totals published, so the brute force below stays small.
    threshold = 3
    hidden = export.suppress(table, threshold)
    # Feasible values form an interval, so one step past the true maximum is enough.
    bound = max(v for row in table.values for v in row) + 2
    possible = feasible_values(table, hidden, bound=bound)
    for cell in export.primary_cells(table, threshold):
        assert len(possible[cell]) >= 2, (cell, table.values, sorted(hidden))


def test_suppression_of_a_block_of_ones_adds_larger_cells():
    # Published totals of 2 over two hidden cells would reveal 1 + 1.
    cells = [[(1, 1), (1, 1), (30, 30)], [(1, 1), (1, 1), (40, 40)], [(20, 20), (25, 25), (50, 50)]]
    table = export.additive_table("encounters", "", "Encounters", cells)
    hidden = export.suppress(table, THRESHOLD)
    block = {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert block <= hidden
    # Hiding just the block would leave rows 0 and 1 and columns 0 and 1 summing to 2.
    assert not all(export.can_change(table, block, cell) for cell in block)
    assert len(hidden) > 4
    assert all(export.can_change(table, hidden, cell) for cell in block)
    assert determined_by_subtraction(table.shape, hidden) == set()


def test_suppression_publishes_everything_when_no_count_is_small():
    table = export.additive_table("encounters", "", "E", [[(12, 12), (0, 0)], [(40, 40), (11, 11)]])
    assert export.suppress(table, THRESHOLD) == set()


def test_suppression_hides_quantities_from_few_encounters():
    table = export.additive_table(
        "supplies", "s", "S", [[(200, 2), (300, 40)], [(90, 30), (80, 20)]]
    )
    hidden = export.suppress(table, THRESHOLD)
    assert (0, 0) in hidden
    assert determined_by_subtraction(table.shape, hidden) & {(0, 0)} == set()


def test_participant_counts_get_primary_suppression_only():
    values = [[3, 40, 43], [20, 30, 45], [22, 60, 75]]
    table = export.Table("participants", "", "P", values, values, additive=False)
    assert export.suppress(table, THRESHOLD) == {(0, 0)}


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTab", "'\tTab"),
        ("Riverside", "Riverside"),
        ("", ""),
    ],
)
def test_safe_text_keeps_formulas_from_running(text, safe):
    assert csvfile.safe_text(text) == safe


# --- the export endpoints --------------------------------------------------------------------


def _local_now(app) -> datetime:
    return datetime.now(UTC).astimezone(ZoneInfo(app.config["PROGRAM_TIMEZONE"]))


def _parse(response) -> list[dict]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    text = raw.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _send(sync_api, records):
    results = sync_api.post(records).get_json()["results"]
    assert {r["status"] for r in results} == {"created"}


def _month_records(app, counts: dict[str, int], when: datetime) -> list[dict]:
    records = []
    for zone, count in counts.items():
        for n in range(count):
            records.append(
                make_encounter(
                    zone=zone,
                    occurred_at=(when - timedelta(minutes=n)).isoformat(timespec="seconds"),
                    participant_code=f"P-{zone}-{n % 7}",
                )
            )
    return records


def test_export_csv_is_valid_with_header_and_iso_dates(app, supervisor_client, sync_api):
    now = _local_now(app)
    _send(sync_api, _month_records(app, {"riverside": 14, "downtown": 3}, now))
    month = now.date().replace(day=1)
    response = supervisor_client.get(f"/reports/export.csv?period=week&start={month}")
    rows = _parse(response)
    assert list(rows[0]) == exports.HEADER
    for row in rows:
        start, end = date.fromisoformat(row["period_start"]), date.fromisoformat(row["period_end"])
        assert start <= end
        if row["period"] == "week":
            assert start.weekday() == 0 and (end - start).days == 6
    encounters = {
        (r["period"], r["zone"]): r["value"]
        for r in rows
        if r["measure"] == "encounters" and r["period"] == "all"
    }
    assert encounters == {
        ("all", "riverside"): "14",
        ("all", "downtown"): "3",
        ("all", "all"): "17",
    }
    # The internal file is exact. Participants are published for calendar months, quarters
    # and years only (participant_figures): a weekly file leaves them out.
    assert {r["suppressed"] for r in rows} == {""}
    assert not [r for r in rows if r["measure"] == "participants"]


def _column_sums_match(rows: list[dict]) -> None:
    """A plain sum of each additive measure's detail rows is its total row."""
    by_measure: dict = {}
    for row in rows:
        by_measure.setdefault((row["measure"], row["key"]), []).append(row)
    for (measure, key), measure_rows in by_measure.items():
        kinds = {r["row"] for r in measure_rows}
        if measure == "participants":
            assert kinds <= {
                "detail",
                "distinct_total_zones",
                "distinct_total_periods",
                "distinct_total",
            }
            continue
        total = [r for r in measure_rows if r["row"] == "total"]
        assert len(total) == 1, (measure, key)
        detail = sum(int(r["value"]) for r in measure_rows if r["row"] == "detail")
        assert detail == int(total[0]["value"]), (measure, key)


def test_a_one_month_export_lists_each_figure_once(app, supervisor_client, sync_api):
    now = _local_now(app)
    _send(sync_api, _month_records(app, {"riverside": 14, "downtown": 3}, now))
    month = now.date().replace(day=1)
    rows = _parse(supervisor_client.get(f"/reports/export.csv?period=month&start={month}"))
    assert {r["period"] for r in rows} == {"month"}, "no second copy of the month as 'all'"
    encounters = {r["zone"]: (r["value"], r["row"]) for r in rows if r["measure"] == "encounters"}
    assert encounters == {
        "riverside": ("14", "detail"),
        "downtown": ("3", "detail"),
        "all": ("17", "total"),
    }
    _column_sums_match(rows)
    weekly = _parse(supervisor_client.get(f"/reports/export.csv?period=week&start={month}"))
    _column_sums_match(weekly)
    kinds = {r["row"] for r in weekly if r["measure"] == "encounters"}
    assert kinds == {"detail", "total_zones", "total_periods", "total"}


@pytest.mark.parametrize("period", ["week", "day"])
def test_shareable_exports_are_by_month_only(supervisor_client, period):
    response = supervisor_client.get(f"/reports/export.csv?suppress=1&period={period}")
    assert response.status_code == 400
    assert "month" in response.get_json()["message"]


def test_shareable_months_read_the_same_however_they_are_asked_for(
    app, supervisor_client, sync_api
):
    now = _local_now(app)
    _send(sync_api, _month_records(app, {"riverside": 14, "downtown": 3, "eastside": 25}, now))
    month = now.date().replace(day=1)
    year = date(month.year, 1, 1)

    def cells(query: str) -> dict:
        rows = _parse(supervisor_client.get(f"/reports/export.csv?suppress=1&{query}"))
        return {
            (r["measure"], r["key"], r["period_start"], r["zone"]): (r["value"], r["suppressed"])
            for r in rows
            if r["period"] == "month"
        }

    alone = cells(f"start={month}&end={month}")
    # A few days, from mid-month: answered in whole months, as the month alone.
    assert cells(f"start={month + timedelta(days=3)}&end={month + timedelta(days=5)}") == alone
    whole_year = cells(f"start={year}&end={date(month.year, 12, 31)}")
    assert {k: v for k, v in whole_year.items() if k[2] == month.isoformat()} == alone
    # Totals over months appear only for a whole calendar year.
    partial = _parse(supervisor_client.get(f"/reports/export.csv?suppress=1&start={month}"))
    assert {r["period"] for r in partial} == {"month"}


def test_export_suppressed_cells_cannot_be_recovered(app, supervisor_client, sync_api):
    now = _local_now(app)
    _send(sync_api, _month_records(app, {"riverside": 14, "downtown": 3, "eastside": 25}, now))
    month = now.date().replace(day=1)
    year_start, year_end = date(month.year, 1, 1), date(month.year, 12, 31)
    rows = _parse(
        supervisor_client.get(f"/reports/export.csv?suppress=1&start={year_start}&end={year_end}")
    )
    by_measure: dict = {}
    for row in rows:
        by_measure.setdefault((row["measure"], row["key"]), []).append(row)
    downtown = [
        r
        for r in by_measure[("encounters", "")]
        if r["zone"] == "downtown" and r["period_start"] == month.isoformat()
    ]
    assert downtown[0]["value"] == "" and downtown[0]["suppressed"] == "yes"
    for (measure, _key), table_rows in by_measure.items():
        if measure == "participants":
            continue
        periods = sorted({(r["period"] == "year", r["period_start"]) for r in table_rows})
        zones = sorted({(r["zone"] == "all", r["zone"]) for r in table_rows})
        assert len(periods) == 13, "twelve months and the year"
        hidden = set()
        for r in table_rows:
            cell = (
                periods.index((r["period"] == "year", r["period_start"])),
                zones.index((r["zone"] == "all", r["zone"])),
            )
            value = r["value"]
            if r["suppressed"]:
                hidden.add(cell)
                assert value == ""
            else:
                assert int(value) == 0 or int(value) >= THRESHOLD
        assert determined_by_subtraction((len(periods), len(zones)), hidden) == set()


def test_export_renamed_zone_cannot_inject_a_formula(app, supervisor_client, sync_api):
    with app.app_context():
        zone = db.session.scalar(sa.select(Zone).where(Zone.key == "riverside"))
        zone.name = '=HYPERLINK("http://evil.invalid","click")'
        db.session.commit()
    _send(sync_api, [make_encounter()])
    rows = _parse(supervisor_client.get("/reports/export.csv"))
    names = {r["zone_name"] for r in rows if r["zone"] == "riverside"}
    assert names == {'\'=HYPERLINK("http://evil.invalid","click")'}


@pytest.mark.parametrize(
    "query",
    ["period=year", "start=2026-13-01", "start=2026-11-10&end=2026-11-01", "start=nonsense"],
)
def test_export_refuses_bad_parameters(supervisor_client, query):
    response = supervisor_client.get(f"/reports/export.csv?{query}")
    assert response.status_code == 400
    assert response.is_json and response.get_json()["message"]


def test_records_export_has_no_codes_and_no_hashes(app, admin_client, sync_api):
    now = _local_now(app)
    earlier = (now - timedelta(days=40)).isoformat(timespec="seconds")
    code = "M-KRTZ-1987"
    _send(
        sync_api,
        [
            make_encounter(participant_code=code, occurred_at=earlier),
            make_encounter(participant_code=code),
            make_encounter(participant_code=None, zone=None),
        ],
    )
    response = admin_client.get("/reports/records.csv")
    rows = _parse(response)
    body = response.get_data(as_text=True)
    assert code not in body and "KRTZ" not in body
    for row in rows:
        assert all(len(str(value)) < 40 for value in row.values()), "no hash-like values"
    assert len(rows) == 2
    by_zone = {r["zone"]: r for r in rows}
    assert by_zone["riverside"]["participant_code_given"] == "yes"
    # Whether a participant was seen before would let a reader test a guessed code.
    assert "participant_seen_before" not in rows[0]
    assert by_zone["none"]["participant_code_given"] == "no"
    assert by_zone["riverside"]["supply:syringe_1ml_27g"] == "20"
    assert by_zone["riverside"]["referral:wound_care"] == "1"
    assert date.fromisoformat(by_zone["riverside"]["local_date"]) == now.date()


def test_records_export_leaves_voided_records_out(app, admin_client, sync_api):
    from outreach.encounters import voids
    from outreach.models import User

    kept, voided = make_encounter(), make_encounter()
    _send(sync_api, [kept, voided])
    with app.test_request_context():
        admin = db.session.scalar(sa.select(User).where(User.username == "ada"))
        voids.void_encounter(uuid.UUID(voided["id"]), "duplicate", admin)
    assert len(_parse(admin_client.get("/reports/records.csv"))) == 1
