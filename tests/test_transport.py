"""Production transport: HSTS, and errors that say when HTTPS or the Referer is the problem."""

from __future__ import annotations

import pytest

from outreach import create_app
from tests.conftest import PASSWORD
from tests.conftest import csrf_token_from
from tests.live import production_env

HTTPS = "https://outreach.example"
PLAIN_HTTP = "http://outreach.example"


@pytest.fixture
def production_app(monkeypatch, database_url, tmp_path, users):
    for name, value in production_env(database_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app()
    yield app
    from outreach.extensions import db

    with app.app_context():
        db.engine.dispose()


def _sign_in(client, username: str) -> None:
    page = client.get("/login", base_url=HTTPS)
    response = client.post(
        "/login",
        base_url=HTTPS,
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        },
        headers={"Referer": f"{HTTPS}/login"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def test_production_answers_carry_strict_transport_security(production_app):
    client = production_app.test_client()
    for path in ("/login", "/cards", "/no-such-page", "/api/v1/session"):
        header = client.get(path, base_url=HTTPS).headers.get("Strict-Transport-Security")
        assert header and "max-age=31536000" in header, path


def test_development_answers_do_not_pin_https(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_signing_in_over_plain_http_in_production_says_https_is_needed(production_app, users):
    page = production_app.test_client().get("/login", base_url=PLAIN_HTTP)
    # A browser neither keeps nor sends a Secure cookie over plain HTTP.
    client = production_app.test_client()
    response = client.post(
        "/login",
        base_url=PLAIN_HTTP,
        data={
            "username": users.worker,
            "password": PASSWORD,
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "https://" in text and "secure connection" in text
    assert "form expired" not in text


def test_sync_without_a_referer_says_so_not_that_the_token_expired(production_app, users):
    client = production_app.test_client()
    _sign_in(client, users.worker)
    token = client.get("/api/v1/session", base_url=HTTPS).get_json()["csrf_token"]
    headers = {"X-CSRFToken": token}
    answer = client.post("/api/v1/sync", base_url=HTTPS, json={"encounters": []}, headers=headers)
    assert answer.status_code == 403
    body = answer.get_json()
    assert body["error"] == "csrf"
    assert "Referer" in body["message"] and "expired" not in body["message"]
    answer = client.post(
        "/api/v1/sync",
        base_url=HTTPS,
        json={"encounters": []},
        headers={**headers, "Referer": f"{HTTPS}/log"},
    )
    assert answer.status_code == 200
