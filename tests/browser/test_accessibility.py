"""axe-core on every page, signed out and in each role, in the light and the dark theme: no
serious or critical violation.

axe is injected as a script tag, which the site's CSP (no inline script) would refuse, so
these contexts bypass CSP; everything else is the page as served.
"""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa

from outreach import demo
from outreach.directory.demo import add_demo_services
from outreach.extensions import db
from outreach.models import DirectoryService
from outreach.models import Encounter
from outreach.models import OverdoseResponse
from outreach.models import StockEvent
from outreach.models import SupplyItem
from outreach.models import User
from tests.browser.conftest import log_encounter
from tests.browser.conftest import sign_in
from tests.browser.conftest import wait_until
from tests.live import PROJECT

pytestmark = [pytest.mark.browser, pytest.mark.engine_independent]

AXE = PROJECT / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}

VISITOR_PAGES = [
    "/login",
    "/cards",
    "/cards/naloxone?lang=en",
    "/cards/abscess-infection?lang=es",
    "/cards/referral/wound_care?lang=en",
    "/directory",
    "/directory?lang=es",
    "/no-such-page",
]
# /log#overdose opens the overdose response form below the encounter form.
WORKER_PAGES = [
    "/log",
    "/log?lang=es",
    "/log#overdose",
    "/log?lang=es#overdose",
    "/outbox",
    "/account",
    "/log/bag",
    "/log/bag?lang=es",
]
SUPERVISOR_PAGES = [
    "/account/lockouts",
    "/reports",
    "/reports?preset=custom&start=2000-01-01&end=1999-01-01",  # the form with its errors
    "/reports/encounters",
    "/reports/encounters/{encounter}/void",
    "/reports/bulk-void",
    "/reports/bulk-void?worker={user}&start=2000-01-01&end=2100-12-31",  # the confirmation
    "/reports/bulk-void?worker={user}&start=2000-01-01&end=2100-12-31&lang=es",
    "/reports/funder",
    "/reports/funder?template=cdph_ssp_annual&period=year&year=2026&lang=es",
    "/reports/overdoses",
    "/reports/overdoses/{overdose}/void",
    "/reports/stock",
    "/reports/stock?lang=es",
    "/reports/stock/events",
    "/reports/stock/events/{stock_event}/void",
]
ADMIN_PAGES = [
    "/admin",
    "/admin/users",
    "/admin/users/{user}",
    "/admin/catalog/supplies",
    "/admin/catalog/supplies/{item}",
    "/admin/catalog/referrals",
    "/admin/catalog/zones",
    "/admin/audit",
    "/admin/settings",
    "/admin/directory/",
    "/admin/directory/new",
    "/admin/directory/{service}/edit",
    "/admin/directory/import",
    "/admin/funder",
    "/admin/funder/generic_ssp_quarterly",
]


def _failed_sign_in(page) -> str:
    page.goto("/login")
    page.fill('input[name="username"]', "nobody")
    page.fill('input[name="password"]', "not the password")
    page.click('form button[type="submit"]')
    page.locator(".flash, [role='alert']").first.wait_for()
    return "/login after a failed sign-in"


def _saved_encounter(page) -> str:
    page.goto("/log")
    log_encounter(page, "naloxone_nasal", 1, referral="wound_care")
    return "/log with the saved toast and a referral's services"


# States that only appear after an action, checked after the role's pages.
STATES = {"visitor": [_failed_sign_in], "worker": [_saved_encounter]}
ROLES = {
    "visitor": (None, VISITOR_PAGES),
    "worker": ("worker", WORKER_PAGES),
    "supervisor": ("supervisor", SUPERVISOR_PAGES),
    "admin": ("admin", ADMIN_PAGES),
}


@pytest.fixture
def filled_app(app, users):
    """Records, directory services and ids for the pages that show one."""
    with app.app_context():
        demo.generate(60, 300, random_seed=7)
        add_demo_services()
        # Overdose responses, so /reports shows its overdose section with tables and chart.
        for n, outcome in enumerate(("alive", "alive", "transported", "died")):
            moment = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=n)
            db.session.add(
                OverdoseResponse(
                    id=uuid.uuid4(),
                    occurred_at=moment,
                    local_date=moment.date(),
                    naloxone_doses=n,
                    given_by_worker=n > 0,
                    ems_called="yes",
                    outcome=outcome,
                )
            )
        _fill_bags(users)
        db.session.commit()
        ids = {
            "encounter": db.session.scalar(sa.select(Encounter.id).limit(1)),
            "user": db.session.scalar(sa.select(User.id).where(User.username == users.worker)),
            "item": db.session.scalar(sa.select(SupplyItem.id).limit(1)),
            "service": db.session.scalar(sa.select(DirectoryService.id).limit(1)),
            "overdose": db.session.scalar(sa.select(OverdoseResponse.id).limit(1)),
            "stock_event": db.session.scalar(sa.select(StockEvent.id).limit(1)),
        }
    return ids


def _fill_bags(users) -> None:
    """Two items kept in bags, and the worker's bag loaded then counted short (so the bag
    page, /log's warnings and the stock report all have something to show)."""
    import uuid
    from datetime import datetime

    from outreach.models import StockEvent
    from outreach.models import StockEventLine

    items = db.session.scalars(sa.select(SupplyItem).order_by(SupplyItem.sort_order).limit(2))
    worker = db.session.scalar(sa.select(User.id).where(User.username == users.worker))
    day = datetime.now()
    load = StockEvent(
        id=uuid.uuid4(), type="load", worker_id=worker, occurred_at=day, local_date=day.date()
    )
    count = StockEvent(
        id=uuid.uuid4(), type="count", worker_id=worker, occurred_at=day, local_date=day.date()
    )
    for item in items:
        item.stock_tracked, item.low_stock_threshold = True, 5
        load.lines.append(StockEventLine(item_id=item.id, quantity=20))
        count.lines.append(StockEventLine(item_id=item.id, quantity=15, expected=20, reason="lost"))
    db.session.add_all([load, count])


def _violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        # target-size (WCAG 2.2: 24 px, or spaced enough) is off by default in axe: on.
        "() => axe.run(document, {resultTypes: ['violations'], "
        "rules: {'target-size': {enabled: true}}}).then((r) => r.violations)"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_has_no_serious_axe_violation(
    browser, live_server, users, filled_app, role, scheme
):
    assert AXE.exists(), "axe-core is missing: run npm install"
    username_key, paths = ROLES[role]
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
        if username_key:
            sign_in(page, getattr(users, username_key), next_path=paths[0].split("?")[0])
        problems = {}
        for path in paths:
            url = path.format(**filled_app)
            page.goto(url)
            wait_until(page, "document.readyState === 'complete'")
            assert page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches") == (
                scheme == "dark"
            )
            if found := _violations(page):
                problems[url] = found
        for reach_state in STATES.get(role, []):
            label = reach_state(page)
            if found := _violations(page):
                problems[label] = found
        assert not problems, "\n".join(f"{url}: {'; '.join(v)}" for url, v in problems.items())
    finally:
        context.close()
