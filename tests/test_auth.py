"""Sign-in, throttling, sessions, deactivation and safe redirects."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from outreach import ratelimit
from outreach.auth.views import safe_next
from outreach.extensions import db
from outreach.models import User
from tests.conftest import PASSWORD
from tests.conftest import AuthActions


def test_login_signs_in_and_redirects_home(client, auth, users):
    response = auth.login(users.worker)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 302
    assert home.headers["Location"] == "/log"
    assert client.get("/log").status_code == 200


def test_login_is_case_insensitive_on_username(auth, users):
    assert auth.login(users.worker.upper()).status_code == 302


def test_login_with_wrong_password_says_so(auth, users):
    response = auth.login(users.worker, "wrong password")
    assert response.status_code == 401
    assert "do not match an active account" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, users):
    response = client.post("/login", data={"username": users.worker, "password": PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_passwords_are_stored_hashed(app, users):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == users.worker))
        assert PASSWORD not in user.password_hash
        assert user.check_password(PASSWORD)
        assert not user.check_password(PASSWORD + "x")


def test_repeated_failed_logins_are_throttled_with_a_clear_message(app, auth, users):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert auth.login(users.worker, "wrong password").status_code == 401
    throttled = auth.login(users.worker)  # even the right password waits now
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    text = throttled.get_data(as_text=True)
    assert "Too many failed sign-ins" in text
    assert "1 minute," in text


def test_throttle_lifts_after_the_wait(app, auth, users, monkeypatch):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        auth.login(users.worker, "wrong password")
    assert auth.login(users.worker).status_code == 429
    later = time.time() + 61
    monkeypatch.setattr(ratelimit, "clock", lambda: later)
    assert auth.login(users.worker).status_code == 302


def test_unknown_usernames_are_throttled_too(app, auth, users):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert auth.login("nobody", "guess").status_code == 401
    assert auth.login("nobody", "guess").status_code == 429


def test_deactivated_user_is_signed_out_at_next_request(app, worker_client, users):
    assert worker_client.get("/api/v1/session").status_code == 200
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == users.worker))
        user.active = False
        db.session.commit()
    assert worker_client.get("/api/v1/session").status_code == 401
    page = worker_client.get("/")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/login")


def test_deactivated_user_cannot_sign_in(app, auth, users):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == users.worker))
        user.active = False
        db.session.commit()
    assert auth.login(users.worker).status_code == 401


def test_rotating_the_session_token_signs_out_every_device(app, users):
    phones = [app.test_client() for _ in range(2)]
    for phone in phones:
        AuthActions(phone).login(users.worker, remember=True)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == users.worker))
        user.rotate_session_token()
        db.session.commit()
    for phone in phones:
        assert phone.get("/api/v1/session").status_code == 401


def test_session_lasts_a_shift_and_remember_me_keeps_it_longer(app, client, users):
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    assert app.config["REMEMBER_COOKIE_DURATION"] >= timedelta(days=7)
    AuthActions(client).login(users.worker)
    assert client.get_cookie("session") is not None
    assert client.get_cookie("remember_token") is None
    remembered = app.test_client()
    AuthActions(remembered).login(users.worker, remember=True)
    cookie = remembered.get_cookie("remember_token")
    assert cookie is not None
    assert cookie.http_only


def test_remember_cookie_restores_a_session_after_the_browser_forgets_it(app, users):
    phone = app.test_client()
    AuthActions(phone).login(users.worker, remember=True)
    phone.delete_cookie("session")
    assert phone.get("/api/v1/session").status_code == 200


def test_logout_requires_post_with_csrf(worker_client):
    assert worker_client.get("/logout").status_code == 405
    assert worker_client.post("/logout").status_code == 400
    assert worker_client.get("/api/v1/session").status_code == 200


def test_logout_signs_out(client, auth, users):
    auth.login(users.worker)
    response = auth.logout()
    assert response.status_code == 302
    assert client.get("/api/v1/session").status_code == 401


def test_login_follows_a_safe_next(auth, users):
    response = auth.login(users.worker, query_string={"next": "/api/v1/session"})
    assert response.headers["Location"] == "/api/v1/session"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/log", "/log"),
        ("/reports?start=2026-11-01", "/reports?start=2026-11-01"),
        ("https://evil.example/", None),
        ("//evil.example/path", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("log", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_next_only_allows_local_paths(target, expected):
    assert safe_next(target) == expected


def test_login_ignores_an_offsite_next(auth, users):
    response = auth.login(users.worker, query_string={"next": "https://evil.example/"})
    assert response.headers["Location"] == "/"


def test_signed_in_visit_to_login_goes_home(worker_client):
    response = worker_client.get("/login")
    assert response.status_code == 302


def test_many_workers_signing_in_at_once_all_get_in(app):
    """Shift start: simultaneous sign-ins each write to the database; none may fail."""
    import threading

    from outreach.auth import services as auth_services
    from outreach.models import Role

    names = [f"shift-{n}" for n in range(8)]
    with app.app_context():
        for name in names:
            auth_services.create_user(name, Role.WORKER, PASSWORD)
    clients = [app.test_client() for _ in names]
    tokens = [AuthActions(c)._client.get("/login") for c in clients]
    barrier = threading.Barrier(len(names))
    statuses: list = [None] * len(names)

    def sign_in(index: int) -> None:
        from tests.conftest import csrf_token_from

        token = csrf_token_from(tokens[index].get_data(as_text=True))
        barrier.wait()
        response = clients[index].post(
            "/login",
            data={"username": names[index], "password": PASSWORD, "csrf_token": token},
        )
        statuses[index] = response.status_code

    threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(len(names))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [302] * len(names)
