"""Voiding a stock event entered by mistake: it stays stored, every read of the bag (the
server's bag, the phone's session, the stock report and its CSV) leaves it out, the void is
audited once, only supervisors can do it, and a phone sending it again cannot bring it back."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade
from flask_migrate import upgrade

from outreach.extensions import db
from outreach.models import AuditEvent
from outreach.models import StockEvent
from outreach.models import StockEventLine
from outreach.models import SupplyItem
from outreach.models import User
from tests.conftest import csrf_token_from
from tests.conftest import make_encounter
from tests.test_stock import NALOXONE
from tests.test_stock import SYRINGE
from tests.test_stock import _at
from tests.test_stock import _track
from tests.test_stock import post
from tests.test_stock import stock_event

LIST = "/reports/stock/events"
MISSING = uuid.UUID("00000000-0000-4000-8000-000000000000")


def _url(event_id) -> str:
    return f"{LIST}/{event_id}/void"


def _void(client, event_id, reason="duplicate"):
    """The supervisor's two steps: open the confirm page, then send the form."""
    page = client.get(_url(event_id))
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(_url(event_id), data={"csrf_token": token, "reason": reason})


def _bag(app, worker="wendy") -> dict[str, int]:
    from outreach.stock import services

    with app.app_context():
        keys = dict(db.session.execute(sa.select(SupplyItem.id, SupplyItem.key)).all())
        worker_id = db.session.scalar(sa.select(User.id).where(User.username == worker))
        return {keys[item]: entry.expected for item, entry in services.bag_of(worker_id).items()}


def _csv_figures(app, client) -> dict:
    """From the stock CSV: per item key, (loaded, handed out, in the bag now)."""
    with app.app_context():
        keys = {
            item.display_name("en"): item.key for item in db.session.scalars(sa.select(SupplyItem))
        }
    answer = client.get("/reports/stock?preset=last_90_days&format=csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    figures: dict = {}
    for row in rows:
        key = keys[row["Supply item"]]
        if row["Section"] == "Bags now":
            figures.setdefault(key, {})["now"] = int(row["In the bag now"])
        else:
            figures.setdefault(key, {})["moved"] = (int(row["Loaded"]), int(row["Handed out"]))
    return figures


def _audits(app) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "stock_event.void")
        ).all()
        db.session.expunge_all()
        return events


def test_voiding_a_load_out_corrects_every_read_of_the_bag(app, sync_api, supervisor_client):
    _track(app, SYRINGE, NALOXONE)
    load = stock_event(hours_ago=5)
    mistake = stock_event(items={SYRINGE: 50}, hours_ago=4)
    post(
        sync_api,
        [make_encounter(occurred_at=_at(3), supplies={SYRINGE: 30, NALOXONE: 1})],
        [load, mistake],
    )
    assert _bag(app) == {SYRINGE: 120, NALOXONE: 9}
    assert _csv_figures(app, supervisor_client)[SYRINGE] == {"moved": (150, 30), "now": 120}

    listing = supervisor_client.get(LIST).get_data(as_text=True)
    assert _url(mistake["id"]) in listing and _url(load["id"]) in listing
    assert "Load-out" in listing and "wendy" in listing
    confirm = supervisor_client.get(_url(mistake["id"]))
    assert confirm.status_code == 200
    assert "Void this record?" in confirm.get_data(as_text=True)

    answer = _void(supervisor_client, mistake["id"])
    assert answer.status_code == 302 and answer.headers["Location"].endswith(LIST)
    listing = supervisor_client.get(LIST).get_data(as_text=True)
    assert "No bag counts it any more" in listing  # the flash message
    assert "Voided" in listing and _url(mistake["id"]) not in listing

    # The server's bag, the phone's session bag, the report and its CSV: the load-out is gone.
    assert _bag(app) == {SYRINGE: 70, NALOXONE: 9}
    session = sync_api.client.get("/api/v1/session").get_json()["bag"]
    assert session == {"started": True, "items": {SYRINGE: 70, NALOXONE: 9}}
    figures = _csv_figures(app, supervisor_client)
    assert figures[SYRINGE] == {"moved": (100, 30), "now": 70}
    assert figures[NALOXONE] == {"moved": (10, 1), "now": 9}
    from outreach.stock import services

    with app.app_context():
        today = db.session.scalar(sa.select(StockEvent.local_date).limit(1))
        report = services.stock_report(today, today)
        rows = {row.item.key: row for row in report.items}
        assert (rows[SYRINGE].loaded, rows[SYRINGE].handed_out) == (100, 30)
        # Kept, marked, with every line.
        stored = db.session.get(StockEvent, uuid.UUID(mistake["id"]))
        assert stored.voided_at is not None and stored.void_reason == "duplicate"
        assert stored.voided_by_id is not None and len(stored.lines) == 1

    (audit,) = _audits(app)
    assert audit.target_type == "stock_event" and audit.target_id == mistake["id"]
    assert audit.details == {
        "reason": "duplicate",
        "type": "load",
        "local_date": today.isoformat(),
        "worker": "wendy",
    }


