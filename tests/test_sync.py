"""POST /api/v1/sync: per-record results, idempotency, validation and limits."""

from __future__ import annotations

import json
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import Encounter
from outreach.models import EncounterReferral
from outreach.models import EncounterSupply
from outreach.models import SupplyItem
from tests.conftest import count_rows
from tests.conftest import make_encounter


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def test_sync_stores_a_valid_encounter_with_its_lines(app, sync_api, users):
    record = make_encounter(people_served=3, syringes_collected=40)
    response = sync_api.post([record])
    assert response.status_code == 200
    assert response.get_json() == {"results": [{"id": record["id"], "status": "created"}]}
    with app.app_context():
        stored = db.session.get(Encounter, uuid.UUID(record["id"]))
        assert stored.people_served == 3
        assert stored.syringes_collected == 40
        assert stored.zone.key == "riverside"
        assert stored.worker.username == users.worker
        assert {line.item.key: line.quantity for line in stored.supplies} == {
            "syringe_1ml_27g": 20,
            "naloxone_nasal": 1,
        }
        assert [r.referral_type.key for r in stored.referrals] == ["wound_care"]


def test_sync_resend_answers_duplicate_and_changes_nothing(app, sync_api):
    batch = [make_encounter(), make_encounter()]
    assert [r["status"] for r in sync_api.post(batch).get_json()["results"]] == ["created"] * 2
    changed = [dict(batch[0], people_served=9), batch[1]]
    again = sync_api.post(changed).get_json()["results"]
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    assert [r["id"] for r in again] == [batch[0]["id"], batch[1]["id"]]
    assert count_rows(app, "encounter") == 2
    assert count_rows(app, "encounter_supply") == 4
    with app.app_context():
        assert db.session.get(Encounter, uuid.UUID(batch[0]["id"])).people_served == 1


def test_sync_same_id_twice_in_one_batch_stores_it_once(app, sync_api):
    record = make_encounter()
    results = sync_api.post([record, dict(record)]).get_json()["results"]
    assert [r["status"] for r in results] == ["created", "duplicate"]
    assert count_rows(app, "encounter") == 1


def test_sync_one_bad_record_never_blocks_the_others(app, sync_api):
    good_before, good_after = make_encounter(), make_encounter()
    bad = make_encounter(supplies={"syringe_9ml": 5})
    results = sync_api.post([good_before, bad, good_after]).get_json()["results"]
    assert results == [
        {"id": good_before["id"], "status": "created"},
        {"id": bad["id"], "status": "rejected", "errors": {"supplies.syringe_9ml": "unknown item"}},
        {"id": good_after["id"], "status": "created"},
    ]
    assert count_rows(app, "encounter") == 2


def test_sync_empty_batch_answers_empty_results(sync_api):
    response = sync_api.post([])
    assert response.status_code == 200
    assert response.get_json() == {"results": []}


def test_sync_accepts_records_from_older_and_newer_phones(app, sync_api):
    older = {"id": str(uuid.uuid4()), "occurred_at": iso(datetime.now(UTC))}
    newer = make_encounter(app_version="9.9", unknown_future_field={"nested": True})
    results = sync_api.post([older, newer]).get_json()["results"]
    assert [r["status"] for r in results] == ["created", "created"]
    with app.app_context():
        stored = db.session.get(Encounter, uuid.UUID(older["id"]))
        assert (stored.people_served, stored.syringes_collected, stored.zone_id) == (1, 0, None)


def test_sync_keeps_deactivated_items_from_phones_with_an_older_catalogue(app, sync_api):
    with app.app_context():
        item = db.session.scalar(sa.select(SupplyItem).where(SupplyItem.key == "cooker"))
        item.active = False
        db.session.commit()
    record = make_encounter(supplies={"cooker": 3})
    assert sync_api.post([record]).get_json()["results"][0]["status"] == "created"


