"""/log and /outbox: the page hooks, the catalogue on the form, and what may be cached."""

from __future__ import annotations

import re

import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import ReferralType
from outreach.models import SupplyItem
from outreach.models import Zone
from outreach.pwa import OFFLINE_COPY_HEADER


def _active_keys(app, model) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(model.key).where(model.active)))


def test_log_page_has_the_hooks_outside_checks_use(app, worker_client):
    html = worker_client.get("/log").get_data(as_text=True)
    form = re.search(r'<form id="encounter-form".*?</form>', html, re.S).group(0)
    supplies = set(re.findall(r'<input type="number"[^>]*name="supply\.([\w]+)"', form))
    assert supplies == _active_keys(app, SupplyItem)
    assert '<select id="zone" name="zone">' in form
    assert set(re.findall(r'<option value="(\w+)">', form)) == _active_keys(app, Zone)
    assert 'name="participant_code"' in form
    referrals = set(re.findall(r'<input type="checkbox" name="referral" value="(\w+)"', form))
    assert referrals == _active_keys(app, ReferralType)
    assert re.search(r'<input type="number"[^>]*name="people_served"', form)
    assert re.search(r'<input type="number"[^>]*name="syringes_collected"', form)
    assert '<button type="submit"' in form
    assert re.search(r"data-outbox-count>0<", html)


def test_log_form_offers_quick_amounts_from_the_catalogue(worker_client):
    html = worker_client.get("/log").get_data(as_text=True)
    block = html.split('for="supply-syringe_1ml_27g"', 1)[1].split('class="supply"', 1)[0]
    assert re.findall(r'data-add="(\d+)"', block) == ["10", "20", "50"]
    assert 'data-step="-1"' in block and 'data-step="1"' in block


def test_log_form_leaves_out_deactivated_items(app, worker_client):
    with app.app_context():
        item = db.session.scalar(sa.select(SupplyItem).where(SupplyItem.key == "cooker"))
        item.active = False
        db.session.commit()
    assert 'name="supply.cooker"' not in worker_client.get("/log").get_data(as_text=True)


def test_log_form_follows_the_language(worker_client):
    html = worker_client.get("/log?lang=es").get_data(as_text=True)
    assert "Registrar un encuentro" in html
    assert "Naloxona en aerosol nasal" in html


def test_outbox_page_shows_the_count_and_the_device_controls(worker_client):
    html = worker_client.get("/outbox").get_data(as_text=True)
    assert re.search(r"data-outbox-count>0<", html)
    assert "data-rejected-list" in html and "data-clear-device" in html


def test_worker_pages_need_a_signed_in_worker(client):
    for path in ("/log", "/outbox"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_home_sends_signed_in_staff_to_the_log(supervisor_client):
    response = supervisor_client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/log"


def test_worker_pages_may_be_kept_offline_but_not_shared(worker_client):
    for path in ("/log", "/outbox"):
        assert worker_client.get(path).headers["Cache-Control"] == "private, no-cache"


def test_other_signed_in_answers_stay_no_store(worker_client):
    assert worker_client.get("/").headers["Cache-Control"] == "no-store"
    assert worker_client.get("/no-such-page").headers["Cache-Control"] == "no-store"


def test_offline_copy_has_no_csrf_token_or_flashed_message(worker_client):
    with worker_client.session_transaction() as session:
        session["_flashes"] = [("info", "A one-time message")]
    copy = worker_client.get("/log", headers={OFFLINE_COPY_HEADER: "1"}).get_data(as_text=True)
    assert 'name="csrf_token"' not in copy
    assert "A one-time message" not in copy
    live = worker_client.get("/log").get_data(as_text=True)
    assert 'name="csrf_token"' in live
    assert "A one-time message" in live


def test_offline_copy_is_the_same_on_every_fetch(worker_client):
    first = worker_client.get("/log", headers={OFFLINE_COPY_HEADER: "1"}).get_data()
    second = worker_client.get("/log", headers={OFFLINE_COPY_HEADER: "1"}).get_data()
    assert first == second


def test_shared_worker_strings_come_once_from_a_kept_script(worker_client):
    """Every worker page shares one kept script of strings instead of each carrying them."""
    page = worker_client.get("/outbox").get_data(as_text=True)
    assert '<script defer src="/log/strings.js?lang=en"></script>' in page
    strings = re.search(r"id=\"worker-strings\">(.*?)</script>", page).group(1)
    assert "Sign out anyway" not in strings  # shared: in the script, not in each page
    kept = [p["url"] for p in worker_client.get("/offline-pages.json").get_json()["pages"]]
    assert "/log/strings.js?lang=en" in kept
    response = worker_client.get("/log/strings.js?lang=es")
    assert response.mimetype == "text/javascript"
    assert "self.outreachWorkerStrings = " in response.get_data(as_text=True)
    assert "Todos los registros se enviaron." in response.get_data(as_text=True)
    # Asking for the strings in the page's language is not choosing the app's language.
    assert "lang=" not in response.headers.get("Set-Cookie", "")


def test_the_shift_view_is_a_section_of_the_outbox(worker_client):
    page = worker_client.get("/outbox").get_data(as_text=True)
    assert '<section id="shift"' in page and "data-shift-list" in page
    # Old links and bookmarks lead there.
    response = worker_client.get("/log/shift")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/outbox#shift")
    kept = [p["url"] for p in worker_client.get("/offline-pages.json").get_json()["pages"]]
    assert "/log/shift" not in kept and "/outbox" in kept