def test_voiding_a_count_takes_its_adjustments_out_of_the_report(app, sync_api, supervisor_client):
    _track(app, SYRINGE)
    count = stock_event(
        "count", {SYRINGE: 60}, hours_ago=2, expected={SYRINGE: 100}, reasons={SYRINGE: "lost"}
    )
    post(sync_api, [], [stock_event(items={SYRINGE: 100}, hours_ago=5), count])
    html = supervisor_client.get("/reports/stock").get_data(as_text=True)
    assert _bag(app) == {SYRINGE: 60}
    listing = supervisor_client.get(LIST).get_data(as_text=True)
    assert "Count" in listing and "Lost" in listing

    assert _void(supervisor_client, count["id"], "wrong_details").status_code == 302
    assert _bag(app) == {SYRINGE: 100}
    from outreach.stock import services

    with app.app_context():
        days = sorted(db.session.scalars(sa.select(StockEvent.local_date)))
        report = services.stock_report(days[0], days[-1])
        (row,) = [r for r in report.items if r.item.key == SYRINGE]
        assert row.adjusted_total == 0 and report.bags[0].expected[row.item.id] == 100
    html = supervisor_client.get("/reports/stock").get_data(as_text=True)
    assert "Stock records — void one entered by mistake" in html and LIST in html


def test_a_second_void_is_refused_and_audited_once(app, sync_api, supervisor_client, admin_client):
    _track(app, SYRINGE)
    mistake = stock_event("adjustment", {SYRINGE: 3}, reasons={SYRINGE: "damaged"})
    post(sync_api, [], [stock_event(items={SYRINGE: 10}, hours_ago=6), mistake])
    token = csrf_token_from(supervisor_client.get(_url(mistake["id"])).get_data(as_text=True))
    assert _void(supervisor_client, mistake["id"], "test").status_code == 302
    again = supervisor_client.post(
        _url(mistake["id"]), data={"csrf_token": token, "reason": "duplicate"}
    )
    assert again.status_code == 409
    # The confirm page now says it was voided already, without a form.
    page = supervisor_client.get(_url(mistake["id"]))
    assert page.status_code == 200 and "voided already" in page.get_data(as_text=True)
    assert 'name="reason"' not in page.get_data(as_text=True)
    assert [a.details["reason"] for a in _audits(app)] == ["test"]
    assert _bag(app) == {SYRINGE: 10}
    # The audit log reads it as words, in both languages.
    for lang, words in (("en", "Stock record voided"), ("es", "Registro de existencias anulado")):
        html = admin_client.get(f"/admin/audit?lang={lang}").get_data(as_text=True)
        assert words in html and "stock_event.void" not in html


def test_the_service_refuses_a_second_void_and_an_unknown_reason(app, sync_api, users):
    from outreach.encounters.voids import VoidError
    from outreach.stock.voids import void_stock_event

    event = stock_event()
    post(sync_api, [], [event])
    with app.app_context():
        actor = db.session.scalar(sa.select(User).where(User.username == users.supervisor))
        with pytest.raises(ValueError):
            void_stock_event(uuid.UUID(event["id"]), "stolen by someone", actor)
        void_stock_event(uuid.UUID(event["id"]), "other", actor)
        with pytest.raises(VoidError):
            void_stock_event(uuid.UUID(event["id"]), "other", actor)
        with pytest.raises(VoidError):
            void_stock_event(MISSING, "other", actor)
    assert len(_audits(app)) == 1


