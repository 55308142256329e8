"""Overdose responses on the phone: logged offline in their own page, /log/overdose, kept in the
outbox (across a reload), sent by the same sync as encounters and stored exactly once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import OverdoseResponse
from tests.browser.conftest import log_encounter
from tests.browser.conftest import sign_in
from tests.browser.conftest import wait_count
from tests.browser.conftest import wait_offline_ready
from tests.browser.conftest import wait_stored
from tests.browser.conftest import wait_until
from tests.conftest import count_rows

pytestmark = pytest.mark.browser


def log_overdose(
    page, doses: int = 2, givers=("worker",), ems="yes", outcome="alive", zone=None
) -> None:
    """Fill the overdose form the way a worker does and save it."""
    if "/log/overdose" not in page.url:
        page.click("[data-overdose-link]")  # the button at the top of /log
        page.wait_for_url("**/log/overdose")
    if zone is not None:
        page.select_option("#od-zone", zone)
    page.fill("#od-doses", str(doses))
    for giver in givers:
        page.check(f'#overdose-form input[name="given_by"][value="{giver}"]')
    page.check(f'#overdose-form input[name="ems_called"][value="{ems}"]')
    page.check(f'#overdose-form input[name="outcome"][value="{outcome}"]')
    page.click('#overdose-form button[type="submit"]')
    page.locator("[data-toast]").wait_for(state="visible")


def stored_overdoses(app) -> list[OverdoseResponse]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OverdoseResponse)))
        db.session.expunge_all()
        return rows


def wait_overdoses(app, expected: int, timeout: float = 30.0) -> list[OverdoseResponse]:
    import time

    deadline = time.monotonic() + timeout
    while len(rows := stored_overdoses(app)) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return rows


def test_an_overdose_logged_offline_survives_a_reload_and_arrives_once(
    page, context, live_server, users
):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    context.set_offline(True)
    page.reload()
    log_overdose(page, 3, ("bystander", "ems"), "yes", "transported", zone="riverside")
    # The form is ready for the next one: nothing of the last is left in it.
    assert page.locator('#overdose-form input[name="outcome"]:checked').count() == 0
    page.goto("/log")
    log_encounter(page, "naloxone_nasal", 1)
    wait_count(page, 2)
    page.reload()
    wait_count(page, 2)
    page.goto("/outbox")
    wait_until(page, "document.documentElement.dataset.ready === 'true'")
    assert "Overdose response" in page.locator("[data-pending-list]").inner_text()
    assert count_rows(live_server.app, "overdose_response") == 0

    context.set_offline(False)
    page.goto("/log")
    wait_count(page, 0, timeout=30)
    rows = wait_overdoses(live_server.app, 1)
    assert len(rows) == 1
    row = rows[0]
    assert (row.naloxone_doses, row.ems_called, row.outcome) == (3, "yes", "transported")
    assert (row.given_by_bystander, row.given_by_ems, row.given_by_worker) == (True, True, False)
    assert row.zone_id is not None
    assert len(wait_stored(live_server.app, 1)) == 1
    # Sending again (another trigger, a reload) changes nothing.
    page.reload()
    wait_count(page, 0)
    page.wait_for_timeout(500)
    assert count_rows(live_server.app, "overdose_response") == 1
    assert count_rows(live_server.app, "encounter") == 1


def test_nobody_clears_the_givers_and_the_doses(page, live_server, users):
    sign_in(page, users.worker, next_path="/log/overdose")
    page.fill("#od-doses", "2")
    page.check('#overdose-form input[name="given_by"][value="worker"]')
    page.check('#overdose-form input[name="given_by"][value="none"]')
    assert page.locator('#overdose-form input[name="given_by"]:checked').count() == 1
    assert page.input_value("#od-doses") == "0"
    page.check('#overdose-form input[name="ems_called"][value="no"]')
    page.check('#overdose-form input[name="outcome"][value="alive"]')
    page.click('#overdose-form button[type="submit"]')
    rows = wait_overdoses(live_server.app, 1)
    assert [(r.naloxone_doses, r.given_by_worker, r.outcome) for r in rows] == [(0, False, "alive")]


def test_an_overdose_without_an_outcome_is_not_saved(page, live_server, users):
    sign_in(page, users.worker)
    # The form's old address (/log#overdose) leads to its own page.
    page.goto("/log#overdose")
    page.wait_for_url("**/log/overdose#overdose")
    assert page.locator("#overdose-form").is_visible()
    page.check('#overdose-form input[name="ems_called"][value="unknown"]')
    page.click('#overdose-form button[type="submit"]')
    page.wait_for_timeout(300)
    assert page.evaluate("() => document.querySelector('#overdose-form').checkValidity()") is False
    assert page.locator("[data-outbox-count]").inner_text() == "0"


def test_a_refused_overdose_is_fixed_in_its_own_form(page, live_server, users):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    # A record the server refuses (an unknown zone): it waits with the message until fixed.
    page.goto("/log/overdose")
    page.evaluate(
        "() => { const o = document.createElement('option'); o.value = 'atlantis';"
        " o.textContent = 'Atlantis'; document.getElementById('od-zone').append(o);"
        " document.getElementById('od-zone').value = 'atlantis'; }"
    )
    log_overdose(page, doses=1, givers=("participant",), ems="no", outcome="alive")
    page.goto("/outbox")
    page.locator("[data-rejected-list] [data-record-errors]").wait_for()
    assert "unknown zone" in page.locator("[data-rejected-list]").inner_text()
    page.click("[data-rejected-list] a.button")
    page.wait_for_url("**/log/overdose#overdose=*")
    assert page.locator("#overdose-form").is_visible()
    assert page.is_checked('#overdose-form input[name="outcome"][value="alive"]')
    assert page.is_checked('#overdose-form input[name="given_by"][value="participant"]')
    # The unknown zone is not in the list: the record is saved again without it.
    page.click('#overdose-form button[type="submit"]')
    rows = wait_overdoses(live_server.app, 1)
    assert len(rows) == 1 and rows[0].zone_id is None and rows[0].given_by_participant
    wait_count(page, 0)
