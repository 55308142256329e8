"""Cards and the directory in real Chromium: kept by the service worker, read offline,
in English and Spanish, signed in or not."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.browser.conftest import wait_offline_ready
from tests.browser.conftest import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.engine_independent]

# The copy of a card on show (a card page holds every language, one <article lang> each).
SHOWN = "article.safety-card:not([hidden])"


def _read_offline(page, context) -> None:
    context.set_offline(True)
    page.goto("/cards")
    assert page.locator("h1").inner_text()
    # The search box filters the page itself.
    total = page.locator("[data-card-item]").count()
    page.fill("input[type=search]", "test strips")
    visible = page.locator("[data-card-item]:visible")
    assert 1 <= visible.count() < total
    assert any("test strip" in text.lower() for text in visible.all_inner_texts())

    page.fill("input[type=search]", "")
    page.click("a[href^='/cards/overdose-response']")
    page.wait_for_url("**/cards/overdose-response")
    assert "Call 911" in page.locator("main").inner_text()
    # The QR image needs a network (so does the phone scanning it): offline it steps aside,
    # leaving the card's address written out.
    assert page.locator(f"{SHOWN} .card-url").is_visible()
    page.locator(f"{SHOWN} .qr-frame").wait_for(state="hidden")

    # The card's own language switch works offline: its Spanish copy is in the same page.
    page.click(f"{SHOWN} [data-card-switch=es]")
    page.wait_for_url("**/cards/overdose-response?lang=es")
    page.locator("article[lang=es]:not([hidden])").wait_for()
    body = page.locator("main").inner_text()
    assert "911" in body and "Qué hacer" in body and "Call 911" not in body
    # The card's language, not the app's.
    assert page.locator("html").get_attribute("lang") == "en"
    # An old link or printed QR code with ?lang= opens the kept copy in that language.
    page.goto("/cards/naloxone?lang=es")
    assert page.locator(SHOWN).get_attribute("lang") == "es"
    assert "Naloxona" in page.locator("main").inner_text()

    page.goto("/directory?lang=es")
    assert page.locator("html").get_attribute("lang") == "es"
    page.goto("/directory?lang=en")
    assert page.locator("h1").inner_text() == "Local services"


def test_cards_and_directory_open_offline_for_a_signed_out_visitor(page, context):
    page.goto("/cards/naloxone?lang=en")
    # Online, the QR code image is drawn by the server and shown.
    page.locator(f"{SHOWN} .qr-code").wait_for(state="visible")
    wait_until(page, f"document.querySelector('{SHOWN} .qr-code').naturalWidth > 0")
    page.goto("/cards")
    wait_offline_ready(page)
    _read_offline(page, context)


def test_cards_and_directory_open_offline_for_a_worker_without_staff_notes(
    page, context, live_server, users
):
    from outreach.extensions import db
    from outreach.models import DirectoryService

    with live_server.app.app_context():
        db.session.add(
            DirectoryService(
                name="Night clinic",
                address="1 Main St",
                phone="555-0100",
                hours={"mon": [["18:00", "23:00"]]},
                public_notes="Walk in",
                staff_notes="Ask for the side door code",
            )
        )
        db.session.commit()
    sign_in(page, users.worker)
    wait_offline_ready(page)
    page.goto("/directory")
    # Online and signed in, the notes are filled in from the network...
    page.locator("[data-staff-notes]:visible").wait_for()
    assert "side door" in page.locator("main").inner_text()
    _read_offline(page, context)
    page.goto("/directory")
    kept = page.locator("main").inner_text()
    assert "Night clinic" in kept
    assert "as of" in kept  # says how old the kept copy is
    # ...and offline, the kept copy is the public one.
    assert "side door" not in kept


def _app_lang(page, path: str) -> str:
    page.goto(path)
    return page.locator("html").get_attribute("lang")


@pytest.mark.parametrize(("app_lang", "card_lang"), [("en", "es"), ("es", "en")])
def test_showing_a_card_in_another_language_leaves_the_apps_language_alone(
    page, context, users, app_lang, card_lang
):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    # The worker's app language, chosen with the app's own switch.
    page.goto(f"/cards?lang={app_lang}")
    assert _app_lang(page, "/log") == app_lang

    # Shown to a participant in the other language, with the card's switch...
    page.goto("/cards/naloxone")
    assert page.locator(SHOWN).get_attribute("lang") == app_lang
    page.click(f"{SHOWN} [data-card-switch={card_lang}]")
    page.wait_for_url(f"**/cards/naloxone?lang={card_lang}")
    assert page.locator(SHOWN).get_attribute("lang") == card_lang
    assert page.locator("html").get_attribute("lang") == app_lang
    assert _app_lang(page, "/log") == app_lang
    # ...or from an old link or a printed QR code, online...
    page.goto(f"/cards/overdose-response?lang={card_lang}")
    assert page.locator(SHOWN).get_attribute("lang") == card_lang
    assert _app_lang(page, "/log") == app_lang
    assert _app_lang(page, "/outbox") == app_lang
    # ...and offline.
    context.set_offline(True)
    page.goto(f"/cards/wound-care?lang={card_lang}")
    assert page.locator(SHOWN).get_attribute("lang") == card_lang
    assert _app_lang(page, "/log") == app_lang
    assert _app_lang(page, "/cards") == app_lang
    context.set_offline(False)
    # Back online, the kept pages stayed in the app's language.
    assert _app_lang(page, "/directory") == app_lang


def test_log_referral_toggle_offers_matching_services_offline(page, context, live_server, users):
    from outreach.extensions import db
    from outreach.models import DirectoryService
    from outreach.models import ReferralType

    with live_server.app.app_context():
        wound = db.session.scalar(db.select(ReferralType).where(ReferralType.key == "wound_care"))
        db.session.add(
            DirectoryService(
                name="Harbor wound clinic",
                address="9 Pier Rd",
                phone="555-0142",
                hours={"tue": [["09:00", "17:00"]]},
                referral_types=[wound],
            )
        )
        db.session.commit()
    sign_in(page, users.worker)
    wait_offline_ready(page)
    context.set_offline(True)
    page.reload()
    page.check('input[name="referral"][value="wound_care"]')
    panel = page.locator("[data-referral-services]")
    panel.wait_for(state="visible")
    assert "Harbor wound clinic" in panel.inner_text()
    assert panel.locator('a[href="tel:5550142"]').count() == 1
    page.check('input[name="referral"][value="housing"]')
    assert "No services listed for this yet." in panel.inner_text()
    page.uncheck('input[name="referral"][value="wound_care"]')
    page.uncheck('input[name="referral"][value="housing"]')
    panel.wait_for(state="hidden")


def test_directory_notes_typed_in_english_say_so_in_the_spanish_view(client, app):
    from outreach.directory.demo import add_demo_services
    from outreach.extensions import db
    from outreach.models import DirectoryService

    with app.app_context():
        add_demo_services()
        service = db.session.scalars(db.select(DirectoryService)).first()
        service.public_notes = "Walk-ins welcome before noon."
        db.session.commit()
    spanish = client.get("/directory?lang=es").get_data(as_text=True)
    assert 'lang="en"><span class="note-lang" lang="es">Solo en inglés:</span>' in spanish
    english = client.get("/directory?lang=en").get_data(as_text=True)
    assert "note-lang" not in english and "Walk-ins welcome before noon." in english