def test_sync_stores_utc_and_the_local_program_day(app, sync_api, fixed_clock):
    # 23:30 in New York on 1 March is 04:30 UTC on 2 March; reports count it on 1 March.
    fixed_clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    local = datetime(2026, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    record = make_encounter(occurred_at=iso(local))
    assert sync_api.post([record]).get_json()["results"][0]["status"] == "created"
    with app.app_context():
        stored = db.session.get(Encounter, uuid.UUID(record["id"]))
        assert stored.occurred_at == local.astimezone(UTC).replace(tzinfo=None)
        assert stored.local_date == local.date()


def test_sync_accepts_z_suffix_and_other_offsets(sync_api):
    now = datetime.now(UTC) - timedelta(hours=1)
    records = [
        make_encounter(occurred_at=now.strftime("%Y-%m-%dT%H:%M:%SZ")),
        make_encounter(occurred_at=iso(now.astimezone(timezone(timedelta(hours=5, minutes=30))))),
    ]
    assert [r["status"] for r in sync_api.post(records).get_json()["results"]] == ["created"] * 2


def test_sync_referrals_listed_twice_are_stored_once(app, sync_api):
    record = make_encounter(referrals=["moud", "moud", "housing"])
    assert sync_api.post([record]).get_json()["results"][0]["status"] == "created"
    assert count_rows(app, "encounter_referral") == 2


def test_sync_blank_participant_code_means_none(app, sync_api):
    record = make_encounter(participant_code="   ")
    assert sync_api.post([record]).get_json()["results"][0]["status"] == "created"
    with app.app_context():
        assert db.session.get(Encounter, uuid.UUID(record["id"])).participant_hash is None


NOW = datetime.now(UTC)

BAD_RECORDS = [
    # (description, overrides or a whole record, field with the error)
    ("negative quantity", {"supplies": {"syringe_1ml_27g": -5}}, "supplies.syringe_1ml_27g"),
    ("zero quantity", {"supplies": {"syringe_1ml_27g": 0}}, "supplies.syringe_1ml_27g"),
    ("fractional quantity", {"supplies": {"syringe_1ml_27g": 2.5}}, "supplies.syringe_1ml_27g"),
    ("float-valued integer", {"supplies": {"syringe_1ml_27g": 20.0}}, "supplies.syringe_1ml_27g"),
    ("string quantity", {"supplies": {"syringe_1ml_27g": "20"}}, "supplies.syringe_1ml_27g"),
    ("boolean quantity", {"supplies": {"syringe_1ml_27g": True}}, "supplies.syringe_1ml_27g"),
    ("huge quantity", {"supplies": {"syringe_1ml_27g": 10_001}}, "supplies.syringe_1ml_27g"),
    ("enormous quantity", {"supplies": {"syringe_1ml_27g": 10**30}}, "supplies.syringe_1ml_27g"),
    ("null quantity", {"supplies": {"syringe_1ml_27g": None}}, "supplies.syringe_1ml_27g"),
    ("unknown item", {"supplies": {"syringe_9ml": 5}}, "supplies.syringe_9ml"),
    ("supplies not an object", {"supplies": ["syringe_1ml_27g"]}, "supplies"),
    ("unknown referral", {"referrals": ["astrology"]}, "referrals.astrology"),
    ("referrals not a list", {"referrals": "moud"}, "referrals"),
    ("referral not a string", {"referrals": [7]}, "referrals"),
    ("unknown zone", {"zone": "mars"}, "zone"),
    ("zone not a string", {"zone": 3}, "zone"),
    ("date without offset", {"occurred_at": NOW.strftime("%Y-%m-%dT%H:%M:%S")}, "occurred_at"),
    ("unreadable date", {"occurred_at": "last tuesday"}, "occurred_at"),
    ("date as a number", {"occurred_at": 1_700_000_000}, "occurred_at"),
    ("missing date", {"occurred_at": None}, "occurred_at"),
    ("date far in the future", {"occurred_at": iso(NOW + timedelta(days=3))}, "occurred_at"),
    ("date 25 hours ahead", {"occurred_at": iso(NOW + timedelta(hours=25))}, "occurred_at"),
    ("date over a year old", {"occurred_at": iso(NOW - timedelta(days=367))}, "occurred_at"),
    ("missing id", {"id": None}, "id"),
    ("malformed id", {"id": "not-a-uuid"}, "id"),
    ("id without hyphens", {"id": uuid.uuid4().hex}, "id"),
    ("numeric id", {"id": 12345}, "id"),
    ("people served zero", {"people_served": 0}, "people_served"),
    ("people served over 100", {"people_served": 101}, "people_served"),
    ("people served as string", {"people_served": "2"}, "people_served"),
    ("negative syringes collected", {"syringes_collected": -1}, "syringes_collected"),
    ("too many syringes collected", {"syringes_collected": 100_001}, "syringes_collected"),
    ("syringes collected fractional", {"syringes_collected": 1.5}, "syringes_collected"),
    ("too many reversals", {"naloxone_reversals_reported": 51}, "naloxone_reversals_reported"),
    ("reversals boolean", {"naloxone_reversals_reported": False}, "naloxone_reversals_reported"),
    ("participant code too long", {"participant_code": "A" * 65}, "participant_code"),
    ("participant code not text", {"participant_code": 1987}, "participant_code"),
    ("participant code only dashes", {"participant_code": "---"}, "participant_code"),
]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [pytest.param(o, f, id=d) for d, o, f in BAD_RECORDS],
)
def test_sync_rejects_bad_values_with_a_message(app, sync_api, overrides, field):
    record = make_encounter(**overrides)
    good = make_encounter()
    response = sync_api.post([record, good])
    assert response.status_code == 200
    rejected, accepted = response.get_json()["results"]
    assert rejected["status"] == "rejected"
    assert field in rejected["errors"], rejected["errors"]
    assert all(isinstance(m, str) and len(m) > 5 for m in rejected["errors"].values())
    assert accepted == {"id": good["id"], "status": "created"}
    assert count_rows(app, "encounter") == 1


