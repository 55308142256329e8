"""The screen lock in real Chromium: idle, locked, unlocked offline by PIN or password; sync
goes on underneath; a server-side sign-out drops the phone's verifier."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import User
from tests.browser.conftest import log_encounter
from tests.browser.conftest import stored_ids
from tests.browser.conftest import wait_count
from tests.browser.conftest import wait_offline_ready
from tests.browser.conftest import wait_until
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PIN = "2468"
IDLE_SECONDS = 3
LOCK_STATE = """() => new Promise((resolve) => {
  const open = indexedDB.open("outreach");
  open.onsuccess = () => {
    const request = open.result.transaction("state").objectStore("state").get("lock");
    request.onsuccess = () => {
      resolve(request.result ? JSON.stringify(request.result) : null);
      open.result.close();
    };
  };
})"""


@pytest.fixture
def app_config(app_config):
    return {**app_config, "LOCK_IDLE_SECONDS": IDLE_SECONDS}


def sign_in_with_pin(page, username: str) -> None:
    page.goto("/login?next=/log")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.fill("#unlock-pin", PIN)
    # The verifiers are derived while the worker types; a person takes longer than this.
    wait_until(page, "document.documentElement.dataset.unlockReady === 'true'")
    page.wait_for_timeout(400)
    page.click('form[data-login] button[type="submit"]')
    page.wait_for_url(lambda url: urlsplit(url).path == "/log")


def wait_locked(page) -> None:
    page.locator("[data-lock]").wait_for(state="visible", timeout=(IDLE_SECONDS + 5) * 1000)
    assert page.locator("#encounter-form").is_hidden()
    assert page.locator("header").is_hidden()


def unlock_with(page, secret: str) -> None:
    page.fill("#unlock-secret", secret)
    page.click("[data-lock-form] button[type='submit']")


def test_idle_phone_locks_and_unlocks_offline_with_pin_then_password(
    page, context, live_server, users
):
    sign_in_with_pin(page, users.worker)
    wait_offline_ready(page)
    stored = page.evaluate(LOCK_STATE)
    assert stored and PIN not in stored and PASSWORD not in stored
    context.set_offline(True)
    # Idle since sign-in: locked. A wrong PIN keeps it locked; the right one opens it.
    wait_locked(page)
    unlock_with(page, "1111")
    wait_until(
        page, "document.querySelector('[data-lock-message]').textContent.includes('Wrong PIN')"
    )
    assert page.locator("#encounter-form").is_hidden()
    unlock_with(page, PIN)
    page.locator("[data-lock]").wait_for(state="hidden")
    assert page.locator("#encounter-form").is_visible()
    log_encounter(page, "cooker", 5)
    wait_locked(page)

    # Records keep syncing while the screens are locked.
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_count(page, 0, timeout=40)
    assert len(stored_ids(live_server.app)) == 1
    assert page.locator("[data-lock]").is_visible()
    context.set_offline(True)

    # A reload does not get past the lock.
    page.reload()
    wait_locked(page)

    # After five wrong PINs only the password unlocks, offline too.
    for attempt in range(5):
        unlock_with(page, "0000")
        left = f"{4 - attempt} tries left" if attempt < 4 else "Too many wrong PINs"
        wait_until(
            page, f"document.querySelector('[data-lock-message]').textContent.includes({left!r})"
        )
    wait_until(page, "document.querySelector('[data-lock-label]').textContent === 'Password'")
    unlock_with(page, PIN)
    wait_until(page, "document.querySelector('[data-lock-message]').textContent.includes('Wrong')")
    assert page.locator("#encounter-form").is_hidden()
    unlock_with(page, PASSWORD)
    page.locator("[data-lock]").wait_for(state="hidden")
    assert page.locator("#encounter-form").is_visible()


def test_signed_out_everywhere_the_phone_signs_out_and_drops_its_verifier(
    page, context, live_server, users
):
    sign_in_with_pin(page, users.worker)
    wait_offline_ready(page)
    assert page.evaluate(LOCK_STATE)
    wait_locked(page)
    unlock_with(page, PIN)
    page.locator("[data-lock]").wait_for(state="hidden")
    context.set_offline(True)
    log_encounter(page, "cooker", 5)
    with live_server.app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == users.worker))
        user.rotate_session_token()
        db.session.commit()
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    # Locked again by now, or not: signed out either way, and the lock gives way to it.
    page.locator("[data-signin-banner]").wait_for(state="visible", timeout=20_000)
    assert page.locator("[data-lock]").is_hidden()
    assert page.evaluate(LOCK_STATE) is None
    assert page.locator("#encounter-form").is_hidden()
    wait_count(page, 1)
    assert stored_ids(live_server.app) == set()
