"""Rotating PARTICIPANT_CODE_KEY: returning participants stay returning across the change."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from outreach.config import ConfigurationError
from outreach.encounters import rollups
from outreach.extensions import db
from outreach.models import ALL_ZONES
from outreach.models import Encounter
from outreach.models import ReportParticipantDay
from outreach.privacy import participant_hash
from tests.conftest import AuthActions
from tests.conftest import SyncApi
from tests.conftest import make_encounter

OLD_KEY = "old-participant-key-5f1c9a0e7d3b2a4c6e8f0a1b3c5d7e9f"
NEW_KEY = "new-participant-key-a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4"


def _sync(app, users, visits: list[tuple[str, int, str]]) -> None:
    """Post (code, days ago, zone) visits as the worker would."""
    client = app.test_client()
    assert AuthActions(client).login(users.worker).status_code == 302
    now = datetime.now(UTC)
    records = [
        make_encounter(
            participant_code=code,
            zone=zone,
            occurred_at=(now - timedelta(days=days_ago)).isoformat(timespec="seconds"),
        )
        for code, days_ago, zone in visits
    ]
    response = SyncApi(client).post(records)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert {r["status"] for r in response.get_json()["results"]} == {"created"}


def _hashes(app) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT participant_hash, COUNT(*) FROM encounter "
                "WHERE participant_hash IS NOT NULL GROUP BY participant_hash"
            )
        ).all()
    return dict(rows)


def _assert_rollups_match_a_rebuild(app) -> None:
    with (
        app.app_context(),
        db.engine.connect() as connection,
        connection.begin() as transaction,
    ):
        kept = rollups.snapshot(connection)
        rollups.rebuild(connection)
        rebuilt = rollups.snapshot(connection)
        transaction.rollback()
    assert kept == rebuilt


def _distinct_participants(app, start: date, end: date) -> int:
    """Distinct participants in [start, end] over the whole program, from the chains."""
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(ReportParticipantDay.participants), 0)).where(
                ReportParticipantDay.zone_id == ALL_ZONES,
                ReportParticipantDay.local_date.between(start, end),
                ReportParticipantDay.prev_date < start,
            )
        )


def test_a_whole_rotation_keeps_returning_participants(make_app, users):
    before = make_app(PARTICIPANT_CODE_KEY=OLD_KEY)
    _sync(
        before,
        users,
        [("ROT-ANA-1", 9, "riverside"), ("ROT-ANA-1", 8, "downtown"), ("ROT-BEN-2", 9, "downtown")],
    )
    assert set(_hashes(before)) == {
        participant_hash("ROT-ANA-1", OLD_KEY),
        participant_hash("ROT-BEN-2", OLD_KEY),
    }
    # Someone switched the key a day early, without the previous one: CAL was seen under
    # both keys, so two visit chains must merge when the rotation recognises her.
    _sync(before, users, [("ROT-CAL-3", 7, "riverside")])
    switched = make_app(PARTICIPANT_CODE_KEY=NEW_KEY)
    _sync(switched, users, [("ROT-CAL-3", 6, "riverside")])
    # Roll-ups keep the program's local days: read them by its date, not the machine's.
    today = datetime.now(ZoneInfo(switched.config["PROGRAM_TIMEZONE"])).date()
    window = (today - timedelta(days=10), today)
    assert _distinct_participants(switched, *window) == 4  # CAL counted twice

    rotating = make_app(
        PARTICIPANT_CODE_KEY=NEW_KEY,
        PARTICIPANT_CODE_KEY_PREVIOUS=OLD_KEY,
        PARTICIPANT_CODE_KEY_PREVIOUS_UNTIL=(date.today() + timedelta(days=60)).isoformat(),
    )
    _sync(rotating, users, [("rot ana 1", 2, "riverside"), ("ROT-CAL-3", 1, "downtown")])
    hashes = _hashes(rotating)
    assert hashes == {
        participant_hash("ROT-ANA-1", NEW_KEY): 3,
        participant_hash("ROT-CAL-3", NEW_KEY): 3,
        participant_hash("ROT-BEN-2", OLD_KEY): 1,  # not seen again yet: not moved
    }
    # ANA and CAL are one person each, and returning; BEN is still counted once.
    assert _distinct_participants(rotating, *window) == 3
    recent = (today - timedelta(days=2), today)
    with rotating.app_context():
        returning = db.session.scalar(
            sa.select(sa.func.sum(ReportParticipantDay.participants)).where(
                ReportParticipantDay.zone_id == ALL_ZONES,
                ReportParticipantDay.local_date.between(*recent),
                ReportParticipantDay.prev_date > date(1, 1, 1),
                ReportParticipantDay.prev_date < recent[0],
            )
        )
    assert returning == 2
    _assert_rollups_match_a_rebuild(rotating)

    # After the last day the _PREVIOUS lines are removed (a past last day is refused): BEN,
    # not seen during the rotation, now looks new (the documented cost of ending a rotation).
    ended = make_app(PARTICIPANT_CODE_KEY=NEW_KEY)
    assert ended.config["PARTICIPANT_CODE_KEY_PREVIOUS"] is None
    _sync(ended, users, [("ROT-BEN-2", 0, "downtown")])
    assert participant_hash("ROT-BEN-2", OLD_KEY) in _hashes(ended)
    assert participant_hash("ROT-BEN-2", NEW_KEY) in _hashes(ended)
    _assert_rollups_match_a_rebuild(ended)


def test_a_voided_visit_moves_too_and_stays_out_of_the_counts(make_app, users, app):
    before = make_app(PARTICIPANT_CODE_KEY=OLD_KEY)
    _sync(before, users, [("ROT-DEE-4", 5, "riverside"), ("ROT-DEE-4", 4, "riverside")])
    with before.app_context(), db.engine.begin() as connection:
        first = connection.execute(
            sa.select(Encounter.id).order_by(Encounter.local_date).limit(1)
        ).scalar_one()
        contribution = rollups.read_encounter(connection, first)
        connection.execute(
            sa.update(Encounter.__table__)
            .where(Encounter.__table__.c.id == first)
            .values(voided_at=datetime(2026, 1, 1))
        )
        rollups.apply(connection, [contribution], -1)
    rotating = make_app(
        PARTICIPANT_CODE_KEY=NEW_KEY,
        PARTICIPANT_CODE_KEY_PREVIOUS=OLD_KEY,
        PARTICIPANT_CODE_KEY_PREVIOUS_UNTIL=(date.today() + timedelta(days=5)).isoformat(),
    )
    _sync(rotating, users, [("ROT-DEE-4", 0, "riverside")])
    assert _hashes(rotating) == {participant_hash("ROT-DEE-4", NEW_KEY): 3}
    _assert_rollups_match_a_rebuild(rotating)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"PARTICIPANT_CODE_KEY_PREVIOUS": OLD_KEY}, "needs PARTICIPANT_CODE_KEY_PREVIOUS_UNTIL"),
        (
            {
                "PARTICIPANT_CODE_KEY_PREVIOUS": NEW_KEY,
                "PARTICIPANT_CODE_KEY_PREVIOUS_UNTIL": "2030-01-01",
            },
            "is the same as PARTICIPANT_CODE_KEY",
        ),
        (
            {
                "PARTICIPANT_CODE_KEY_PREVIOUS": OLD_KEY,
                "PARTICIPANT_CODE_KEY_PREVIOUS_UNTIL": "next month",
            },
            "must be a date",
        ),
        (
            {
                "PARTICIPANT_CODE_KEY_PREVIOUS": OLD_KEY,
                "PARTICIPANT_CODE_KEY_PREVIOUS_UNTIL": "2999-01-01",
            },
            "more than 400 days away",
        ),
        (
            {
                "PARTICIPANT_CODE_KEY_PREVIOUS": OLD_KEY,
                "PARTICIPANT_CODE_KEY_PREVIOUS_UNTIL": (
                    date.today() - timedelta(days=1)
                ).isoformat(),
            },
            "is in the past",
        ),
    ],
)
def test_rotation_settings_are_checked(make_app, settings, message):
    with pytest.raises(ConfigurationError, match=message):
        make_app(PARTICIPANT_CODE_KEY=NEW_KEY, **settings)
