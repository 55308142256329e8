"""The worker app in real headless Chromium: offline pages, the outbox and exactly-once sync."""

from __future__ import annotations

import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Error as PlaywrightError

from outreach import pwa
from outreach.extensions import db
from outreach.models import SupplyItem
from outreach.models import User
from outreach.models import Zone
from tests.browser.conftest import SYNC_PATH
from tests.browser.conftest import log_encounter
from tests.browser.conftest import sign_in
from tests.browser.conftest import stored_ids
from tests.browser.conftest import wait_count
from tests.browser.conftest import wait_offline_ready
from tests.browser.conftest import wait_until
from tests.conftest import count_rows

pytestmark = pytest.mark.browser

CACHED_URLS = """async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) urls.push(new URL(request.url).pathname);
  }
  return urls;
}"""
CACHED_URLS_WITH_QUERY = CACHED_URLS.replace(".pathname", ".pathname + new URL(request.url).search")


def test_log_and_outbox_reload_offline(page, context, live_server, users):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    context.set_offline(True)
    page.reload()
    assert page.locator("#encounter-form").is_visible()
    assert page.locator('input[name="supply.naloxone_nasal"]').count() == 1
    page.goto("/outbox")
    assert page.locator("h1").inner_text() == "Outbox"
    assert page.locator("[data-outbox-count]").inner_text() == "0"
    if "cards.index" in live_server.app.view_functions:
        page.goto("/cards")
        assert page.locator("h1").count() == 1
    # Offline, a page that is never kept falls back to the app shell instead of an error.
    page.goto("/reports")
    assert page.locator("#encounter-form").count() == 1
    cached = page.evaluate(CACHED_URLS)
    assert "/log" in cached and "/outbox" in cached
    assert not [u for u in cached if u.startswith(("/api", "/reports", "/admin", "/login"))]


def test_three_encounters_logged_offline_survive_closing_and_arrive_once(
    page, context, live_server, users
):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    context.set_offline(True)
    log_encounter(page, "syringe_1ml_27g", 20, referral="wound_care")
    log_encounter(page, "naloxone_nasal", 1)
    log_encounter(page, "syringe_1ml_28g", 50)
    wait_count(page, 3)
    page.close()

    again = context.new_page()
    again.goto("/log")
    wait_count(again, 3)
    context.set_offline(False)
    wait_count(again, 0, timeout=30)
    sent = live_server.faults.sync_ids()
    assert len(stored_ids(live_server.app)) == 3
    assert set(sent) == stored_ids(live_server.app)
    assert len(sent) == len(set(sent)), "a record was sent twice"
    assert again.locator("[data-last-sync]").inner_text().startswith("Last sent")


def test_failing_server_still_ends_with_exactly_once_delivery(page, live_server, users):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    live_server.faults.fail(SYNC_PATH, "503")
    # The server stores this batch, but its answer never reaches the phone.
    live_server.faults.fail(SYNC_PATH, "drop")
    log_encounter(page, "syringe_1ml_27g", 10)
    log_encounter(page, "cooker", 5)
    wait_count(page, 0, timeout=40)
    stored = stored_ids(live_server.app)
    assert len(stored) == 2
    sent = live_server.faults.sync_ids()
    assert set(sent) == stored
    # The first batch went three times (503, answer lost, then "duplicate"), stored once.
    assert max(sent.count(record_id) for record_id in stored) >= 3
    assert count_rows(live_server.app, "encounter") == 2


def test_session_expired_while_offline_then_sign_in_sends_everything(
    page, context, live_server, users
):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    context.set_offline(True)
    log_encounter(page, "naloxone_nasal", 1)
    log_encounter(page, "condom", 10)
    with live_server.app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == users.worker))
        user.rotate_session_token()
        db.session.commit()
    context.set_offline(False)
    banner = page.locator("[data-signin-banner]")
    banner.wait_for(state="visible", timeout=20_000)
    assert page.locator("[data-outbox-count]").inner_text() == "2"
    assert stored_ids(live_server.app) == set()
    page.click("[data-signin-link]")
    page.fill('input[name="username"]', users.worker)
    page.fill('input[name="password"]', "correct horse battery")
    page.click('form.stack button[type="submit"]')
    page.wait_for_url("**/log")
    wait_count(page, 0, timeout=20)
    assert len(stored_ids(live_server.app)) == 2


