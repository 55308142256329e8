"""Signed-in sessions live on the server: sign-out and sign-out-everywhere end them for real."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import AuditEvent
from outreach.models import User
from outreach.models import UserSession
from tests.conftest import PASSWORD
from tests.conftest import AuthActions
from tests.conftest import csrf_token_from


def _cookies(client) -> dict[str, str]:
    return {name: client.get_cookie(name).value for name in ("session", "remember_token")}


def _replay(app, cookies: dict[str, str]):
    """A new browser holding copies of another's cookies."""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    return thief


def _signed_in_phone(app, username: str, remember: bool = True):
    phone = app.test_client()
    assert AuthActions(phone).login(username, remember=remember).status_code == 302
    return phone


def _post_form(client, path: str, page: str = "/account"):
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token})


def test_sign_out_clears_the_remember_cookie(app, users):
    phone = _signed_in_phone(app, users.worker)
    assert phone.get_cookie("remember_token") is not None
    response = AuthActions(phone).logout()
    assert response.status_code == 302
    assert phone.get_cookie("remember_token") is None
    assert phone.get("/api/v1/session").status_code == 401
    page = phone.get("/log")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")


def test_cookies_copied_before_sign_out_reach_nothing_afterwards(app, users):
    phone = _signed_in_phone(app, users.worker)
    copied = _cookies(phone)
    assert _replay(app, copied).get("/api/v1/session").status_code == 200
    AuthActions(phone).logout()
    for cookies in (
        copied,
        {"session": copied["session"]},
        {"remember_token": copied["remember_token"]},
    ):
        thief = _replay(app, cookies)
        answer = thief.get("/api/v1/session")
        assert answer.status_code == 401
        assert answer.get_json()["error"] == "unauthorized"
        assert thief.get("/log").status_code == 302
        assert thief.get("/account").status_code == 302


def test_sign_out_on_one_device_leaves_the_others_signed_in(app, users):
    phone, laptop = (_signed_in_phone(app, users.worker) for _ in range(2))
    AuthActions(phone).logout()
    assert phone.get("/api/v1/session").status_code == 401
    assert laptop.get("/api/v1/session").status_code == 200


def test_cookies_carry_a_random_token_the_database_keeps_only_hashed(app, users):
    phone = _signed_in_phone(app, users.worker)
    cookies = _cookies(phone)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == users.worker))
        rows = db.session.scalars(sa.select(UserSession)).all()
        assert len(rows) == 1 and rows[0].user_id == user.id and rows[0].remember
        stored = repr([(r.id, r.generation) for r in rows])
    token = cookies["remember_token"].split("|")[0]
    assert len(token) >= 40
    assert token not in stored
    assert f"{user.id}:" not in cookies["remember_token"]


def test_an_idle_shift_session_ends_on_the_server_too(app, users):
    phone = _signed_in_phone(app, users.worker, remember=False)
    with app.app_context():
        row = db.session.scalars(sa.select(UserSession)).one()
        assert row.expires_at - row.created_at == app.config["PERMANENT_SESSION_LIFETIME"]
        row.expires_at = row.last_seen_at = row.created_at - timedelta(minutes=1)
        db.session.commit()
    assert phone.get("/api/v1/session").status_code == 401


def test_keep_me_signed_in_lasts_30_days_from_sign_in(app, users):
    phone = _signed_in_phone(app, users.worker, remember=True)
    with app.app_context():
        row = db.session.scalars(sa.select(UserSession)).one()
        assert row.expires_at - row.created_at == app.config["REMEMBER_COOKIE_DURATION"]
    phone.delete_cookie("session")
    assert phone.get("/api/v1/session").status_code == 200


def test_use_is_noted_and_slides_a_shift_session(app, users):
    phone = _signed_in_phone(app, users.worker, remember=False)
    with app.app_context():
        row = db.session.scalars(sa.select(UserSession)).one()
        row.last_seen_at -= timedelta(hours=2)
        row.expires_at -= timedelta(hours=2)
        db.session.commit()
    assert phone.get("/api/v1/session").status_code == 200
    with app.app_context():
        row = db.session.scalars(sa.select(UserSession)).one()
        assert row.expires_at > row.created_at + app.config["PERMANENT_SESSION_LIFETIME"]


def test_worker_signs_out_everywhere_from_the_account_page(app, users, auth_events):
    phone, lost_phone = (_signed_in_phone(app, users.worker) for _ in range(2))
    other_worker = _signed_in_phone(app, users.supervisor)
    page = phone.get("/account")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Sign out everywhere" in text and "this device" in text
    assert 'href="/account"' in phone.get("/log").get_data(as_text=True)  # in the header
    copied = _cookies(lost_phone)
    response = _post_form(phone, "/account/sign-out-everywhere")
    assert response.status_code == 302
    assert phone.get_cookie("remember_token") is None
    for client in (phone, lost_phone, _replay(app, copied)):
        assert client.get("/api/v1/session").status_code == 401
    assert other_worker.get("/api/v1/session").status_code == 200
    assert _signed_in_phone(app, users.worker).get("/api/v1/session").status_code == 200
    events = auth_events("auth.sign_out_everywhere")
    assert len(events) == 1 and events[0].sessions == 2


