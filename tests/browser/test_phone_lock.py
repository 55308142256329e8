"""The screen lock in real Chromium: a locked phone shows nothing but the lock, whatever
address, online or offline, for every role; unlocked offline by PIN only (the phone keeps no
verifier of the password); the password is checked by the server."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import User
from outreach.models import UserSession
from tests.browser.conftest import log_encounter
from tests.browser.conftest import stored_ids
from tests.browser.conftest import wait_count
from tests.browser.conftest import wait_offline_ready
from tests.browser.conftest import wait_until
from tests.conftest import PASSWORD
from tests.test_sessions import signed_in_get_paths

# The server's side runs on both engines in the unit tests; the phone's side once, on SQLite.
pytestmark = [pytest.mark.browser, pytest.mark.engine_independent]

PIN = "246813"
IDLE_SECONDS = 4
STATE = """(key) => new Promise((resolve) => {
  const open = indexedDB.open("outreach");
  open.onsuccess = () => {
    const request = open.result.transaction("state").objectStore("state").get(key);
    request.onsuccess = () => {
      resolve(request.result ? JSON.stringify(request.result) : null);
      open.result.close();
    };
  };
})"""
# Everything the page holds, for eyes and screen readers alike.
PAGE_TEXT = "() => document.body.innerText"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "LOCK_IDLE_SECONDS": IDLE_SECONDS}


def state(page, key: str):
    value = page.evaluate(STATE, key)
    return json.loads(value) if value else None


def sign_in_with_pin(page, username: str, pin: str = PIN) -> None:
    page.goto("/login?next=/log")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.fill("#unlock-pin", pin)
    page.click('form[data-login] button[type="submit"]')
    page.wait_for_url(lambda url: urlsplit(url).path == "/log")
    # The PIN's seal is kept once the server has its unlock key.
    wait_until(page, "true")
    for _ in range(100):
        if state(page, "lock"):
            break
        page.wait_for_timeout(100)


def showing_only_the_lock(page) -> None:
    """The lock page and nothing else: no menu, no form, no table, no heading of the page."""
    page.locator("[data-lock-form]").wait_for(state="visible", timeout=(IDLE_SECONDS + 10) * 1000)
    assert (
        page.locator(
            "nav, table, #encounter-form, [data-worker-shell], form[data-sign-out]"
        ).count()
        == 0
    )
    assert page.locator("h1").all_inner_texts() == ["Outreach is locked"]


def unlock_with(page, secret: str) -> None:
    page.fill("#unlock-secret", secret)
    page.click("[data-lock-form] button[type='submit']")


def lock_message(page, text: str) -> None:
    wait_until(
        page, f"document.querySelector('[data-lock-message]').textContent.includes({text!r})"
    )


def test_idle_phone_locks_and_unlocks_offline_with_pin_the_password_needs_the_server(
    page, context, live_server, users
):
    sign_in_with_pin(page, users.worker)
    wait_offline_ready(page)
    lock = state(page, "lock")
    # The PIN's seal only: no verifier of the password, and neither secret in clear.
    assert lock and set(lock) == {"v", "user", "salt", "iterations", "iv", "sealed", "failures"}
    assert PIN not in json.dumps(lock) and PASSWORD not in json.dumps(lock)
    context.set_offline(True)
    # Idle: the page reloads as the lock, offline, at the same address.
    showing_only_the_lock(page)
    assert urlsplit(page.url).path == "/log"
    unlock_with(page, "111111")
    lock_message(page, "Wrong PIN")
    assert page.get_attribute("#unlock-secret", "aria-describedby") == "unlock-message"
    unlock_with(page, PIN)
    page.locator("#encounter-form").wait_for(state="visible")
    log_encounter(page, "cooker", 5)

    # Locked again; a reload does not get past it, nor does another address.
    showing_only_the_lock(page)
    page.reload()
    showing_only_the_lock(page)
    page.goto("/outbox")
    showing_only_the_lock(page)

    # After five wrong PINs only the password unlocks; offline it cannot be checked.
    for attempt in range(5):
        unlock_with(page, "000000")
        lock_message(page, f"{4 - attempt} tries left" if attempt < 4 else "Too many wrong PINs")
    wait_until(page, "document.querySelector('[data-lock-label]').textContent === 'Password'")
    unlock_with(page, PASSWORD)
    lock_message(page, "needs signal")
    assert page.locator("#encounter-form").count() == 0

    # Online: the server checks the password; a wrong one is said beside the field.
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    unlock_with(page, "not the password")
    lock_message(page, "Wrong password")
    unlock_with(page, PASSWORD)
    # Back to the page that was asked for.
    page.locator("[data-pending-section]").wait_for(state="visible")
    assert urlsplit(page.url).path == "/outbox"
    # The record saved offline went once the phone was unlocked.
    wait_count(page, 0, timeout=40)
    assert len(stored_ids(live_server.app)) == 1


def test_an_offline_pin_unlock_reaches_the_server_at_the_next_contact(
    page, context, live_server, users
):
    sign_in_with_pin(page, users.worker)
    wait_offline_ready(page)
    context.set_offline(True)
    showing_only_the_lock(page)
    unlock_with(page, PIN)
    page.locator("#encounter-form").wait_for(state="visible")
    # The server heard the lock only if the phone had signal; offline it hears the unlock
    # with the key the PIN opened, before the phone asks for anything else.
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until(page, "document.querySelector('[data-outbox-count]') !== null")
    page.goto("/outbox")
    page.locator("[data-worker-shell]").wait_for(state="visible")
    with live_server.app.app_context():
        assert db.session.scalar(sa.select(UserSession.locked_at)) is None


@pytest.mark.parametrize("role", ["worker", "supervisor", "admin"])
def test_a_locked_phone_shows_only_the_lock_at_every_address(
    page, context, live_server, users, role
):
    """Every signed-in route of the app (its url_map), typed into the address bar, online
    and offline, for every role: the lock page only; and the server refuses them all."""
    username = getattr(users, role)
    sign_in_with_pin(page, username)
    wait_offline_ready(page)
    # An ordinary page of this role locks when idle (the guard on every signed-in page).
    home = {"worker": "/account", "supervisor": "/reports", "admin": "/admin/users"}[role]
    page.goto(home)
    page.locator("nav").first.wait_for()
    showing_only_the_lock(page)
    assert urlsplit(page.url).path == home
    wait_until(
        page,
        "new Promise((done) => { const o = indexedDB.open('outreach'); o.onsuccess = () => {"
        " const r = o.result.transaction('state').objectStore('state').get('locked');"
        " r.onsuccess = () => done(Boolean(r.result && r.result.told)); }; })",
    )
    paths = [path for _endpoint, path in signed_in_get_paths(live_server.app)]
    assert len(paths) > 30
    for path in paths:
        # The server answers a copy of this browser's cookies with the lock only.
        answer = context.request.get(path, max_redirects=0)
        assert answer.status == 423, (path, answer.status)
        assert username not in answer.text() and "csrf" not in answer.text(), path
    for offline in (False, True):
        context.set_offline(offline)
        for path in paths:
            page.goto(path)
            showing_only_the_lock(page)
    context.set_offline(False)
    # Unlocked, the pages come back.
    page.goto(home)
    unlock_with(page, PIN)
    page.locator("nav").first.wait_for()
    assert page.locator("[data-lock-form]").count() == 0


def test_signed_out_everywhere_the_phone_signs_out_and_drops_its_pin(
    page, context, live_server, users
):
    sign_in_with_pin(page, users.worker)
    wait_offline_ready(page)
    assert state(page, "lock")
    context.set_offline(True)
    log_encounter(page, "cooker", 5)
    with live_server.app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == users.worker))
        user.rotate_session_token()
        db.session.commit()
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    if page.locator("[data-lock-form]").count():
        # Locked meanwhile: the server no longer knows the session; signing in again is the way.
        page.goto("/log")
    page.locator("[data-signin-banner]").wait_for(state="visible", timeout=20_000)
    assert state(page, "lock") is None
    assert page.locator("#encounter-form").is_hidden()
    wait_count(page, 1)
    assert stored_ids(live_server.app) == set()


def test_a_phone_that_kept_a_password_verifier_loses_it_on_upgrade(
    page, context, live_server, users
):
    sign_in_with_pin(page, users.worker)
    wait_offline_ready(page)
    # What the version before this one kept: PBKDF2 verifiers of a PIN and of the password.
    old = {
        "user": users.worker,
        "pin": {"salt": "c2FsdA", "iterations": 1, "hash": "x"},
        "password": {"salt": "c2FsdA", "iterations": 1, "hash": "y"},
        "failures": 0,
    }
    page.evaluate(
        """(old) => new Promise((done) => {
          const o = indexedDB.open('outreach');
          o.onsuccess = () => {
            const tx = o.result.transaction('state', 'readwrite');
            tx.objectStore('state').put(old, 'lock');
            tx.oncomplete = () => { o.result.close(); done(); };
          };
        })""",
        old,
    )
    page.goto("/outbox")
    wait_until(page, "document.documentElement.dataset.outboxCounted === 'true'")
    for _ in range(50):
        if state(page, "lock") is None:
            break
        page.wait_for_timeout(100)
    assert state(page, "lock") is None


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_lock_page_has_no_serious_axe_violation(browser, live_server, users, scheme):
    from tests.browser.conftest import sign_in
    from tests.browser.test_accessibility import _violations

    context = browser.new_context(
        base_url=live_server.url,
        bypass_csp=True,
        color_scheme=scheme,
        service_workers="block",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
    )
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        sign_in(page, users.worker)
        page.goto("/lock")
        page.locator("[data-lock-form]").wait_for()
        assert _violations(page) == []
        # A refusal beside the field is read with it.
        unlock_with(page, "wrong password here")
        lock_message(page, "Wrong password")
        assert _violations(page) == []
    finally:
        context.close()


def test_from_the_lock_another_worker_signs_in_and_the_lock_is_gone(page, live_server, users):
    sign_in_with_pin(page, users.worker)
    wait_offline_ready(page)
    showing_only_the_lock(page)
    page.click("[data-switch-worker]")
    page.wait_for_url("**/login**")
    # The sign-in page stays put (no lock loop on it).
    page.locator('input[name="username"]').wait_for()
    page.wait_for_timeout(1500)
    page.fill('input[name="username"]', users.supervisor)
    page.fill('input[name="password"]', PASSWORD)
    page.click('form[data-login] button[type="submit"]')
    page.wait_for_url(lambda url: urlsplit(url).path == "/log")
    page.locator("#encounter-form").wait_for(state="visible")
    assert page.locator("[data-lock-form]").count() == 0
