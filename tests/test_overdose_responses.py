"""Overdose responses: synced beside encounters under the same idempotent contract, checked
per record, counted by the report figures."""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from outreach.extensions import db
from outreach.models import OverdoseResponse
from outreach.models import Zone
from outreach.overdoses.contract import MAX_NALOXONE_DOSES
from outreach.overdoses.figures import overdose_figures
from outreach.overdoses.ingest import Context
from outreach.overdoses.ingest import check
from outreach.reports.figures import ReportFilter
from tests.conftest import count_rows
from tests.conftest import make_encounter


def make_overdose(**overrides) -> dict:
    """A valid overdose response as a phone would send it."""
    record = {
        "id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
        "zone": "riverside",
        "naloxone_doses": 2,
        "given_by": ["worker", "bystander"],
        "ems_called": "yes",
        "outcome": "transported",
    }
    record.update(overrides)
    return record


def post(sync_api, encounters=(), overdoses=None):
    body = {"encounters": list(encounters)}
    if overdoses is not None:
        body["overdose_responses"] = list(overdoses)
    return sync_api.client.post("/api/v1/sync", json=body, headers={"X-CSRFToken": sync_api.token})


def test_an_overdose_response_is_created_with_its_answers(app, sync_api, users):
    record = make_overdose(logged_by=users.worker)
    response = post(sync_api, overdoses=[record])
    assert response.status_code == 200
    assert response.get_json() == {
        "results": [],
        "overdose_responses": [{"id": record["id"], "status": "created"}],
    }
    with app.app_context():
        stored = db.session.get(OverdoseResponse, uuid.UUID(record["id"]))
        assert stored.zone.key == "riverside"
        assert stored.worker.username == users.worker
        assert stored.naloxone_doses == 2
        assert (stored.given_by_worker, stored.given_by_bystander) == (True, True)
        assert (stored.given_by_participant, stored.given_by_ems) == (False, False)
        assert (stored.ems_called, stored.outcome) == ("yes", "transported")
        assert stored.voided_at is None


def test_resending_answers_duplicate_and_changes_nothing(app, sync_api):
    first, second = make_overdose(), make_overdose(outcome="alive")
    assert [
        r["status"]
        for r in post(sync_api, overdoses=[first, second]).get_json()["overdose_responses"]
    ] == ["created", "created"]
    changed = dict(first, naloxone_doses=7)
    again = post(sync_api, overdoses=[changed, second, changed]).get_json()["overdose_responses"]
    assert [r["status"] for r in again] == ["duplicate"] * 3
    assert [r["id"] for r in again] == [first["id"], second["id"], first["id"]]
    assert count_rows(app, "overdose_response") == 2
    with app.app_context():
        assert db.session.get(OverdoseResponse, uuid.UUID(first["id"])).naloxone_doses == 2


def test_the_same_id_twice_in_one_batch_is_stored_once(app, sync_api):
    record = make_overdose()
    results = post(sync_api, overdoses=[record, record]).get_json()["overdose_responses"]
    assert [r["status"] for r in results] == ["created", "duplicate"]
    assert count_rows(app, "overdose_response") == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"naloxone_doses": -1}, "naloxone_doses"),
        ({"naloxone_doses": MAX_NALOXONE_DOSES + 1}, "naloxone_doses"),
        ({"naloxone_doses": "2"}, "naloxone_doses"),
        ({"naloxone_doses": 2.0}, "naloxone_doses"),
        ({"naloxone_doses": True}, "naloxone_doses"),
        ({"given_by": ["neighbour"]}, "given_by"),
        ({"given_by": "worker"}, "given_by"),
        ({"given_by": ["none", "worker"], "naloxone_doses": 0}, "given_by"),
        ({"given_by": ["none"], "naloxone_doses": 1}, "given_by"),
        ({"ems_called": True}, "ems_called"),
        ({"ems_called": "maybe"}, "ems_called"),
        ({"ems_called": None}, "ems_called"),
        ({"outcome": "fine"}, "outcome"),
        ({"outcome": None}, "outcome"),
        ({"zone": "atlantis"}, "zone"),
        ({"zone": 3}, "zone"),
        ({"id": "not-a-uuid"}, "id"),
        ({"occurred_at": "2026-11-21T22:15:00"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
    ],
)
def test_bad_values_are_rejected_per_field(app, sync_api, overrides, field):
    good = make_overdose()
    bad = make_overdose(**overrides)
    results = post(sync_api, overdoses=[bad, good]).get_json()["overdose_responses"]
    assert results[0]["status"] == "rejected"
    assert field in results[0]["errors"]
    assert all(isinstance(m, str) and m for m in results[0]["errors"].values())
    assert results[1] == {"id": good["id"], "status": "created"}
    assert count_rows(app, "overdose_response") == 1


