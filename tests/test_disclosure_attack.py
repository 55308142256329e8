"""An attacker with every shareable export cannot pin down a small count.

The attacker downloads every shareable export the app answers over a spread of overlapping
ranges and periods, then solves for each blank cell with linear programming over all of
them at once. What the attacker knows:

- every published number is the sum of the true (local day, zone) values it covers (an
  "all" zone is the sum over every zone, a period the sum over its days);
- a zone missing from a file had nothing in that file's range;
- the app never hides a zero, so a blank is at least 1 (that covers both kinds of blank:
  a small count, 1 to threshold - 1, and a larger one hidden to protect it);
- true values are whole numbers of at least 0.

For every blank whose true value is small (1 to threshold - 1), the smallest and largest
values consistent with all of that are computed (two linear programs); the blank is pinned
when only one whole number lies between them. No such blank may be pinned.

Participant counts are distinct counts (a person seen in two weeks counts once in their
sum), so no linear relation ties them together and they are left out of the attack.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import random
import re
import uuid
from collections import defaultdict
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np
from scipy.optimize import linprog

from tests.conftest import make_encounter

THRESHOLD = 11
REFERRALS = (("wound_care", 0.2), ("moud", 0.1))
ZONE_RATES = {"downtown": 2.2, "riverside": 1.2, "eastside": 0.35, "southgate": 0.08}


def _months_before(today: date, count: int) -> list[date]:
    """The first days of the ``count`` whole calendar months before this one, oldest first."""
    firsts = []
    cursor = today.replace(day=1)
    for _ in range(count):
        cursor = (cursor - timedelta(days=1)).replace(day=1)
        firsts.append(cursor)
    return firsts[::-1]


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _poisson(rng: random.Random, rate: float) -> int:
    threshold, count, product = math.exp(-rate), 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count


def _records(first: date, last: date, timezone: str) -> list[dict]:
    rng = random.Random(20261122)
    zone_info = ZoneInfo(timezone)
    records = []
    day = first
    while day <= last:
        noon = datetime.combine(day, time(12), zone_info)
        for zone, rate in ZONE_RATES.items():
            for n in range(_poisson(rng, rate)):
                supplies = {"syringe_1ml_27g": rng.choice((10, 20, 30))}
                if rng.random() < 0.3:
                    supplies["naloxone_nasal"] = rng.choice((1, 1, 2))
                if rng.random() < 0.2:
                    supplies["condom"] = rng.choice((5, 10))
                referrals = [key for key, chance in REFERRALS if rng.random() < chance]
                records.append(
                    make_encounter(
                        occurred_at=(noon + timedelta(minutes=n)).isoformat(),
                        zone=zone,
                        participant_code=f"P{rng.randrange(60)}",
                        people_served=rng.choice((1, 1, 1, 2)),
                        supplies=supplies,
                        syringes_collected=rng.choice((0, 0, 5, 10)),
                        naloxone_reversals_reported=1 if rng.random() < 0.03 else 0,
                        referrals=referrals,
                    )
                )
        day += timedelta(days=1)
    return records


OVERDOSE_RATES = {"downtown": 0.5, "riverside": 0.3, "eastside": 0.12, "southgate": 0.03}


def _overdoses(first: date, last: date, timezone: str) -> list[dict]:
    """Overdose responses (further measures of the same exports) over the same days."""
    rng = random.Random(20261129)
    zone_info = ZoneInfo(timezone)
    records = []
    day = first
    while day <= last:
        evening = datetime.combine(day, time(20), zone_info)
        for zone, rate in OVERDOSE_RATES.items():
            for n in range(_poisson(rng, rate)):
                doses = rng.choice((0, 1, 1, 2, 2, 3))
                givers = ["worker", "bystander", "participant", "ems"]
                records.append(
                    {
                        "id": str(uuid.uuid4()),
                        "occurred_at": (evening + timedelta(minutes=n)).isoformat(),
                        "zone": zone,
                        "naloxone_doses": doses,
                        "given_by": rng.sample(givers, rng.randint(1, 2)) if doses else ["none"],
                        "ems_called": rng.choice(("yes", "yes", "no", "unknown")),
                        "outcome": rng.choice(("alive", "alive", "transported", "died", "unknown")),
                    }
                )
        day += timedelta(days=1)
    return records


def _rows(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))


def _requests(months: list[date]) -> list[tuple[date, date]]:
    first, second, third = months
    return [
        (first + timedelta(days=1), first + timedelta(days=14)),
        (first + timedelta(days=1), first + timedelta(days=21)),
        (first, _month_end(first)),
        (first + timedelta(days=7), first + timedelta(days=13)),
        (second, _month_end(second)),
        (first + timedelta(days=10), second + timedelta(days=10)),
        (third, third + timedelta(days=6)),
        (_month_end(first) - timedelta(days=3), _month_end(first)),
        (first, _month_end(third)),
        (second, _month_end(third)),
        (date(first.year, 1, 1), date(first.year, 12, 31)),
        (date(third.year, 1, 1), date(third.year, 12, 31)),
    ]


class Attack:
    """The linear system of one measure over (day interval, zone) unknowns."""

    def __init__(self, rows: list[tuple[date, date, str, str | None]], zones: set[str]):
        # rows: (start, end, zone or "all", published value or None for a blank)
        cuts = sorted({r[0] for r in rows} | {r[1] + timedelta(days=1) for r in rows})
        self.atoms = list(itertools.pairwise(cuts))
        self.zones = sorted(zones)
        self.index = {
            (a, z): k
            for k, (a, z) in enumerate((a, z) for a in range(len(self.atoms)) for z in self.zones)
        }
        self.size = len(self.index)
        self.equalities: dict[tuple, float] = {}
        self.blanks: set[tuple] = set()
        for start, end, zone, value in rows:
            vector = self.vector(start, end, zone)
            if value is None:
                self.blanks.add(vector)
            else:
                self.equalities[vector] = float(value)

    def vector(self, start: date, end: date, zone: str) -> tuple:
        zones = self.zones if zone == "all" else [zone]
        chosen = [
            self.index[(a, z)]
            for a, (lo, hi) in enumerate(self.atoms)
            if lo >= start and hi <= end + timedelta(days=1)
            for z in zones
        ]
        return tuple(sorted(chosen))

    def bounds_of(self, target: tuple) -> tuple[float, float]:
        """The least and greatest value of the sum over ``target`` the published files allow."""
        a_eq = np.zeros((len(self.equalities), self.size))
        b_eq = np.zeros(len(self.equalities))
        for row, (vector, value) in enumerate(self.equalities.items()):
            a_eq[row, list(vector)] = 1
            b_eq[row] = value
        a_ub = np.zeros((len(self.blanks), self.size))
        for row, vector in enumerate(self.blanks):
            a_ub[row, list(vector)] = -1
        b_ub = -np.ones(len(self.blanks))
        objective = np.zeros(self.size)
        objective[list(target)] = 1
        found = []
        for sign in (1, -1):
            result = linprog(
                sign * objective,
                A_ub=a_ub if len(self.blanks) else None,
                b_ub=b_ub if len(self.blanks) else None,
                A_eq=a_eq if len(self.equalities) else None,
                b_eq=b_eq if len(self.equalities) else None,
                bounds=(0, None),
                method="highs",
            )
            if result.status == 3:  # unbounded: the blank can be as large as it likes
                found.append(math.inf)
                continue
            assert result.status == 0, result.message
            found.append(sign * result.fun)
        return found[0], found[1]


_FUNDER_PUBLISHED: dict[tuple[str, str], set] = defaultdict(set)


def _funder_parts(term, mapping, catalog) -> list[tuple[str, str, int]] | None:
    """The published tables a funder formula term sums: (measure, key, weight); None for
    a distinct count (no linear relation)."""
    from outreach.funder import formulas
    from outreach.funder import report as funder_report
    from outreach.funder.mapping import members

    if term.category is None and formulas.FIGURES[term.name] == formulas.DISTINCT:
        return None
    if term.name in funder_report.TABLES:
        return [(*funder_report.TABLES[term.name], 1)]
    if term.name == "syringes_collected_estimated":
        return [("syringes_collected_grams", "", 1)]
    catalogue = formulas.FAMILIES[term.name]
    entries = {
        e.id: e for e in (catalog.items if catalogue == "supplies" else catalog.referral_types)
    }
    return [
        (catalogue, entries[i].key, entries[i].doses_per_unit if term.name == "doses" else 1)
        for i in members(mapping, catalogue, term.category)
    ]


def _funder_downloads(app, client, months: list[date], truth) -> int:
    """Download every funder report over the attack's months (each template, each month,
    quarter and year touching them) and add each field that sums one measure with data to
    that measure's equations (a field summing several measures is left out: the attack
    solves one measure at a time, and those sums only add what the parts already say)."""
    from outreach.funder.definitions import load_templates
    from outreach.funder.mapping import effective
    from outreach.reports.catalog import load_catalog

    with app.app_context():
        catalog = load_catalog()
        templates = load_templates()
        mappings = {key: effective(t, catalog) for key, t in templates.items()}
    choices = set()
    for first in months:
        choices |= {(f"m{first.month:02d}", first.year), (f"q{(first.month + 2) // 3}", first.year)}
        choices.add(("year", first.year))
    added = 0
    for key, template in templates.items():
        for choice, year in sorted(choices):
            row = _rows(
                client.get(f"/reports/funder?template={key}&period={choice}&year={year}&format=csv")
            )[0]
            start, end = (
                date.fromisoformat(row["period_start"]),
                date.fromisoformat(row["period_end"]),
            )
            for field in template.fields:
                parts = []
                for term in field.terms:
                    found = _funder_parts(term, mappings[key], catalog)
                    if found is None:
                        parts = None
                        break
                    parts += [p for p in found if any(truth.get(p[:2], {}).values())]
                if not parts or len(parts) != 1:
                    continue
                measure, item, weight = parts[0]
                text = row[field.name]
                value = None if text == "suppressed" else str(int(text) // weight)
                _FUNDER_PUBLISHED[(measure, item)].add((start, end, "all", value))
                added += 1
    return added


def test_no_combination_of_shareable_exports_pins_a_small_count(app, supervisor_client, sync_api):
    timezone = app.config["PROGRAM_TIMEZONE"]
    today = datetime.now(ZoneInfo(timezone)).date()
    months = _months_before(today, 3)
    records = _records(months[0], _month_end(months[-1]), timezone)
    for index in range(0, len(records), 400):
        results = sync_api.post(records[index : index + 400]).get_json()["results"]
        assert {r["status"] for r in results} == {"created"}
    overdoses = _overdoses(months[0], _month_end(months[-1]), timezone)
    answer = sync_api.client.post(
        "/api/v1/sync",
        json={"encounters": [], "overdose_responses": overdoses},
        headers={"X-CSRFToken": sync_api.token},
    ).get_json()
    assert {r["status"] for r in answer["overdose_responses"]} == {"created"}

    # The truth, per local day and zone, from the internal (unsuppressed) daily export.
    first, last = months[0], _month_end(months[-1])
    truth: dict[tuple[str, str], dict[tuple[date, str], int]] = defaultdict(dict)
    for row in _rows(
        supervisor_client.get(f"/reports/export.csv?period=day&start={first}&end={last}")
    ):
        if row["period"] == "day" and row["zone"] != "all" and row["measure"] != "participants":
            day = date.fromisoformat(row["period_start"])
            truth[(row["measure"], row["key"])][(day, row["zone"])] = int(row["value"])

    published: dict[tuple[str, str], set] = defaultdict(set)
    files = 0
    for start, end in _requests(months):
        for period in ("day", "week", "month"):
            response = supervisor_client.get(
                f"/reports/export.csv?suppress=1&period={period}&start={start}&end={end}"
            )
            if response.status_code == 400:  # a shareable export the app does not offer
                continue
            files += 1
            rows = _rows(response)
            listed = {r["zone"] for r in rows if r["zone"] != "all"}
            span_start = min(date.fromisoformat(r["period_start"]) for r in rows)
            span_end = max(date.fromisoformat(r["period_end"]) for r in rows)
            for row in rows:
                key = (row["measure"], row["key"])
                value = None if row["suppressed"] else row["value"]
                published[key].add(
                    (
                        date.fromisoformat(row["period_start"]),
                        date.fromisoformat(row["period_end"]),
                        row["zone"],
                        value,
                    )
                )
                for zone in set(ZONE_RATES) - listed:
                    published[key].add((span_start, span_end, zone, "0"))
    assert files >= 3, "the attack needs several shareable files"
    funder_rows = _funder_downloads(app, supervisor_client, months, truth)
    assert funder_rows >= 20, "the funder reports should add equations to the attack"
    for key, rows in _FUNDER_PUBLISHED.items():
        published[key] |= rows
    _FUNDER_PUBLISHED.clear()

    overdose_keys = {key for key in published if key[0].startswith("overdose_")}
    assert len(overdose_keys) == 11, overdose_keys
    pinned, small_blanks = [], 0
    small_overdose_blanks = 0
    for key, rows in published.items():
        if key[0] == "participants":
            continue
        cells = truth[key]

        def true_value(start, end, zone, cells=cells):
            return sum(v for (d, z), v in cells.items() if start <= d <= end and zone in ("all", z))

        for start, end, zone, value in rows:
            if value is not None:
                assert int(value) == true_value(start, end, zone), (key, start, end, zone)
        attack = Attack(sorted(rows, key=str), set(ZONE_RATES))
        checked: dict[tuple, tuple[float, float]] = {}
        for start, end, zone, value in sorted(rows, key=str):
            actual = true_value(start, end, zone)
            if value is not None or not 1 <= actual < THRESHOLD:
                continue
            small_blanks += 1
            small_overdose_blanks += key in overdose_keys
            target = attack.vector(start, end, zone)
            if target not in checked:
                checked[target] = attack.bounds_of(target)
            low, high = checked[target]
            assert low - 1e-6 <= actual <= high + 1e-6, (key, start, end, zone, actual, low, high)
            if high < math.inf and math.ceil(low - 1e-6) == math.floor(high + 1e-6):
                pinned.append((key, str(start), str(end), zone, actual))
    assert small_blanks, "the data should give the attacker small blanks to look for"
    assert small_overdose_blanks, "and small overdose blanks too"
    assert not pinned, f"{len(pinned)} small counts pinned exactly, e.g. {pinned[:5]}"


# --- new and returning participants ---------------------------------------------------------
#
# A participant's first visit in a scope (a zone, or anywhere) falls on one day, so new
# participants add up over time, participants over a range that starts before the scope's
# first participant are new participants, and returning ones are participants less new. The
# attacker below downloads every participant figure a supervisor can reach (the dashboard over
# calendar periods and over ranges a day apart, every zone filter, summary.json, the internal
# and shareable CSVs by day, week and month, every funder report) and solves, scope by scope,
# for the first visits per day with linear programming: every shown new count (or shown
# participants less shown returning) is the sum of its days' first visits; shown participants
# bound it from above, and equal it when the period starts before the scope's first visit
# (the attacker is told that day: the void list all but shows it). No small hidden figure
# (new, or participants that are new) and no small day's first visits may be pinned. On the
# design before this one the test pins hundreds (summary.json ranges a day apart alone do).

PEOPLE_ZONES = {"downtown": 1.6, "riverside": 0.8, "eastside": 0.25, "southgate": 0.06}
PEOPLE_NOW = datetime(2027, 1, 20, 17, tzinfo=ZoneInfo("UTC"))
PEOPLE_FIRST, PEOPLE_LAST = date(2026, 7, 1), date(2026, 12, 31)
SMALL_ZONES = ("eastside", "southgate")
FIGURE = re.compile(r"<dt>Participants</dt><dd>([^<]*)</dd>")
SPLIT = re.compile(r"([\d,]+) new, ([\d,]+) returning")


def _people_records(timezone: str) -> list[dict]:
    """Half a year of encounters whose pool of codes grows: new participants every month,
    many of them few in a zone."""
    rng = random.Random(20261205)
    zone_info = ZoneInfo(timezone)
    records, day = [], PEOPLE_FIRST
    while day <= PEOPLE_LAST:
        pool = 20 + (day - PEOPLE_FIRST).days * 2 // 3
        noon = datetime.combine(day, time(12), zone_info)
        for zone, rate in PEOPLE_ZONES.items():
            for n in range(_poisson(rng, rate)):
                records.append(
                    make_encounter(
                        occurred_at=(noon + timedelta(minutes=n)).isoformat(),
                        zone=zone,
                        participant_code=f"C{rng.randrange(pool)}",
                    )
                )
        day += timedelta(days=1)
    return records


def _first_visits(records: list[dict], timezone: str) -> dict[str, dict[date, int]]:
    """The truth: first visits per scope ("all" or a zone) and day."""
    first: dict[tuple[str, str], date] = {}
    for record in records:
        day = datetime.fromisoformat(record["occurred_at"]).astimezone(ZoneInfo(timezone)).date()
        for scope in ("all", record["zone"]):
            key = (scope, record["participant_code"])
            first[key] = min(first.get(key, day), day)
    result: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for (scope, _code), day in first.items():
        result[scope][day] += 1
    return result


def _visits(records: list[dict], timezone: str) -> dict[str, list[tuple[date, str]]]:
    result: dict[str, list[tuple[date, str]]] = defaultdict(list)
    for record in records:
        day = datetime.fromisoformat(record["occurred_at"]).astimezone(ZoneInfo(timezone)).date()
        for scope in ("all", record["zone"]):
            result[scope].append((day, record["participant_code"]))
    return result


def _number(text: str) -> int | None:
    text = text.strip().replace(",", "")
    return int(text) if text.isdigit() else None


class PeopleAttack:
    """First visits per day of one scope, solved from every participant figure read."""

    def __init__(self, first_day: date):
        self.days = [PEOPLE_FIRST + timedelta(days=k) for k in range(184)]
        self.first_day = first_day
        self.equalities: list[tuple[tuple[int, ...], float]] = []
        self.upper: list[tuple[tuple[int, ...], float]] = []

    def vector(self, start: date, end: date) -> tuple[int, ...]:
        return tuple(k for k, day in enumerate(self.days) if start <= day <= end)

    def read(self, start, end, participants, new, returning) -> None:
        vector = self.vector(start, end)
        if new is not None:
            self.equalities.append((vector, new))
        elif participants is not None and returning is not None:
            self.equalities.append((vector, participants - returning))
        if participants is not None:
            if start <= self.first_day:  # nobody can be returning: all are new
                self.equalities.append((vector, participants))
            else:
                self.upper.append((vector, participants))

    def pins(self, target: tuple[int, ...], actual: int) -> bool:
        """Whether the figures read allow ``actual`` and no other whole number there."""
        high = self._extreme(target, -1)
        assert actual <= high + 1e-6, (target, actual, high)
        if high >= actual + 1 - 1e-6:  # another value fits: no need for the least one
            return False
        low = self._extreme(target, 1)
        assert low - 1e-6 <= actual, (target, actual, low)
        return math.ceil(low - 1e-6) == math.floor(high + 1e-6)

    def _extreme(self, target: tuple[int, ...], sign: int) -> float:
        """The least (sign 1) or greatest (sign -1) value of the sum over ``target``."""
        size = len(self.days)
        a_eq = np.zeros((len(self.equalities), size))
        b_eq = np.zeros(len(self.equalities))
        for row, (vector, value) in enumerate(self.equalities):
            a_eq[row, list(vector)] = 1
            b_eq[row] = value
        a_ub = np.zeros((len(self.upper), size))
        b_ub = np.zeros(len(self.upper))
        for row, (vector, value) in enumerate(self.upper):
            a_ub[row, list(vector)] = 1
            b_ub[row] = value
        objective = np.zeros(size)
        objective[list(target)] = 1
        result = linprog(
            sign * objective,
            A_ub=a_ub if len(self.upper) else None,
            b_ub=b_ub if len(self.upper) else None,
            A_eq=a_eq if len(self.equalities) else None,
            b_eq=b_eq if len(self.equalities) else None,
            bounds=(0, None),
            method="highs",
        )
        if result.status == 3:  # unbounded: as large as it likes
            return math.inf
        assert result.status == 0, result.message
        return sign * result.fun


def _people_reads(app, client) -> list[tuple[str, date, date, int | None, int | None, int | None]]:
    """Every participant figure the supervisor can reach: (scope, start, end, participants,
    new, returning), None where not shown (or not given at all)."""
    from outreach.funder.definitions import load_templates

    reads = []
    scopes = ["all", *PEOPLE_ZONES]
    before = PEOPLE_FIRST - timedelta(days=20)
    months = [date(2026, m, 1) for m in range(7, 13)]
    calendar = [(m, _month_end(m)) for m in months]
    calendar += [(date(2026, 7, 1), date(2026, 9, 30)), (date(2026, 10, 1), date(2026, 12, 31))]
    calendar += [(date(2026, 1, 1), date(2026, 12, 31))]
    # Ranges a day apart, from before the first visit and day by day, early in December.
    december = [date(2026, 12, d) for d in range(1, 13)]
    free = [(before, day) for day in december] + [(day, day) for day in december]

    def dashboard(start, end, scope):
        zone = "" if scope == "all" else f"&zone={scope}"
        page = client.get(f"/reports?preset=custom&start={start}&end={end}{zone}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        figure = FIGURE.search(html)
        split = SPLIT.search(html)
        reads.append(
            (
                scope,
                start,
                end,
                _number(figure.group(1)) if figure else None,
                _number(split.group(1)) if split else None,
                _number(split.group(2)) if split else None,
            )
        )

    # The dashboard for every calendar period, and by month for the quiet zones (where the
    # small counts are); pairs of ranges a day apart.
    for start, end in calendar:
        dashboard(start, end, "all")
    for start, end in calendar[:6]:
        for scope in SMALL_ZONES:
            dashboard(start, end, scope)
    for start, end in free[:3] + free[12:15]:
        dashboard(start, end, "all")
    # summary.json for every calendar period and zone, and the ranges a day apart.
    asked = [(r, scope) for r in calendar for scope in scopes] + [(r, "all") for r in free]
    asked += [((before, day), scope) for day in december[:6] for scope in SMALL_ZONES]
    for (start, end), scope in asked:
        zone = "" if scope == "all" else f"&zone={scope}"
        body = client.get(f"/reports/summary.json?start={start}&end={end}{zone}").get_json()
        reads.append((scope, start, end, body["participants"], None, None))
    for period, start, end in (
        ("month", PEOPLE_FIRST, PEOPLE_LAST),
        ("month", date(2026, 1, 1), date(2026, 12, 31)),
        ("month", date(2026, 10, 1), date(2026, 12, 31)),
        ("week", date(2026, 11, 2), PEOPLE_LAST),
        ("day", date(2026, 11, 20), PEOPLE_LAST),
        ("day", before, date(2026, 7, 31)),
    ):
        for shared in ("", "&suppress=1"):
            response = client.get(
                f"/reports/export.csv?period={period}&start={start}&end={end}{shared}"
            )
            if response.status_code == 400:
                continue
            for row in _rows(response):
                if row["measure"] != "participants":
                    continue
                value = None if row["suppressed"] else _number(row["value"])
                reads.append(
                    (
                        row["zone"],
                        date.fromisoformat(row["period_start"]),
                        date.fromisoformat(row["period_end"]),
                        value,
                        None,
                        None,
                    )
                )
    with app.app_context():
        templates = load_templates()
    for key, template in templates.items():
        names = {field.terms[0].name: field.name for field in template.fields}
        for choice in [f"m{m:02d}" for m in range(7, 13)] + ["q3", "q4", "year"]:
            row = _rows(
                client.get(f"/reports/funder?template={key}&period={choice}&year=2026&format=csv")
            )[0]
            reads.append(
                (
                    "all",
                    date.fromisoformat(row["period_start"]),
                    date.fromisoformat(row["period_end"]),
                    _number(row.get(names.get("participants", ""), "") or ""),
                    _number(row.get(names.get("new_participants", ""), "") or ""),
                    None,
                )
            )
    return reads


def test_no_participant_figure_pins_a_small_new_count(
    app, supervisor_client, sync_api, fixed_clock
):
    fixed_clock(PEOPLE_NOW)
    timezone = app.config["PROGRAM_TIMEZONE"]
    records = _people_records(timezone)
    for index in range(0, len(records), 400):
        results = sync_api.post(records[index : index + 400]).get_json()["results"]
        assert {r["status"] for r in results} == {"created"}
    first_visits = _first_visits(records, timezone)
    visits = _visits(records, timezone)
    reads = _people_reads(app, supervisor_client)

    def truth(scope, start, end):
        seen = {code for day, code in visits[scope] if start <= day <= end}
        new = sum(n for day, n in first_visits[scope].items() if start <= day <= end)
        return len(seen), new, len(seen) - new

    shown_new = 0
    pinned, targets = [], 0
    for scope in ["all", *PEOPLE_ZONES]:
        attack = PeopleAttack(min(first_visits[scope]))
        blanks = []
        for read_scope, start, end, participants, new, returning in reads:
            if read_scope != scope:
                continue
            true_participants, true_new, true_returning = truth(scope, start, end)
            # Whatever is shown is true.
            assert participants in (None, true_participants), (scope, start, end)
            assert new in (None, true_new), (scope, start, end)
            assert returning in (None, true_returning), (scope, start, end)
            shown_new += new is not None
            attack.read(max(start, PEOPLE_FIRST), end, participants, new, returning)
            if new is None and 1 <= true_new < THRESHOLD:
                blanks.append((start, end, true_new))
            if participants is None and start <= attack.first_day and 1 <= true_new < THRESHOLD:
                blanks.append((start, end, true_new))
        # And each day's first visits around the ranges read a day apart.
        for day, count in first_visits[scope].items():
            if 1 <= count < THRESHOLD and date(2026, 11, 25) <= day <= date(2026, 12, 12):
                blanks.append((day, day, count))
        checked: dict[tuple, bool] = {}
        for start, end, actual in blanks:
            target = attack.vector(max(start, PEOPLE_FIRST), end)
            targets += 1
            if target not in checked:
                checked[target] = attack.pins(target, actual)
            if checked[target]:
                pinned.append((scope, str(start), str(end), actual))
    assert targets > 40, "the data should give the attacker small counts to look for"
    assert shown_new >= 10, "new participants are published for the ended calendar periods"
    assert not pinned, f"{len(pinned)} small new counts pinned, e.g. {pinned[:5]}"
