"""Service worker, manifest and the list of pages kept offline."""

from __future__ import annotations

import sqlalchemy as sa

from outreach import pwa
from outreach.extensions import db
from outreach.models import SupplyItem


def _pages(client, **kwargs) -> dict[str, str]:
    body = client.get("/offline-pages.json", **kwargs).get_json()
    return {page["url"]: page["revision"] for page in body["pages"]}


def _optional_pages(app) -> set[str]:
    """Pages other features add to the list, when they are installed."""
    urls = set()
    if "cards.index" in app.view_functions:
        urls.add("/cards")
    if "directory.index" in app.view_functions:
        urls.add("/directory")
    return urls


def test_offline_pages_for_a_worker_include_log_outbox_and_manifest(app, worker_client):
    pages = _pages(worker_client)
    assert {"/log", "/outbox", "/manifest.webmanifest"} | _optional_pages(app) <= set(pages)


def test_offline_pages_for_a_visitor_leave_out_worker_pages(app, client):
    body = client.get("/offline-pages.json").get_json()
    urls = {page["url"] for page in body["pages"]}
    assert "/log" not in urls and "/outbox" not in urls
    assert {"/manifest.webmanifest"} | _optional_pages(app) <= urls
    assert body["signed_in"] is False


def test_offline_pages_never_list_staff_pages_or_the_api(app, worker_client):
    pwa.register_offline_pages(
        app, lambda: ["/reports", "/admin/users", "/api/v1/catalog", "/login", "/log"]
    )
    urls = set(_pages(worker_client))
    assert not {u for u in urls if u.startswith(("/reports", "/admin", "/api", "/login"))}
    assert "/log" in urls


def test_offline_page_revisions_are_stable_and_follow_changes(app, worker_client):
    before = _pages(worker_client)
    assert _pages(worker_client) == before
    with app.app_context():
        item = db.session.scalar(sa.select(SupplyItem).where(SupplyItem.key == "cooker"))
        item.name = "Cookers (steel)"
        db.session.commit()
    after = _pages(worker_client)
    assert after["/log"] != before["/log"]
    assert after["/outbox"] == before["/outbox"]


def test_offline_page_revisions_follow_the_language(worker_client):
    english = _pages(worker_client)
    worker_client.get("/log?lang=es")
    spanish = _pages(worker_client)
    assert spanish["/log"] != english["/log"]


def test_offline_pages_list_is_never_cached_and_names_the_build(app, worker_client):
    response = worker_client.get("/offline-pages.json")
    assert response.headers["Cache-Control"] == "no-store"
    with app.app_context():
        assert response.get_json()["build"] == pwa.build_id() != ""


def test_offline_pages_listing_does_not_consume_flashed_messages(worker_client):
    with worker_client.session_transaction() as session:
        session["_flashes"] = [("info", "Still here")]
    worker_client.get("/offline-pages.json")
    assert "Still here" in worker_client.get("/log").get_data(as_text=True)


def test_service_worker_is_served_at_the_root_uncached(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert b"__WB_MANIFEST" not in response.data  # injectManifest filled the precache list
    again = client.get("/sw.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_service_worker_never_caches_staff_pages_or_the_api(client):
    source = client.get("/sw.js").get_data(as_text=True)
    for pattern in (r"^\/api\/", r"^\/reports(\/|$)", r"^\/admin(\/|$)"):
        assert pattern in source


def test_manifest_makes_the_app_installable(client, project_dir):
    response = client.get("/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    body = response.get_json()
    assert body["start_url"] == "/log"
    assert body["display"] == "standalone"
    assert body["theme_color"]
    sizes = {(icon["sizes"], icon["purpose"]) for icon in body["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in body["icons"]:
        path = project_dir / icon["src"].lstrip("/")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pages_link_the_manifest_and_touch_icon(client, project_dir):
    html = client.get("/login").get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert 'rel="apple-touch-icon" href="/static/icons/apple-touch-icon.png"' in html
    assert (project_dir / "static/icons/apple-touch-icon.png").is_file()


def test_cacheable_path_refuses_other_hosts_and_staff_paths():
    assert pwa.is_cacheable_path("/cards/naloxone?lang=es")
    assert not pwa.is_cacheable_path("https://example.org/log")
    assert not pwa.is_cacheable_path("/reports/summary.json")
    assert not pwa.is_cacheable_path("/admin")
    assert pwa.is_cacheable_path("/administrative-help")


def test_offline_copy_in_another_language_does_not_change_the_visitors_language(worker_client):
    worker_client.get("/log?lang=en")
    copy = worker_client.get("/log?lang=es", headers={pwa.OFFLINE_COPY_HEADER: "1"})
    assert "Registrar un encuentro" in copy.get_data(as_text=True)
    assert "lang=" not in copy.headers.get("Set-Cookie", "")
    assert "Log an encounter" in worker_client.get("/log").get_data(as_text=True)
