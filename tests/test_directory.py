"""The public referral directory: opening hours, links, filters, staff-note privacy, JSON."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from outreach.directory.hours import HoursError
from outreach.directory.hours import OpeningStatus
from outreach.directory.hours import format_day_hours
from outreach.directory.hours import opening_status
from outreach.directory.hours import parse_day_hours
from outreach.directory.services import ServiceValues
from outreach.directory.services import geo_uri
from outreach.directory.services import save_service
from outreach.directory.services import tel_uri

NEW_YORK = ZoneInfo("America/New_York")
STAFF_NOTE = "STAFF-ONLY-SIDE-DOOR-CODE"


def at(text: str, tz: ZoneInfo = NEW_YORK) -> datetime:
    """An aware moment from local wall time "YYYY-MM-DD HH:MM" (2026-11-23 is a Monday)."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=tz)


# --- Opening hours (pure) --------------------------------------------------------------------


def opens(time: str, days: int, weekday: int) -> OpeningStatus:
    return OpeningStatus("closed", opens_at=time, opens_in_days=days, opens_weekday=weekday)


def closes(time: str, days: int, weekday: int) -> OpeningStatus:
    return OpeningStatus("open", closes_at=time, closes_in_days=days, closes_weekday=weekday)


EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_WEEK = {day: [["00:00", "24:00"]] for day in EVERY_DAY}
SUNDAY_NIGHT = {"sun": [["20:00", "03:00"]]}
MEETING_AT_MIDNIGHT = {"mon": [["20:00", "24:00"]], "tue": [["00:00", "02:00"]]}
NIGHTS = {"fri": [["22:00", "02:00"]], "sat": [["22:00", "02:00"]]}
SPLIT_DAY = {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "wed": [["09:00", "12:00"]]}


@pytest.mark.parametrize(
    ("hours", "moment", "expected"),
    [
        # Monday between two ranges, in the first, in the second, after both.
        (SPLIT_DAY, "2026-11-23 08:00", opens("09:00", 0, 0)),
        (SPLIT_DAY, "2026-11-23 09:00", closes("12:00", 0, 0)),
        (SPLIT_DAY, "2026-11-23 12:30", opens("13:00", 0, 0)),
        (SPLIT_DAY, "2026-11-23 16:59", closes("17:00", 0, 0)),
        (SPLIT_DAY, "2026-11-23 17:00", opens("09:00", 2, 2)),
        # Closed days: Wednesday afternoon to next Monday.
        (SPLIT_DAY, "2026-11-25 12:00", opens("09:00", 5, 0)),
        (SPLIT_DAY, "2026-11-29 23:59", opens("09:00", 1, 0)),
        # Past midnight: Friday night runs into Saturday morning.
        (NIGHTS, "2026-11-27 21:00", opens("22:00", 0, 4)),
        (NIGHTS, "2026-11-27 23:30", closes("02:00", 1, 5)),
        (NIGHTS, "2026-11-28 01:30", closes("02:00", 0, 5)),
        (NIGHTS, "2026-11-28 02:00", opens("22:00", 0, 5)),
        # Saturday night's range ends on Sunday; then a week until Friday.
        (NIGHTS, "2026-11-29 01:59", closes("02:00", 0, 6)),
        (NIGHTS, "2026-11-29 03:00", opens("22:00", 5, 4)),
        # Sunday night into Monday wraps around the week.
        (SUNDAY_NIGHT, "2026-11-23 01:00", closes("03:00", 0, 0)),
        (SUNDAY_NIGHT, "2026-11-23 04:00", opens("20:00", 6, 6)),
        # Ranges that meet at midnight are one stretch; a midnight close reads "24:00".
        (MEETING_AT_MIDNIGHT, "2026-11-23 23:00", closes("02:00", 1, 1)),
        ({"mon": [["18:00", "24:00"]]}, "2026-11-23 23:00", closes("24:00", 0, 0)),
        # Open all week, and no hours at all.
        (ALL_WEEK, "2026-11-25 03:00", OpeningStatus("open")),
        ({}, "2026-11-25 03:00", OpeningStatus("unknown")),
        ({"mon": [], "tue": []}, "2026-11-25 03:00", OpeningStatus("unknown")),
    ],
)
def test_opening_status(hours, moment, expected):
    assert opening_status(hours, at(moment), NEW_YORK) == expected