def test_rejected_record_stays_with_its_message_until_fixed_or_discarded(
    page, context, live_server, users
):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    context.set_offline(True)
    page.select_option('select[name="zone"]', "riverside")
    log_encounter(page, "syringe_1ml_27g", 20)
    log_encounter(page, "cooker", 10)
    # Meanwhile the zone is renamed on the server: these records now name an unknown zone.
    with live_server.app.app_context():
        zone = db.session.scalar(sa.select(Zone).where(Zone.key == "riverside"))
        zone.key = "riverside_north"
        db.session.commit()
    context.set_offline(False)
    page.goto("/outbox")
    rejected = page.locator("[data-rejected-list] > li")
    rejected.nth(1).wait_for(timeout=30_000)
    assert page.locator("[data-outbox-count]").inner_text() == "2"
    assert "zone" in rejected.first.locator("[data-record-errors]").inner_text()
    page.reload()  # still there after a reload, with the server's message
    assert page.locator("[data-rejected-list] > li").count() == 2

    # Discarding asks first; cancelling keeps the record.
    page.locator("[data-rejected-list] > li button[data-discard]").first.click()
    page.locator("[data-confirm-dialog] button", has_text="Cancel").click()
    assert page.locator("[data-rejected-list] > li").count() == 2
    page.locator("[data-rejected-list] > li button[data-discard]").first.click()
    page.locator("[data-confirm-dialog] button", has_text="Discard").click()
    wait_count(page, 1)

    # Fixing opens the record in the form; saving sends it again under the same id.
    record_id = page.locator("[data-rejected-list] > li").first.get_attribute("data-record-id")
    page.locator("[data-rejected-list] > li a", has_text="Fix").click()
    page.wait_for_url("**/log#edit=*")
    page.locator("[data-edit-notice]").wait_for(state="visible")
    page.select_option('select[name="zone"]', "downtown")
    page.click('#encounter-form button[type="submit"]')
    page.wait_for_url("**/outbox")
    wait_count(page, 0, timeout=20)
    assert stored_ids(live_server.app) == {record_id}


def test_two_tabs_never_send_the_same_record_twice(context, live_server, users):
    first = context.new_page()
    sign_in(first, users.worker)
    wait_offline_ready(first)
    second = context.new_page()
    second.goto("/outbox")
    context.set_offline(True)
    for amount in (10, 20, 50):
        log_encounter(first, "syringe_1ml_27g", amount)
    wait_count(second, 3)
    live_server.faults.fail(SYNC_PATH, "slow", times=10)
    # Both tabs see the network return at once and both try to send.
    context.set_offline(False)
    wait_count(first, 0, timeout=30)
    wait_count(second, 0, timeout=30)
    sent = live_server.faults.sync_ids()
    assert len(sent) == len(set(sent)) == 3
    assert len(stored_ids(live_server.app)) == 3


def test_service_worker_update_with_records_waiting_loses_none(page, live_server, users):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    live_server.faults.fail(SYNC_PATH, "503", times=1000)
    log_encounter(page, "naloxone_nasal", 1)
    log_encounter(page, "syringe_1ml_29g", 50)
    wait_count(page, 2)
    first_worker = page.evaluate("navigator.serviceWorker.controller.scriptURL")

    live_server.faults.sw_body_suffix = b"\n// a new release\n"
    page.evaluate("navigator.serviceWorker.getRegistration('/').then((r) => r.update())")
    page.locator("[data-update-banner]").wait_for(state="visible", timeout=30_000)
    with page.expect_navigation(timeout=30_000):
        page.click("[data-update-reload]")
    wait_until(page, "document.documentElement.dataset.ready === 'true'")
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL") == first_worker
    wait_count(page, 2)
    assert page.locator("[data-update-banner]").is_hidden()

    live_server.faults.clear()
    page.goto("/outbox")
    page.click("[data-sync-now]")
    wait_count(page, 0, timeout=20)
    assert len(stored_ids(live_server.app)) == 2


