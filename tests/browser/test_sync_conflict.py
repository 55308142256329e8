"""A record id is the phone's idempotency key, not a claim, in real Chromium: when another
account's record already holds the id of a record waiting on the phone, the phone gives it a
fresh id and sends it again by itself; and the outbox keeps records of two kinds that share
one id apart (also records kept before the outbox was keyed by kind)."""

from __future__ import annotations

import json
import uuid

import pytest

from outreach.auth import services as auth_services
from outreach.encounters.ingest import ingest_batch
from outreach.extensions import db
from outreach.models import Encounter
from outreach.models import Role
from outreach.models import StockEvent
from outreach.models import User
from tests.browser.conftest import SYNC_PATH
from tests.browser.conftest import log_encounter
from tests.browser.conftest import sign_in
from tests.browser.conftest import wait_count
from tests.browser.conftest import wait_offline_ready
from tests.browser.test_shared_phone import DUMP_DATABASE
from tests.conftest import PASSWORD
from tests.conftest import make_encounter
from tests.test_stock import stock_event

# The server's side runs on both engines in the unit tests; the phone's side once, on SQLite.
pytestmark = [pytest.mark.browser, pytest.mark.engine_independent]

SQUATTER = "sid"


def outbox(page) -> list[dict]:
    return json.loads(page.evaluate(DUMP_DATABASE))["outbox"]


def owner(app, model, record_id: str) -> str | None:
    with app.app_context():
        row = db.session.get(model, uuid.UUID(record_id))
        name = db.session.get(User, row.worker_id).username if row else None
        db.session.remove()
        return name


def test_a_squatted_id_is_renamed_and_the_record_arrives(page, app, live_server, users):
    with app.app_context():
        squatter = auth_services.create_user(SQUATTER, Role.WORKER, PASSWORD).id
    sign_in(page, users.worker)
    wait_offline_ready(page)
    live_server.faults.fail(SYNC_PATH, "503", times=1000)
    log_encounter(page, "cooker", 5)
    wait_count(page, 1)
    [waiting] = outbox(page)
    original = waiting["id"]

    # Another account reads the id off the phone and stores a record under it first.
    with app.app_context():
        [result] = ingest_batch([make_encounter(id=original)], squatter, SQUATTER).results
        assert result["status"] == "created"
        db.session.remove()

    live_server.faults.clear()
    page.goto("/outbox")
    page.click("[data-sync-now]")
    wait_count(page, 0, timeout=30)
    assert outbox(page) == []
    with app.app_context():
        mine = db.session.scalars(db.select(Encounter).where(Encounter.worker_id != squatter)).all()
        lines = [(e.worker.username, e.supplies[0].item.key, e.supplies[0].quantity) for e in mine]
        assert lines == [(users.worker, "cooker", 5)]
        renamed = str(mine[0].id)
        db.session.remove()
    assert renamed != original
    assert owner(app, Encounter, original) == SQUATTER
    # The phone sent the record under its first id, heard "conflict", and again under the new.
    sent = live_server.faults.sync_ids()
    assert original in sent and sent[-1] == renamed


# Version 3 of the phone's database: the outbox keyed by the record's id alone.
OLD_OUTBOX = """([user, entries]) => new Promise((resolve, reject) => {
  const open = indexedDB.open("outreach", 3);
  open.onupgradeneeded = () => {
    const db = open.result;
    const outbox = db.createObjectStore("outbox", { keyPath: "id" });
    outbox.createIndex("savedAt", "savedAt");
    db.createObjectStore("state");
  };
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction(["outbox", "state"], "readwrite");
    tx.objectStore("state").put(user, "user");
    for (const entry of entries) tx.objectStore("outbox").put(entry);
    tx.oncomplete = () => { db.close(); resolve(true); };
    tx.onerror = () => reject(tx.error);
  };
})"""

# A record of another kind put under the same id (what the upgraded outbox must keep apart).
ADD_ENTRY = """(entry) => new Promise((resolve, reject) => {
  const open = indexedDB.open("outreach");
  open.onsuccess = () => {
    const db = open.result;
    const tx = db.transaction("outbox", "readwrite");
    tx.objectStore("outbox").put(entry);
    tx.oncomplete = () => { db.close(); resolve(true); };
    tx.onerror = () => reject(tx.error);
  };
  open.onerror = () => reject(open.error);
})"""


def _entry(record: dict, user: str, kind: str | None = None) -> dict:
    record = dict(record, logged_by=user)
    entry = {"id": record["id"], "record": record, "status": "pending", "savedAt": 1}
    return {**entry, "kind": kind} if kind else entry


def test_records_kept_before_the_upgrade_stay_and_two_kinds_may_share_an_id(
    page, app, live_server, users
):
    live_server.faults.fail(SYNC_PATH, "503", times=1000)
    page.goto("/login")  # the origin, before the app opens its database
    shared = str(uuid.uuid4())
    encounter = make_encounter(id=shared)
    encounter.pop("participant_code")
    old = [_entry(encounter, users.worker)]
    page.evaluate(OLD_OUTBOX, [users.worker, old])

    sign_in(page, users.worker)
    wait_count(page, 1)  # the upgraded outbox still holds the old record
    [kept] = outbox(page)
    assert kept["key"] == f"encounters:{shared}"
    stock = stock_event(id=shared, items={"cooker": 4})
    keys = [f"encounters:{shared}", f"stock_events:{shared}"]
    page.evaluate(ADD_ENTRY, {**_entry(stock, users.worker, "stock_events"), "key": keys[1]})
    assert sorted(e["key"] for e in outbox(page)) == keys

    live_server.faults.clear()
    page.goto("/outbox")
    page.click("[data-sync-now]")
    wait_count(page, 0, timeout=30)
    assert owner(app, Encounter, shared) == users.worker
    assert owner(app, StockEvent, shared) == users.worker
