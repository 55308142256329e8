"""The role matrix: every route, every role. A new route must be added under role_matrix/."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import tests.role_matrix as role_matrix
from tests.role_matrix import ADMIN
from tests.role_matrix import ANON
from tests.role_matrix import LOGIN_REDIRECT
from tests.role_matrix import SUPERVISOR
from tests.role_matrix import WORKER


def _gather() -> list:
    routes = []
    for module in pkgutil.iter_modules(role_matrix.__path__):
        routes.extend(importlib.import_module(f"{role_matrix.__name__}.{module.name}").ROUTES)
    return routes


MATRIX = _gather()


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
    assert routes - covered == set(), "add these routes to tests/role_matrix/"


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
