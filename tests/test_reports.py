"""/reports: summary.json in its documented shape, the dashboard, and voiding records."""

from __future__ import annotations

import re
import uuid
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import AuditEvent
from outreach.models import Encounter
from outreach.reports import periods
from tests.conftest import csrf_token_from
from tests.conftest import make_encounter

SUMMARY_KEYS = {
    "start": str,
    "end": str,
    "encounters": int,
    "participants": int,
    "people_served": int,
    "supplies": dict,
    "syringes_collected": int,
    "naloxone_reversals_reported": int,
    "syringes_collected_by_weight": dict,
    "naloxone": dict,
    "referrals": dict,
    "overdose_responses": dict,
}


def _today(app) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(app.config["PROGRAM_TIMEZONE"])).date()


def _month_of(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _after_this_month(fixed_clock) -> None:
    """Move the app's clock past the end of this month: participant figures are published
    for ended calendar months only (participant_figures)."""
    fixed_clock(datetime.now(UTC) + timedelta(days=40))


def _send(sync_api, records) -> None:
    results = sync_api.post(records).get_json()["results"]
    assert {r["status"] for r in results} == {"created"}, results


def _void(client, encounter_id: str, reason: str = "duplicate"):
    page = client.get(f"/reports/encounters/{encounter_id}/void")
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(
        f"/reports/encounters/{encounter_id}/void",
        data={"csrf_token": token, "reason": reason},
    )


def test_summary_json_matches_the_design_exactly(app, supervisor_client, sync_api, fixed_clock):
    _send(
        sync_api,
        [
            make_encounter(participant_code="A-1", people_served=2, syringes_collected=5),
            make_encounter(
                participant_code="a 1",
                zone="downtown",
                supplies={"naloxone_nasal": 2},
                referrals=["moud", "wound_care"],
                naloxone_reversals_reported=1,
                syringes_collected=0,
            ),
            make_encounter(participant_code=None, referrals=[]),
        ],
    )
    today = _today(app)
    first, last = _month_of(today)
    _after_this_month(fixed_clock)
    body = supervisor_client.get(f"/reports/summary.json?start={first}&end={last}").get_json()
    # One participant: fewer than the threshold, so the count is hidden (documented form).
    assert set(body) == set(SUMMARY_KEYS) | {"participants_fewer_than"}
    for key, kind in SUMMARY_KEYS.items():
        assert key == "participants" or type(body[key]) is kind, key
    assert body == {
        "start": first.isoformat(),
        "end": last.isoformat(),
        "encounters": 3,
        "participants": None,
        "participants_fewer_than": 11,
        "people_served": 4,
        "supplies": {"syringe_1ml_27g": 40, "naloxone_nasal": 4},
        "syringes_collected": 20,
        "naloxone_reversals_reported": 1,
        "syringes_collected_by_weight": {
            "grams": 0,
            "syringes_per_pound": 281,
            "estimated_syringes": 0,
            "counted_and_estimated": 20,
        },
        # The seeded nasal kit holds two doses.
        "naloxone": {"kits": 4, "doses": 8},
        "referrals": {"wound_care": 2, "moud": 1},
        "overdose_responses": {
            "responses": 0,
            "naloxone_doses": 0,
            "ems_called": 0,
            "by_outcome": {"alive": 0, "transported": 0, "died": 0, "unknown": 0},
            "naloxone_given_by": {"worker": 0, "participant": 0, "bystander": 0, "ems": 0},
        },
    }
    zone = supervisor_client.get(
        f"/reports/summary.json?start={first}&end={last}&zone=downtown"
    ).get_json()
    assert (zone["encounters"], zone["participants"], zone["referrals"]) == (
        1,
        None,
        {"moud": 1, "wound_care": 1},
    )


def test_summary_json_keeps_the_design_shape_when_nothing_is_hidden(
    app, supervisor_client, sync_api, fixed_clock
):
    _send(sync_api, [make_encounter(participant_code=f"C-{n}") for n in range(12)])
    first, last = _month_of(_today(app))
    _after_this_month(fixed_clock)
    body = supervisor_client.get(f"/reports/summary.json?start={first}&end={last}").get_json()
    assert set(body) == set(SUMMARY_KEYS)
    for key, kind in SUMMARY_KEYS.items():
        assert type(body[key]) is kind, key
    assert (body["encounters"], body["participants"]) == (12, 12)


def test_summary_json_withholds_participants_outside_ended_calendar_periods(
    app, supervisor_client, sync_api, fixed_clock
):
    """A day, a free range and a month still under way say why participants are null."""
    _send(sync_api, [make_encounter(participant_code=f"C-{n}") for n in range(12)])
    today = _today(app)
    first, last = _month_of(today)
    expected = {
        f"start={today}&end={today}": "calendar_periods_only",
        f"start={first}&end={last}": "period_not_ended",
    }
    for query, reason in expected.items():
        body = supervisor_client.get(f"/reports/summary.json?{query}").get_json()
        assert (body["participants"], body["participants_withheld"]) == (None, reason), query
        assert "participants_fewer_than" not in body
        assert body["encounters"] == 12


def test_summary_json_defaults_to_this_month(app, supervisor_client):
    today = _today(app)
    body = supervisor_client.get("/reports/summary.json").get_json()
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    assert (body["start"], body["end"]) == (first.isoformat(), last.isoformat())
    assert body["encounters"] == 0 and body["supplies"] == {} and body["referrals"] == {}


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("start=2026-11-30&end=2026-11-01", "before"),
        ("start=2026-02-30", "YYYY-MM-DD"),
        ("end=yesterday", "YYYY-MM-DD"),
        ("start=20261101", "YYYY-MM-DD"),
        ("zone=atlantis", "atlantis"),
        ("start=2020-01-01&end=2026-11-30", str(periods.MAX_SPAN_DAYS)),
    ],
)
def test_summary_json_refuses_bad_parameters_with_a_message(supervisor_client, query, words):
    response = supervisor_client.get(f"/reports/summary.json?{query}")
    assert response.status_code == 400
    assert response.is_json
    assert words in response.get_json()["message"]


