"""Sign-in, throttling, sessions, deactivation and safe redirects."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from outreach import ratelimit
from outreach.auth import services as auth_services
from outreach.auth.views import safe_next
from outreach.extensions import db
from outreach.models import AuditEvent
from outreach.models import Role
from outreach.models import User
from tests.conftest import PASSWORD
from tests.conftest import AuthActions
from tests.conftest import csrf_token_from


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


ATTACKER = {"REMOTE_ADDR": "198.51.100.66"}
PHONE = {"REMOTE_ADDR": "192.0.2.10"}


def _login_from(app, address: dict, username: str, password: str = PASSWORD):
    return AuthActions(app.test_client()).login(username, password, environ_base=address)


def test_a_throttled_client_is_refused_even_with_the_right_password(app, users):
    limit = app.config["LOGIN_MAX_FAILURES"] * auth_services.CLIENT_FAILURE_MULTIPLIER
    # Password spraying: a few guesses at many names, never five at any one.
    for n in range(limit):
        assert _login_from(app, ATTACKER, f"name-{n % 10}", "Summer2026!").status_code == 401
    refused = _login_from(app, ATTACKER, users.admin)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert _login_from(app, PHONE, users.admin).status_code == 302


def test_wrong_passwords_from_one_client_do_not_lock_the_worker_out(app, users):
    for _ in range(app.config["LOGIN_MAX_FAILURES"] * 2):
        _login_from(app, ATTACKER, users.worker, "wrong password")
    assert _login_from(app, ATTACKER, users.worker).status_code == 429
    assert _login_from(app, PHONE, users.worker).status_code == 302


def test_each_further_failure_doubles_the_wait(app, users, monkeypatch):
    now = [time.time()]
    monkeypatch.setattr(ratelimit, "clock", lambda: now[0])
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _login_from(app, ATTACKER, users.worker, "wrong password")
    waits = []
    for _ in range(3):
        refused = _login_from(app, ATTACKER, users.worker)
        assert refused.status_code == 429
        wait = int(refused.headers["Retry-After"])
        waits.append(wait)
        now[0] += wait + 1
        assert _login_from(app, ATTACKER, users.worker, "wrong again").status_code == 401
    assert waits == [60, 120, 240]
    # A success from that client clears its count for the account.
    now[0] += 481
    assert _login_from(app, ATTACKER, users.worker).status_code == 302
    assert _login_from(app, ATTACKER, users.worker, "one typo").status_code == 401
    assert _login_from(app, ATTACKER, users.worker).status_code == 302


def test_unknown_username_takes_as_long_as_a_wrong_password(make_app, users):
    # A deliberately slow hash, so that skipping it would show.
    app = make_app(PASSWORD_HASH_METHOD="pbkdf2:sha256:100000")
    with app.app_context():
        auth_services.create_user("slowhash", Role.WORKER, PASSWORD)

        def timed(username: str) -> float:
            started = time.perf_counter()
            result = auth_services.authenticate(username, "not it", client="203.0.113.1")
            assert result.outcome is auth_services.LoginOutcome.BAD_CREDENTIALS
            return time.perf_counter() - started

        timed("nobody-at-all")  # warm the dummy hash
        deactivated_user = auth_services.create_user("gone", Role.WORKER, PASSWORD)
        deactivated_user.active = False
        db.session.commit()
        # Interleaved, and the fastest of each: other work on the machine only adds time.
        samples: dict[str, list[float]] = {"known": [], "unknown": [], "deactivated": []}
        for n in range(5):
            samples["known"].append(timed("slowhash"))
            samples["unknown"].append(timed(f"nobody-{n}"))
            samples["deactivated"].append(timed("gone"))
    fastest = {kind: min(times) for kind, times in samples.items()}
    # Skipping the hash would make these about a hundred times faster, not a little.
    assert 0.4 < fastest["unknown"] / fastest["known"] < 2.5, samples
    assert 0.4 < fastest["deactivated"] / fastest["known"] < 2.5, samples


def _lock_out(app, username: str) -> None:
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        _login_from(app, ATTACKER, username, "wrong password")
    assert _login_from(app, ATTACKER, username).status_code == 429


def test_supervisor_lifts_a_lockout_and_it_is_audited(app, users, supervisor_client):
    _lock_out(app, users.worker)
    page = supervisor_client.get("/account/lockouts")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert users.worker in text and "1 more minute" in text
    with app.app_context():
        wendy = db.session.scalar(sa.select(User).where(User.username == users.worker))
    token = csrf_token_from(text)
    response = supervisor_client.post(
        f"/account/lockouts/{wendy.id}/lift", data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert _login_from(app, ATTACKER, users.worker).status_code == 302
    assert "No account is paused" in supervisor_client.get("/account/lockouts").get_data(
        as_text=True
    )
    with app.app_context():
        event = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "user.unlock")
        ).one()
        assert event.actor.username == users.supervisor and event.target_id == str(wendy.id)


def test_admin_lifts_a_lockout_from_the_user_page(app, users, admin_client):
    _lock_out(app, users.worker)
    with app.app_context():
        wendy = db.session.scalar(sa.select(User).where(User.username == users.worker))
    page = admin_client.get(f"/admin/users/{wendy.id}").get_data(as_text=True)
    assert "Sign-in is paused" in page
    response = admin_client.post(
        f"/admin/users/{wendy.id}/unlock", data={"csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 302
    assert _login_from(app, ATTACKER, users.worker).status_code == 302
    assert "Sign-in lockout lifted" in admin_client.get("/admin/audit").get_data(as_text=True)


def test_workers_cannot_lift_lockouts(app, users, worker_client):
    _lock_out(app, users.supervisor)
    assert worker_client.get("/account/lockouts").status_code == 403
    with app.app_context():
        sam = db.session.scalar(sa.select(User).where(User.username == users.supervisor))
    token = csrf_token_from(worker_client.get("/account").get_data(as_text=True))
    lifted = worker_client.post(f"/account/lockouts/{sam.id}/lift", data={"csrf_token": token})
    assert lifted.status_code == 403
    assert _login_from(app, ATTACKER, users.supervisor).status_code == 429


def test_failures_and_lockouts_are_logged_without_addresses_or_unknown_names(
    app, users, auth_events, caplog
):
    _login_from(app, ATTACKER, "no-such-person", "secret-guess")
    _lock_out(app, users.worker)
    with app.app_context():
        wendy = db.session.scalar(sa.select(User).where(User.username == users.worker))
    failures = auth_events("auth.login_failed")
    assert [r.user_id for r in failures] == [None] + [wendy.id] * 5
    lockouts = auth_events("auth.lockout")
    assert lockouts and lockouts[-1].user_id == wendy.id and lockouts[-1].by == "account"
    logged = " ".join(repr(vars(r)) for r in caplog.records)
    for secret in ("198.51.100.66", "no-such-person", "secret-guess", "wrong password"):
        assert secret not in logged
    # Nor in the shared counters.
    with app.app_context():
        stored = repr(db.session.execute(sa.text("SELECT * FROM rate_limit_counter")).all())
    assert "198.51.100" not in stored and "no-such-person" not in stored


def _field_of(html: str, error_id: str) -> str:
    """The id of the input an error message is tied to (aria-describedby), or ''."""
    import re

    match = re.search(rf'<input[^>]*aria-describedby="{error_id}"[^>]*>', html)
    if not match:
        return ""
    found = re.search(r'\bid="([^"]+)"', match.group(0))
    return found.group(1) if found else ""


def test_a_password_too_short_is_refused_beside_the_password_field(app, admin_client):
    page = admin_client.get("/admin/users").get_data(as_text=True)
    response = admin_client.post(
        "/admin/users",
        data={
            "username": "newcomer",
            "role": "worker",
            "password": "short",
            "csrf_token": csrf_token_from(page),
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="password-error"' in html and "Use at least 10 characters." in html
    assert _field_of(html, "password-error") == "password"
    assert 'id="username-error"' not in html


def test_a_new_password_too_short_is_refused_beside_its_field(app, admin_client, users):
    with app.app_context():
        worker_id = db.session.scalar(sa.select(User.id).where(User.username == users.worker))
    page = admin_client.get(f"/admin/users/{worker_id}").get_data(as_text=True)
    response = admin_client.post(
        f"/admin/users/{worker_id}/password",
        data={"password": "short", "csrf_token": csrf_token_from(page)},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _field_of(html, "password-error") == "password"
    assert "Use at least 10 characters." in html