def test_missing_outcome_and_ems_are_rejected_and_nothing_is_assumed(app, sync_api):
    record = make_overdose()
    del record["outcome"], record["ems_called"]
    result = post(sync_api, overdoses=[record]).get_json()["overdose_responses"][0]
    assert result["status"] == "rejected"
    assert set(result["errors"]) == {"outcome", "ems_called"}
    assert count_rows(app, "overdose_response") == 0


def test_time_window_is_the_encounters_one(app, sync_api, fixed_clock):
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    fixed_clock(now)
    future = make_overdose(occurred_at=(now + timedelta(hours=25)).isoformat())
    old = make_overdose(occurred_at=(now - timedelta(days=367)).isoformat())
    ok = make_overdose(occurred_at=(now + timedelta(hours=23)).isoformat())
    results = post(sync_api, overdoses=[future, old, ok]).get_json()["overdose_responses"]
    assert [r["status"] for r in results] == ["rejected", "rejected", "created"]
    assert "occurred_at" in results[0]["errors"] and "occurred_at" in results[1]["errors"]


def test_local_day_is_the_program_day(app, sync_api):
    # 03:30 UTC on 22 November is 22:30 on 21 November in New York (the tests' zone).
    moment = datetime.now(UTC).replace(hour=3, minute=30, second=0, microsecond=0)
    record = make_overdose(occurred_at=moment.isoformat())
    post(sync_api, overdoses=[record])
    with app.app_context():
        stored = db.session.get(OverdoseResponse, uuid.UUID(record["id"]))
        assert stored.local_date == moment.astimezone(ZoneInfo("America/New_York")).date()
        assert stored.local_date == (moment - timedelta(days=1)).date()


def test_unknown_keys_are_tolerated_and_no_free_text_is_kept(app, sync_api):
    record = make_overdose(notes="Jane, blue jacket", name="Jane")
    assert post(sync_api, overdoses=[record]).get_json()["overdose_responses"][0]["status"] == (
        "created"
    )
    with app.app_context():
        row = db.session.execute(sa.text("SELECT * FROM overdose_response")).mappings().one()
    assert "Jane" not in repr(dict(row))


def test_a_record_logged_by_another_account_is_rejected(app, sync_api, users):
    record = make_overdose(logged_by=users.supervisor)
    result = post(sync_api, overdoses=[record]).get_json()["overdose_responses"][0]
    assert result["status"] == "rejected"
    assert "logged_by" in result["errors"]
    assert count_rows(app, "overdose_response") == 0


def test_mixed_batch_answers_each_kind_under_its_key(app, sync_api):
    encounter, overdose = make_encounter(), make_overdose()
    body = post(sync_api, [encounter], [overdose]).get_json()
    assert body == {
        "results": [{"id": encounter["id"], "status": "created"}],
        "overdose_responses": [{"id": overdose["id"], "status": "created"}],
    }
    assert count_rows(app, "encounter") == 1
    assert count_rows(app, "overdose_response") == 1


def test_a_bad_overdose_record_does_not_block_encounters(app, sync_api):
    encounter = make_encounter()
    body = post(sync_api, [encounter], [{"id": "x"}, "not an object", None]).get_json()
    assert body["results"] == [{"id": encounter["id"], "status": "created"}]
    assert [r["status"] for r in body["overdose_responses"]] == ["rejected"] * 3
    assert count_rows(app, "encounter") == 1
    assert count_rows(app, "overdose_response") == 0