def test_summary_json_leaves_voided_records_out(app, supervisor_client, sync_api):
    kept, mistaken = make_encounter(), make_encounter(people_served=9)
    _send(sync_api, [kept, mistaken])
    assert _void(supervisor_client, mistaken["id"]).status_code == 302
    today = _today(app)
    body = supervisor_client.get(f"/reports/summary.json?start={today}&end={today}").get_json()
    assert (body["encounters"], body["people_served"]) == (1, 1)


def test_dashboard_shows_figures_charts_and_tables(app, supervisor_client, sync_api):
    _send(sync_api, [make_encounter(participant_code="Z-9"), make_encounter(zone="downtown")])
    response = supervisor_client.get("/reports")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "<svg" in html and 'role="img"' in html and "<desc" in html
    assert "style=" not in html, "the CSP forbids inline styles"
    assert "<script>" not in html
    assert "Riverside" in html and "Downtown" in html
    assert "Wound care" in html


@pytest.mark.parametrize(
    ("preset", "first", "last"),
    [
        # Wednesday 18 November 2026, 21:30 in New York (02:30 UTC on the 19th).
        ("this_week", "2026-11-16", "2026-11-22"),
        ("last_week", "2026-11-09", "2026-11-15"),
        ("this_month", "2026-11-01", "2026-11-30"),
        ("last_month", "2026-10-01", "2026-10-31"),
        ("last_90_days", "2026-08-21", "2026-11-18"),
        ("custom", "2026-11-03", "2026-11-04"),
    ],
)
def test_dashboard_presets_cover_their_dates(supervisor_client, fixed_clock, preset, first, last):
    fixed_clock(datetime(2026, 11, 19, 2, 30, tzinfo=UTC))
    response = supervisor_client.get(f"/reports?preset={preset}&start=2026-11-03&end=2026-11-04")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # The export forms carry the period the page shows.
    assert f'name="start" value="{first}"' in html
    assert f'name="end" value="{last}"' in html
    assert set(SUMMARY_KEYS) <= set(supervisor_client.get("/reports/summary.json").get_json())


def test_summary_defaults_follow_the_clock_across_a_year_end(supervisor_client, fixed_clock):
    fixed_clock(datetime(2027, 1, 1, 3, 0, tzinfo=UTC))  # still 31 December in New York
    body = supervisor_client.get("/reports/summary.json").get_json()
    assert (body["start"], body["end"]) == ("2026-12-01", "2026-12-31")


def test_a_reversed_custom_range_keeps_the_typed_dates_beside_the_message(supervisor_client):
    response = supervisor_client.get("/reports?preset=custom&start=2026-11-10&end=2026-11-01")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'value="2026-11-10"' in html and 'value="2026-11-01"' in html
    end_field = html[html.index('name="end"') - 600 : html.index('name="end"') + 600]
    assert "The end date is before the start date." in end_field
    # No figures for a period nobody asked for (such as this month's).
    assert 'id="figures-heading"' not in html
    assert "No figures are shown" in html


