"""Idempotency under races: copies of one batch arriving at the same moment."""

from __future__ import annotations

import threading

from tests.conftest import SyncApi
from tests.conftest import _signed_in_client
from tests.conftest import count_rows
from tests.conftest import make_encounter

COPIES = 6


def _send_concurrently(app, username: str, batch: list[dict]) -> list:
    apis = [SyncApi(_signed_in_client(app, username)) for _ in range(COPIES)]
    for api in apis:
        api.token  # noqa: B018 - fetch tokens before the race starts
    barrier = threading.Barrier(COPIES)
    answers: list = [None] * COPIES

    def send(index: int) -> None:
        barrier.wait()
        answers[index] = apis[index].post(batch)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(COPIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_sync_concurrent_copies_of_a_batch_store_each_id_once(app, users):
    batch = [make_encounter() for _ in range(200)]
    answers = _send_concurrently(app, users.worker, batch)

    assert [a.status_code for a in answers] == [200] * COPIES
    for position, record in enumerate(batch):
        statuses = [a.get_json()["results"][position]["status"] for a in answers]
        assert statuses.count("created") == 1, (record["id"], statuses)
        assert statuses.count("duplicate") == COPIES - 1
    assert count_rows(app, "encounter") == len(batch)
    assert count_rows(app, "encounter_supply") == 2 * len(batch)
    assert count_rows(app, "encounter_referral") == len(batch)


def test_sync_overlapping_batches_store_the_union_once(app, users):
    records = [make_encounter() for _ in range(300)]
    apis = [SyncApi(_signed_in_client(app, users.worker)) for _ in range(3)]
    windows = [records[0:200], records[100:300], records[50:250]]
    barrier = threading.Barrier(len(apis))
    answers: list = [None] * len(apis)

    def send(index: int) -> None:
        apis[index].token  # noqa: B018
        barrier.wait()
        answers[index] = apis[index].post(windows[index])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(apis))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    created = [
        r["id"]
        for answer in answers
        for r in answer.get_json()["results"]
        if r["status"] == "created"
    ]
    assert sorted(created) == sorted(r["id"] for r in records)
    assert count_rows(app, "encounter") == 300