def test_an_old_phone_sending_only_encounters_gets_the_same_answer(app, sync_api):
    encounter = make_encounter(naloxone_reversals_reported=2)
    response = sync_api.post([encounter])
    assert response.get_json() == {"results": [{"id": encounter["id"], "status": "created"}]}
    assert count_rows(app, "overdose_response") == 0
    with app.app_context():
        assert db.session.scalar(sa.text("SELECT naloxone_reversals_reported FROM encounter")) == 2


def test_overdose_responses_must_be_a_list(app, sync_api):
    response = sync_api.client.post(
        "/api/v1/sync",
        json={"encounters": [], "overdose_responses": {"id": "x"}},
        headers={"X-CSRFToken": sync_api.token},
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"
    assert count_rows(app, "overdose_response") == 0


def test_the_record_limit_counts_every_kind_together(app, sync_api):
    response = post(sync_api, [make_encounter() for _ in range(250)], [make_overdose()] * 251)
    assert response.status_code == 413
    assert count_rows(app, "encounter") == 0
    assert count_rows(app, "overdose_response") == 0


def test_figures_count_non_voided_responses_in_period_zone_and_worker(app, sync_api, users):
    day = datetime.now(UTC).astimezone(ZoneInfo("America/New_York")).date()
    records = [
        make_overdose(),
        make_overdose(naloxone_doses=0, given_by=["none"], ems_called="no", outcome="alive"),
        make_overdose(naloxone_doses=3, given_by=["ems"], outcome="died", zone=None),
    ]
    post(sync_api, overdoses=records)
    with app.app_context():
        riverside = db.session.scalar(sa.select(Zone.id).where(Zone.key == "riverside"))
        everything = overdose_figures(ReportFilter(day, day))
        assert everything.responses == 3
        assert everything.naloxone_doses == 5
        assert everything.by_outcome == {"alive": 1, "transported": 1, "died": 1, "unknown": 0}
        assert everything.ems_called == 2
        assert everything.given_by == {"worker": 1, "participant": 0, "bystander": 1, "ems": 1}
        in_zone = overdose_figures(ReportFilter(day, day, zone_id=riverside))
        assert (in_zone.responses, in_zone.naloxone_doses) == (2, 2)
        assert overdose_figures(ReportFilter(day, day, zone_id=0)).responses == 1
        worker_id = db.session.scalar(sa.text("SELECT worker_id FROM overdose_response LIMIT 1"))
        assert overdose_figures(ReportFilter(day, day, worker_id=worker_id)).responses == 3
        assert overdose_figures(ReportFilter(day, day, worker_id=worker_id + 99)).responses == 0
        before = day - timedelta(days=1)
        assert overdose_figures(ReportFilter(before, before)).responses == 0
        db.session.execute(
            sa.update(OverdoseResponse)
            .where(OverdoseResponse.id == uuid.UUID(records[2]["id"]))
            .values(voided_at=datetime(2026, 1, 1))
        )
        db.session.commit()
        after_void = overdose_figures(ReportFilter(day, day))
        assert (after_void.responses, after_void.naloxone_doses) == (2, 2)


# --- properties: any JSON in, a verdict out; accepted values are exactly the bounded ones ---

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CONTEXT = Context(zones={"riverside": 1}, now=NOW, timezone=ZoneInfo("America/New_York"))
FUZZ = settings(
    max_examples=200, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
FIELDS = ["id", "occurred_at", "zone", "naloxone_doses", "given_by", "ems_called", "outcome"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)


def _valid() -> dict:
    return make_overdose(occurred_at=(NOW - timedelta(hours=2)).isoformat())


@FUZZ
@given(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=7) | json_values)
def test_any_json_gets_a_verdict(raw):
    row, errors = check(raw, CONTEXT)
    assert (row is None) == bool(errors)
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in errors.items())


