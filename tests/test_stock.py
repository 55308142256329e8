"""The bag over the sync API: stock events stored exactly once beside encounters, bad ones
rejected alone with messages, the bag the server expects, and the supervisors' report."""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import StockEvent
from outreach.models import StockEventLine
from outreach.models import SupplyItem
from tests.conftest import make_encounter

SYRINGE, NALOXONE = "syringe_1ml_27g", "naloxone_nasal"


def _at(hours_ago: float) -> str:
    return (
        (datetime.now(UTC) - timedelta(hours=hours_ago)).astimezone().isoformat(timespec="seconds")
    )


def stock_event(type_="load", items=None, hours_ago=5.0, **extra) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": type_,
        "occurred_at": _at(hours_ago),
        "items": items if items is not None else {SYRINGE: 100, NALOXONE: 10},
        **extra,
    }


def _track(app, *keys, threshold=None):
    with app.app_context():
        for item in db.session.scalars(sa.select(SupplyItem).where(SupplyItem.key.in_(keys))):
            item.stock_tracked, item.low_stock_threshold = True, threshold
        db.session.commit()


def post(sync_api, encounters=None, stock=None):
    body = {"stock_events": stock or []}
    if encounters is not None:
        body["encounters"] = encounters
    return sync_api.client.post("/api/v1/sync", json=body, headers={"X-CSRFToken": sync_api.token})


def _stored(app) -> dict:
    with app.app_context():
        rows = db.session.execute(
            sa.select(StockEvent.id, sa.func.count(StockEventLine.item_id))
            .join(StockEventLine)
            .group_by(StockEvent.id)
        )
        return {str(event_id): lines for event_id, lines in rows}


def test_stock_events_are_stored_once_beside_encounters(app, sync_api):
    load = stock_event()
    encounter = make_encounter(occurred_at=_at(4))
    answer = post(sync_api, [encounter], [load])
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["results"] == [{"id": encounter["id"], "status": "created"}]
    assert body["stock_events"] == [{"id": load["id"], "status": "created"}]
    # Sent again (a lost answer), and twice in one batch: duplicate, nothing doubled.
    again = post(sync_api, [encounter], [load, load]).get_json()
    assert again["results"][0]["status"] == "duplicate"
    assert [r["status"] for r in again["stock_events"]] == ["duplicate", "duplicate"]
    assert _stored(app) == {load["id"]: 2}


def test_a_phone_sending_only_encounters_gets_the_same_answer(sync_api):
    answer = sync_api.post([make_encounter()])
    assert set(answer.get_json()) == {"results"}
    # Stock events alone: encounters are optional then.
    alone = post(sync_api, None, [stock_event()]).get_json()
    assert alone["results"] == [] and alone["stock_events"][0]["status"] == "created"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "borrow"}, "type"),
        ({"id": "not-a-uuid"}, "id"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"items": {}}, "items"),
        ({"items": {SYRINGE: -1}}, f"items.{SYRINGE}"),
        ({"items": {SYRINGE: "3"}}, f"items.{SYRINGE}"),
        ({"items": {"no_such_item": 3}}, "items.no_such_item"),
        ({"items": {SYRINGE: 0}}, f"items.{SYRINGE}"),
        ({"type": "adjustment", "items": {SYRINGE: 2}}, f"reasons.{SYRINGE}"),
        (
            {"type": "adjustment", "items": {SYRINGE: 2}, "reasons": {SYRINGE: "stolen by X"}},
            f"reasons.{SYRINGE}",
        ),
        ({"type": "count", "items": {SYRINGE: 2}, "expected": {SYRINGE: 5}}, f"reasons.{SYRINGE}"),
        ({"logged_by": "someone-else"}, "logged_by"),
    ],
)
def test_bad_stock_events_are_rejected_alone_with_a_message(app, sync_api, change, field):
    good, bad = stock_event(), {**stock_event(), **change}
    answer = post(sync_api, [], [good, bad, "not an object"]).get_json()["stock_events"]
    assert answer[0]["status"] == "created"
    assert answer[1]["status"] == "rejected"
    assert field in answer[1]["errors"], answer[1]
    assert all(isinstance(m, str) and m for m in answer[1]["errors"].values())
    assert answer[2] == {
        "id": None,
        "status": "rejected",
        "errors": {"record": "Each record must be a JSON object."},
    }
    assert set(_stored(app)) == {good["id"]}


