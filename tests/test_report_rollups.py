"""The daily roll-ups stay equal to a recount: through migrations, demo data, races, CLI."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from flask_migrate import downgrade
from flask_migrate import upgrade

from outreach.database import write_transaction
from outreach.encounters import rollups
from outreach.extensions import db
from outreach.models import ReportDay
from outreach.models import ReportParticipantDay
from tests.conftest import SyncApi
from tests.conftest import _signed_in_client
from tests.conftest import make_encounter


def _kept_and_rebuilt(app) -> tuple[dict, dict]:
    with app.app_context(), db.engine.connect() as connection, connection.begin() as tx:
        kept = rollups.snapshot(connection)
        rollups.rebuild(connection)
        rebuilt = rollups.snapshot(connection)
        tx.rollback()
    return kept, rebuilt


def test_migration_fills_the_rollups_from_stored_encounters(app, sync_api):
    earlier = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")
    sync_api.post(
        [
            make_encounter(participant_code="A-1"),
            make_encounter(participant_code="A-1", occurred_at=earlier, zone="downtown"),
            make_encounter(participant_code="B-2", zone=None, referrals=["moud", "food"]),
        ]
    )
    with app.app_context():
        downgrade(revision="0001")
        upgrade()
    kept, rebuilt = _kept_and_rebuilt(app)
    assert kept == rebuilt
    assert len(kept["report_day"]) == 3
    assert len(kept["report_participant_day"]) > 0


def test_demo_data_leaves_rollups_that_match(app, runner):
    result = runner.invoke(args=["demo-data", "--days", "30", "--encounters", "400", "--seed", "3"])
    assert result.exit_code == 0, result.output
    kept, rebuilt = _kept_and_rebuilt(app)
    assert kept == rebuilt
    with app.app_context():
        total = db.session.scalar(sa.select(sa.func.sum(ReportDay.encounters)))
    assert total == 400
    check = runner.invoke(args=["reports", "check"])
    assert check.exit_code == 0 and "match" in check.output


def test_reports_check_notices_drift_and_rebuild_repairs_it(app, runner, sync_api):
    sync_api.post([make_encounter()])
    with app.app_context(), write_transaction() as connection:
        connection.execute(sa.update(ReportDay.__table__).values(encounters=99))
    assert runner.invoke(args=["reports", "check"]).exit_code != 0
    assert runner.invoke(args=["reports", "rebuild"]).exit_code == 0
    assert runner.invoke(args=["reports", "check"]).exit_code == 0


def test_rollups_stay_exact_when_one_participant_syncs_from_many_phones(app, users):
    """Concurrent batches for the same participants must not lose a visit-chain update."""
    now = datetime.now(UTC)
    codes = ["P-1", "P-2", "P-3"]
    batches = [
        [
            make_encounter(
                participant_code=codes[(phone + n) % 3],
                occurred_at=(now - timedelta(days=(phone * 7 + n * 3) % 20)).isoformat(
                    timespec="seconds"
                ),
                zone=["riverside", "downtown", None][n % 3],
            )
            for n in range(15)
        ]
        for phone in range(4)
    ]
    apis = [SyncApi(_signed_in_client(app, users.worker)) for _ in batches]
    for api in apis:
        api.token  # noqa: B018 - fetch tokens before the race starts
    barrier = threading.Barrier(len(apis))
    answers: list = [None] * len(apis)

    def send(index: int) -> None:
        barrier.wait()
        answers[index] = apis[index].post(batches[index])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(apis))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [a.status_code for a in answers] == [200] * len(apis)
    kept, rebuilt = _kept_and_rebuilt(app)
    assert kept == rebuilt
    with app.app_context():
        scopes = set(db.session.scalars(sa.select(ReportParticipantDay.zone_id)))
    assert -1 in scopes and 0 in scopes


def test_voiding_the_middle_visit_relinks_the_chain(app, sync_api, users):
    from outreach.encounters import voids
    from outreach.models import User

    now = datetime.now(UTC)
    visits = [
        make_encounter(
            participant_code="C-3",
            occurred_at=(now - timedelta(days=days)).isoformat(timespec="seconds"),
        )
        for days in (10, 5, 1)
    ]
    sync_api.post(visits)
    with app.test_request_context():
        actor = db.session.scalar(sa.select(User).where(User.username == users.supervisor))
        voids.void_encounter(uuid.UUID(visits[1]["id"]), "wrong_day", actor)
    kept, rebuilt = _kept_and_rebuilt(app)
    assert kept == rebuilt
    with app.app_context():
        chain = db.session.execute(
            sa.select(ReportParticipantDay.local_date, ReportParticipantDay.prev_date).where(
                ReportParticipantDay.zone_id == -1
            )
        ).all()
    assert len(chain) == 2
