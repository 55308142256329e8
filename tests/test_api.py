"""GET /api/v1/session and /api/v1/catalog."""

from __future__ import annotations

import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import SupplyItem


def test_session_names_the_user_and_gives_a_csrf_token(worker_client, users):
    body = worker_client.get("/api/v1/session").get_json()
    assert body["user"] == {"username": users.worker, "role": "worker"}
    assert len(body["csrf_token"]) > 20


def test_session_answers_401_json_when_signed_out(client):
    response = client.get("/api/v1/session")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_api_answers_are_never_cached(worker_client):
    assert worker_client.get("/api/v1/session").headers["Cache-Control"] == "no-store"
    assert worker_client.get("/api/v1/catalog").headers["Cache-Control"] == "no-store"


def test_catalog_lists_active_items_referrals_and_zones(worker_client):
    body = worker_client.get("/api/v1/catalog").get_json()
    assert set(body) >= {"version", "supplies", "referral_types", "zones"}
    keys = [s["key"] for s in body["supplies"]]
    assert "syringe_1ml_27g" in keys and "naloxone_nasal" in keys
    for item in body["supplies"]:
        assert set(item) >= {"key", "name", "unit"}
    assert {"key": "wound_care", "name": "Wound care"} in body["referral_types"]
    assert {"key": "riverside", "name": "Riverside"} in body["zones"]


def test_catalog_version_changes_when_the_catalogue_does(app, worker_client):
    before = worker_client.get("/api/v1/catalog").get_json()
    with app.app_context():
        item = db.session.scalar(sa.select(SupplyItem).where(SupplyItem.key == "cooker"))
        item.active = False
        db.session.commit()
    after = worker_client.get("/api/v1/catalog").get_json()
    assert after["version"] != before["version"]
    assert "cooker" not in [s["key"] for s in after["supplies"]]
    assert worker_client.get("/api/v1/catalog").get_json()["version"] == after["version"]


def test_catalog_names_follow_the_language(worker_client):
    body = worker_client.get("/api/v1/catalog?lang=es").get_json()
    names = {s["key"]: s["name"] for s in body["supplies"]}
    assert names["naloxone_nasal"] == "Naloxona en aerosol nasal"
