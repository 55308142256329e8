"""The phone and the per-account record budget, in real Chromium: past the budget the server
answers 429 with Retry-After; the phone keeps the record and sends it after the wait."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from outreach import ratelimit
from outreach.extensions import db
from outreach.models import User
from tests.browser.conftest import SYNC_PATH
from tests.browser.conftest import log_encounter
from tests.browser.conftest import sign_in
from tests.browser.conftest import stored_ids
from tests.browser.conftest import wait_count
from tests.browser.conftest import wait_offline_ready

# The server's side runs on both engines in the unit tests; the phone's side once, on SQLite.
pytestmark = [pytest.mark.browser, pytest.mark.engine_independent]

WINDOW = 20


def test_past_the_budget_the_phone_keeps_the_record_and_sends_it_after_the_wait(
    page, app, live_server, users
):
    app.config.update(SYNC_RECORD_BUDGET=2, SYNC_RECORD_BUDGET_WINDOW_SECONDS=WINDOW)
    sign_in(page, users.worker)
    wait_offline_ready(page)
    with app.test_request_context():
        worker_id = db.session.scalar(sa.select(User.id).where(User.username == users.worker))
        # This account has just sent its whole budget (from another phone, say).
        assert ratelimit.hit(f"sync-records:{worker_id}", 2, WINDOW, amount=2).allowed
    spent_at = time.monotonic()
    log_encounter(page, "cooker", 5)

    deadline = time.monotonic() + WINDOW
    while 429 not in live_server.faults.statuses(SYNC_PATH) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert 429 in live_server.faults.statuses(SYNC_PATH)
    assert stored_ids(app) == set()
    # Refused: still on the phone, and nothing is lost while it waits.
    wait_count(page, 1)
    wait_count(page, 0, timeout=WINDOW + 20)
    assert time.monotonic() - spent_at >= WINDOW - 1  # it waited for the window to end
    assert len(stored_ids(app)) == 1


READ_STATE = """(key) => new Promise((done) => {
  const open = indexedDB.open("outreach");
  open.onsuccess = () => {
    const read = open.result.transaction("state").objectStore("state").get(key);
    read.onsuccess = () => { open.result.close(); done(read.result ?? null); };
  };
})"""


def test_a_long_wait_ends_the_run_and_every_trigger_waits_it_out(page, app, live_server, users):
    long_window = 3600
    app.config.update(SYNC_RECORD_BUDGET=2, SYNC_RECORD_BUDGET_WINDOW_SECONDS=long_window)
    sign_in(page, users.worker)
    wait_offline_ready(page)
    with app.test_request_context():
        worker_id = db.session.scalar(sa.select(User.id).where(User.username == users.worker))
        assert ratelimit.hit(f"sync-records:{worker_id}", 2, long_window, amount=2).allowed
    log_encounter(page, "cooker", 5)
    deadline = time.monotonic() + 30
    while page.evaluate(READ_STATE, "syncWaitUntil") is None and time.monotonic() < deadline:
        time.sleep(0.2)
    wait_until = page.evaluate(READ_STATE, "syncWaitUntil")
    assert wait_until and wait_until / 1000 > time.time() + long_window - 120
    refused = live_server.faults.statuses(SYNC_PATH).count(429)
    assert refused == 1  # one refusal, then no sending while the wait lasts
    # Another trigger (a page load, "Sync now") sends nothing before the wait ends.
    page.goto("/outbox")
    page.click("[data-sync-now]")
    time.sleep(2)
    assert live_server.faults.statuses(SYNC_PATH).count(429) == refused
    wait_count(page, 1)
    assert stored_ids(app) == set()
