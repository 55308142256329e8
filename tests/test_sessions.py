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