def test_opening_status_uses_the_program_timezone_not_utc():
    hours = {"mon": [["09:00", "17:00"]]}
    # 15:30 UTC on a Monday in November is 10:30 in New York (UTC-5), 15:30 in UTC.
    moment = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
    assert opening_status(hours, moment, "America/New_York").closes_at == "17:00"
    # 23:30 New York time on Monday is already Tuesday 04:30 in UTC.
    late = datetime(2026, 11, 24, 4, 30, tzinfo=UTC)
    in_new_york = opening_status(hours, late, "America/New_York")
    in_utc = opening_status(hours, late, "UTC")
    assert in_new_york == OpeningStatus(
        "closed", opens_at="09:00", opens_in_days=7, opens_weekday=0
    )
    assert in_utc == opens("09:00", 6, 0)
    # The same instant given in another zone gives the same answer.
    assert opening_status(hours, late.astimezone(ZoneInfo("Asia/Tokyo")), NEW_YORK) == in_new_york


def test_opening_status_night_range_across_utc_midnight():
    hours = {"fri": [["22:00", "02:00"]]}
    # Saturday 03:30 UTC is Friday 22:30 in New York: open; in UTC it is closed.
    moment = datetime(2026, 11, 28, 3, 30, tzinfo=UTC)
    assert opening_status(hours, moment, NEW_YORK).is_open
    assert not opening_status(hours, moment, "UTC").is_open


def test_opening_status_needs_an_aware_datetime():
    with pytest.raises(ValueError, match="timezone-aware"):
        opening_status({}, datetime(2026, 11, 23, 9, 0), NEW_YORK)


def test_opening_status_every_minute_of_a_week_matches_a_brute_force_check():
    hours = {**NIGHTS, **SPLIT_DAY, "sun": [["23:00", "01:00"]]}
    open_minutes = set()
    for index, day in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun")):
        for start, end in hours.get(day, []):
            s = index * 1440 + int(start[:2]) * 60 + int(start[3:])
            e = index * 1440 + int(end[:2]) * 60 + int(end[3:])
            e += 1440 if e <= s else 0
            open_minutes.update(m % (7 * 1440) for m in range(s, e))
    monday = at("2026-11-23 00:00")
    for minute in range(0, 7 * 1440, 7):
        moment = monday + timedelta(minutes=minute)
        assert opening_status(hours, moment, NEW_YORK).is_open == (minute in open_minutes), moment


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("", []),
        ("closed", []),
        ("09:00-17:00", [["09:00", "17:00"]]),
        ("9:00 - 12:00, 13:00-17:30", [["09:00", "12:00"], ["13:00", "17:30"]]),
        ("19:00\u201307:00", [["19:00", "07:00"]]),
        ("00:00-24:00", [["00:00", "24:00"]]),
        ("08:00-10:00; 18:00-20:00", [["08:00", "10:00"], ["18:00", "20:00"]]),
    ],
)
def test_parse_day_hours_reads_ranges(text, ranges):
    assert parse_day_hours(text) == ranges
    assert parse_day_hours(format_day_hours(ranges)) == ranges


@pytest.mark.parametrize(
    "text",
    ["9-5", "25:00-26:00", "09:00-09:00", "24:00-02:00", "09:60-10:00", "nine to five", "09:00"],
)
def test_parse_day_hours_rejects_bad_ranges(text):
    with pytest.raises(HoursError):
        parse_day_hours(text)