@FUZZ
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_only_values_within_the_contract_are_accepted(field, value):
    record = {**_valid(), field: value}
    row, _errors = check(record, CONTEXT)
    if row is None:
        return
    assert 0 <= row["naloxone_doses"] <= MAX_NALOXONE_DOSES
    assert type(record.get("naloxone_doses", 0)) is int
    assert row["ems_called"] in ("yes", "no", "unknown")
    assert row["outcome"] in ("alive", "transported", "died", "unknown")
    assert row["zone_id"] in (None, 1)
    assert row["local_date"] >= date(2025, 11, 20)
    givers = record.get("given_by", [])
    assert isinstance(givers, list) and len(givers) <= 5
    if "none" in givers:
        assert givers == ["none"] * len(givers) and row["naloxone_doses"] == 0


@FUZZ
@given(doses=st.integers(min_value=-1000, max_value=1000))
def test_doses_are_accepted_exactly_within_bounds(doses):
    row, errors = check({**_valid(), "naloxone_doses": doses}, CONTEXT)
    assert (row is not None) == (0 <= doses <= MAX_NALOXONE_DOSES)
    if row is None:
        assert set(errors) == {"naloxone_doses"}


# --- reports: the dashboard, summary.json and the CSV exports --------------------------------


def _today() -> date:
    return datetime.now(UTC).astimezone(ZoneInfo("America/New_York")).date()