def test_undo_takes_the_record_back_before_anything_is_sent(page, live_server, users):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    log_encounter(page, "syringe_1ml_27g", 20, referral="moud")
    page.click("[data-undo]")
    wait_count(page, 0)
    # The form holds the values again, so a mistake is fixed and saved in two taps.
    assert page.locator("#supply-syringe_1ml_27g").input_value() == "20"
    assert page.locator('input[name="referral"][value="moud"]').is_checked()
    page.click("#supply-syringe_1ml_27g ~ button[data-step='1']")
    page.click('#encounter-form button[type="submit"]')
    wait_count(page, 1)
    wait_count(page, 0, timeout=20)
    sent = live_server.faults.sync_ids()
    assert len(sent) == 1
    assert stored_ids(live_server.app) == set(sent)


def test_signing_out_with_records_waiting_warns_and_keeps_them(page, live_server, users):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    live_server.faults.fail(SYNC_PATH, "503", times=1000)
    log_encounter(page, "cooker", 5)
    wait_count(page, 1)
    page.click(".site-menu summary")  # sign-out sits in the header's menu
    page.click("form[data-sign-out] button")
    dialog = page.locator("[data-confirm-dialog]")
    dialog.wait_for(state="visible")
    assert "1 records have not been sent" in dialog.inner_text()
    dialog.locator("button", has_text="Cancel").click()
    assert page.url.endswith("/log")
    page.click("form[data-sign-out] button")
    dialog.locator("button", has_text="Sign out anyway").click()
    page.wait_for_url("**/login")
    # Signed out, the record still waits on the phone for the next sign-in.
    page.goto("/log")
    wait_count(page, 1)
    assert stored_ids(live_server.app) == set()


def test_clear_this_device_removes_every_local_trace(page, live_server, users):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    live_server.faults.fail(SYNC_PATH, "503", times=1000)
    log_encounter(page, "cooker", 5)
    page.goto("/outbox")
    wait_count(page, 1)
    page.click("[data-clear-device]")
    page.locator("[data-confirm-dialog] button", has_text="Clear this device").click()
    page.wait_for_url("**/login")
    assert page.evaluate(CACHED_URLS) == []
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then((r) => r.length)") == 0
    databases = page.evaluate("indexedDB.databases().then((d) => d.map((x) => x.name))")
    assert "outreach" not in databases


def test_outbox_schema_upgrade_keeps_records_from_version_1(page, live_server, users):
    record = {
        "id": "0b0e5f0e-1d7c-4c55-9a8e-2f7d3f1a6c01",
        "occurred_at": (datetime.now(UTC) - timedelta(days=2)).isoformat(timespec="seconds"),
        "zone": "downtown",
        "participant_code": None,
        "people_served": 1,
        "supplies": {"condom": 10},
        "syringes_collected": 0,
        "naloxone_reversals_reported": 0,
        "referrals": [],
    }
    page.goto("/login")
    # The layout version 1 of the app wrote: an "outbox" store of {id, record}.
    page.evaluate(
        """(record) => new Promise((resolve, reject) => {
          const open = indexedDB.open("outreach", 1);
          open.onupgradeneeded = () => open.result.createObjectStore("outbox", { keyPath: "id" });
          open.onsuccess = () => {
            const tx = open.result.transaction("outbox", "readwrite");
            tx.objectStore("outbox").put({ id: record.id, record });
            tx.oncomplete = () => { open.result.close(); resolve(); };
            tx.onerror = () => reject(tx.error);
          };
          open.onerror = () => reject(open.error);
        })""",
        record,
    )
    sign_in(page, users.worker)
    deadline = time.monotonic() + 20
    while not stored_ids(live_server.app) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stored_ids(live_server.app) == {record["id"]}
    wait_count(page, 0)
    version = page.evaluate(
        """() => new Promise((resolve) => {
          const open = indexedDB.open("outreach");
          open.onsuccess = () => { resolve(open.result.version); open.result.close(); };
        })"""
    )
    assert version == 4  # every step ran, the kind-and-id key (4) last


