"""One phone, several workers, in real Chromium: records belong to who logged them, the
participant code is sealed at save time, signed out means signed out, and a phone can be
cleared offline."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlsplit

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
from tests.browser.conftest import log_encounter
from tests.browser.conftest import sign_in
from tests.browser.conftest import stored_ids
from tests.browser.conftest import wait_count
from tests.browser.conftest import wait_offline_ready
from tests.browser.conftest import wait_phone_knows_user
from tests.browser.conftest import wait_stored
from tests.browser.conftest import wait_until
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

SECOND_WORKER = "wes"
CODE = "Tz-Harbour-5120"
MARKERS = [CODE, "TZHARBOUR5120", "Harbour", "HARBOUR", "5120"]
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


def on_path(path: str):
    return lambda url: urlsplit(url).path == path


def switch_to(page, username: str) -> None:
    """Sign in as someone else on this phone: the sign-in form only."""
    page.goto("/login?switch=1&next=/log")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click('form[data-login] button[type="submit"]')
    page.wait_for_url(on_path("/log"))


def worker_of(app, record_id: str) -> str | None:
    with app.app_context():
        encounter = db.session.get(Encounter, uuid.UUID(record_id))
        if encounter is None:
            return None
        return db.session.get(User, encounter.worker_id).username


def waiting_ids(page) -> list[str]:
    return [e["id"] for e in json.loads(page.evaluate(DUMP_DATABASE))["outbox"]]


@pytest.fixture
def second_worker(app, users):
    with app.app_context():
        auth_services.create_user(SECOND_WORKER, Role.WORKER, PASSWORD)
    return SECOND_WORKER


def test_a_record_goes_only_under_the_worker_who_logged_it(
    page, context, live_server, users, second_worker
):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    # The server is unreachable for sync while A works: A's record is still on the phone.
    live_server.faults.fail(SYNC_PATH, "503", times=1000)
    context.set_offline(True)
    log_encounter(page, "cooker", 5)
    wait_count(page, 1)
    [record_id] = waiting_ids(page)
    context.set_offline(False)
    page.click(".site-menu summary")  # sign-out sits in the header's menu
    page.click("form[data-sign-out] button")
    page.locator("[data-confirm-dialog] button", has_text="Sign out anyway").click()
    page.wait_for_url(on_path("/login"))

    # Signed out, every page the phone opens says so, offline too; /log offers sign-in.
    wait_until(
        page,
        "caches.match('/cards', {ignoreVary: true}).then((r) => r && r.text())"
        ".then((t) => Boolean(t) && !t.includes('data-sign-out'))",
        # Every kept page is fetched again as a signed-out visitor sees it: slow under load.
        timeout=60,
    )
    context.set_offline(True)
    page.goto("/log")
    page.locator("[data-signin-banner]").wait_for(state="visible")
    assert page.locator("#encounter-form").is_hidden()
    assert page.locator("form[data-sign-out]").is_hidden()
    page.goto("/cards")
    assert page.locator("form[data-sign-out]").count() == 0
    context.set_offline(False)

    # B signs in and syncs: A's record stays, counted apart, never sent under B.
    live_server.faults.clear()
    sign_in(page, second_worker)
    wait_until(
        page,
        "document.querySelector('[data-outbox-others]')?.textContent"
        ".startsWith('1 records from another worker')",
    )
    wait_count(page, 0)
    page.goto("/outbox")
    page.click("[data-sync-now]")
    page.wait_for_timeout(1500)
    assert record_id not in live_server.faults.sync_ids()
    assert stored_ids(live_server.app) == set()
    assert page.locator("[data-pending-list] li").count() == 0, "B sees only B's outbox"
    assert page.locator("[data-pending-empty]").is_hidden()

    # A signs in again with the sign-in form only: the record goes, once, under A.
    switch_to(page, users.worker)
    wait_until(page, "document.querySelector('[data-outbox-others]').textContent === ''")
    # The count can read 0 before A's record is on its way: wait for the server instead.
    assert wait_stored(live_server.app, 1) == {record_id}
    wait_count(page, 0, timeout=20)
    assert worker_of(live_server.app, record_id) == users.worker
    assert live_server.faults.sync_ids().count(record_id) == 1


def test_after_save_the_phone_cannot_read_the_participant_code(page, context, live_server, users):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    live_server.faults.fail(SYNC_PATH, "503", times=1000)
    page.fill('input[name="participant_code"]', CODE)
    log_encounter(page, "cooker", 5)
    wait_count(page, 1)
    dump = page.evaluate(DUMP_DATABASE)
    for marker in MARKERS:
        assert marker.lower() not in dump.lower()
    [entry] = json.loads(dump)["outbox"]
    token = entry["record"]["participant_code_sealed"]
    assert "participant_code" not in entry["record"]
    assert token.count(".") == 4
    # The phone's own WebCrypto JWE opens with the server's JOSE library.
    with live_server.app.app_context():
        assert sealing.open_sealed_code(token) == CODE
    page.goto("/outbox")
    wait_count(page, 1)
    assert CODE not in page.content()
    # Sent, it is counted as the participant, like a plain code.
    live_server.faults.clear()
    page.click("[data-sync-now]")
    wait_count(page, 0)
    with live_server.app.app_context():
        stored = db.session.scalar(sa.select(Encounter.participant_hash))
    assert stored == participant_hash(CODE, live_server.app.config["PARTICIPANT_CODE_KEY"])


def test_a_code_the_server_cannot_open_asks_to_type_it_again(page, live_server, users):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    live_server.faults.fail(SYNC_PATH, "503", times=1000)
    page.fill('input[name="participant_code"]', CODE)
    log_encounter(page, "cooker", 5)
    wait_count(page, 1)
    # The server lost the key the phone sealed to (keys pruned): the record is refused.
    with live_server.app.app_context():
        sealing.rotate(live_server.app)
        table = sealing.seal_key_table
        with db.engine.begin() as connection:  # only the new key is left
            connection.execute(table.delete().where(table.c.retired_at.is_not(None)))
        sealing.forget_cached_keys(live_server.app)
    live_server.faults.clear()
    page.goto("/outbox")
    errors = page.locator("[data-record-errors] li")
    errors.first.wait_for(timeout=20_000)
    text = errors.first.inner_text()
    assert text.startswith("Participant code: ") and "participant_code" not in text
    page.locator("a", has_text="Fix").click()
    page.wait_for_url(on_path("/log"))
    wait_until(page, "document.documentElement.dataset.ready === 'true'")
    page.locator("[data-form-error]").wait_for(state="visible")
    assert "Type the participant code again" in page.locator("[data-form-error]").inner_text()
    assert page.input_value('input[name="supply.cooker"]') == "5"
    page.fill('input[name="participant_code"]', CODE)
    page.click('#encounter-form button[type="submit"]')
    page.wait_for_url(on_path("/outbox"))
    wait_count(page, 0, timeout=20)
    assert len(stored_ids(live_server.app)) == 1


def test_clearing_the_device_offline_removes_everything(page, context, live_server, users):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    live_server.faults.fail(SYNC_PATH, "503", times=1000)
    log_encounter(page, "cooker", 5)
    page.goto("/outbox")
    wait_count(page, 1)
    context.set_offline(True)
    page.click("[data-clear-device]")
    dialog = page.locator("[data-confirm-dialog]")
    dialog.wait_for(state="visible")
    assert "1 records that were not sent will be lost" in dialog.inner_text()
    dialog.locator("button", has_text="Clear this device").click()
    wait_until(page, "document.querySelector('[data-sync-message]').textContent !== ''")
    wait_until(page, "caches.keys().then((keys) => keys.length === 0)")
    databases = page.evaluate("indexedDB.databases().then((d) => d.map((x) => x.name))")
    assert "outreach" not in databases
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then((r) => r.length)") == 0


def test_a_lost_first_session_answer_is_asked_again_so_saving_offline_works(
    page, context, live_server, users
):
    """The first answer to "who is signed in?" fails (a weak signal just after sign-in): the
    phone asks again by itself, without a page load, then saves offline under that worker."""
    live_server.faults.fail("/api/v1/session", "503", times=1)
    sign_in(page, users.worker)
    wait_phone_knows_user(page, users.worker, timeout=20)
    asked = [path for _method, path in live_server.faults.requests if path == "/api/v1/session"]
    assert len(asked) >= 2, "the phone did not ask again after the failed answers"
    wait_offline_ready(page)
    context.set_offline(True)
    log_encounter(page)
    wait_count(page, 1)
    context.set_offline(False)
    (stored,) = wait_stored(live_server.app, 1)
    with live_server.app.app_context():
        encounter = db.session.get(Encounter, uuid.UUID(stored))
        assert db.session.get(User, encounter.worker_id).username == users.worker


def test_a_new_worker_signing_in_is_never_taken_for_the_last_one(
    page, context, live_server, users, second_worker
):
    """The first worker never signed out. The second signs in on the same phone and the
    server's answer to "who is signed in?" keeps failing: the phone stops naming the first
    worker at once (nothing can be saved under their name), then names the second as soon as
    an answer arrives, and their record goes under their own account."""
    sign_in(page, users.worker)
    wait_phone_knows_user(page, users.worker)
    wait_offline_ready(page)
    live_server.faults.fail("/api/v1/session", "503", times=1000)
    switch_to(page, second_worker)
    wait_phone_knows_user(page, None, timeout=10)
    live_server.faults.clear()
    wait_phone_knows_user(page, second_worker, timeout=20)
    context.set_offline(True)
    log_encounter(page)
    wait_count(page, 1)
    context.set_offline(False)
    (stored,) = wait_stored(live_server.app, 1)
    assert worker_of(live_server.app, stored) == second_worker


def test_a_record_saved_before_the_phone_hears_who_signed_in_waits_for_the_answer(
    page, live_server, users
):
    """Save tapped in the moment after sign-in, while the answer to "who is signed in?" is
    still on its way (slow here): the record waits for the answer and is kept, under that
    worker, instead of being refused as "signed out"."""
    live_server.faults.fail("/api/v1/session", "slow", times=3)
    sign_in(page, users.worker)
    log_encounter(page)
    (stored,) = wait_stored(live_server.app, 1)
    assert worker_of(live_server.app, stored) == users.worker


def session_revoked(app) -> bool:
    from outreach.models import UserSession

    with app.app_context():
        db.session.expire_all()
        return db.session.scalar(sa.select(UserSession.revoked_at)) is not None


def wait_revoked(app, timeout: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not session_revoked(app):
        assert time.monotonic() < deadline, "the server session was never ended"
        time.sleep(0.2)


def old_cookies_reach(browser, live_server, cookies) -> int:
    """What a copy of the cookies taken before sign-out gets from the session API."""
    thief = browser.new_context(base_url=live_server.url, service_workers="block")
    try:
        thief.add_cookies([c for c in cookies if c["name"] in ("session", "remember_token")])
        return thief.request.get("/api/v1/session").status
    finally:
        thief.close()


def test_signing_out_without_signal_ends_the_session_here_at_once_and_on_the_server_next(
    browser, page, context, live_server, users
):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    wait_phone_knows_user(page, users.worker)
    cookies = context.cookies()
    context.set_offline(True)
    log_encounter(page, "cooker", 5)
    wait_count(page, 1)
    page.click(".site-menu summary")
    page.click("form[data-sign-out] button")
    dialog = page.locator("[data-confirm-dialog]")
    dialog.wait_for(state="visible")
    # Offline there is no "Send, then sign out": the dialog says where the records go.
    assert "Without signal" in dialog.inner_text()
    assert dialog.locator("button", has_text="Send, then sign out").count() == 0
    dialog.locator("button", has_text="Sign out anyway").click()
    # Signed out on the phone at once: no form that saves; the record stays for its author.
    page.locator("[data-signin-banner]").wait_for(state="visible")
    assert page.locator("#encounter-form").is_hidden()
    wait_phone_knows_user(page, None)
    assert "Signed out on this phone" in page.inner_text("[data-sync-message]")
    wait_count(page, 1)
    assert not session_revoked(live_server.app)
    # Back in reach: the first contact ends the session; no copy of the cookies works again.
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_revoked(live_server.app)
    assert context.request.get("/api/v1/session").status == 401
    assert old_cookies_reach(browser, live_server, cookies) == 401
    assert stored_ids(live_server.app) == set()
    wait_count(page, 1)


def test_clearing_the_device_offline_ends_the_session_once_back_online(
    browser, page, context, live_server, users
):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    cookies = context.cookies()
    page.goto("/outbox")
    context.set_offline(True)
    page.click("[data-clear-device]")
    page.locator("[data-confirm-dialog] button", has_text="Clear this device").click()
    wait_until(
        page, "document.querySelector('[data-sync-message]').textContent.includes('cleared')"
    )
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then((r) => r.length)") == 0
    assert not session_revoked(live_server.app)
    context.set_offline(False)
    # Whatever reaches the server first (here: opening the app again) ends the session.
    page.goto("/log")
    page.wait_for_url("**/login**")
    wait_revoked(live_server.app)
    assert old_cookies_reach(browser, live_server, cookies) == 401


def test_another_worker_offline_is_told_signing_in_needs_signal(page, context, live_server, users):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    wait_phone_knows_user(page, users.worker)
    context.set_offline(True)
    log_encounter(page, "cooker", 5)
    wait_count(page, 1)
    link = page.locator("a.switch-worker")
    link.click()
    # The page stays; beside the link: why, and what the waiting records will do.
    note = page.locator("#switch-message")
    wait_until(page, "document.getElementById('switch-message').textContent !== ''")
    assert urlsplit(page.url).path == "/log"
    assert "signal" in note.inner_text() and "1 waiting records" in note.inner_text()
    assert "under your name" in note.inner_text()
    assert link.get_attribute("aria-describedby") == "switch-message"


def test_a_pin_too_short_is_refused_beside_it_with_the_reason(page, live_server, users):
    page.goto("/login?next=/log")
    page.fill('input[name="username"]', users.worker)
    page.fill('input[name="password"]', PASSWORD)
    page.fill("#unlock-pin", "1234")
    page.click('form[data-login] button[type="submit"]')
    error = page.locator("#unlock-pin-error")
    error.wait_for(state="visible")
    assert "6 to 12 digits" in error.inner_text()
    assert "unlock-pin-error" in page.get_attribute("#unlock-pin", "aria-describedby")
    assert page.get_attribute("#unlock-pin", "aria-invalid") == "true"
    assert urlsplit(page.url).path == "/login"
    # Fixed, the message goes and the sign-in goes through.
    page.fill("#unlock-pin", "135792")
    assert error.is_hidden()
    page.click('form[data-login] button[type="submit"]')
    page.wait_for_url(on_path("/log"))


def sign_out_choosing(page, choice: str) -> None:
    page.click(".site-menu summary")
    page.click("form[data-sign-out] button")
    dialog = page.locator("[data-confirm-dialog]")
    dialog.wait_for(state="visible")
    dialog.locator("button", has_text=choice).click()


def test_send_then_sign_out_sends_a_record_just_saved_and_signs_out(page, live_server, users):
    """A record still in its undo window is sent too, not reported as "could not be sent"."""
    sign_in(page, users.worker)
    wait_offline_ready(page)
    wait_phone_knows_user(page, users.worker)
    log_encounter(page, "cooker", 5)
    sign_out_choosing(page, "Send, then sign out")
    page.wait_for_url("**/login")
    assert len(wait_stored(live_server.app, 1)) == 1


def test_send_then_sign_out_that_cannot_send_says_so_and_stays_signed_in_truthfully(
    page, live_server, users
):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    wait_phone_knows_user(page, users.worker)
    live_server.faults.fail(SYNC_PATH, "503", times=1000)
    log_encounter(page, "cooker", 5)
    sign_out_choosing(page, "Send, then sign out")
    dialog = page.locator("[data-confirm-dialog]")
    wait_until(page, "document.querySelector('[data-confirm-text]').textContent.includes('reach')")
    text = dialog.inner_text()
    assert "Could not reach the server: 1 records were not sent." in text
    assert "If you sign out now, 1 records wait on this phone" in text
    dialog.locator("button", has_text="Cancel").click()
    # Still signed in, and the status line says so; it never claims the record went.
    message = page.locator("[data-sync-message]")
    wait_until(page, "document.querySelector('[data-sync-message]').textContent.includes('still')")
    assert "You are still signed in." in message.inner_text()
    assert page.locator("#encounter-form").is_visible()
    page.wait_for_timeout(3000)
    assert "All records sent" not in message.inner_text()
    wait_count(page, 1)
    assert stored_ids(live_server.app) == set()