def test_messages_follow_the_language(sync_api):
    bad = stock_event("adjustment", {SYRINGE: 2})
    answer = sync_api.client.post(
        "/api/v1/sync?lang=es",
        json={"stock_events": [bad]},
        headers={"X-CSRFToken": sync_api.token},
    ).get_json()
    assert "Elija" in answer["stock_events"][0]["errors"][f"reasons.{SYRINGE}"]


def test_body_errors_and_the_shared_record_limit(app, sync_api):
    assert post(sync_api, [], "x").status_code == 400
    assert (
        sync_api.client.post(
            "/api/v1/sync", json={}, headers={"X-CSRFToken": sync_api.token}
        ).status_code
        == 400
    )
    app.config["SYNC_MAX_RECORDS"] = 3
    too_many = post(sync_api, [make_encounter(), make_encounter()], [stock_event(), stock_event()])
    assert too_many.status_code == 413
    assert _stored(app) == {}


def test_the_session_gives_the_bag_the_server_expects(app, sync_api):
    _track(app, SYRINGE, NALOXONE, threshold=5)
    assert sync_api.client.get("/api/v1/session").get_json()["bag"] == {
        "started": False,
        "items": {},
    }
    post(
        sync_api,
        [
            make_encounter(occurred_at=_at(4), supplies={SYRINGE: 30, NALOXONE: 1}),
            # Before the first load-out: not from the bag.
            make_encounter(occurred_at=_at(9), supplies={SYRINGE: 7}),
        ],
        [stock_event(hours_ago=5)],
    )
    bag = sync_api.client.get("/api/v1/session").get_json()["bag"]
    assert bag == {"started": True, "items": {SYRINGE: 70, NALOXONE: 9}}


def test_an_encounter_in_the_same_second_as_the_load_out_is_from_the_bag(app, sync_api):
    """Phones send encounters in whole seconds and stock events with milliseconds: an
    encounter logged within the second after a load-out still comes out of that bag, and a
    count a moment later expects what is left (no unexplained difference)."""
    _track(app, NALOXONE)
    second = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).astimezone()
    load_at, count_at = second + timedelta(milliseconds=400), second + timedelta(seconds=1.8)
    load = stock_event(items={NALOXONE: 5}) | {"occurred_at": load_at.isoformat()}
    count = stock_event(
        "count", {NALOXONE: 1}, expected={NALOXONE: 3}, reasons={NALOXONE: "lost"}
    ) | {"occurred_at": count_at.isoformat()}
    encounter = make_encounter(
        occurred_at=(second + timedelta(seconds=0.9)).isoformat(timespec="seconds"),
        supplies={NALOXONE: 2},
    )
    assert post(sync_api, [encounter], [load, count]).status_code == 200
    with app.app_context():
        from outreach.stock import services

        naloxone = db.session.scalar(sa.select(SupplyItem.id).where(SupplyItem.key == NALOXONE))
        worker = db.session.scalar(sa.select(StockEvent.worker_id))
        bag = services.bag_of(worker)[naloxone]
        assert (bag.loaded, bag.handed_out, bag.expected) == (5, 2, 1)
        assert dict(bag.adjusted) == {"lost": 2}


