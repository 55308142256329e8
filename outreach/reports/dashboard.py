"""What the dashboard and summary.json show, assembled from the figures (no request here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import timedelta

from flask_babel import format_date
from flask_babel import gettext as _

from outreach.models import ALL_ZONES
from outreach.models import NO_ZONE
from outreach.overdoses import report as overdose_report
from outreach.program_settings import estimated_syringes
from outreach.reports import charts
from outreach.reports import figures as report_figures
from outreach.reports import participant_figures as people
from outreach.reports.catalog import Catalog
from outreach.reports.catalog import sum_ids
from outreach.reports.figures import Figures
from outreach.reports.figures import ReportFilter
from outreach.reports.periods import DAY
from outreach.reports.periods import MONTH
from outreach.reports.periods import WEEK
from outreach.reports.periods import buckets

# Up to about two months a bar per day stays readable; then weeks, then months.
DAILY_UP_TO_DAYS = 62
WEEKLY_UP_TO_DAYS = 2 * 366


def collected_by_weight(figures: Figures, per_pound: int) -> dict:
    """Collected syringes counted, estimated from weight, and their sum (estimated)."""
    estimated = estimated_syringes(figures.syringes_collected_grams, per_pound)
    return {
        "grams": figures.syringes_collected_grams,
        "syringes_per_pound": per_pound,
        "estimated_syringes": estimated,
        "counted_and_estimated": figures.syringes_collected + estimated,
    }


def summary_payload(report: ReportFilter, catalog: Catalog, threshold: int, per_pound: int) -> dict:
    """GET /reports/summary.json in its documented shape.

    A participant count from 1 to threshold-1 is ``null``, with ``participants_fewer_than``
    beside it. Participants are published only for ended calendar months, quarters and
    years (``participant_figures``): otherwise, or where the count would give a hidden new
    count back, it is ``null`` with ``participants_withheld`` saying why.
    """
    figures = report_figures.figures(report)
    scope = ALL_ZONES if report.zone_id is None else report.zone_id
    counted = people.figures(
        report.start, report.end, scope, report.reader_id, threshold, not report.from_rollups
    ).participants
    participants = counted.value
    item_keys = {item.id: item.key for item in catalog.items}
    referral_keys = {kind.id: kind.key for kind in catalog.referral_types}
    payload = {
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "encounters": figures.encounters,
        "participants": participants,
        "people_served": figures.people_served,
        "supplies": {item_keys[k]: v for k, v in figures.supplies.items() if k in item_keys and v},
        "syringes_collected": figures.syringes_collected,
        "naloxone_reversals_reported": figures.naloxone_reversals_reported,
        "syringes_collected_by_weight": collected_by_weight(figures, per_pound),
        "naloxone": {
            "kits": sum_ids(figures.supplies, catalog.naloxone_ids),
            "doses": catalog.naloxone_doses(figures.supplies),
        },
        "referrals": {
            referral_keys[k]: v for k, v in figures.referrals.items() if k in referral_keys and v
        },
    }
    payload["overdose_responses"] = overdose_report.summary(report)
    if counted.status == people.FEWER_THAN:
        payload["participants_fewer_than"] = threshold
    elif not counted.shown:
        # Withheld for the period (its reason), or hidden where it equals a hidden new count.
        hidden = counted.status == people.HIDDEN
        payload["participants_withheld"] = "protects_new" if hidden else counted.status
    return payload


def series_period(start: date, end: date) -> str:
    """Day, week or month buckets for charts over this period."""
    days = (end - start).days + 1
    if days <= DAILY_UP_TO_DAYS:
        return DAY
    if days <= WEEKLY_UP_TO_DAYS:
        return WEEK
    return MONTH


@dataclass
class SeriesRow:
    start: date
    end: date
    label: str
    full_label: str
    encounters: int
    syringes_distributed: int
    syringes_collected: int
    naloxone: int


@dataclass
class ZoneRow:
    zone_id: int
    name: str
    encounters: int
    participants: people.Figure
    people_served: int
    syringes_distributed: int
    syringes_collected: int
    naloxone: int
    referrals: int


@dataclass
class Dashboard:
    """Everything the dashboard template shows."""

    report: ReportFilter
    figures: Figures
    # Participant figures as they may be shown (``participant_figures``), and a sentence
    # saying why new and returning (or all three) are not shown, when they are not.
    people: people.ParticipantFigures
    people_note: str | None
    threshold: int
    syringes_distributed: int
    naloxone_given: int
    naloxone_doses: int
    collected_by_weight: dict
    return_ratio: float | None
    supplies: list[tuple[str, str, int]]  # (key, name, quantity)
    referrals: list[tuple[str, str, int]]
    zones: list[ZoneRow]
    period: str
    series: list[SeriesRow]
    charts: dict
    overdoses: overdose_report.OverdoseSection | None = None


def build(
    report: ReportFilter,
    catalog: Catalog,
    lang: str,
    today: date,
    threshold: int,
    per_pound: int,
) -> Dashboard:
    """Compute the dashboard for a report filter."""
    figures, zones = report_figures.overview(report)
    scope = ALL_ZONES if report.zone_id is None else report.zone_id
    shown_people = people.by_scope(
        report.start,
        report.end,
        sorted({scope, *zones}),
        report.reader_id,
        threshold,
        not report.from_rollups,
    )
    syringe_ids, naloxone_ids = catalog.syringe_ids, catalog.naloxone_ids
    distributed = sum_ids(figures.supplies, syringe_ids)
    naloxone = sum_ids(figures.supplies, naloxone_ids)
    supplies = [
        (item.key, item.display_name(lang), figures.supplies[item.id])
        for item in catalog.items
        if figures.supplies.get(item.id)
    ]
    referrals = [
        (kind.key, kind.display_name(lang), figures.referrals[kind.id])
        for kind in catalog.referral_types
        if figures.referrals.get(kind.id)
    ]
    zone_rows = _zone_rows(zones, catalog, lang, shown_people)
    period = series_period(report.start, report.end)
    series = _series(report, catalog, period, min(report.end, max(today, report.start)))
    dashboard = Dashboard(
        report=report,
        figures=figures,
        people=shown_people[scope],
        people_note=people_note(shown_people[scope], threshold),
        threshold=threshold,
        syringes_distributed=distributed,
        naloxone_given=naloxone,
        naloxone_doses=catalog.naloxone_doses(figures.supplies),
        collected_by_weight=collected_by_weight(figures, per_pound),
        return_ratio=(figures.syringes_collected / distributed) if distributed else None,
        supplies=supplies,
        referrals=referrals,
        zones=zone_rows,
        period=period,
        series=series,
        charts={},
    )
    dashboard.charts = _charts(dashboard)
    per = {DAY: _("per day"), WEEK: _("per week"), MONTH: _("per month")}[period]
    dashboard.overdoses = overdose_report.section(report, series, per)
    return dashboard


def people_note(shown: people.ParticipantFigures, threshold: int) -> str | None:
    """Why new and returning (or every participant figure) are not shown, in a sentence."""
    if shown.withheld == people.FILTERED:
        return _(
            "Participant figures are not broken down by worker or supply item: they would be "
            "a second count of the same people that could be set against the first."
        )
    if shown.withheld is not None:
        return _(
            "Participant, new and returning figures are shown for calendar months, quarters "
            "and years that have ended: figures over other dates, or read again as a period "
            "goes on, could be subtracted from each other to count the people first seen on "
            "one day."
        )
    if shown.new.shown:
        return None
    if people.FEWER_THAN in (shown.new.status, shown.returning.status):
        return _("New and returning are not shown: one of them is fewer than %(n)s.", n=threshold)
    return _(
        "New and returning are not shown: a month in this period hides them, and a sum "
        "that includes it would give it back."
    )


def _zone_rows(rows: dict, catalog: Catalog, lang: str, shown_people: dict) -> list[ZoneRow]:
    order = [zone.id for zone in catalog.zones] + [NO_ZONE]
    result = []
    for zone_id in sorted(rows, key=lambda z: order.index(z) if z in order else len(order)):
        row = rows[zone_id]
        zone = catalog.zone(zone_id)
        result.append(
            ZoneRow(
                zone_id=zone_id,
                name=zone.display_name(lang) if zone else _("No zone"),
                encounters=row.encounters,
                participants=shown_people[zone_id].participants,
                people_served=row.people_served,
                syringes_distributed=sum_ids(row.supplies, catalog.syringe_ids),
                syringes_collected=row.syringes_collected,
                naloxone=sum_ids(row.supplies, catalog.naloxone_ids),
                referrals=row.referrals,
            )
        )
    return result


def _series(report: ReportFilter, catalog: Catalog, period: str, last_day: date):
    days = report_figures.by_day(report, catalog.syringe_ids | catalog.naloxone_ids)
    rows = []
    for start, end in buckets(report.start, last_day, period):
        encounters = distributed = collected = naloxone = 0
        cursor = start
        while cursor <= end:
            day = days.get(cursor)
            if day is not None:
                encounters += day.encounters
                collected += day.syringes_collected
                distributed += sum_ids(day.supplies, catalog.syringe_ids)
                naloxone += sum_ids(day.supplies, catalog.naloxone_ids)
            cursor += timedelta(days=1)
        rows.append(
            SeriesRow(
                start,
                end,
                _bucket_label(start, period),
                _bucket_full_label(start, end, period),
                encounters,
                distributed,
                collected,
                naloxone,
            )
        )
    return rows


def _bucket_label(start: date, period: str) -> str:
    if period == MONTH:
        return format_date(start, "MMM yy")
    return format_date(start, "d MMM")


def _bucket_full_label(start: date, end: date, period: str) -> str:
    if period == DAY:
        return format_date(start, "EEE d MMM yyyy")
    if period == WEEK:
        return _("Week of %(day)s", day=format_date(start, "d MMM yyyy"))
    return format_date(start, "MMMM yyyy")


def _charts(dashboard: Dashboard) -> dict:
    points = [
        charts.Point(
            row.label,
            row.full_label,
            (row.encounters, row.syringes_distributed, row.syringes_collected, row.naloxone),
        )
        for row in dashboard.series
    ]
    per = {DAY: _("per day"), WEEK: _("per week"), MONTH: _("per month")}[dashboard.period]
    result = {}
    if any(row.encounters for row in dashboard.series):
        result["encounters"] = charts.column_chart(
            [charts.Point(p.label, p.full_label, (p.values[0],)) for p in points],
            chart_id="chart-encounters",
            title=_("Encounters %(per)s", per=per),
            description=_(
                "Column chart of encounters %(per)s; the numbers are in the table below it.",
                per=per,
            ),
        )
        result["syringes"] = charts.line_chart(
            [charts.Point(p.label, p.full_label, (p.values[1], p.values[2])) for p in points],
            [_("Distributed"), _("Collected")],
            chart_id="chart-syringes",
            title=_("Syringes distributed and collected %(per)s", per=per),
            description=_(
                "Line chart: a solid line for syringes distributed and a dashed line for "
                "syringes collected, %(per)s; the numbers are in the table below it.",
                per=per,
            ),
        )
        result["naloxone"] = charts.column_chart(
            [charts.Point(p.label, p.full_label, (p.values[3],)) for p in points],
            chart_id="chart-naloxone",
            title=_("Naloxone kits given %(per)s", per=per),
            description=_(
                "Column chart of naloxone kits given %(per)s; the numbers are in the table "
                "below it.",
                per=per,
            ),
        )
    if dashboard.referrals:
        result["referrals"] = charts.bar_chart(
            [(name, value) for _key, name, value in dashboard.referrals],
            chart_id="chart-referrals",
            title=_("Referrals by type"),
            description=_("Bar chart of referrals by type; the numbers are in the table below."),
        )
    return result
