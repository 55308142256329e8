"""The overdose section of /reports and summary.json (staff screens: exact counts, like
every count there except participants; shareable files are suppressed in ``tables``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from markupsafe import Markup

from outreach.overdoses.contract import GIVERS
from outreach.overdoses.contract import OUTCOMES
from outreach.overdoses.figures import OverdoseFigures
from outreach.overdoses.figures import overdose_figures
from outreach.overdoses.figures import responses_by_day
from outreach.reports import charts
from outreach.reports.figures import ReportFilter


def outcome_names() -> dict[str, str]:
    return {
        "alive": _("Alive"),
        "transported": _("Taken to hospital"),
        "died": _("Died"),
        "unknown": _("Not known"),
    }


def giver_names() -> dict[str, str]:
    return {
        "worker": _("A worker"),
        "participant": _("A participant"),
        "bystander": _("A bystander"),
        "ems": _("Emergency services"),
    }


@dataclass
class OverdoseSection:
    figures: OverdoseFigures
    outcomes: list[tuple[str, str, int]]  # (key, name, responses)
    givers: list[tuple[str, str, int]]
    series: list[tuple[str, int]]  # (full label, responses) per chart bucket
    chart: Markup | None


def summary(report: ReportFilter) -> dict:
    """The ``overdose_responses`` object of summary.json."""
    figures = overdose_figures(report)
    return {
        "responses": figures.responses,
        "naloxone_doses": figures.naloxone_doses,
        "ems_called": figures.ems_called,
        "by_outcome": dict(figures.by_outcome),
        "naloxone_given_by": dict(figures.given_by),
    }


def section(report: ReportFilter, points: list, period_word: str) -> OverdoseSection:
    """The dashboard's overdose section; ``points`` are the dashboard's chart buckets
    (``SeriesRow``s), so both charts share their periods."""
    figures = overdose_figures(report)
    outcomes, givers = outcome_names(), giver_names()
    series: list[tuple[str, int]] = []
    chart = None
    if figures.responses:
        days = responses_by_day(report)
        counted = []
        for row in points:
            span = range((row.end - row.start).days + 1)
            total = sum(days.get(row.start + timedelta(days=n), 0) for n in span)
            counted.append(charts.Point(row.label, row.full_label, (total,)))
            series.append((row.full_label, total))
        chart = charts.column_chart(
            counted,
            chart_id="chart-overdoses",
            title=_("Overdose responses %(per)s", per=period_word),
            description=_(
                "Column chart of overdose responses %(per)s; the numbers are in the table "
                "below it.",
                per=period_word,
            ),
        )
    return OverdoseSection(
        figures=figures,
        outcomes=[(key, outcomes[key], figures.by_outcome[key]) for key in OUTCOMES],
        givers=[(key, givers[key], figures.given_by[key]) for key in GIVERS],
        series=series,
        chart=chart,
    )