@pytest.mark.parametrize("record", [None, 7, "text", ["a"]], ids=["null", "int", "str", "list"])
def test_sync_rejects_records_that_are_not_objects(sync_api, record):
    result = sync_api.post([record]).get_json()["results"][0]
    assert result == {
        "id": None,
        "status": "rejected",
        "errors": {"record": "Each record must be a JSON object."},
    }


def test_sync_accepts_the_edges_of_every_limit(app, sync_api):
    record = make_encounter(
        supplies={"syringe_1ml_27g": 10_000, "condom": 1},
        people_served=100,
        syringes_collected=100_000,
        naloxone_reversals_reported=50,
        participant_code="A" * 64,
        occurred_at=iso(NOW - timedelta(days=365)),
    )
    assert sync_api.post([record]).get_json()["results"][0]["status"] == "created"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"", "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (json.dumps([]).encode(), "application/json"),
        (json.dumps({"records": []}).encode(), "application/json"),
        (json.dumps({"encounters": {}}).encode(), "application/json"),
        (json.dumps({"encounters": "x"}).encode(), "application/json"),
    ],
    ids=["broken", "empty", "binary", "list", "wrong-key", "object", "string"],
)
def test_sync_answers_400_for_unreadable_bodies(app, sync_api, data, content_type):
    response = sync_api.post_raw(data, content_type)
    assert response.status_code == 400
    assert response.is_json
    assert response.get_json()["error"] == "bad_request"


def test_sync_accepts_json_sent_as_text_plain(sync_api):
    body = json.dumps({"encounters": [make_encounter()]})
    response = sync_api.post_raw(body, "text/plain")
    assert response.get_json()["results"][0]["status"] == "created"


def test_sync_answers_413_for_more_than_500_records(app, sync_api):
    response = sync_api.post([make_encounter() for _ in range(501)])
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_many_records"
    assert count_rows(app, "encounter") == 0


def test_sync_accepts_exactly_500_records(app, sync_api):
    response = sync_api.post([make_encounter() for _ in range(500)])
    assert response.status_code == 200
    assert count_rows(app, "encounter") == 500


def test_sync_answers_413_for_a_body_over_one_mebibyte(app, sync_api):
    padding = "x" * (1024 * 1024)
    response = sync_api.post_raw(json.dumps({"encounters": [], "padding": padding}))
    assert response.status_code == 413
    assert response.is_json