def test_the_session_bag_from_the_last_count_equals_the_whole_replay(app, sync_api, users):
    """The session reads each item from its last count on; the full replay must agree,
    whatever mix of load-outs, counts, adjustments and encounters came before."""
    import random

    from outreach.models import User
    from outreach.stock import services

    _track(app, SYRINGE, NALOXONE, "condom")
    rng = random.Random(7)
    # First a bag where only one item is counted: an item handed out before its own first
    # load-out (but after the bag's first event) and one never loaded at all still count.
    first = (
        [
            make_encounter(supplies={NALOXONE: 2}, occurred_at=_at(38)),
            make_encounter(supplies={"condom": 3}, occurred_at=_at(36)),
        ],
        [
            stock_event("load", {SYRINGE: 50}, 40),
            stock_event("load", {"condom": 10}, 30),
            # One item counted later: the others must still be read from the bag's start.
            stock_event(
                "count", {SYRINGE: 45}, 25, expected={SYRINGE: 50}, reasons={SYRINGE: "lost"}
            ),
        ],
    )
    for round_ in range(7):
        encounters, stock = first if round_ == 0 else ([], [])
        for _ in range(12 if round_ else 0):
            hours_ago = rng.choice([40, 30, 20, 20, 10, 5, 1]) - round_ * 0.1
            kind = rng.choice(["load", "count", "adjustment", "encounter", "encounter"])
            item = rng.choice([SYRINGE, NALOXONE, "condom"])
            if kind == "encounter":
                encounters.append(
                    make_encounter(supplies={item: rng.randint(1, 30)}, occurred_at=_at(hours_ago))
                )
            elif kind == "count":
                extra = {"expected": {item: 50}, "reasons": {item: "lost"}}
                stock.append(stock_event("count", {item: rng.randint(0, 40)}, hours_ago, **extra))
            elif kind == "adjustment":
                stock.append(
                    stock_event(
                        "adjustment",
                        {item: rng.randint(1, 5)},
                        hours_ago,
                        reasons={item: "damaged"},
                    )
                )
            else:
                stock.append(stock_event("load", {item: rng.randint(1, 80)}, hours_ago))
        answer = post(sync_api, encounters, stock)
        assert answer.status_code == 200, answer.get_json()
        results = [r for kind in answer.get_json().values() if isinstance(kind, list) for r in kind]
        assert {r["status"] for r in results} <= {"created"}, results
        with app.app_context():
            worker = db.session.scalar(sa.select(User.id).where(User.username == users.worker))
            tracked = set(
                db.session.scalars(sa.select(SupplyItem.id).where(SupplyItem.stock_tracked))
            )
            whole = {item: entry.expected for item, entry in services.bag_of(worker).items()}
            assert services.expected_now(worker, tracked) == whole


def test_a_tracked_item_never_loaded_is_read_from_the_bags_start(app, sync_api, users):
    """Every loaded item is counted, but a tracked item handed out without ever being loaded
    still takes its hand-outs from the bag's start: the session shows it short."""
    from outreach.models import User
    from outreach.stock import services

    _track(app, SYRINGE, NALOXONE)
    answer = post(
        sync_api,
        [make_encounter(supplies={NALOXONE: 2}, occurred_at=_at(35))],
        [
            stock_event("load", {SYRINGE: 50}, 40),
            stock_event("count", {SYRINGE: 50}, 30, expected={SYRINGE: 50}),
        ],
    )
    assert answer.status_code == 200
    with app.app_context():
        worker = db.session.scalar(sa.select(User.id).where(User.username == users.worker))
        tracked = set(db.session.scalars(sa.select(SupplyItem.id).where(SupplyItem.stock_tracked)))
        whole = {item: entry.expected for item, entry in services.bag_of(worker).items()}
        assert services.expected_now(worker, tracked) == whole
    bag = sync_api.client.get("/api/v1/session").get_json()["bag"]
    assert bag == {"started": True, "items": {SYRINGE: 50, NALOXONE: -2}}


def _whole_replay_report(start, end):
    """The stock report's figures by replaying every bag from its start (the reference)."""
    from collections import Counter
    from collections import defaultdict

    from outreach.stock import ledger
    from outreach.stock import services

    figures = defaultdict(lambda: [0, 0, Counter()])
    now = defaultdict(dict)
    for (worker, item), moves in services._movements().items():
        state = ledger.Ledger()
        for entry in sorted(moves, key=lambda m: ledger.sort_key(m.movement)):
            made = ledger.apply(state, entry.movement)
            if start <= entry.day <= end:
                if entry.movement.kind == "load":
                    figures[item][0] += entry.movement.quantity
                elif entry.movement.kind == ledger.HANDED_OUT:
                    figures[item][1] += entry.movement.quantity
                figures[item][2].update(made)
        now[worker][item] = state.expected
    return figures, now


