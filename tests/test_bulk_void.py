"""/reports/bulk-void: every record of one worker over a period, one reason, one confirmation
showing what will be voided, one transaction, one audit entry, roll-ups kept right."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from outreach.auth import services as auth_services
from outreach.encounters import rollups
from outreach.extensions import db
from outreach.models import AuditEvent
from outreach.models import Encounter
from outreach.models import OverdoseResponse
from outreach.models import Role
from outreach.models import StockEvent
from outreach.models import User
from tests.conftest import PASSWORD
from tests.conftest import SyncApi
from tests.conftest import _signed_in_client
from tests.conftest import csrf_token_from
from tests.conftest import make_encounter
from tests.test_overdose_responses import make_overdose
from tests.test_stock import stock_event

OTHER = "olga"
ZONE = ZoneInfo("America/New_York")
KINDS = {
    "encounters": Encounter,
    "overdose_responses": OverdoseResponse,
    "stock_events": StockEvent,
}


def _days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).astimezone(ZONE).isoformat(timespec="seconds")


def _local_day(days: int):
    return (datetime.now(UTC) - timedelta(days=days)).astimezone(ZONE).date()


@pytest.fixture
def records(app, users):
    """The worker's records 2, 5 and 9 days ago (every kind), and another worker's."""
    with app.app_context():
        auth_services.create_user(OTHER, Role.WORKER, PASSWORD)
    mine = SyncApi(_signed_in_client(app, users.worker))
    theirs = SyncApi(_signed_in_client(app, OTHER))
    for api in (mine, theirs):
        for days in (2, 5, 9):
            body = {
                "encounters": [
                    make_encounter(occurred_at=_days_ago(days), participant_code=f"Q-ABCD-{n}")
                    for n in range(3)
                ],
                "overdose_responses": [make_overdose(occurred_at=_days_ago(days))],
                "stock_events": [stock_event(occurred_at=_days_ago(days), items={"cooker": 3})],
            }
            answer = api.client.post("/api/v1/sync", json=body, headers={"X-CSRFToken": api.token})
            assert answer.status_code == 200
    with app.app_context():
        ids = {
            name: db.session.scalar(sa.select(User.id).where(User.username == name))
            for name in (users.worker, OTHER)
        }
        db.session.remove()
    return ids


def _voided(app) -> dict[str, list[tuple[str, object]]]:
    """Per kind: (worker, local day) of every voided record."""
    with app.app_context():
        found = {}
        for kind, model in KINDS.items():
            rows = db.session.execute(
                sa.select(User.username, model.local_date, model.void_reason)
                .join(User, User.id == model.worker_id)
                .where(model.voided_at.is_not(None))
            ).all()
            found[kind] = sorted((r[0], r[1], r[2]) for r in rows)
        db.session.remove()
    return found


def _rollups_match(app) -> bool:
    with app.app_context(), db.engine.connect() as connection, connection.begin() as tx:
        kept = rollups.snapshot(connection)
        rollups.rebuild(connection)
        fresh = rollups.snapshot(connection)
        tx.rollback()
    return kept == fresh


def _confirmation(client, worker_id: int, start, end, lang="en"):
    page = client.get(f"/reports/bulk-void?worker={worker_id}&start={start}&end={end}&lang={lang}")
    return page, page.get_data(as_text=True)


def _hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}"[^>]*value="([^"]*)"', html).group(1)


def _confirm_form(html: str, reason="test") -> dict:
    data = {name: _hidden(html, name) for name in ("worker", "start", "end", *KINDS)}
    return {**data, "reason": reason, "csrf_token": csrf_token_from(html)}


def test_the_confirmation_shows_what_will_be_voided_then_voids_exactly_that(
    app, supervisor_client, users, records
):
    start, end = _local_day(6), _local_day(1)
    page, html = _confirmation(supervisor_client, records[users.worker], start, end)
    assert page.status_code == 200
    # The worker, the days and the count per kind (3 encounters, 1 and 1, on each of 2 days).
    assert users.worker in html and start.isoformat() in html and end.isoformat() in html
    assert [_hidden(html, kind) for kind in KINDS] == ["6", "2", "2"]
    assert "Void 10 records" in html
    assert _voided(app) == {kind: [] for kind in KINDS}  # showing changes nothing

    done = supervisor_client.post("/reports/bulk-void", data=_confirm_form(html))
    assert done.status_code == 302
    voided = _voided(app)
    days = sorted([_local_day(5), _local_day(2)])
    assert voided["encounters"] == sorted((users.worker, d, "test") for d in days for _ in range(3))
    assert voided["overdose_responses"] == [(users.worker, d, "test") for d in days]
    assert voided["stock_events"] == [(users.worker, d, "test") for d in days]
    assert _rollups_match(app)
    # What reports read left the voided encounters: only the 9-day-old ones and OTHER's remain.
    with app.app_context():
        counted = db.session.scalar(sa.select(sa.func.sum(rollups.report_day.c.encounters)))
        assert counted == 3 + 9

        [audit] = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "records.bulk_void")
        ).all()
        assert audit.details == {
            "reason": "test",
            "worker": users.worker,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "counts": {"encounters": 6, "overdose_responses": 2, "stock_events": 2},
        }
        supervisor = db.session.scalar(sa.select(User).where(User.username == users.supervisor))
        assert audit.actor_id == supervisor.id


def test_a_period_that_changed_since_the_confirmation_voids_nothing(
    app, supervisor_client, users, records
):
    start, end = _local_day(6), _local_day(1)
    _, html = _confirmation(supervisor_client, records[users.worker], start, end)
    form = _confirm_form(html)
    # A record arrives in the period after the page was shown.
    api = SyncApi(_signed_in_client(app, users.worker))
    assert api.post([make_encounter(occurred_at=_days_ago(3))]).status_code == 200
    again = supervisor_client.post("/reports/bulk-void", data=form)
    assert again.status_code == 409
    assert _voided(app) == {kind: [] for kind in KINDS}
    assert _rollups_match(app)
    # The page shows the new counts, ready to confirm those.
    html = again.get_data(as_text=True)
    assert _hidden(html, "encounters") == "7"
    assert supervisor_client.post("/reports/bulk-void", data=_confirm_form(html)).status_code == 302
    assert len(_voided(app)["encounters"]) == 7


@pytest.mark.parametrize(
    "change",
    [
        {"reason": ""},
        {"reason": "because"},
        {"csrf_token": ""},
        {"worker": "999999"},
        {"encounters": "-1"},
        {"start": "not a day"},
    ],
)
def test_a_bad_confirmation_is_refused_and_voids_nothing(
    app, supervisor_client, users, records, change
):
    _, html = _confirmation(supervisor_client, records[users.worker], _local_day(6), _local_day(1))
    answer = supervisor_client.post("/reports/bulk-void", data={**_confirm_form(html), **change})
    assert answer.status_code == 400
    assert _voided(app) == {kind: [] for kind in KINDS}


def test_a_bad_choice_answers_400_with_the_form(supervisor_client, records, users):
    worker = records[users.worker]
    backwards = supervisor_client.get(
        f"/reports/bulk-void?worker={worker}&start=2026-02-01&end=2026-01-01"
    )
    assert backwards.status_code == 400
    assert "The end date is before the start date." in backwards.get_data(as_text=True)
    assert supervisor_client.get("/reports/bulk-void?worker=&start=x").status_code == 400


def test_nothing_to_void_offers_no_button(supervisor_client, records, users):
    far = _local_day(300)
    _, html = _confirmation(supervisor_client, records[users.worker], far, far)
    assert "nothing to void" in html
    assert 'name="reason"' not in html


def test_the_page_reads_in_spanish(supervisor_client, records, users):
    _, html = _confirmation(
        supervisor_client, records[users.worker], _local_day(6), _local_day(1), lang="es"
    )
    assert "¿Anular estos registros?" in html
    assert "Anular 10 registros" in html