def test_only_supervisors_void(app, sync_api, worker_client, supervisor_client, admin_client):
    event = stock_event()
    post(sync_api, [], [event])
    assert worker_client.get(LIST).status_code == 403
    assert worker_client.get(_url(event["id"])).status_code == 403
    token = csrf_token_from(worker_client.get("/account").get_data(as_text=True))
    refused = worker_client.post(_url(event["id"]), data={"csrf_token": token, "reason": "test"})
    assert refused.status_code == 403
    assert admin_client.get(LIST).status_code == 200
    assert _audits(app) == []
    with app.app_context():
        assert db.session.get(StockEvent, uuid.UUID(event["id"])).voided_at is None


def test_unknown_events_and_bad_reasons(app, sync_api, supervisor_client):
    event = stock_event()
    post(sync_api, [], [event])
    assert supervisor_client.get(_url(MISSING)).status_code == 404
    assert supervisor_client.get(f"{LIST}/not-a-uuid/void").status_code == 404
    token = csrf_token_from(supervisor_client.get(_url(event["id"])).get_data(as_text=True))
    assert (
        supervisor_client.post(
            _url(MISSING), data={"csrf_token": token, "reason": "test"}
        ).status_code
        == 404
    )
    for reason in ("", "stolen by someone", "none"):
        answer = supervisor_client.post(
            _url(event["id"]), data={"csrf_token": token, "reason": reason}
        )
        assert answer.status_code == 400, reason
    # Without the CSRF token the form is refused before anything else.
    assert supervisor_client.post(_url(event["id"]), data={"reason": "test"}).status_code == 400
    with app.app_context():
        assert db.session.get(StockEvent, uuid.UUID(event["id"])).voided_at is None
    assert _audits(app) == []


def test_a_voided_event_sent_again_stays_voided(app, sync_api, supervisor_client):
    _track(app, SYRINGE, NALOXONE)
    keep, mistake = stock_event(hours_ago=5), stock_event(hours_ago=4)
    post(sync_api, [], [keep, mistake])
    assert _void(supervisor_client, mistake["id"]).status_code == 302
    # The phone lost the answer and sends the same record again: duplicate, still voided.
    again = post(sync_api, [], [mistake]).get_json()["stock_events"]
    assert again == [{"id": mistake["id"], "status": "duplicate"}]
    with app.app_context():
        stored = db.session.get(StockEvent, uuid.UUID(mistake["id"]))
        assert stored.voided_at is not None and stored.void_reason == "duplicate"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StockEvent)) == 2
    bag = sync_api.client.get("/api/v1/session").get_json()["bag"]
    assert bag == {"started": True, "items": {SYRINGE: 100, NALOXONE: 10}}


def test_voiding_the_only_load_out_leaves_the_bag_not_started(app, sync_api, supervisor_client):
    _track(app, SYRINGE)
    only = stock_event(items={SYRINGE: 40}, hours_ago=5)
    post(sync_api, [make_encounter(occurred_at=_at(3), supplies={SYRINGE: 5})], [only])
    assert _void(supervisor_client, only["id"], "test").status_code == 302
    bag = sync_api.client.get("/api/v1/session").get_json()["bag"]
    assert bag == {"started": False, "items": {}}
    assert _bag(app) == {}


def test_migration_0008_keeps_every_stock_event_and_line(app, sync_api):
    """Adding and dropping the void columns never copies stock_event: on SQLite, dropping the
    old table with foreign keys on would delete every line (ON DELETE CASCADE)."""
    post(sync_api, [], [stock_event(), stock_event("count", {SYRINGE: 3})])

    def stored() -> tuple[int, int]:
        with app.app_context():
            events = db.session.scalar(sa.text("SELECT count(*) FROM stock_event"))
            lines = db.session.scalar(sa.text("SELECT count(*) FROM stock_event_line"))
            db.session.remove()
            return events, lines

    assert stored() == (2, 3)
    with app.app_context():
        downgrade(revision="0007_funder")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("stock_event")}
        assert "voided_at" not in columns
    assert stored() == (2, 3)
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            foreign_keys = sa.inspect(connection).get_foreign_keys("stock_event")
    assert {"voided_by_id"} in [set(fk["constrained_columns"]) for fk in foreign_keys]
    assert stored() == (2, 3)
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(StockEventLine).join(StockEvent)
            )
            == 3
        )