def test_sync_answers_401_when_signed_out_before_checking_csrf(client):
    response = client.post("/api/v1/sync", json={"encounters": []})
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert "Location" not in response.headers


@pytest.mark.parametrize("token", [None, "forged-token"], ids=["missing", "forged"])
def test_sync_answers_403_without_a_valid_csrf_token(worker_client, token):
    headers = {"X-CSRFToken": token} if token else {}
    response = worker_client.post("/api/v1/sync", json={"encounters": []}, headers=headers)
    assert response.status_code == 403
    assert response.get_json()["error"] == "csrf"


def test_sync_answers_429_past_the_rate_limit(make_app, users):
    from tests.conftest import SyncApi
    from tests.conftest import _signed_in_client

    app = make_app(SYNC_RATE_PER_MINUTE=2)
    api = SyncApi(_signed_in_client(app, users.worker))
    assert [api.post([]).status_code for _ in range(2)] == [200, 200]
    limited = api.post([make_encounter()])
    assert limited.status_code == 429
    assert limited.get_json()["error"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1


def test_api_answers_json_404_and_405(worker_client):
    missing = worker_client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.is_json
    wrong_method = worker_client.get("/api/v1/sync")
    assert wrong_method.status_code == 405
    assert wrong_method.is_json


def test_sync_answers_503_json_when_the_database_is_unreachable(app, sync_api, monkeypatch):
    from outreach.encounters import ingest

    sync_api.token  # noqa: B018 - fetch the token while the database is still there

    def unreachable(*_args, **_kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(ingest, "load_catalog_index", unreachable)
    response = sync_api.post([make_encounter()])
    assert response.status_code == 503
    assert response.get_json()["error"] == "database_unavailable"
    assert response.headers["Retry-After"]


def test_sync_rows_keep_their_supply_and_referral_lines_together(app, sync_api):
    records = [make_encounter() for _ in range(20)]
    sync_api.post(records)
    with app.app_context():
        orphans = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(EncounterSupply)
            .outerjoin(Encounter, Encounter.id == EncounterSupply.encounter_id)
            .where(Encounter.id.is_(None))
        )
        assert orphans == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EncounterReferral)) == 20


def test_backdated_records_are_noted_in_the_audit_log_with_who_sent_them(app, sync_api, users):
    from outreach.models import AuditEvent
    from outreach.models import User

    recent = make_encounter(occurred_at=iso(NOW - timedelta(days=2)))
    old = [make_encounter(occurred_at=iso(NOW - timedelta(days=d))) for d in (4, 30)]
    coded = make_encounter(occurred_at=iso(NOW - timedelta(days=5)), participant_code="QX-881")
    sync_api.post([recent, *old, coded])
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "encounter.backdated")
        ).all()
        assert len(events) == 1
        event = events[0]
        sender = db.session.scalar(sa.select(User).where(User.username == users.worker))
        assert event.actor_id == sender.id
        assert event.details["records"] == 3
        assert sorted(event.details["ids"]) == sorted(r["id"] for r in [*old, coded])
        assert event.details["older_than_days"] == 3
        # Ids and a count, nothing about the participant.
        assert "QX" not in json.dumps(event.details)
    # A batch with nothing back-dated, or resent, adds no entry.
    sync_api.post([make_encounter(), *old])
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "encounter.backdated")
        )
        assert count == 1


def test_the_backdating_threshold_is_a_setting(make_app, users):
    from outreach.models import AuditEvent
    from tests.conftest import SyncApi
    from tests.conftest import _signed_in_client

    app = make_app(BACKDATED_AUDIT_DAYS=10)
    api = SyncApi(_signed_in_client(app, users.worker))
    api.post([make_encounter(occurred_at=iso(NOW - timedelta(days=5)))])
    backdated = sa.select(sa.func.count()).where(AuditEvent.action == "encounter.backdated")
    with app.app_context():
        assert db.session.scalar(backdated) == 0
    api.post([make_encounter(occurred_at=iso(NOW - timedelta(days=11)))])
    with app.app_context():
        assert db.session.scalar(backdated) == 1
