"""PostgreSQL itself stopped and started while phones sync (a private server, see
tests/pg_cluster.py): the API answers 503 JSON with Retry-After, never a 500, the phone
retries, and every encounter is stored exactly once and whole."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import PASSWORD
from tests.conftest import AuthActions
from tests.conftest import SyncApi
from tests.conftest import assert_stored_once_and_whole
from tests.conftest import make_encounter
from tests.live import GunicornServer
from tests.live import ProxiedClient
from tests.live import production_env

pytestmark = pytest.mark.postgres_only

BATCHES = 40
BATCH_SIZE = 50


@pytest.fixture
def database_url(private_postgres) -> str:
    return private_postgres.url()


class Phone(threading.Thread):
    """Sends its batches in order, as the sync client does: a batch is done when every
    record is answered created or duplicate; a 503 or a dropped connection means wait and
    send the same batch again."""

    def __init__(self, port: int, username: str, batches: list[list[dict]]):
        super().__init__(daemon=True)
        self.client = ProxiedClient(port)
        self.client.login(username, PASSWORD)
        self.batches = batches
        self.sent = 0
        self.answers: list[tuple[int, dict | None, str | None]] = []
        self.statuses: dict[str, list[str]] = {}
        self.errors: list[str] = []
        self.stop_at = time.monotonic() + 180

    def run(self) -> None:
        for batch in self.batches:
            while time.monotonic() < self.stop_at:
                try:
                    response, parsed = self.client.sync_response(batch)
                except OSError as error:
                    self.errors.append(type(error).__name__)
                    self.client.close()
                    time.sleep(0.2)
                    continue
                self.answers.append((response.status, parsed, response.getheader("Retry-After")))
                if response.status == 200:
                    for result in parsed["results"]:
                        self.statuses.setdefault(result["id"], []).append(result["status"])
                    self.sent += 1
                    break
                # The real client waits Retry-After (5 s); a short wait keeps the test quick.
                time.sleep(0.2)


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_postgres_restart_during_sync_answers_503_then_retries_lose_nothing(
    app, users, database_url, private_postgres
):
    batches = [[make_encounter() for _ in range(BATCH_SIZE)] for _ in range(BATCHES)]
    env = production_env(database_url, OUTREACH_BIND="127.0.0.1:0", OUTREACH_WORKERS="2")
    server = GunicornServer(env)
    phone = None
    try:
        assert server.port, "".join(server.output)
        phone = Phone(server.port, users.worker, batches)
        phone.start()
        _wait(lambda: phone.sent >= 5, 60, "the first batches")

        private_postgres.stop()
        _wait(lambda: any(status == 503 for status, _, _ in phone.answers), 30, "a 503")
        health, _ = server.request("GET", "/healthz")
        assert health.status == 503
        sent_during_outage = phone.sent
        time.sleep(1)
        assert phone.sent == sent_during_outage, "a batch was accepted with the database down"
        private_postgres.start()

        phone.join(timeout=120)
        assert not phone.is_alive(), "the phone never finished after the restart"
        assert phone.sent == BATCHES
        health, _ = server.request("GET", "/healthz")
        assert health.status == 200

        statuses = {status for status, _, _ in phone.answers}
        assert statuses <= {200, 503}, statuses  # never a 500
        for status, body, retry_after in phone.answers:
            if status == 503:
                assert body is not None and body["error"] == "database_unavailable"
                assert retry_after is not None and int(retry_after) > 0
        all_ids = {record["id"] for batch in batches for record in batch}
        assert set(phone.statuses) == all_ids
        for record_id, answers in phone.statuses.items():
            # A batch whose commit landed as the server went down is answered 503, then
            # "duplicate" on the resend; never created twice.
            assert answers.count("created") <= 1, (record_id, answers)
        assert_stored_once_and_whole(app, all_ids)
    finally:
        if phone is not None:
            phone.client.close()
        server.stop()


# Pages that read the database: with it down each must answer 503, never a 500.
PUBLIC_PAGES = [
    "/cards",
    "/cards/naloxone?lang=en",
    "/directory",
    "/directory/services.json",
    "/offline-pages.json",
    "/healthz",
]
STAFF_PAGES = [
    "/log",
    "/outbox",
    "/directory/staff-notes.json",
    "/reports",
    "/reports/summary.json",
    "/reports/export.csv",
    "/reports/encounters",
    "/admin",
    "/admin/users",
    "/admin/audit",
    "/admin/directory/",
    "/api/v1/session",
    "/api/v1/catalog",
]


@pytest.mark.parametrize("signed_in", [True, False], ids=["admin", "visitor"])
def test_every_page_answers_503_while_postgres_is_down(app, users, private_postgres, signed_in):
    client = app.test_client()
    api = SyncApi(client)
    if signed_in:
        AuthActions(client).login(users.admin)
        assert api.token
    private_postgres.stop()
    try:
        if signed_in:
            answers = {path: client.get(path) for path in PUBLIC_PAGES + STAFF_PAGES}
            answers["POST /api/v1/sync"] = api.post([make_encounter()])
        else:
            answers = {path: client.get(path) for path in PUBLIC_PAGES}
            answers["POST /login"] = AuthActions(client).login(users.worker)
    finally:
        private_postgres.start()
    for path, response in answers.items():
        assert response.status_code == 503, (path, response.status_code)
        if path == "/healthz":  # for the load balancer: its own JSON report
            assert response.is_json
            continue
        assert int(response.headers.get("Retry-After", 0)) > 0, path
        if "/api/" in path:
            assert response.get_json()["error"] == "database_unavailable", path
        else:
            assert "busy or restarting" in response.get_data(as_text=True), path
    # Back up: the same client carries on.
    assert client.get("/healthz").status_code == 200
    assert client.get("/cards").status_code == 200