def test_kill_switch_stops_caching_and_keeps_the_outbox(
    page, context, live_server, users, project_dir
):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    live_server.faults.fail(SYNC_PATH, "503", times=1000)
    log_encounter(page, "cooker", 5)
    wait_count(page, 1)
    live_server.faults.sw_body_override = (project_dir / "static/sw-kill-switch.js").read_bytes()
    # The no-op worker takes over at once; the page reloads into it.
    with page.expect_navigation():
        page.evaluate("navigator.serviceWorker.getRegistration('/').then((r) => r.update())")
    wait_until(page, "caches.keys().then((keys) => keys.length === 0)")
    wait_count(page, 1)
    # Nothing is served from a cache any more...
    context.set_offline(True)
    with pytest.raises(PlaywrightError):
        page.reload()
    context.set_offline(False)
    # ...and the outbox is untouched: once the server answers again, the page sends it.
    live_server.faults.clear()
    page.goto("/outbox")
    page.click("[data-sync-now]")
    wait_count(page, 0, timeout=20)
    assert len(stored_ids(live_server.app)) == 1


def test_kept_pages_follow_catalogue_and_language_changes(page, context, live_server, users):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    with live_server.app.app_context():
        item = db.session.scalar(sa.select(SupplyItem).where(SupplyItem.key == "cooker"))
        item.name = "Cookers (steel)"
        db.session.commit()
    # The kept copy still shows the old name; the page notices, fetches the new one and,
    # as nothing was typed yet, shows it at once.
    page.reload()
    page.locator("label[for='supply-cooker']", has_text="Cookers (steel)").wait_for(timeout=20_000)

    # Switching language online brings every kept page along, for use offline.
    page.click("a[hreflang='es']")
    page.locator("h1", has_text="Registrar un encuentro").wait_for()
    wait_until(
        page,
        """caches.keys().then(async (keys) => {
          const name = keys.find((k) => k.startsWith('outreach-pages-'));
          const response = await (await caches.open(name)).match('/outbox');
          return Boolean(response) && (await response.text()).includes('Por enviar');
        })""",
    )
    context.set_offline(True)
    page.goto("/outbox")
    assert page.locator("[data-pending-empty]").inner_text() == (
        "No hay nada pendiente en este dispositivo."
    )


def test_background_sync_sends_after_the_page_is_closed(context, live_server, users):
    page = context.new_page()
    sign_in(page, users.worker)
    wait_offline_ready(page)
    context.set_offline(True)
    log_encounter(page, "cooker", 5)
    wait_count(page, 1)
    wait_until(
        page, "navigator.serviceWorker.ready.then((r) => r.sync.getTags()).then((t) => t.length)"
    )
    page.close()
    # No page is open: only the service worker can send it when the network returns.
    context.set_offline(False)
    deadline = time.monotonic() + 30
    while not stored_ids(live_server.app) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(stored_ids(live_server.app)) == 1
    assert context.pages == []


def test_pages_with_the_same_content_are_fetched_once(page, live_server, users):
    pwa.register_offline_pages(live_server.app, lambda: ["/outbox?from=home"])
    sign_in(page, users.worker)
    wait_offline_ready(page)
    cached = page.evaluate(CACHED_URLS_WITH_QUERY)
    assert "/outbox" in cached and "/outbox?from=home" in cached
    assert live_server.faults.requests.count(("GET", "/outbox")) == 1


def test_a_double_tap_on_save_logs_one_encounter(page, live_server, users):
    sign_in(page, users.worker)
    page.click('button.quick[data-add="20"][aria-controls="supply-syringe_1ml_27g"]')
    page.dblclick('#encounter-form button[type="submit"]')
    page.locator("[data-toast]").wait_for(state="visible")
    wait_count(page, 0, timeout=30)
    assert len(stored_ids(live_server.app)) == 1
