"""Report figures equal a brute-force recount over random encounters, in several time zones.

Records go in through the sync service (in shuffled batches, so days arrive out of order),
some are voided, and every figure is compared, from the roll-ups and from the raw records,
with a plain Python recount. The roll-ups kept in step must also equal a full rebuild.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from datetime import timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from outreach.database import write_transaction
from outreach.encounters import rollups
from outreach.encounters import voids
from outreach.encounters.ingest import ingest_batch
from outreach.extensions import db
from outreach.models import ALL_ZONES
from outreach.models import ROLLUP_MODELS
from outreach.models import AuditEvent
from outreach.models import Encounter
from outreach.models import EncounterReferral
from outreach.models import EncounterSupply
from outreach.models import ReferralType
from outreach.models import SupplyItem
from outreach.models import User
from outreach.models import Zone
from outreach.privacy import normalise_participant_code
from outreach.reports import figures as queries
from outreach.reports import participant_figures
from outreach.reports.figures import ReportFilter

ZONES = [None, "downtown", "riverside", "eastside"]
ITEMS = ["syringe_1ml_27g", "naloxone_nasal", "condom"]
REFERRALS = ["wound_care", "moud", "housing"]
# Codes that normalise alike ("A-1", "a 1") are one participant.
CODES = [None, "A-1", "a 1", "B-2", "C-3", "D-4", "E-5"]
OFFSETS = [UTC, timezone(timedelta(hours=9, minutes=30)), timezone(timedelta(hours=-5))]
OFFSETS += [timezone(timedelta(hours=14)), timezone(timedelta(hours=-11))]
# Minutes after local midnight: plenty right at the day boundary.
BOUNDARY_MINUTES = [0, 1, 59, 60, 119, 120, 1380, 1438, 1439]


@dataclass
class Sent:
    """One generated record, with what the recount needs."""

    payload: dict
    worker: str
    local_date: date
    voided: bool

    @property
    def participant(self) -> str | None:
        code = self.payload["participant_code"]
        return normalise_participant_code(code) if code else None


@st.composite
def sent_records(draw, tz: ZoneInfo, today: date, workers: list[str]):
    offset_days = draw(st.integers(0, 60))
    minute = draw(st.one_of(st.sampled_from(BOUNDARY_MINUTES), st.integers(0, 1439)))
    local = datetime.combine(today - timedelta(days=offset_days), time(0)) + timedelta(
        minutes=minute
    )
    moment = local.replace(tzinfo=tz).astimezone(UTC)
    # A local time that does not exist (spring forward) still names one instant; its local
    # day is what the program's clock shows at that instant.
    local_date = moment.astimezone(tz).date()
    now = datetime.now(UTC)
    if moment > now + timedelta(hours=23):
        moment = now
        local_date = moment.astimezone(tz).date()
    payload = {
        "id": str(uuid.uuid4()),
        "occurred_at": moment.astimezone(draw(st.sampled_from(OFFSETS))).isoformat(),
        "zone": draw(st.sampled_from(ZONES)),
        "participant_code": draw(st.sampled_from(CODES)),
        "people_served": draw(st.integers(1, 4)),
        "supplies": draw(st.dictionaries(st.sampled_from(ITEMS), st.integers(1, 30), max_size=3)),
        "syringes_collected": draw(st.integers(0, 50)),
        "naloxone_reversals_reported": draw(st.integers(0, 2)),
        "referrals": draw(st.lists(st.sampled_from(REFERRALS), max_size=2, unique=True)),
    }
    return Sent(payload, draw(st.sampled_from(workers)), local_date, draw(st.booleans()))


def _clear(app) -> None:
    with app.app_context(), write_transaction() as connection:
        for table in (EncounterSupply, EncounterReferral):
            connection.execute(sa.delete(table.__table__))
        connection.execute(sa.delete(Encounter.__table__))
        connection.execute(sa.delete(AuditEvent.__table__))
        for model in ROLLUP_MODELS:
            connection.execute(sa.delete(model.__table__))


def _store(app, records: list[Sent], shuffle_seed: int, supervisor: str) -> None:
    """Send the records in shuffled batches per worker, then void the chosen ones."""
    order = list(records)
    random.Random(shuffle_seed).shuffle(order)
    with app.test_request_context():
        ids = {u.username: u.id for u in db.session.scalars(sa.select(User))}
        position = 0
        while position < len(order):
            size = 1 + (shuffle_seed + position) % 7
            chunk = order[position : position + size]
            position += size
            by_worker = defaultdict(list)
            for sent in chunk:
                by_worker[sent.worker].append(sent.payload)
            for worker, payloads in by_worker.items():
                results = ingest_batch(payloads, ids[worker]).results
                assert {r["status"] for r in results} <= {"created"}, results
        actor = db.session.get(User, ids[supervisor])
        for sent in order:
            if sent.voided:
                voids.void_encounter(uuid.UUID(sent.payload["id"]), "test", actor)


def _recount(records: list[Sent], report: ReportFilter, names: dict) -> dict:
    """The figures by brute force, keyed like the ones under test."""
    zone_key = names["zone"].get(report.zone_id)
    item_key = names["item"].get(report.item_id)
    worker = names["worker"].get(report.worker_id)
    # Participant figures never count the reader's own records.
    reader = names["worker"].get(report.reader_id)
    live = [r for r in records if not r.voided]

    def in_zone(sent: Sent) -> bool:
        return report.zone_id is None or sent.payload["zone"] == zone_key

    chosen = [
        r
        for r in live
        if report.start <= r.local_date <= report.end
        and in_zone(r)
        and (worker is None or r.worker == worker)
        and (item_key is None or item_key in r.payload["supplies"])
    ]
    participants = {r.participant for r in chosen if r.participant and r.worker != reader}
    seen_before = {
        r.participant
        for r in live
        if r.participant and r.local_date < report.start and in_zone(r) and r.worker != reader
    }
    supplies, referrals = Counter(), Counter()
    by_zone: dict = defaultdict(lambda: {"encounters": 0, "participants": set()})
    by_day: dict = defaultdict(lambda: [0, 0])
    for r in chosen:
        supplies.update(r.payload["supplies"])
        referrals.update(r.payload["referrals"])
        row = by_zone[r.payload["zone"]]
        row["encounters"] += 1
        if r.participant and r.worker != reader:
            row["participants"].add(r.participant)
        by_day[r.local_date][0] += 1
        by_day[r.local_date][1] += r.payload["supplies"].get("syringe_1ml_27g", 0)
    return {
        "encounters": len(chosen),
        "participants": len(participants),
        "returning": len(participants & seen_before),
        "people_served": sum(r.payload["people_served"] for r in chosen),
        "syringes_collected": sum(r.payload["syringes_collected"] for r in chosen),
        "reversals": sum(r.payload["naloxone_reversals_reported"] for r in chosen),
        "supplies": {k: v for k, v in supplies.items() if v},
        "referrals": dict(referrals),
        "by_zone": {z: (v["encounters"], len(v["participants"])) for z, v in by_zone.items()},
        "by_day": {d: tuple(v) for d, v in by_day.items()},
    }


def _computed(report: ReportFilter, from_rollups: bool, names: dict) -> dict:
    figures = (
        queries.figures_from_rollups(report)
        if from_rollups
        else queries.figures_from_records(report)
    )
    zones = (
        queries._by_zone_from_rollups(report)
        if from_rollups
        else queries._by_zone_from_records(report)
    )
    syringe_id = names["item_id"]["syringe_1ml_27g"]
    if from_rollups:
        together, together_zones = queries.overview(report)
        assert together == figures
        assert together_zones == zones
    return {
        "encounters": figures.encounters,
        "participants": figures.participants,
        "returning": figures.returning_participants,
        "people_served": figures.people_served,
        "syringes_collected": figures.syringes_collected,
        "reversals": figures.naloxone_reversals_reported,
        "supplies": {names["item"][k]: v for k, v in figures.supplies.items()},
        "referrals": {names["referral"][k]: v for k, v in figures.referrals.items()},
        "by_zone": {
            names["zone"].get(z): (row.encounters, row.participants) for z, row in zones.items()
        },
        "by_day": {
            d: (row.encounters, row.supplies.get(syringe_id, 0))
            for d, row in queries._by_day(report, from_rollups).items()
        },
    }


def _published_counts(month, reader_id, names: dict) -> dict:
    """(participants, returning) per zone key (and "total") of one calendar month, as every
    published participant figure counts them (``participant_figures``), before the rule
    decides what is shown."""
    counts, _before = participant_figures._year_counts(month.year, reader_id)
    return {
        "total" if scope == ALL_ZONES else names["zone"].get(scope): value
        for (period, scope), value in counts.items()
        if period == month
    }


def _names(app) -> dict:
    with app.app_context():

        def keys(model):
            return {pk: key for pk, key in db.session.execute(sa.select(model.id, model.key))}

        return {
            "zone": keys(Zone),
            "item": keys(SupplyItem),
            "item_id": {v: k for k, v in keys(SupplyItem).items()},
            "referral": keys(ReferralType),
            "worker": {
                pk: name for pk, name in db.session.execute(sa.select(User.id, User.username))
            },
        }


def _rollups_match_rebuild(app) -> None:
    with app.app_context(), write_transaction() as connection:
        kept = rollups.snapshot(connection)
        rollups.rebuild(connection)
        assert rollups.snapshot(connection) == kept


@pytest.mark.parametrize(
    "program_timezone", ["America/New_York", "Pacific/Auckland", "Asia/Kolkata"]
)
def test_report_figures_equal_a_brute_force_recount(make_app, program_timezone):
    app = make_app(PROGRAM_TIMEZONE=program_timezone)
    tz = ZoneInfo(program_timezone)
    today = datetime.now(tz).date()
    with app.app_context():
        from outreach.auth.services import create_user
        from outreach.models import Role

        for name, role in (("wendy", Role.WORKER), ("walt", Role.WORKER), ("sam", Role.SUPERVISOR)):
            create_user(name, role, "correct horse battery")
    names = _names(app)
    zone_ids = [None, *sorted(names["zone"])]
    item_ids = [None, *sorted(names["item"])]
    worker_ids = [None, *(pk for pk, n in names["worker"].items() if n in ("wendy", "walt"))]

    @settings(
        max_examples=20,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        records=st.lists(sent_records(tz, today, ["wendy", "walt"]), max_size=25),
        shuffle_seed=st.integers(0, 1000),
        data=st.data(),
    )
    def check(records, shuffle_seed, data):
        _clear(app)
        _store(app, records, shuffle_seed, "sam")
        _rollups_match_rebuild(app)
        with app.app_context():
            for _ in range(4):
                start = today - timedelta(days=data.draw(st.integers(0, 62)))
                end = start + timedelta(days=data.draw(st.integers(0, 40)))
                zone_id = data.draw(st.sampled_from(zone_ids))
                reader_id = data.draw(st.sampled_from(worker_ids))
                report = ReportFilter(start, end, zone_id=zone_id, reader_id=reader_id)
                expected = _recount(records, report, names)
                assert _computed(report, True, names) == expected
                assert _computed(report, False, names) == expected
                month = participant_figures.CalendarPeriod("month", start.year, start.month)
                everywhere = _recount(
                    records, ReportFilter(month.start, month.end, reader_id=reader_id), names
                )
                published = _published_counts(month, reader_id, names)
                assert {z: p for z, (p, _r) in published.items() if z != "total" and p} == {
                    z: n for z, (_e, n) in everywhere["by_zone"].items() if n
                }
                assert published.get("total", (0, 0)) == (
                    everywhere["participants"],
                    everywhere["returning"],
                )
                filtered = ReportFilter(
                    start,
                    end,
                    zone_id=zone_id,
                    worker_id=data.draw(st.sampled_from(worker_ids)),
                    item_id=data.draw(st.sampled_from(item_ids)),
                    reader_id=reader_id,
                )
                assert _computed(filtered, False, names) == _recount(records, filtered, names)

    check()


def test_report_local_day_follows_the_program_clock_across_dst(make_app, users):
    app = make_app(PROGRAM_TIMEZONE="America/New_York")
    # 1 November 2026: clocks in New York go back from 02:00 EDT to 01:00 EST.
    records = [
        ("2026-11-01T03:59:00Z", date(2026, 10, 31)),  # 23:59 EDT on the 31st
        ("2026-11-01T04:00:00Z", date(2026, 11, 1)),  # 00:00 EDT
        ("2026-11-02T04:59:00Z", date(2026, 11, 1)),  # 23:59 EST on the 1st
        ("2026-11-02T05:00:00Z", date(2026, 11, 2)),  # 00:00 EST
    ]
    with app.test_request_context():
        worker = db.session.scalar(sa.select(User.id).where(User.username == users.worker))
        payloads = [
            {"id": str(uuid.uuid4()), "occurred_at": at, "supplies": {}, "referrals": []}
            for at, _ in records
        ]
        ingest_batch(payloads, worker)
        days = queries.by_day(ReportFilter(date(2026, 10, 30), date(2026, 11, 3)))
        assert {d: f.encounters for d, f in days.items()} == dict(
            Counter(expected for _, expected in records)
        )