def test_dashboard_worker_and_item_filters_narrow_the_figures(app, supervisor_client, sync_api):
    _send(sync_api, [make_encounter(supplies={"condom": 5}), make_encounter()])
    with app.app_context():
        from outreach.models import User

        worker_id = db.session.scalar(sa.select(User.id).where(User.username == "wendy"))
    page = supervisor_client.get(f"/reports?preset=this_month&item=condom&worker={worker_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    figures = re.search(r"<dt>Encounters</dt><dd>(\d+)</dd>", html)
    assert figures and figures.group(1) == "1"


@pytest.mark.parametrize(
    "query",
    [
        "preset=custom",
        "preset=custom&start=2026-11-10&end=2026-11-01",
        "preset=someday",
        "zone=atlantis",
    ],
)
def test_dashboard_refuses_bad_filters_with_a_message(supervisor_client, query):
    response = supervisor_client.get(f"/reports?{query}")
    assert response.status_code == 400
    assert 'class="field-error"' in response.get_data(as_text=True)


def test_encounter_list_shows_no_participant_data(app, supervisor_client, sync_api):
    _send(sync_api, [make_encounter(participant_code="M-KRTZ-1987")])
    with app.app_context():
        stored = db.session.scalar(sa.select(Encounter))
        digest = stored.participant_hash
    html = supervisor_client.get("/reports/encounters").get_data(as_text=True)
    assert "Syringe 1 mL 27G \u00d7 20" in html
    assert digest not in html and "KRTZ" not in html


def test_encounter_list_pages_keep_the_filters(supervisor_client, sync_api):
    _send(sync_api, [make_encounter(zone="riverside") for _ in range(51)])
    _send(sync_api, [make_encounter(zone="downtown") for _ in range(3)])
    first = supervisor_client.get("/reports/encounters?zone=riverside")
    html = first.get_data(as_text=True)
    assert html.count('class="button danger"') == 50
    older = re.search(r'<nav class="pager"[^>]*>\s*<a class="button" href="([^"]+)">Older', html)
    assert older, "no link to the older records"
    href = older.group(1).replace("&amp;", "&")
    assert "zone=riverside" in href and "page=2" in href
    second = supervisor_client.get(href).get_data(as_text=True)
    assert second.count('class="button danger"') == 1
    assert "Newer" in second and ">Older<" not in second


def test_void_removes_the_record_from_reports_and_audits_it(app, supervisor_client, sync_api):
    record = make_encounter()
    _send(sync_api, [record])
    response = _void(supervisor_client, record["id"], "test")
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.get(Encounter, uuid.UUID(record["id"]))
        assert stored is not None, "a voided record stays stored"
        assert stored.voided_at is not None and stored.void_reason == "test"
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "encounter.void")
        )
        assert event.actor.username == "sam"
        assert event.target_id == record["id"]
        assert event.details["reason"] == "test"
    assert supervisor_client.get("/reports/summary.json").get_json()["encounters"] == 0
    again = supervisor_client.get(f"/reports/encounters/{record['id']}/void")
    assert "voided already" in again.get_data(as_text=True)


def test_void_needs_a_reason_and_happens_once(app, supervisor_client, sync_api):
    record = make_encounter()
    _send(sync_api, [record])
    page = supervisor_client.get(f"/reports/encounters/{record['id']}/void")
    token = csrf_token_from(page.get_data(as_text=True))
    url = f"/reports/encounters/{record['id']}/void"
    assert supervisor_client.post(url, data={"csrf_token": token}).status_code == 400
    assert supervisor_client.post(url, data={"csrf_token": token, "reason": "x"}).status_code == 400
    ok = supervisor_client.post(url, data={"csrf_token": token, "reason": "duplicate"})
    assert ok.status_code == 302
    late = supervisor_client.post(url, data={"csrf_token": token, "reason": "duplicate"})
    assert late.status_code == 409
    with app.app_context():
        voids = db.session.scalar(
            sa.select(sa.func.count()).where(AuditEvent.action == "encounter.void")
        )
    assert voids == 1


def test_voiding_twice_at_the_service_counts_once(app, sync_api, users):
    from outreach.encounters import voids
    from outreach.models import User

    record = make_encounter()
    _send(sync_api, [record])
    with app.test_request_context():
        actor = db.session.scalar(sa.select(User).where(User.username == users.supervisor))
        voids.void_encounter(uuid.UUID(record["id"]), "duplicate", actor)
        with pytest.raises(voids.VoidError):
            voids.void_encounter(uuid.UUID(record["id"]), "duplicate", actor)
