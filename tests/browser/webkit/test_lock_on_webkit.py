"""The screen lock on WebKit, as it behaves today: once locked, /log shows only the lock (a
reload with no signal too), a wrong PIN keeps it shut and the right one opens it offline.
Kept apart from the other WebKit tests, as the lock is being reworked."""

from __future__ import annotations

import pytest

from tests.browser.conftest import stored_ids

pytestmark = [pytest.mark.browser, pytest.mark.webkit, pytest.mark.engine_independent]

PIN = "2468"
IDLE_SECONDS = 5


@pytest.fixture
def app_config(app_config):
    return {**app_config, "LOCK_IDLE_SECONDS": IDLE_SECONDS}


def wait_locked(phone) -> None:
    phone.wait_visible("[data-lock]", timeout=IDLE_SECONDS + 10)
    assert not phone.visible("#encounter-form")
    assert not phone.visible("header")


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
    # The unlock verifiers are derived on the phone while the worker types.
    phone.wait_until("document.documentElement.dataset.unlockReady === 'true'")
    phone.click('form[data-login] button[type="submit"]')
    phone.wait_for_path("/log")
    phone.wait_offline_ready()
    webkit_server.go_away()
    # Idle since sign-in: locked, and a reload from the kept page does not get past it.
    wait_locked(phone)
    phone.reload()
    wait_locked(phone)
    unlock_with(phone, "1111")
    phone.wait_until(
        "document.querySelector('[data-lock-message]').textContent.includes('Wrong PIN')"
    )
    assert not phone.visible("#encounter-form")
    unlock_with(phone, PIN)
    phone.wait_hidden("[data-lock]")
    assert phone.visible("#encounter-form")
    phone.log_encounter("cooker", 5)
    phone.wait_count(1)
    # Locked again while idle; records still go underneath once the server is back.
    wait_locked(phone)
    webkit_server.come_back()
    phone.wait_count(0, timeout=45)
    assert len(stored_ids(webkit_server.app)) == 1
    assert phone.visible("[data-lock]")