@pytest.mark.parametrize(
    ("phone", "uri"),
    [
        ("(555) 555-0101", "tel:5555550101"),
        ("+1 555-555-0101", "tel:+15555550101"),
        ("555-0101 ext. 12", "tel:5550101,12"),
        ("", None),
        ("call us", None),
    ],
)
def test_tel_uri(phone, uri):
    assert tel_uri(phone) == uri


def test_geo_uri_opens_the_maps_app_on_the_address():
    assert (
        geo_uri("12 Main St, Apt #3 & Co") == "geo:0,0?q=12%20Main%20St%2C%20Apt%20%233%20%26%20Co"
    )
    assert geo_uri("   ") is None


# --- Pages -----------------------------------------------------------------------------------


@pytest.fixture
def services(app):
    """Three services: one open round the clock, one with no hours, one unlisted."""
    with app.app_context():
        everyday = {
            d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        }
        save_service(
            None,
            ServiceValues(
                name="Always Open Clinic",
                referral_keys=["wound_care", "medical_care"],
                address="1 Test Road, Testville",
                phone="(555) 555-0190",
                languages="English, Spanish",
                access="walk_in",
                hours=everyday,
                public_notes="Bring nothing; all welcome.",
                staff_notes=STAFF_NOTE,
            ),
            None,
        )
        save_service(
            None,
            ServiceValues(
                name="Food Pantry Test",
                referral_keys=["food"],
                phone="555-0191",
                access="appointment",
                staff_notes=STAFF_NOTE + "-2",
            ),
            None,
        )
        save_service(
            None,
            ServiceValues(name="Unlisted Place", referral_keys=["food"], active=False),
            None,
        )


def test_directory_lists_services_with_call_map_hours_and_notes(client, services):
    page = client.get("/directory?lang=en").get_data(as_text=True)
    assert "Always Open Clinic" in page and "Food Pantry Test" in page
    assert "Unlisted Place" not in page
    assert 'href="tel:5555550190"' in page
    assert 'href="geo:0,0?q=1%20Test%20Road%2C%20Testville"' in page
    assert "English, Spanish" in page
    assert "Walk in" in page and "By appointment" in page
    assert "Bring nothing; all welcome." in page
    assert "Open 24 hours" in page
    assert "Hours not listed · call first" in page
    assert "00:00\u201324:00" in page
    assert re.search(r"Directory as of \w+ \d+, \d{4}", page)
    # The page's script can recompute "open now" offline from the data it carries.
    assert 'id="directory-status-data"' in page
    assert "data-hours='{" in page


def test_directory_filters_by_referral_type(client, services):
    page = client.get("/directory?type=food").get_data(as_text=True)
    assert "Food Pantry Test" in page
    assert "Always Open Clinic" not in page
    assert '<option value="food" selected>' in page
    unknown = client.get("/directory?type=not_a_type").get_data(as_text=True)
    assert "Always Open Clinic" in unknown and "Food Pantry Test" in unknown
    empty = client.get("/directory?type=housing&lang=en").get_data(as_text=True)
    assert "No services listed for this yet" in empty


def test_directory_in_spanish(client, services):
    page = client.get("/directory?lang=es").get_data(as_text=True)
    assert "Servicios locales" in page
    assert "Abierto las 24 horas" in page
    assert "Cuidado de heridas" in page
    assert "Directorio al" in page


@pytest.mark.parametrize("who", ["anonymous", "worker", "admin"])
def test_directory_page_is_the_public_copy_for_everyone(
    client, worker_client, admin_client, services, who
):
    """The page can be kept offline by the service worker, so it never holds staff notes."""
    visitor = {"anonymous": client, "worker": worker_client, "admin": admin_client}[who]
    response = visitor.get("/directory")
    page = response.get_data(as_text=True)
    assert STAFF_NOTE not in page
    assert "data-staff-notes=" in page  # slots the page script fills in for staff


