"""What reports count of overdose responses: non-voided ones, by local day, zone and worker.

Overdose responses are few (a handful a week where encounters are thousands), so these
figures read the records directly through their (local_date, zone_id) index, with no
roll-ups. The supply-item filter of a report does not apply to them: a response hands out
no supplies, so it is ignored here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from datetime import date

import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import NO_ZONE
from outreach.models import OverdoseResponse
from outreach.overdoses.contract import EMS_CALLED
from outreach.overdoses.contract import GIVERS
from outreach.overdoses.contract import OUTCOMES
from outreach.reports.figures import ReportFilter


@dataclass
class OverdoseFigures:
    """Overdose responses in a report's period (and zone, and worker)."""

    responses: int = 0
    naloxone_doses: int = 0
    # Outcome key -> responses, every key of OUTCOMES present (0 when none).
    by_outcome: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    # ems_called key (yes, no, unknown) -> responses.
    ems: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EMS_CALLED, 0))
    # Giver key -> responses in which that giver gave naloxone (one response may have several).
    given_by: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GIVERS, 0))

    @property
    def ems_called(self) -> int:
        return self.ems["yes"]


def _where(report: ReportFilter) -> list:
    where = [
        OverdoseResponse.voided_at.is_(None),
        OverdoseResponse.local_date.between(report.start, report.end),
    ]
    if report.zone_id is not None:
        where.append(
            OverdoseResponse.zone_id.is_(None)
            if report.zone_id == NO_ZONE
            else OverdoseResponse.zone_id == report.zone_id
        )
    if report.worker_id is not None:
        where.append(OverdoseResponse.worker_id == report.worker_id)
    return where


def overdose_figures(report: ReportFilter) -> OverdoseFigures:
    """The overdose figures of a report (non-voided responses only)."""
    table = OverdoseResponse
    givers = [sa.func.sum(sa.case((getattr(table, f"given_by_{g}"), 1), else_=0)) for g in GIVERS]
    result = OverdoseFigures()
    for outcome, ems, count, doses, *given in db.session.execute(
        sa.select(
            table.outcome,
            table.ems_called,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(table.naloxone_doses), 0),
            *givers,
        )
        .where(*_where(report))
        .group_by(table.outcome, table.ems_called)
    ):
        result.responses += count
        result.naloxone_doses += int(doses)
        result.by_outcome[outcome] += count
        result.ems[ems] += count
        for giver, n in zip(GIVERS, given, strict=True):
            result.given_by[giver] += int(n or 0)
    return result


def responses_by_day(report: ReportFilter) -> dict[date, int]:
    """Non-voided responses per local day (days with none are absent)."""
    table = OverdoseResponse
    return Counter(
        {
            day: count
            for day, count in db.session.execute(
                sa.select(table.local_date, sa.func.count())
                .where(*_where(report))
                .group_by(table.local_date)
            )
        }
    )
