"""A funder report: a template's fields over one month, quarter or year, published safely.

Every additive figure is copied or summed from the year's *published tables*, the same
months-by-zones tables, with the same suppression, that shareable exports copy from
(``outreach.reports.disclosure``): a month is that month's total over zones, a quarter the
sum of its three month totals, a year the table's grand total, and a category the sum of
its items' tables. A figure that would add a hidden cell is blank. So a funder report
says nothing a shareable export does not already say, whatever else is downloaded.

Participant figures (unique and new participants) follow the calendar rule of
``outreach.reports.participant_figures``, as on every screen: a month's new participants add
up to the quarter's and the year's, so a quarter's or year's new count is shown only as the
sum of shown months, and nothing is shown for a period that has not ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from outreach.funder import formulas
from outreach.funder.definitions import Field
from outreach.funder.definitions import Template
from outreach.funder.formulas import Term
from outreach.funder.mapping import Mapping
from outreach.funder.mapping import members
from outreach.models import ALL_ZONES
from outreach.overdoses import tables as overdose_tables
from outreach.program_settings import estimated_syringes
from outreach.reports import exports
from outreach.reports import participant_figures
from outreach.reports import periods as period_rules
from outreach.reports.catalog import Catalog
from outreach.reports.disclosure import Table

MONTH, QUARTER, YEAR = "month", "quarter", "year"
# Figure → the published table (measure, key) it reads; overdose responses have their
# tables beside the encounter ones (``outreach.overdoses.tables``).
TABLES = {
    "encounters": ("encounters", ""),
    "people_served": ("people_served", ""),
    "syringes_collected_counted": ("syringes_collected", ""),
    "naloxone_reversals_reported": ("naloxone_reversals_reported", ""),
    "overdose_responses": (overdose_tables.RESPONSES, ""),
    "overdose_naloxone_doses": (overdose_tables.DOSES, ""),
    # Alive, not "transported": what happened after transport is not known.
    "overdose_reversals": (overdose_tables.OUTCOME, "alive"),
}

SHOWN = "shown"
SUPPRESSED = "suppressed"
FEWER_THAN = "fewer_than"


@dataclass(frozen=True)
class Period:
    """A calendar month (index 1..12), quarter (1..4) or year (index 0)."""

    kind: str
    year: int
    index: int = 0

    @property
    def months(self) -> list[int]:
        """Month rows (0..11) of the year's published tables."""
        if self.kind == MONTH:
            return [self.index - 1]
        if self.kind == QUARTER:
            return [3 * (self.index - 1) + k for k in range(3)]
        return list(range(12))

    @property
    def start(self) -> date:
        return date(self.year, self.months[0] + 1, 1)

    @property
    def end(self) -> date:
        return period_rules.bucket_end(date(self.year, self.months[-1] + 1, 1), period_rules.MONTH)

    @property
    def slug(self) -> str:
        if self.kind == MONTH:
            return f"{self.year}-{self.index:02d}"
        if self.kind == QUARTER:
            return f"{self.year}-Q{self.index}"
        return str(self.year)


@dataclass(frozen=True)
class FieldResult:
    field: Field
    value: int | None
    status: str


@dataclass(frozen=True)
class FunderReport:
    template: Template
    period: Period
    threshold: int
    results: list[FieldResult]


class _Published:
    """The year's published tables, read as a period's totals."""

    def __init__(self, period: Period, threshold: int, catalog: Catalog, lang: str):
        _months, built, _zones, _labels = exports.published_year_tables(
            period.year, threshold, catalog, lang, with_participants=False
        )
        self.tables = {(table.measure, table.key): table for table in built}
        self.rows = [12] if period.kind == YEAR else period.months
        self.period = period
        self.threshold = threshold

    def total(self, table: Table | None) -> tuple[int, bool]:
        """(value, hidden) of the period's total over every zone in one table."""
        if table is None:  # nothing at all that year: the export lists no table either
            return 0, False
        column = table.shape[1] - 1
        value = sum(table.values[row][column] for row in self.rows)
        hidden = any((row, column) in table.suppressed for row in self.rows)
        return value, hidden


def _additive(
    term: Term, published: _Published, mapping: Mapping, catalog: Catalog, per_pound: int
) -> tuple[int, bool]:
    """(value, hidden) of one additive term."""
    if term.name in TABLES:
        return published.total(published.tables.get(TABLES[term.name]))
    if term.name == "syringes_collected_estimated":
        grams, hidden = published.total(published.tables.get(("syringes_collected_grams", "")))
        return estimated_syringes(grams, per_pound), hidden
    catalogue = formulas.FAMILIES[term.name]
    entries = {
        entry.id: entry
        for entry in (catalog.items if catalogue == "supplies" else catalog.referral_types)
    }
    value, hidden = 0, False
    for entry_id in members(mapping, catalogue, term.category):
        part, part_hidden = published.total(
            published.tables.get((catalogue, entries[entry_id].key))
        )
        value += part * (entries[entry_id].doses_per_unit if term.name == "doses" else 1)
        hidden = hidden or part_hidden
    return value, hidden


def build(
    template: Template,
    period: Period,
    threshold: int,
    catalog: Catalog,
    mapping: Mapping,
    per_pound: int,
    lang: str,
    reader_id: int | None = None,
) -> FunderReport:
    """Every field of a template over one period, with small counts hidden.

    Participant fields leave out the reader's own records, as every participant figure
    does (``reports/own_records``)."""
    published = _Published(period, threshold, catalog, lang)
    people = None
    results = []
    for field in template.fields:
        first = field.terms[0]
        if first.category is None and formulas.FIGURES.get(first.name) == formulas.DISTINCT:
            if people is None:
                people = participant_figures.figures(
                    period.start, period.end, ALL_ZONES, reader_id, threshold
                )
            results.append(_distinct(field, people))
            continue
        parts = [_additive(term, published, mapping, catalog, per_pound) for term in field.terms]
        if any(hidden for _value, hidden in parts):
            results.append(FieldResult(field, None, SUPPRESSED))
        else:
            results.append(FieldResult(field, sum(value for value, _hidden in parts), SHOWN))
    return FunderReport(template, period, threshold, results)


def _distinct(field: Field, people: participant_figures.ParticipantFigures) -> FieldResult:
    figure = people.participants if field.terms[0].name == "participants" else people.new
    if figure.shown:
        return FieldResult(field, figure.value, SHOWN)
    # "Fewer than" only when the figure itself is small; otherwise it protects another.
    if figure.status == participant_figures.FEWER_THAN:
        return FieldResult(field, None, FEWER_THAN)
    return FieldResult(field, None, SUPPRESSED)
