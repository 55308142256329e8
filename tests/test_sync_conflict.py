"""A record id is the phone's idempotency key, not a claim: ``duplicate`` only for the same
account; an id another account's record holds answers ``conflict`` and changes nothing."""

from __future__ import annotations

import threading
import uuid

import pytest
import sqlalchemy as sa

from outreach.auth import services as auth_services
from outreach.extensions import db
from outreach.models import Encounter
from outreach.models import OverdoseResponse
from outreach.models import Role
from outreach.models import StockEvent
from outreach.models import User
from tests.conftest import PASSWORD
from tests.conftest import SyncApi
from tests.conftest import _signed_in_client
from tests.conftest import make_encounter
from tests.test_overdose_responses import make_overdose
from tests.test_stock import stock_event

OTHER = "otto"

# Body key → (a record maker, the table, the answer's key).
KINDS = {
    "encounters": (make_encounter, Encounter, "results"),
    "overdose_responses": (make_overdose, OverdoseResponse, "overdose_responses"),
    "stock_events": (stock_event, StockEvent, "stock_events"),
}


@pytest.fixture
def two_workers(app, users):
    """The usual worker and a second worker account, each signed in on its own client."""
    with app.app_context():
        auth_services.create_user(OTHER, Role.WORKER, PASSWORD)
    return (
        SyncApi(_signed_in_client(app, users.worker)),
        SyncApi(_signed_in_client(app, OTHER)),
    )


def send(api: SyncApi, kind: str, records: list[dict]) -> list[dict]:
    body = {kind: records} if kind != "encounters" else {"encounters": records}
    response = api.client.post("/api/v1/sync", json=body, headers={"X-CSRFToken": api.token})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()[KINDS[kind][2]]


def owner_of(app, model, record_id: str) -> str | None:
    with app.app_context():
        row = db.session.get(model, uuid.UUID(record_id))
        name = db.session.get(User, row.worker_id).username if row else None
        db.session.remove()
        return name


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_id_another_account_holds_answers_conflict_and_changes_nothing(
    app, users, two_workers, kind
):
    worker, squatter = two_workers
    make, model, _answer_key = KINDS[kind]
    real = make()
    squatted = dict(make(), id=real["id"])
    assert send(squatter, kind, [squatted]) == [{"id": real["id"], "status": "created"}]

    # The real author's phone sends its record: not "duplicate" (it would drop it), "conflict".
    assert send(worker, kind, [real]) == [{"id": real["id"], "status": "conflict"}]
    assert owner_of(app, model, real["id"]) == OTHER

    # Sent again under a fresh id (what the phone does), it is stored as the worker's.
    fresh = dict(real, id=str(uuid.uuid4()))
    assert send(worker, kind, [fresh]) == [{"id": fresh["id"], "status": "created"}]
    assert owner_of(app, model, fresh["id"]) == users.worker


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_same_account_resending_still_hears_duplicate(app, two_workers, kind):
    worker, squatter = two_workers
    make, model, _answer_key = KINDS[kind]
    record = make()
    assert send(worker, kind, [record])[0]["status"] == "created"
    assert send(worker, kind, [record])[0]["status"] == "duplicate"
    # The other account's copy with that id changes nothing either.
    assert send(squatter, kind, [record])[0]["status"] == "conflict"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 1


def test_conflict_is_per_record_in_a_mixed_batch(app, two_workers):
    worker, squatter = two_workers
    mine, theirs, new = make_encounter(), make_encounter(), make_encounter()
    send(worker, "encounters", [mine])
    send(squatter, "encounters", [theirs])
    results = send(worker, "encounters", [mine, theirs, new, dict(new)])
    assert [r["status"] for r in results] == ["duplicate", "conflict", "created", "duplicate"]


def test_the_loser_of_a_race_with_another_account_hears_conflict(app, two_workers, users):
    """Two accounts send the same ids at the same moment: each id is stored once, by one of
    them; that one hears created, the other conflict (never duplicate, never an error)."""
    worker, squatter = two_workers
    batch = [make_encounter() for _ in range(100)]
    apis = [worker, squatter]
    for api in apis:
        api.token  # noqa: B018 - fetch tokens before the race starts
    barrier = threading.Barrier(len(apis))
    answers: list = [None] * len(apis)

    def post(index: int) -> None:
        barrier.wait()
        answers[index] = apis[index].post(batch)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(apis))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [a.status_code for a in answers] == [200, 200]
    names = [users.worker, OTHER]
    for position, record in enumerate(batch):
        statuses = [a.get_json()["results"][position]["status"] for a in answers]
        assert sorted(statuses) == ["conflict", "created"], statuses
        winner = names[statuses.index("created")]
        assert owner_of(app, Encounter, record["id"]) == winner
