"""Faults: a server killed mid-batch, a database that goes away, two servers racing.

Every case ends with each encounter stored exactly once and none half-written.
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from outreach.extensions import db
from tests.conftest import PASSWORD
from tests.conftest import SyncApi
from tests.conftest import assert_stored_once_and_whole
from tests.conftest import count_rows
from tests.conftest import is_postgres
from tests.conftest import make_encounter
from tests.live import GunicornServer
from tests.live import ProxiedClient
from tests.live import TcpProxy
from tests.live import production_env


def _wait_for_blocked_insert(app, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            waiting = db.session.scalar(
                sa.text(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE 'INSERT INTO encounter_supply%'"
                )
            )
            db.session.rollback()
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the sync never reached the supply-line insert")


def test_server_killed_mid_batch_then_resend_stores_each_once(app, users, database_url):
    batch = [make_encounter() for _ in range(500)]
    env = production_env(database_url, OUTREACH_BIND="127.0.0.1:0", OUTREACH_WORKERS="1")
    server = GunicornServer(env)
    blocker = blocker_engine = None
    try:
        assert server.port, "".join(server.output)
        phone = ProxiedClient(server.port)
        phone.login(users.worker, PASSWORD)
        answers: list = []
        sender = threading.Thread(target=lambda: answers.append(_try_sync(phone, batch)))
        if is_postgres():
            # Hold the supply-line table so the server's transaction stops half-way through:
            # encounters inserted, their lines not yet.
            blocker_engine = sa.create_engine(sa.engine.make_url(database_url))
            blocker = blocker_engine.connect()
            blocker.execute(sa.text("LOCK TABLE encounter_supply IN EXCLUSIVE MODE"))
            sender.start()
            _wait_for_blocked_insert(app)
        else:
            sender.start()
            time.sleep(0.15)
        server.kill()
        sender.join(timeout=30)
        phone.close()
        if blocker is not None:
            blocker.rollback()
            blocker.close()
            blocker = None
        # Whatever the timing, the batch is stored whole or not at all.
        stored = count_rows(app, "encounter")
        assert stored in (0, 500)
        if is_postgres():
            assert stored == 0
            assert answers == [None]  # the phone never got an answer

        server.start()
        phone = ProxiedClient(server.port)
        phone.login(users.worker, PASSWORD)
        status, body = phone.sync(batch)
        phone.close()
        assert status == 200
        assert {r["status"] for r in body["results"]} <= {"created", "duplicate"}
        assert_stored_once_and_whole(app, {r["id"] for r in batch})
    finally:
        if blocker is not None:
            blocker.rollback()
            blocker.close()
        if blocker_engine is not None:
            blocker_engine.dispose()
        server.stop()


def _try_sync(phone: ProxiedClient, batch):
    try:
        return phone.sync(batch)
    except OSError:
        return None


@pytest.mark.postgres_only
def test_database_outage_answers_503_json_and_a_retry_loses_nothing(make_app, database_url, users):
    url = sa.engine.make_url(database_url)
    proxy = TcpProxy(url.port or 5432, url.host or "127.0.0.1")
    try:
        app = make_app(DATABASE_URL=url.set(port=proxy.port).render_as_string(hide_password=False))
        api = SyncApi(app.test_client())
        from tests.conftest import AuthActions

        AuthActions(api.client).login(users.worker)
        first = [make_encounter() for _ in range(3)]
        assert api.post(first).status_code == 200

        proxy.cut()
        during = [make_encounter() for _ in range(3)]
        outage = api.post(during)
        assert outage.status_code == 503
        assert outage.is_json
        assert outage.get_json()["error"] == "database_unavailable"
        assert int(outage.headers["Retry-After"]) > 0
        health = api.client.get("/healthz")
        assert health.status_code == 503

        proxy.restore()
        retried = api.post(during)  # the phone kept the records and retries
        assert retried.status_code == 200
        assert [r["status"] for r in retried.get_json()["results"]] == ["created"] * 3
        assert api.post(first).get_json()["results"][0]["status"] == "duplicate"
        assert_stored_once_and_whole(app, {r["id"] for r in first + during})
    finally:
        proxy.close()


@pytest.mark.postgres_only
def test_two_servers_sharing_postgres_store_overlapping_batches_once(app, users, database_url):
    records = [make_encounter() for _ in range(400)]
    windows = [records[0:250], records[150:400], records[0:400], records[100:300]]
    env = production_env(database_url, OUTREACH_BIND="127.0.0.1:0", OUTREACH_WORKERS="2")
    servers = [GunicornServer(env), GunicornServer(env)]
    phones: list[ProxiedClient] = []
    try:
        for index in range(len(windows)):
            phone = ProxiedClient(servers[index % 2].port)
            phone.login(users.worker, PASSWORD)
            phones.append(phone)
        barrier = threading.Barrier(len(phones))
        answers: list = [None] * len(phones)

        def send(index: int) -> None:
            barrier.wait()
            answers[index] = phones[index].sync(windows[index])

        threads = [threading.Thread(target=send, args=(i,)) for i in range(len(phones))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert [status for status, _ in answers] == [200] * len(phones)
        created = [
            r["id"] for _, body in answers for r in body["results"] if r["status"] == "created"
        ]
        assert sorted(created) == sorted(r["id"] for r in records)
        assert_stored_once_and_whole(app, {r["id"] for r in records})
    finally:
        for phone in phones:
            phone.close()
        for server in servers:
            server.stop()
