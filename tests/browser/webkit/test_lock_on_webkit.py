"""The screen lock on WebKit: once locked, /log shows only the lock (a reload with no signal
too), a wrong PIN keeps it shut and the right one opens it offline; what was saved goes once
the phone is unlocked and the server is back."""

from __future__ import annotations

import pytest

from tests.browser.conftest import stored_ids

pytestmark = [pytest.mark.browser, pytest.mark.webkit, pytest.mark.engine_independent]

PIN = "246813"
# The PIN's seal, kept on the phone once the server holds its unlock key.
KEPT_SEAL = """new Promise((resolve) => {
  const open = indexedDB.open("outreach");
  open.onerror = () => resolve(false);
  open.onsuccess = () => {
    const request = open.result.transaction("state").objectStore("state").get("lock");
    request.onerror = () => resolve(false);
    request.onsuccess = () => {
      resolve(Boolean(request.result));
      open.result.close();
    };
  };
})"""
IDLE_SECONDS = 5


@pytest.fixture
def app_config(app_config):
    return {**app_config, "LOCK_IDLE_SECONDS": IDLE_SECONDS}


def wait_locked(phone) -> None:
    """The lock and nothing else: the page's content is not in it at all."""
    phone.wait_visible("[data-lock-form]", timeout=IDLE_SECONDS + 10)
    assert phone.count("#encounter-form, nav, [data-worker-shell]") == 0


def unlock_with(phone, secret: str) -> None:
    phone.fill("#unlock-secret", secret)
    phone.click("[data-lock-form] button[type='submit']")


def test_a_locked_phone_shows_only_the_lock_until_the_pin_opens_it_offline(
    phone, webkit_server, users
):
    phone.goto("/login?next=/log")
    phone.fill('input[name="username"]', users.worker)
    phone.fill('input[name="password"]', "correct horse battery")
    phone.fill("#unlock-pin", PIN)
    phone.click('form[data-login] button[type="submit"]')
    phone.wait_for_path("/log")
    phone.wait_until(KEPT_SEAL, what="the PIN's seal kept")
    phone.wait_offline_ready()
    webkit_server.go_away()
    # Idle since sign-in: locked, and a reload from the kept page does not get past it.
    wait_locked(phone)
    phone.reload()
    wait_locked(phone)
    unlock_with(phone, "111111")
    phone.wait_until(
        "document.querySelector('[data-lock-message]').textContent.includes('Wrong PIN')"
    )
    assert phone.count("#encounter-form") == 0
    unlock_with(phone, PIN)
    phone.wait_visible("#encounter-form")
    phone.log_encounter("cooker", 5)
    phone.wait_count(1)
    # Locked again while idle: the server back, the record waits for the unlock, then goes.
    wait_locked(phone)
    webkit_server.come_back()
    assert len(stored_ids(webkit_server.app)) == 0
    unlock_with(phone, PIN)
    phone.wait_visible("#encounter-form")
    phone.wait_count(0, timeout=45)
    assert len(stored_ids(webkit_server.app)) == 1
