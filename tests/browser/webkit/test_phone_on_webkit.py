"""The phone's core behaviour on WebKit (the engine of every iPhone browser): saving with no
signal and reloading from the service worker's copy, exactly-once sync, the sealed
participant code and shared-phone records. "No signal" is the server going away and coming
back on the same port (conftest.py): WebKit has no offline switch."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa

from outreach import sealing
from outreach.auth import services as auth_services
from outreach.extensions import db
from outreach.models import Encounter
from outreach.models import Role
from outreach.models import User
from outreach.privacy import participant_hash
from tests.browser.conftest import SYNC_PATH
from tests.browser.conftest import stored_ids
from tests.browser.conftest import wait_stored
from tests.conftest import PASSWORD
from tests.conftest import count_rows

# The phone's behaviour, the same on either database: checked once, on the SQLite pass.
pytestmark = [pytest.mark.browser, pytest.mark.webkit, pytest.mark.engine_independent]

CODE = "Tz-Harbour-5120"
MARKERS = [CODE, "TZHARBOUR5120", "Harbour", "HARBOUR", "5120"]
SECOND_WORKER = "wes"
# Every object store of the phone's database, as JSON: what a copy of the profile holds.
DUMP_DATABASE = """() => new Promise((resolve, reject) => {
  const open = indexedDB.open("outreach");
  open.onerror = () => reject(open.error);
  open.onsuccess = async () => {
    const db = open.result;
    const dump = {};
    for (const name of db.objectStoreNames) {
      dump[name] = await new Promise((done) => {
        const request = db.transaction(name).objectStore(name).getAll();
        request.onsuccess = () => done(request.result);
      });
    }
    db.close();
    resolve(JSON.stringify(dump));
  };
})"""


def outbox(phone) -> list[dict]:
    return json.loads(phone.call(DUMP_DATABASE))["outbox"]


def worker_of(app, record_id: str) -> str | None:
    with app.app_context():
        encounter = db.session.get(Encounter, uuid.UUID(record_id))
        return None if encounter is None else db.session.get(User, encounter.worker_id).username


def test_saved_with_the_server_away_kept_through_reloads_and_sent_once_when_it_returns(
    phone, webkit_server, users
):
    phone.sign_in(users.worker)
    phone.wait_offline_ready()
    webkit_server.go_away()
    reached = len(webkit_server.faults.requests)
    # No signal: the page comes from the service worker's copy, and saving still works.
    phone.reload()
    phone.wait_until("document.documentElement.dataset.ready === 'true'", what="the page")
    assert phone.visible("#encounter-form")
    phone.log_encounter("syringe_1ml_27g", 20)
    phone.log_encounter("naloxone_nasal", 1)
    phone.wait_count(2)
    phone.goto("/outbox")
    assert phone.text("h1") == "Outbox"
    phone.wait_count(2)
    phone.reload()  # still waiting after the page is opened again
    phone.wait_count(2)
    assert len(webkit_server.faults.requests) == reached, "the server was reached while away"
    assert stored_ids(webkit_server.app) == set()

    # Signal again: WebKit fires no "online" event for a server coming back, so the phone's
    # own retry schedule must send them, with no tap.
    webkit_server.come_back()
    phone.wait_count(0, timeout=45)
    sent = webkit_server.faults.sync_ids()
    assert len(sent) == 2 and len(set(sent)) == 2, "a record was sent twice"
    assert stored_ids(webkit_server.app) == set(sent)
    assert phone.text("[data-last-sync]").startswith("Last sent")


def test_a_lost_answer_still_ends_with_each_record_stored_once(phone, webkit_server, users):
    phone.sign_in(users.worker)
    phone.wait_offline_ready()
    webkit_server.faults.fail(SYNC_PATH, "503")
    # The server stores this batch, but its answer never reaches the phone.
    webkit_server.faults.fail(SYNC_PATH, "drop")
    phone.log_encounter("syringe_1ml_27g", 10)
    phone.log_encounter("cooker", 5)
    phone.wait_count(0, timeout=40)
    stored = stored_ids(webkit_server.app)
    assert len(stored) == 2
    sent = webkit_server.faults.sync_ids()
    assert set(sent) == stored
    # The first batch went three times (503, answer lost, then "duplicate"), stored once.
    assert max(sent.count(record_id) for record_id in stored) >= 3
    assert count_rows(webkit_server.app, "encounter") == 2


def test_the_participant_code_is_sealed_on_the_phone_and_opened_by_the_server(
    phone, webkit_server, users
):
    phone.sign_in(users.worker)
    phone.wait_offline_ready()
    webkit_server.go_away()
    phone.fill('input[name="participant_code"]', CODE)
    phone.log_encounter("cooker", 5)
    phone.wait_count(1)
    dump = phone.call(DUMP_DATABASE)
    web_storage = phone.evaluate("JSON.stringify([{...localStorage}, {...sessionStorage}])")
    for marker in MARKERS:
        assert marker.lower() not in dump.lower()
        assert marker.lower() not in web_storage.lower()
    [entry] = json.loads(dump)["outbox"]
    assert "participant_code" not in entry["record"]
    token = entry["record"]["participant_code_sealed"]
    assert token.count(".") == 4
    # WebKit's WebCrypto made a JWE the server's JOSE library opens.
    with webkit_server.app.app_context():
        assert sealing.open_sealed_code(token) == CODE

    webkit_server.come_back()
    phone.goto("/outbox")
    phone.click("[data-sync-now]")
    phone.wait_count(0)
    assert CODE not in phone.driver.page_source
    with webkit_server.app.app_context():
        stored = db.session.scalar(sa.select(Encounter.participant_hash))
    assert stored == participant_hash(CODE, webkit_server.app.config["PARTICIPANT_CODE_KEY"])


def switch_to(phone, username: str) -> None:
    """Another worker signs in on this phone: the sign-in form only."""
    phone.goto("/login?switch=1&next=/log")
    phone.fill('input[name="username"]', username)
    phone.fill('input[name="password"]', PASSWORD)
    phone.click('form[data-login] button[type="submit"]')
    phone.wait_for_path("/log")


def test_two_workers_on_one_phone_each_record_goes_under_its_author(
    phone, webkit_server, app, users
):
    with app.app_context():
        auth_services.create_user(SECOND_WORKER, Role.WORKER, PASSWORD)
    phone.sign_in(users.worker)
    phone.wait_offline_ready()
    webkit_server.go_away()
    phone.log_encounter("cooker", 5)
    phone.wait_count(1)
    [first] = [entry["id"] for entry in outbox(phone)]
    # Signal again, but sync keeps failing: the first worker's record is still on the phone
    # when the second worker signs in.
    webkit_server.faults.fail(SYNC_PATH, "503", times=1000)
    webkit_server.come_back()
    switch_to(phone, SECOND_WORKER)
    phone.wait_until(
        "document.querySelector('[data-outbox-others]')?.textContent"
        ".startsWith('1 records from another worker')",
        what="the first worker's record counted apart",
    )
    phone.log_encounter("naloxone_nasal", 1)
    phone.wait_count(1)
    [second] = [entry["id"] for entry in outbox(phone) if entry["id"] != first]

    # Sync works again: only the second worker's record goes, under the second worker.
    webkit_server.faults.clear()
    refused = len(webkit_server.faults.sync_ids())
    phone.goto("/outbox")
    phone.click("[data-sync-now]")
    assert wait_stored(webkit_server.app, 1) == {second}
    phone.wait_count(0)
    assert worker_of(webkit_server.app, second) == SECOND_WORKER
    assert first not in webkit_server.faults.sync_ids(), "sent while another worker was in"
    assert first in [entry["id"] for entry in outbox(phone)]

    # The first worker signs in again: their record goes, once, under their own name.
    switch_to(phone, users.worker)
    assert wait_stored(webkit_server.app, 2) == {first, second}
    phone.wait_count(0)
    assert worker_of(webkit_server.app, first) == users.worker
    sent = webkit_server.faults.sync_ids()[refused:]
    assert sent.count(first) == 1 and sent.count(second) == 1
