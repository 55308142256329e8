"""Overdose measures for the aggregate exports: further month x zone tables beside the
encounter ones, suppressed by the same rules (``outreach.reports.disclosure``).

Measures (``measure`` / ``key`` in the CSV): ``overdose_responses``; ``overdose_naloxone_doses``
(doses used); ``overdose_ems_called`` (responses where emergency services were called);
``overdose_outcome`` / alive, transported, died, unknown; ``overdose_given_by`` / worker,
participant, bystander, ems (responses in which that giver gave naloxone). Each cell's
contributors are the responses behind it, so a cell made up of fewer than ``threshold``
responses is hidden like any other.

The outcomes partition the responses (they add up to them cell by cell), so their tables are
suppressed together with the responses table: a cell hidden in one is hidden in all where it
is not zero, else the responses less the published outcomes would give a hidden one back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from outreach.extensions import db
from outreach.models import NO_ZONE
from outreach.models import OverdoseResponse
from outreach.overdoses.contract import GIVERS
from outreach.overdoses.contract import OUTCOMES
from outreach.reports import disclosure
from outreach.reports.disclosure import Table
from outreach.reports.disclosure import additive_table

RESPONSES = "overdose_responses"
DOSES = "overdose_naloxone_doses"
EMS_CALLED = "overdose_ems_called"
OUTCOME = "overdose_outcome"
GIVEN_BY = "overdose_given_by"
MEASURES = (RESPONSES, DOSES, EMS_CALLED, OUTCOME, GIVEN_BY)

# (local_date, zone id or NO_ZONE) -> {(measure, key): value}
DayCells = dict[tuple[date, int], dict[tuple[str, str], int]]


def _names() -> dict[tuple[str, str], str]:
    outcome = {
        "alive": _("Overdose outcome: alive"),
        "transported": _("Overdose outcome: taken to hospital"),
        "died": _("Overdose outcome: died"),
        "unknown": _("Overdose outcome: not known"),
    }
    given = {
        "worker": _("Naloxone given by a worker"),
        "participant": _("Naloxone given by a participant"),
        "bystander": _("Naloxone given by a bystander"),
        "ems": _("Naloxone given by emergency services"),
    }
    return {
        (RESPONSES, ""): _("Overdose responses"),
        (DOSES, ""): _("Naloxone doses used in overdose responses"),
        (EMS_CALLED, ""): _("Overdose responses with emergency services called"),
        **{(OUTCOME, key): outcome[key] for key in OUTCOMES},
        **{(GIVEN_BY, key): given[key] for key in GIVERS},
    }


def day_cells(start: date, end: date) -> DayCells:
    """Every (local day, zone) with non-voided responses in start..end, and its values."""
    table = OverdoseResponse
    cells: DayCells = {}
    for row in db.session.execute(
        sa.select(
            table.local_date,
            table.zone_id,
            table.naloxone_doses,
            table.ems_called,
            table.outcome,
            *(getattr(table, f"given_by_{giver}") for giver in GIVERS),
        ).where(table.voided_at.is_(None), table.local_date.between(start, end))
    ):
        local_date, zone_id, doses, ems, outcome, *given = row
        values = cells.setdefault((local_date, zone_id or NO_ZONE), {})
        counted = [(RESPONSES, "", 1), (DOSES, "", doses), (OUTCOME, outcome, 1)]
        counted.append((EMS_CALLED, "", 1 if ems == "yes" else 0))
        counted += [(GIVEN_BY, giver, 1) for giver, gave in zip(GIVERS, given, strict=True) if gave]
        for measure, key, value in counted:
            values[(measure, key)] = values.get((measure, key), 0) + value
    return cells


def zones_of(cells: DayCells) -> set[int]:
    return {zone_id for _day, zone_id in cells}


def build_tables(
    cells: DayCells, periods: Sequence[tuple[date, date]], zone_ids: Sequence[int]
) -> list[Table]:
    """One table per overdose measure over the periods (rows) and zones (columns); none when
    no response falls in the periods (as a supply item nobody was given has no table)."""
    if not cells:
        return []
    period_of = {}
    for index, (start, end) in enumerate(periods):
        for ordinal in range(start.toordinal(), end.toordinal() + 1):
            period_of[date.fromordinal(ordinal)] = index
    zone_index = {zone_id: j for j, zone_id in enumerate(zone_ids)}
    names = _names()
    grids = {key: [[[0, 0] for _ in zone_ids] for _ in periods] for key in names}
    for (local_date, zone_id), values in cells.items():
        i, j = period_of.get(local_date), zone_index.get(zone_id)
        if i is None or j is None:
            continue
        responses = values[(RESPONSES, "")]
        for key, value in values.items():
            grids[key][i][j][0] += value
            # Contributors: the responses behind the value (for doses, every response).
            grids[key][i][j][1] += responses if key[0] in (RESPONSES, DOSES) else value
    return [
        additive_table(
            measure, key, name, [[(v, c) for v, c in row] for row in grids[(measure, key)]]
        )
        for (measure, key), name in names.items()
    ]


def suppress_together(built: Sequence[Table], threshold: int) -> None:
    """Suppress the responses and outcome tables until each hides what the others hide.

    Each table is first suppressed on its own (by the caller or here); then a cell hidden in
    any outcome table is hidden in the responses table, and a cell hidden there in every
    outcome table where it is not zero, again until nothing changes (hiding only grows, so
    this ends, at worst with every non-zero cell hidden).
    """
    responses = next((t for t in built if t.measure == RESPONSES), None)
    outcomes = [t for t in built if t.measure == OUTCOME]
    if responses is None:
        return
    for table in [responses, *outcomes]:
        disclosure.suppress(table, threshold, must_hide=table.suppressed)
    while True:
        before = [set(t.suppressed) for t in (responses, *outcomes)]
        hidden_in_parts = set().union(*(t.suppressed for t in outcomes))
        disclosure.suppress(responses, threshold, must_hide=responses.suppressed | hidden_in_parts)
        for table in outcomes:
            disclosure.suppress(table, threshold, must_hide=table.suppressed | responses.suppressed)
        if [t.suppressed for t in (responses, *outcomes)] == before:
            return