def test_sign_out_everywhere_needs_the_form_token(app, users):
    phone = _signed_in_phone(app, users.worker)
    assert phone.post("/account/sign-out-everywhere").status_code == 400
    assert phone.get("/api/v1/session").status_code == 200


def test_admin_signs_a_user_out_everywhere_with_an_audit_entry(app, users, admin_client):
    phones = [_signed_in_phone(app, users.worker) for _ in range(2)]
    with app.app_context():
        wendy = db.session.scalar(sa.select(User).where(User.username == users.worker))
    page = admin_client.get(f"/admin/users/{wendy.id}")
    assert "Signed in on 2 devices" in page.get_data(as_text=True)
    response = _post_form(
        admin_client, f"/admin/users/{wendy.id}/sign-out-everywhere", f"/admin/users/{wendy.id}"
    )
    assert response.status_code == 302
    for phone in phones:
        assert phone.get("/api/v1/session").status_code == 401
    assert admin_client.get("/api/v1/session").status_code == 200
    with app.app_context():
        event = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "user.sign_out_everywhere")
        ).one()
        assert event.actor.username == users.admin and event.target_id == str(wendy.id)
    assert "Signed out everywhere" in admin_client.get("/admin/audit").get_data(as_text=True)


def test_only_admins_sign_others_out(app, users, supervisor_client):
    phone = _signed_in_phone(app, users.worker)
    with app.app_context():
        wendy = db.session.scalar(sa.select(User).where(User.username == users.worker))
    response = _post_form(supervisor_client, f"/admin/users/{wendy.id}/sign-out-everywhere")
    assert response.status_code == 403
    assert phone.get("/api/v1/session").status_code == 200


def test_password_reset_and_deactivation_still_sign_out_everywhere(app, users, admin_client):
    phone = _signed_in_phone(app, users.worker)
    with app.app_context():
        wendy = db.session.scalar(sa.select(User).where(User.username == users.worker))
    page = f"/admin/users/{wendy.id}"
    token = csrf_token_from(admin_client.get(page).get_data(as_text=True))
    admin_client.post(f"{page}/password", data={"csrf_token": token, "password": PASSWORD + " new"})
    assert phone.get("/api/v1/session").status_code == 401
    phone = app.test_client()
    assert AuthActions(phone).login(users.worker, PASSWORD + " new").status_code == 302
    token = csrf_token_from(admin_client.get(f"{page}/deactivate").get_data(as_text=True))
    admin_client.post(f"{page}/deactivate", data={"csrf_token": token})
    assert phone.get("/api/v1/session").status_code == 401


# --- The screen lock, as the server knows it (outreach/auth/lock.py) -------------------------

LOCK_REACHABLE = {
    "static",
    "auth.login",
    "auth.lock_screen",
    "pwa.service_worker",
    "pwa.manifest",
    "api.openapi",
}


def signed_in_get_paths(app) -> list[tuple[str, str]]:
    """Every GET page and answer of the app (from its url_map), with sample arguments: new
    pages are covered as soon as they exist."""
    samples = {"int": "1", "default": "x", "string": "x", "path": "x"}
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in LOCK_REACHABLE:
            continue
        if rule.endpoint.startswith("health."):
            continue
        values = {}
        for name in rule.arguments:
            converter = type(rule._converters[name]).__name__.lower()
            values[name] = "1" if "integer" in converter else samples["default"]
        path = rule.rule
        for name, value in values.items():
            path = path.replace(f"<{name}>", value)
            for prefix in ("int", "string", "path"):
                path = path.replace(f"<{prefix}:{name}>", value)
        paths.append((rule.endpoint, path))
    return paths


def _json_post(client, path: str, body: dict):
    return client.post(path, json=body)


def _lock(client):
    assert _json_post(client, "/lock/session", {}).status_code == 200


def test_a_locked_session_reaches_nothing_but_the_lock(app, users):
    for username in (users.worker, users.supervisor, users.admin):
        phone = _signed_in_phone(app, username)
        _lock(phone)
        for endpoint, path in signed_in_get_paths(app):
            response = phone.get(path)
            body = response.get_data(as_text=True)
            assert response.status_code == 423, (username, endpoint, path, response.status_code)
            assert "no-store" in response.headers["Cache-Control"], path
            if response.is_json:
                assert response.get_json()["error"] == "locked", path
            else:
                # The lock page only: no menu, no sign-out form, no token, no content.
                assert "data-lock" in body and "data-lock-form" in body, path
                assert "csrf_token" not in body and 'href="/reports' not in body, path
                assert "site-nav" not in body, path
            assert username not in body, (path, "the lock names nobody")


