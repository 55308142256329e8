"""The role matrix: every route, every role. A new route must be added here."""

from __future__ import annotations

import pytest

ANON, WORKER, SUPERVISOR, ADMIN = "anonymous", "worker", "supervisor", "admin"
LOGIN_REDIRECT = "login"

# (method, path, rule) → expected status per role; LOGIN_REDIRECT means 302 to /login.
MATRIX = [
    ("GET", "/", "/", {ANON: LOGIN_REDIRECT, WORKER: 200, SUPERVISOR: 200, ADMIN: 200}),
    ("GET", "/login", "/login", {ANON: 200, WORKER: 302, SUPERVISOR: 302, ADMIN: 302}),
    # Without a CSRF token every form post is refused.
    ("POST", "/login", "/login", {ANON: 400, WORKER: 400, SUPERVISOR: 400, ADMIN: 400}),
    ("POST", "/logout", "/logout", {ANON: 400, WORKER: 400, SUPERVISOR: 400, ADMIN: 400}),
    (
        "GET",
        "/api/v1/session",
        "/api/v1/session",
        {ANON: 401, WORKER: 200, SUPERVISOR: 200, ADMIN: 200},
    ),
    (
        "GET",
        "/api/v1/catalog",
        "/api/v1/catalog",
        {ANON: 401, WORKER: 200, SUPERVISOR: 200, ADMIN: 200},
    ),
    # Without a CSRF token: 401 when signed out (checked first), else 403.
    ("POST", "/api/v1/sync", "/api/v1/sync", {ANON: 401, WORKER: 403, SUPERVISOR: 403, ADMIN: 403}),
]


@pytest.fixture
def clients(client, worker_client, supervisor_client, admin_client):
    return {ANON: client, WORKER: worker_client, SUPERVISOR: supervisor_client, ADMIN: admin_client}


def test_role_matrix_covers_every_route(app):
    covered = {(method, rule) for method, _path, rule, _expected in MATRIX}
    routes = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes - covered == set(), "add these routes to the role matrix"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [pytest.param(m, p, e, id=f"{m} {p}") for m, p, _rule, e in MATRIX],
)
def test_role_matrix(clients, method, path, expected):
    for role, client in clients.items():
        response = client.open(path, method=method)
        want = expected[role]
        if want == LOGIN_REDIRECT:
            assert response.status_code == 302, (role, path)
            assert response.headers["Location"].startswith("/login"), (role, path)
        else:
            assert response.status_code == want, (role, path, response.status_code)
        if path.startswith("/api/"):
            assert response.is_json, (role, path)
            assert "Location" not in response.headers