def test_staff_notes_json_gives_signed_in_staff_the_notes_uncached(worker_client, services):
    response = worker_client.get("/directory/staff-notes.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store, private"
    notes = response.get_json()["notes"]
    assert sorted(notes.values()) == [STAFF_NOTE, STAFF_NOTE + "-2"]
    assert all(key.isdigit() for key in notes)


def test_staff_notes_json_is_refused_when_signed_out(client, services):
    response = client.get("/directory/staff-notes.json")
    assert response.status_code == 302
    assert STAFF_NOTE not in response.get_data(as_text=True)


def test_staff_notes_json_leaves_out_inactive_services(app, worker_client, services):
    from outreach.extensions import db
    from outreach.models import DirectoryService

    with app.app_context():
        for service in db.session.scalars(sa.select(DirectoryService)):
            service.active = False
        db.session.commit()
    assert worker_client.get("/directory/staff-notes.json").get_json() == {"notes": {}}


@pytest.mark.parametrize("signed_in", [False, True])
def test_services_json_is_public_and_never_has_staff_notes(
    client, worker_client, services, signed_in
):
    response = (worker_client if signed_in else client).get("/directory/services.json")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert STAFF_NOTE not in body
    data = response.get_json()
    names = [s["name"] for s in data["services"]]
    assert names == ["Always Open Clinic", "Food Pantry Test"]
    clinic = data["services"][0]
    assert "staff_notes" not in clinic
    assert clinic["referral_types"] == ["medical_care", "wound_care"]
    assert clinic["tel"] == "tel:5555550190"
    assert clinic["hours"]["mon"] == [["00:00", "24:00"]]
    assert data["timezone"] == "America/New_York"
    assert data["as_of"].endswith("Z")
    assert {"key": "food", "name": "Food"} in data["referral_types"]


def test_directory_empty(client):
    page = client.get("/directory?lang=en").get_data(as_text=True)
    assert "No services are listed yet." in page
    assert "as of" not in page


def test_directory_offline_urls(app, client):
    from outreach.directory.views import offline_urls

    with app.app_context():
        urls = offline_urls()
    assert urls == [
        "/directory",
        "/directory?lang=en",
        "/directory?lang=es",
        "/directory/services.json",
    ]
    for url in urls:
        assert client.get(url).status_code == 200


def test_demo_directory_command_is_idempotent(app, runner):
    from tests.conftest import count_rows

    first = runner.invoke(args=["demo-directory"])
    assert first.exit_code == 0, first.output
    added = count_rows(app, "directory_service")
    assert added >= 6
    again = runner.invoke(args=["demo-directory"])
    assert "0 services added" in again.output
    assert count_rows(app, "directory_service") == added
    with app.app_context():
        from outreach.directory.services import list_services

        for service in list_services():
            assert service.name.endswith("(demo)")
            assert "555" in service.phone
            assert service.referral_types


@pytest.mark.parametrize(
    ("lang", "status", "text"),
    [
        ("en", closes("17:00", 0, 0), "Open now · closes at 17:00"),
        ("en", closes("02:00", 1, 5), "Open now · closes tomorrow at 02:00"),
        ("en", opens("09:00", 0, 0), "Closed now · opens today at 09:00"),
        ("en", opens("09:00", 1, 0), "Closed now · opens tomorrow at 09:00"),
        ("en", opens("09:00", 5, 0), "Closed now · opens Monday at 09:00"),
        ("en", OpeningStatus("open"), "Open 24 hours"),
        ("en", OpeningStatus("unknown"), "Hours not listed · call first"),
        ("es", opens("09:00", 5, 0), "Cerrado ahora · abre el lunes a las 09:00"),
        ("es", closes("02:00", 1, 5), "Abierto ahora · cierra mañana a las 02:00"),
    ],
)
def test_status_text_in_each_language(app, lang, status, text):
    from outreach.directory.display import status_text

    with app.test_request_context(f"/directory?lang={lang}"):
        assert status_text(status) == text