def test_the_stock_report_from_last_counts_equals_the_whole_replay(app):
    """The report replays each bag item from its last count before the period; over random
    histories of two workers and several periods it must give the whole replay's figures."""
    import random

    from outreach.auth import services as auth_services
    from outreach.encounters.ingest import ingest_batch
    from outreach.models import Role
    from outreach.models import User
    from outreach.reports.periods import today as local_today
    from outreach.stock import services
    from outreach.stock.ingest import ingest_stock_events

    _track(app, SYRINGE, NALOXONE)
    rng = random.Random(11)
    items = [SYRINGE, NALOXONE, "condom"]
    with app.app_context():
        for name in ("worker_a", "worker_b"):
            user = auth_services.create_user(name, Role.WORKER, "correct horse battery")
            encounters, events = [], []
            for _ in range(40):
                hours_ago = rng.uniform(1, 240)
                kind = rng.choice(["load", "count", "adjustment", "encounter", "encounter"])
                item = rng.choice(items)
                if kind == "encounter":
                    supplies = {item: rng.randint(1, 30)}
                    encounters.append(make_encounter(supplies=supplies, occurred_at=_at(hours_ago)))
                elif kind == "count":
                    counted = rng.randint(0, 40)
                    events.append(
                        stock_event(
                            "count",
                            {item: counted},
                            hours_ago,
                            expected={item: counted + rng.randint(0, 5)},
                            reasons={item: "lost"},
                        )
                    )
                elif kind == "adjustment":
                    amount = {item: rng.randint(1, 5)}
                    events.append(
                        stock_event("adjustment", amount, hours_ago, reasons={item: "damaged"})
                    )
                else:
                    events.append(stock_event("load", {item: rng.randint(1, 80)}, hours_ago))
            results = ingest_batch(encounters, user.id).results
            results += ingest_stock_events(events, user.id, None)
            assert {r["status"] for r in results} == {"created"}, results
        today = local_today()
        for first_day, last_day in [(10, 0), (6, 3), (4, 4), (2, 0), (30, 12)]:
            start, end = today - timedelta(days=first_day), today - timedelta(days=last_day)
            report = services.stock_report(start, end)
            whole, now = _whole_replay_report(start, end)
            got = {
                row.item.id: [row.loaded, row.handed_out, +row.adjusted]
                for row in report.items
                if row.loaded or row.handed_out or +row.adjusted
            }
            expected = {i: [f[0], f[1], +f[2]] for i, f in whole.items() if f[0] or f[1] or +f[2]}
            assert got == expected, (start, end)
            names = {u.id: u.username for u in db.session.scalars(sa.select(User))}
            assert {row.worker: row.expected for row in report.bags} == {
                names[worker]: bag for worker, bag in now.items()
            }


def _void(app, encounter_id):
    with app.app_context():
        from outreach.models import Encounter

        db.session.get(Encounter, uuid.UUID(encounter_id)).voided_at = datetime(2026, 1, 1)
        db.session.commit()


def test_report_loaded_handed_out_adjusted_and_bags_now(app, sync_api, supervisor_client):
    _track(app, SYRINGE, NALOXONE)
    voided = make_encounter(occurred_at=_at(3), supplies={SYRINGE: 5})
    post(
        sync_api,
        [make_encounter(occurred_at=_at(4), supplies={SYRINGE: 30, NALOXONE: 3}), voided],
        [
            stock_event(hours_ago=5),
            # Count: 60 syringes left where the phone expected 70 (10 lost); naloxone 10 where
            # 7 were expected (more than expected: "no reason").
            stock_event(
                "count",
                {SYRINGE: 60, NALOXONE: 10},
                hours_ago=2,
                expected={SYRINGE: 70, NALOXONE: 7},
                reasons={SYRINGE: "lost"},
            ),
            stock_event("adjustment", {NALOXONE: 2}, hours_ago=1, reasons={"NALOXONE": "x"}),
        ],
    )
    _void(app, voided["id"])
    # The adjustment above has no valid reason for its item: rejected, nothing stored.
    post(
        sync_api,
        [],
        [stock_event("adjustment", {NALOXONE: 2}, hours_ago=1, reasons={NALOXONE: "damaged"})],
    )
    from outreach.stock import services

    with app.app_context():
        today = datetime.now(UTC).date()
        report = services.stock_report(today - timedelta(days=2), today + timedelta(days=1))
        rows = {row.item.key: row for row in report.items}
        assert (rows[SYRINGE].loaded, rows[SYRINGE].handed_out) == (100, 30)
        assert dict(rows[SYRINGE].adjusted) == {"lost": 10}
        assert (rows[NALOXONE].loaded, rows[NALOXONE].handed_out) == (10, 3)
        assert dict(rows[NALOXONE].adjusted) == {"none": -3, "damaged": 2}
        for key in (SYRINGE, NALOXONE):
            row = rows[key]
            (bag,) = report.bags
            assert row.loaded - row.handed_out - row.adjusted_total == bag.expected[row.item.id]
        assert bag.worker == "wendy"
        # Outside the period: nothing moved, but the bags still hold what they hold.
        empty = services.stock_report(today - timedelta(days=40), today - timedelta(days=30))
        assert all(r.loaded == r.handed_out == 0 for r in empty.items)
        assert empty.bags[0].expected == bag.expected

    page = supervisor_client.get("/reports/stock?preset=last_90_days")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "wendy" in html and "Lost" in html
    csv = supervisor_client.get("/reports/stock?preset=last_90_days&format=csv")
    assert csv.mimetype == "text/csv"
    assert "wendy" in csv.get_data(as_text=True)