def test_a_locked_session_api_gives_no_token_or_user(app, users):
    phone = _signed_in_phone(app, users.worker)
    assert phone.get("/api/v1/session").status_code == 200
    _lock(phone)
    answer = phone.get("/api/v1/session")
    assert answer.status_code == 423
    assert set(answer.get_json()) == {"error", "message"}
    # A copy of the cookies is locked too: the lock belongs to the session, not the browser.
    thief = _replay(app, _cookies(phone))
    assert thief.get("/api/v1/session").status_code == 423
    assert thief.get("/reports/export.csv").status_code == 423
    # Writes are refused as well; the session cannot give itself a new unlock key.
    assert _json_post(phone, "/lock/key", {"key": "k" * 43}).status_code == 423


def test_unlocking_needs_the_pin_key_or_the_password(app, users):
    phone = _signed_in_phone(app, users.worker)
    key = "a" * 43
    assert _json_post(phone, "/lock/key", {"key": key}).status_code == 200
    _lock(phone)
    wrong_key = _json_post(phone, "/lock/unlock", {"key": "b" * 43})
    assert wrong_key.status_code == 403 and "pin" in wrong_key.get_json()["errors"]
    wrong_password = _json_post(phone, "/lock/unlock", {"password": "not it at all"})
    assert wrong_password.status_code == 403
    assert wrong_password.get_json()["errors"]["password"] == "Wrong password."
    assert phone.get("/api/v1/session").status_code == 423
    assert _json_post(phone, "/lock/unlock", {"key": key}).status_code == 200
    assert phone.get("/api/v1/session").status_code == 200
    _lock(phone)
    assert _json_post(phone, "/lock/unlock", {"password": PASSWORD}).status_code == 200
    assert phone.get("/log").status_code == 200


def test_locking_and_unlocking_take_only_json(app, users):
    """No other site can lock or unlock a session with a form (no CSRF token while locked)."""
    phone = _signed_in_phone(app, users.worker)
    assert phone.post("/lock/session", data={"x": "1"}).status_code == 400
    assert phone.get("/api/v1/session").status_code == 200
    _lock(phone)
    form = phone.post("/lock/unlock", data={"password": PASSWORD})
    assert form.status_code == 400
    assert phone.get("/api/v1/session").status_code == 423


def test_wrong_passwords_at_the_lock_are_throttled_like_sign_in(app, users):
    phone = _signed_in_phone(app, users.worker)
    _lock(phone)
    statuses = [
        _json_post(phone, "/lock/unlock", {"password": f"wrong {n}"}).status_code
        for n in range(app.config["LOGIN_MAX_FAILURES"] + 1)
    ]
    assert statuses[-1] == 429
    # Throttled: even the right password waits.
    assert _json_post(phone, "/lock/unlock", {"password": PASSWORD}).status_code == 429


def test_a_phone_signed_out_without_signal_ends_its_session_at_the_next_contact(app, users):
    phone = _signed_in_phone(app, users.worker, remember=True)
    assert phone.get("/api/v1/session").status_code == 200
    ref = phone.get_cookie("outreach_ref").value
    copy = _cookies(phone)
    # What the phone's script leaves when it signs out offline (pages/shell.js).
    phone.set_cookie("outreach_end", ref)
    answer = phone.get("/api/v1/session")
    assert answer.status_code == 401
    assert phone.get_cookie("outreach_end") is None
    assert _replay(app, copy).get("/api/v1/session").status_code == 401
    with app.app_context():
        assert db.session.scalar(sa.select(UserSession.revoked_at)) is not None


def test_a_stale_sign_out_note_never_ends_a_newer_session(app, users):
    phone = _signed_in_phone(app, users.worker)
    old_ref = phone.get_cookie("outreach_ref").value
    # Signed in again (the note's answer was lost): the note names the old session only.
    token = csrf_token_from(phone.get("/login?switch=1").get_data(as_text=True))
    data = {"username": users.worker, "password": PASSWORD, "csrf_token": token}
    assert phone.post("/login?switch=1", data=data).status_code == 302
    phone.set_cookie("outreach_end", old_ref)
    assert phone.get("/api/v1/session").status_code == 200
    assert phone.get_cookie("outreach_end") is None


def test_signing_in_over_a_session_ends_it(app, users):
    phone = _signed_in_phone(app, users.worker)
    copy = _cookies(phone) | {}
    response = phone.get("/login?switch=1")
    token = csrf_token_from(response.get_data(as_text=True))
    data = {"username": users.supervisor, "password": PASSWORD, "csrf_token": token}
    phone.post("/login?switch=1", data=data)
    assert phone.get("/api/v1/session").get_json()["user"]["username"] == users.supervisor
    assert _replay(app, {"session": copy["session"]}).get("/api/v1/session").status_code == 401
