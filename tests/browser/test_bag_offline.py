"""The bag in real headless Chromium: a load-out, an encounter and an end-of-shift count made
offline reach the server exactly once; /log warns, offline, as a bag runs low."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from outreach.extensions import db
from outreach.models import Encounter
from outreach.models import StockEvent
from outreach.models import SupplyItem
from tests.browser.conftest import sign_in
from tests.browser.conftest import wait_count
from tests.browser.conftest import wait_offline_ready

pytestmark = pytest.mark.browser

NALOXONE, SYRINGE = "naloxone_nasal", "syringe_1ml_27g"


def _track(app):
    with app.app_context():
        for item in db.session.scalars(
            sa.select(SupplyItem).where(SupplyItem.key.in_([NALOXONE, SYRINGE]))
        ):
            item.stock_tracked = True
            item.low_stock_threshold = 3 if item.key == NALOXONE else None
        db.session.commit()


def _warning(page, key: str):
    return expect(page.locator(f'[data-supply="{key}"] .stock-warning'))


def test_load_encounter_and_count_offline_arrive_once(page, context, live_server, users):
    app = live_server.app
    _track(app)
    sign_in(page, users.worker)
    page.goto("/log/bag")
    wait_offline_ready(page)
    context.set_offline(True)
    # Before the first load-out the bag is not followed: no warnings on /log.
    page.goto("/log")
    if not page.locator(f'input[name="supply.{NALOXONE}"]').is_visible():
        page.click("[data-more-supplies] > summary")
    page.click(f'button[data-step="1"][aria-controls="supply-{NALOXONE}"]')
    _warning(page, NALOXONE).to_have_text("")
    page.goto("/log/bag")

    # Load-out, offline.
    page.fill(f"#bag-{NALOXONE}", "5")
    page.fill(f"#bag-{SYRINGE}", "100")
    page.click('#bag-form button[type="submit"]')
    page.locator("[data-toast]").wait_for(state="visible")
    have = page.locator(f'[data-item="{NALOXONE}"] [data-have]')
    expect(have).to_have_text("In the bag: 5")

    # An encounter, offline: warnings as quantities are entered.
    page.goto("/log")
    if not page.locator(f'input[name="supply.{NALOXONE}"]').is_visible():
        page.click("[data-more-supplies] > summary")
    plus = f'button[data-step="1"][aria-controls="supply-{NALOXONE}"]'
    page.click(plus)
    _warning(page, NALOXONE).to_have_text("")
    page.click(plus)
    _warning(page, NALOXONE).to_have_text("Running low: 3 left in your bag after this.")
    page.fill(f"#supply-{NALOXONE}", "6")
    page.locator(f"#supply-{NALOXONE}").dispatch_event("input")
    _warning(page, NALOXONE).to_contain_text("more than is in it")
    page.fill(f"#supply-{NALOXONE}", "2")
    # Collected syringes weighed, not counted.
    page.fill("#syringes_collected_weight", "1,5")
    page.select_option('select[name="syringes_collected_weight_unit"]', "kg")
    page.click('#encounter-form button[type="submit"]')
    page.locator("[data-toast]").wait_for(state="visible")

    # End-of-shift count, offline: 1 naloxone left where 3 were expected, so a reason.
    page.goto("/log/bag")
    expect(have).to_have_text("In the bag: 3")
    page.check('input[name="type"][value="count"]')
    page.fill(f"#bag-{NALOXONE}", "1")
    page.locator(f"#bag-{NALOXONE}").dispatch_event("input")
    page.fill(f"#bag-{SYRINGE}", "100")
    page.click('#bag-form button[type="submit"]')
    expect(page.locator("[data-bag-error]")).to_be_visible()
    page.select_option(f'select[name="reason.{NALOXONE}"]', "lost")
    page.click('#bag-form button[type="submit"]')
    page.locator("[data-toast]").wait_for(state="visible")
    expect(have).to_have_text("In the bag: 1")
    wait_count(page, 3)

    # The outbox lists the stock events too.
    page.goto("/outbox")
    expect(page.locator("[data-pending-list] li")).to_have_count(3)

    context.set_offline(False)
    wait_count(page, 0, timeout=40)
    sent = live_server.faults.sync_ids()
    assert len(sent) == len(set(sent)) == 3, "a record was sent twice"
    with app.app_context():
        events = db.session.scalars(sa.select(StockEvent)).all()
        assert sorted(e.type for e in events) == ["count", "load"]
        count = next(e for e in events if e.type == "count")
        lines = {line.item.key: (line.quantity, line.expected, line.reason) for line in count.lines}
        assert lines == {NALOXONE: (1, 3, "lost"), SYRINGE: (100, 100, None)}
        (encounter,) = db.session.scalars(sa.select(Encounter)).all()
        assert encounter.syringes_collected_grams == 1500
        assert {s.item.key: s.quantity for s in encounter.supplies} == {NALOXONE: 2}
        assert set(sent) == {str(e.id) for e in events} | {str(encounter.id)}

        from outreach.stock import services

        naloxone = db.session.scalar(sa.select(SupplyItem.id).where(SupplyItem.key == NALOXONE))
        worker = db.session.scalar(sa.select(StockEvent.worker_id))
        assert services.bag_of(worker)[naloxone].expected == 1
        assert dict(services.bag_of(worker)[naloxone].adjusted) == {"lost": 2}


def test_a_rejected_stock_event_waits_with_its_message_and_the_others_go(
    page, context, live_server, users
):
    app = live_server.app
    _track(app)
    sign_in(page, users.worker)
    page.goto("/log/bag")
    wait_offline_ready(page)
    context.set_offline(True)
    page.reload()
    page.fill(f"#bag-{NALOXONE}", "4")
    page.fill(f"#bag-{SYRINGE}", "50")
    page.click('#bag-form button[type="submit"]')
    page.locator("[data-toast]").wait_for(state="visible")
    page.check('input[name="type"][value="count"]')
    page.fill(f"#bag-{SYRINGE}", "50")
    page.click('#bag-form button[type="submit"]')
    page.locator("[data-toast]").wait_for(state="visible")
    wait_count(page, 2)
    # Meanwhile the naloxone key is renamed on the server: the load-out names an unknown item.
    with app.app_context():
        item = db.session.scalar(sa.select(SupplyItem).where(SupplyItem.key == NALOXONE))
        item.key = "naloxone_nasal_spray"
        db.session.commit()
    context.set_offline(False)
    page.goto("/outbox")
    rejected = page.locator("[data-rejected-list] > li")
    rejected.first.wait_for(timeout=30_000)
    wait_count(page, 1)
    expect(rejected.first.locator("[data-record-errors]")).to_contain_text("unknown item")
    expect(rejected.first).to_contain_text("Load-out")
    # Entered again on the bag page, not fixed in the encounter form: only Discard.
    expect(rejected.first.locator("a", has_text="Fix")).to_have_count(0)
    with app.app_context():
        assert [e.type for e in db.session.scalars(sa.select(StockEvent))] == ["count"]
    rejected.first.locator("button[data-discard]").click()
    page.locator("[data-confirm-dialog] button", has_text="Discard").click()
    wait_count(page, 0)


def test_kept_pages_follow_an_admins_catalogue_change_at_the_next_load(page, live_server, users):
    """The bag page was kept with no tracked items; an admin then tracks two. The next load,
    online, sees the server's catalogue version differ, fetches the kept pages again and
    shows the bag, without a reload by hand (it once said "No supplies..." four times)."""
    sign_in(page, users.worker)
    page.goto("/log/bag")
    wait_offline_ready(page)
    assert page.locator("#bag-form").count() == 0
    _track(live_server.app)
    page.reload()
    page.locator("#bag-form").wait_for(timeout=20_000)
    assert page.locator(f'[data-item="{SYRINGE}"]').count() == 1
    # /log follows too: a tracked item now carries its low-stock mark.
    page.goto("/log")
    page.locator(f'[data-supply="{NALOXONE}"][data-low="3"]').wait_for(
        state="attached", timeout=20_000
    )