def test_a_short_bag_is_shown_negative(app, sync_api, supervisor_client):
    _track(app, SYRINGE)
    post(
        sync_api,
        [make_encounter(occurred_at=_at(4), supplies={SYRINGE: 30})],
        [stock_event(items={SYRINGE: 20}, hours_ago=5)],
    )
    assert sync_api.client.get("/api/v1/session").get_json()["bag"]["items"] == {SYRINGE: -10}
    html = supervisor_client.get("/reports/stock").get_data(as_text=True)
    assert "\u221210" in html
    assert "more handed out than loaded" in html.lower()


def test_only_supervisors_see_the_stock_report(worker_client, supervisor_client):
    assert worker_client.get("/reports/stock").status_code == 403
    assert supervisor_client.get("/reports/stock?preset=custom&start=2026-02-01").status_code == 400


def test_the_bag_page_lists_tracked_items_with_thresholds(app, worker_client):
    _track(app, NALOXONE, threshold=3)
    html = worker_client.get("/log/bag").get_data(as_text=True)
    assert f'data-item="{NALOXONE}"' in html and 'data-low="3"' in html
    assert f'data-item="{SYRINGE}"' not in html
    assert "/log/bag" in worker_client.get("/offline-pages.json").get_data(as_text=True)


def test_openapi_documents_stock_events(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "StockEvent" in spec["components"]["schemas"]


def test_admin_sets_tracked_items_and_thresholds_audited(app, admin_client, worker_client):
    from outreach.models import AuditEvent
    from tests.conftest import csrf_token_from

    with app.app_context():
        item_id = db.session.scalar(sa.select(SupplyItem.id).where(SupplyItem.key == NALOXONE))
    url = f"/admin/catalog/supplies/{item_id}"
    page = admin_client.get(url).get_data(as_text=True)
    assert 'name="stock_tracked"' in page and 'name="low_stock_threshold"' in page

    def post(**extra):
        token = csrf_token_from(admin_client.get(url).get_data(as_text=True))
        data = {
            "csrf_token": token,
            "key": NALOXONE,
            "name": "Naloxone nasal spray",
            "unit": "kit",
            "category": "overdose",
            "quick_amounts": "1 2",
            "is_naloxone": "y",
            "doses_per_unit": "2",
            **extra,
        }
        return admin_client.post(url, data=data)

    for bad in ("-1", "10001", "few", "2.5"):
        assert post(stock_tracked="y", low_stock_threshold=bad).status_code == 400, bad
    assert post(stock_tracked="y", low_stock_threshold="4").status_code == 302
    with app.app_context():
        item = db.session.get(SupplyItem, item_id)
        assert (item.stock_tracked, item.low_stock_threshold) == (True, 4)
        audit = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "catalog.update")
        ).all()
        assert audit[-1].details["changes"]["stock_tracked"] == [False, True]
        assert audit[-1].details["changes"]["low_stock_threshold"] == [None, 4]
    # Phones learn it from the catalogue (its version changes) and the pages.
    catalog = worker_client.get("/api/v1/catalog").get_json()
    entry = next(s for s in catalog["supplies"] if s["key"] == NALOXONE)
    assert (entry["stock_tracked"], entry["low_stock_threshold"]) == (True, 4)
    log = worker_client.get("/log").get_data(as_text=True)
    assert f'data-supply="{NALOXONE}" data-low="4"' in log
    # Blank threshold: tracked without a warning threshold.
    assert post(stock_tracked="y", low_stock_threshold="").status_code == 302
    with app.app_context():
        assert db.session.get(SupplyItem, item_id).low_stock_threshold is None
