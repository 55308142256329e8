"""The per-account record budget: records (not requests) one account may send per window,
counted across every record kind and shared by app servers (database or Redis); past it the
sync answers 429 JSON with Retry-After and stores nothing."""

from __future__ import annotations

import time

import pytest

from outreach import ratelimit
from outreach.config import ConfigurationError
from outreach.config import read_environment
from tests.conftest import AuthActions
from tests.conftest import SyncApi
from tests.conftest import count_rows
from tests.conftest import make_encounter
from tests.test_overdose_responses import make_overdose
from tests.test_ratelimit import STORES
from tests.test_ratelimit import _settings
from tests.test_stock import stock_event

BUDGET = 10
WINDOW = 3600


def _api(app, username: str) -> SyncApi:
    client = app.test_client()
    AuthActions(client).login(username)
    return SyncApi(client)


def _budgeted(make_app, kind=None, **extra):
    # SYNC_MAX_RECORDS lowered with the budget: a budget must fit a whole batch.
    return make_app(
        SYNC_RECORD_BUDGET=BUDGET,
        SYNC_RECORD_BUDGET_WINDOW_SECONDS=WINDOW,
        SYNC_MAX_RECORDS=BUDGET,
        **_settings(kind),
        **extra,
    )


@pytest.mark.parametrize("kind", STORES)
def test_past_the_budget_the_sync_answers_429_with_retry_after_and_stores_nothing(
    make_app, users, kind
):
    app = _budgeted(make_app, kind)
    api = _api(app, users.worker)
    assert api.post([make_encounter() for _ in range(6)]).status_code == 200
    # Two requests, not many: the budget counts the records they carry.
    over = api.post([make_encounter() for _ in range(5)])
    assert over.status_code == 429
    body = over.get_json()
    assert body["error"] == "record_budget" and body["message"]
    assert 1 <= int(over.headers["Retry-After"]) <= WINDOW
    assert count_rows(app, "encounter") == 6
    # Another account has a budget of its own.
    assert _api(app, users.supervisor).post([make_encounter()]).status_code == 200


@pytest.mark.parametrize("kind", STORES)
def test_two_app_servers_share_one_budget(make_app, users, kind):
    settings = _settings(kind)
    servers = [_budgeted(make_app, None, **settings) for _ in range(2)]
    apis = [_api(server, users.worker) for server in servers]
    assert apis[0].post([make_encounter() for _ in range(BUDGET)]).status_code == 200
    assert apis[1].post([make_encounter()]).status_code == 429


def test_every_record_kind_counts_against_the_budget(make_app, users):
    app = _budgeted(make_app)
    api = _api(app, users.worker)
    body = {
        "encounters": [make_encounter() for _ in range(4)],
        "overdose_responses": [make_overdose() for _ in range(3)],
        "stock_events": [stock_event() for _ in range(3)],
    }
    headers = {"X-CSRFToken": api.token}
    assert api.client.post("/api/v1/sync", json=body, headers=headers).status_code == 200
    refused = api.client.post(
        "/api/v1/sync", json={"stock_events": [stock_event()]}, headers=headers
    )
    assert refused.status_code == 429
    assert count_rows(app, "stock_event") == 3


def test_the_budget_comes_back_when_its_window_ends(make_app, users, monkeypatch):
    now = [time.time()]
    monkeypatch.setattr(ratelimit, "clock", lambda: now[0])
    app = _budgeted(make_app)
    api = _api(app, users.worker)
    assert api.post([make_encounter() for _ in range(BUDGET)]).status_code == 200
    assert api.post([make_encounter()]).status_code == 429
    now[0] += WINDOW + 1
    assert api.post([make_encounter()]).status_code == 200


def test_an_empty_batch_spends_nothing(make_app, users):
    app = _budgeted(make_app)
    api = _api(app, users.worker)
    for _ in range(3):
        assert api.post([]).status_code == 200
    assert api.post([make_encounter() for _ in range(BUDGET)]).status_code == 200


def test_the_budget_settings_are_read_and_checked(make_app):
    environ = {"SYNC_RECORD_BUDGET": "5000", "SYNC_RECORD_BUDGET_WINDOW_SECONDS": "1800"}
    assert read_environment(environ) == {
        "SYNC_RECORD_BUDGET": 5000,
        "SYNC_RECORD_BUDGET_WINDOW_SECONDS": 1800,
    }
    with pytest.raises(ConfigurationError, match="SYNC_RECORD_BUDGET"):
        read_environment({"SYNC_RECORD_BUDGET": "lots"})
    with pytest.raises(ConfigurationError, match="SYNC_RECORD_BUDGET_WINDOW_SECONDS"):
        make_app(SYNC_RECORD_BUDGET_WINDOW_SECONDS=0)
    # A budget smaller than one full batch would hold a phone back for ever.
    with pytest.raises(ConfigurationError, match="SYNC_MAX_RECORDS"):
        make_app(SYNC_RECORD_BUDGET=100)