def _csv(response) -> list[dict]:
    import csv
    import io

    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def test_reports_page_and_summary_count_overdose_responses(app, sync_api, supervisor_client):
    post(
        sync_api,
        [make_encounter(naloxone_reversals_reported=1)],
        [
            make_overdose(),
            make_overdose(naloxone_doses=1, given_by=["participant"], outcome="died"),
        ],
    )
    day = _today().isoformat()
    summary = supervisor_client.get(f"/reports/summary.json?start={day}&end={day}").get_json()
    assert summary["encounters"] == 1
    assert summary["naloxone_reversals_reported"] == 1
    assert summary["overdose_responses"] == {
        "responses": 2,
        "naloxone_doses": 3,
        "ems_called": 2,
        "by_outcome": {"alive": 0, "transported": 1, "died": 1, "unknown": 0},
        "naloxone_given_by": {"worker": 1, "participant": 1, "bystander": 1, "ems": 0},
    }
    page = supervisor_client.get(f"/reports?preset=custom&start={day}&end={day}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    section = html[html.index('id="overdoses"') :]
    section = section[: section.index("</section>")]
    assert 'id="chart-overdoses-title"' in section
    assert "Naloxone doses used" in section and "<dd>3</dd>" in section


def test_reports_page_says_when_there_are_no_overdose_responses(supervisor_client):
    html = supervisor_client.get("/reports").get_data(as_text=True)
    assert "No overdose responses in this period." in html


def test_internal_export_has_the_exact_overdose_measures(app, sync_api, supervisor_client):
    post(sync_api, overdoses=[make_overdose(), make_overdose(zone=None, outcome="alive")])
    day = _today().isoformat()
    rows = _csv(supervisor_client.get(f"/reports/export.csv?period=day&start={day}&end={day}"))
    totals = {
        (r["measure"], r["key"]): r["value"]
        for r in rows
        if r["zone"] == "all" and r["measure"].startswith("overdose_")
    }
    assert totals[("overdose_responses", "")] == "2"
    assert totals[("overdose_naloxone_doses", "")] == "4"
    assert totals[("overdose_outcome", "alive")] == "1"
    assert totals[("overdose_outcome", "transported")] == "1"
    assert totals[("overdose_given_by", "worker")] == "2"
    # The zone with only an overdose response (no encounters) is listed, so totals add up.
    zones = {r["zone"] for r in rows if r["measure"] == "overdose_responses"}
    assert zones == {"riverside", "none", "all"}


def test_shareable_export_hides_outcomes_together_with_responses(app, sync_api, supervisor_client):
    # Last month: a zone with many responses and two with few, outcomes mixed.
    first = (_today().replace(day=1) - timedelta(days=1)).replace(day=1)
    noon = datetime.combine(first, datetime.min.time(), ZoneInfo("America/New_York"))
    records = []
    for n, (zone, outcome) in enumerate(
        [("downtown", "alive")] * 12
        + [("downtown", "died")] * 2
        + [("riverside", "alive")] * 12
        + [("riverside", "transported")] * 1
        + [("eastside", "alive")] * 3
    ):
        at = (noon + timedelta(hours=12, minutes=n)).isoformat()
        records.append(make_overdose(occurred_at=at, zone=zone, outcome=outcome))
    post(sync_api, overdoses=records)
    last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    rows = _csv(
        supervisor_client.get(
            f"/reports/export.csv?suppress=1&period=month&start={first}&end={last}"
        )
    )
    cells: dict = {}
    for r in rows:
        if r["measure"] in ("overdose_responses", "overdose_outcome"):
            cells.setdefault((r["period"], r["period_start"], r["zone"]), {})[r["key"]] = (
                None if r["suppressed"] else int(r["value"])
            )
    assert cells, "the shareable file has the overdose measures"
    small = [c for c in cells.values() if c[""] is not None and 1 <= c[""] < 11]
    assert not small, "a small count of responses is published"
    for cell in cells.values():
        outcomes = [cell[key] for key in ("alive", "transported", "died", "unknown")]
        if cell[""] is not None:
            # Responses published: every outcome is too, and they add up.
            assert None not in outcomes
            assert sum(outcomes) == cell[""]
    # The small outcomes (2 died, 1 transported, 3 eastside) are hidden.
    hidden = {(z, k) for (_p, _s, z), c in cells.items() for k, v in c.items() if v is None}
    assert {("downtown", "died"), ("riverside", "transported"), ("eastside", "alive")} <= hidden


# --- voiding one entered by mistake ---------------------------------------------------------


def test_a_supervisor_voids_an_overdose_response_and_it_leaves_the_reports(
    app, sync_api, supervisor_client, worker_client
):
    from tests.conftest import csrf_token_from

    keep, mistake = make_overdose(), make_overdose(outcome="died", naloxone_doses=5)
    post(sync_api, overdoses=[keep, mistake])
    listing = supervisor_client.get("/reports/overdoses")
    assert listing.status_code == 200
    assert f"/reports/overdoses/{mistake['id']}/void" in listing.get_data(as_text=True)
    assert worker_client.get(f"/reports/overdoses/{mistake['id']}/void").status_code == 403

    url = f"/reports/overdoses/{mistake['id']}/void"
    page = supervisor_client.get(url)
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    assert supervisor_client.post(url, data={"csrf_token": token}).status_code == 400
    answer = supervisor_client.post(url, data={"csrf_token": token, "reason": "duplicate"})
    assert answer.status_code == 302
    # Voided once: a second void changes nothing.
    assert supervisor_client.post(
        url, data={"csrf_token": token, "reason": "test"}
    ).status_code == (409)

    day = _today().isoformat()
    summary = supervisor_client.get(f"/reports/summary.json?start={day}&end={day}").get_json()
    assert summary["overdose_responses"]["responses"] == 1
    assert summary["overdose_responses"]["by_outcome"]["died"] == 0
    rows = _csv(supervisor_client.get(f"/reports/export.csv?period=day&start={day}&end={day}"))
    total = [r for r in rows if r["measure"] == "overdose_responses" and r["zone"] == "all"]
    assert [r["value"] for r in total] == ["1"]
    with app.app_context():
        stored = db.session.get(OverdoseResponse, uuid.UUID(mistake["id"]))
        assert stored.voided_at is not None and stored.void_reason == "duplicate"
        events = db.session.execute(
            sa.text("SELECT action, target_id FROM audit_event WHERE action LIKE 'overdose%'")
        ).all()
    assert [(a, str(uuid.UUID(t))) for a, t in events] == [
        ("overdose_response.void", mistake["id"])
    ]
    # Sending the voided record again is still a duplicate: it does not come back.
    again = post(sync_api, overdoses=[mistake]).get_json()["overdose_responses"]
    assert again == [{"id": mistake["id"], "status": "duplicate"}]
