"""The real sync client in Chromium meets PostgreSQL stopped and started again (a private
server, see tests/pg_cluster.py): records wait in the outbox through 503 answers, then go
once the database is back, with nothing lost or doubled."""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import log_encounter
from tests.browser.conftest import sign_in
from tests.browser.conftest import stored_ids
from tests.browser.conftest import wait_count
from tests.browser.conftest import wait_phone_knows_user
from tests.conftest import count_rows

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def database_url(private_postgres) -> str:
    return private_postgres.url()


def test_records_wait_through_a_postgres_restart_then_arrive_once(
    page, live_server, users, private_postgres
):
    sign_in(page, users.worker)
    # The phone saves for a worker once /api/v1/session has named them; that needs the
    # database (sessions are checked there), so let it answer before the outage.
    wait_phone_knows_user(page, users.worker)
    private_postgres.stop()
    answered_before = len(live_server.faults.answers)
    log_encounter(page, "syringe_1ml_27g", 20, referral="wound_care")
    log_encounter(page, "naloxone_nasal", 1)
    wait_count(page, 2)
    # The client asks /api/v1/session for a token, then posts the batch: every answer it
    # gets while the database is down is 503 (never a 500), and the records stay put.
    deadline = time.monotonic() + 30

    def during_outage() -> set[int]:
        return {
            status
            for path, status in live_server.faults.answers[answered_before:]
            if path.startswith("/api/")
        }

    while 503 not in during_outage():
        assert time.monotonic() < deadline, live_server.faults.answers
        time.sleep(0.1)
    assert during_outage() == {503}
    assert page.locator("[data-outbox-count]").first.inner_text() == "2"

    private_postgres.start()
    # The client waits the server's Retry-After, then its own backoff, and sends again.
    wait_count(page, 0, timeout=90)
    sent = set(live_server.faults.sync_ids())
    assert len(sent) == 2
    assert stored_ids(live_server.app) == sent
    assert count_rows(live_server.app, "encounter") == 2
    assert 500 not in live_server.faults.statuses()
    assert 200 in live_server.faults.statuses("/api/v1/sync")
