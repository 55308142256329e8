"""/offline-pages.json keeps page revisions until the content they depend on changes."""

from __future__ import annotations

import sqlalchemy as sa

from outreach import pwa
from outreach.directory.services import ServiceValues
from outreach.directory.services import save_service
from outreach.extensions import db
from outreach.models import Card
from outreach.models import Zone
from outreach.models import utcnow


def _pages(client, **kwargs) -> dict[str, str]:
    body = client.get("/offline-pages.json", **kwargs).get_json()
    return {page["url"]: page["revision"] for page in body["pages"]}


def _count_renders(monkeypatch) -> list[str]:
    rendered: list[str] = []
    real = pwa._render_as_visitor

    def counting(url: str):
        rendered.append(url)
        return real(url)

    monkeypatch.setattr(pwa, "_render_as_visitor", counting)
    return rendered


def test_a_second_request_renders_nothing(app, worker_client, monkeypatch):
    rendered = _count_renders(monkeypatch)
    first = _pages(worker_client)
    assert len(rendered) >= len(first) > 5
    rendered.clear()
    assert _pages(worker_client) == first
    assert rendered == []


def test_each_visitor_and_language_gets_its_own_revisions(app, worker_client, client, monkeypatch):
    rendered = _count_renders(monkeypatch)
    _pages(worker_client)
    rendered.clear()
    _pages(client)
    assert rendered  # signed out is rendered as signed out, not served the worker's copies
    rendered.clear()
    _pages(worker_client, headers={"Cookie": "lang=es"})
    _pages(worker_client, query_string={"lang": "es"})
    assert rendered


def test_a_card_change_changes_its_revision(app, client):
    before = _pages(client)
    with app.app_context():
        card = db.session.scalar(sa.select(Card).where(Card.slug == "naloxone", Card.lang == "en"))
        card.body_html += "<p>Reviewed again.</p>"
        card.updated_at = utcnow()
        db.session.commit()
    after = _pages(client)
    assert after["/cards/naloxone"] != before["/cards/naloxone"]
    assert after["/cards/overdose-response"] == before["/cards/overdose-response"]


def test_a_directory_change_changes_its_revision(app, client):
    before = _pages(client)
    with app.app_context():
        save_service(
            None,
            ServiceValues(name="Harbor Clinic", address="1 Quay St", phone="555-0100"),
            actor=None,
        )
    after = _pages(client)
    assert after["/directory"] != before["/directory"]


def test_a_catalogue_change_changes_the_log_page(app, worker_client):
    before = _pages(worker_client)
    with app.app_context():
        zone = db.session.scalar(sa.select(Zone).where(Zone.key == "riverside"))
        zone.name = "Riverside and docks"
        db.session.commit()
    assert _pages(worker_client)["/log"] != before["/log"]


def test_a_new_build_renders_again(app, worker_client, monkeypatch):
    _pages(worker_client)
    rendered = _count_renders(monkeypatch)
    monkeypatch.setattr(pwa, "build_id", lambda: "a-new-deploy")
    _pages(worker_client)
    assert rendered
