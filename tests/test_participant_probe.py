"""No report tells a signed-in user whether a participant code was seen before.

The probe: a supervisor (who may also log) logs a back-dated record with a guessed code on
a quiet day, then reads every report, JSON answer and CSV for that day, and for the weeks
back to the day the known code was last seen. Played once with a code the program knows
and once with one it has never seen, everything read must be the same: "returning" must not
rise for the known code and "new" for the unknown one, and no distinct count may differ.

Small figures read "fewer than 11" on every screen; figures of any size hold because no
participant figure anyone reads counts the records they logged themselves
(``outreach/reports/own_records.py``). The busy-day test plays the probe where "new" and
"returning" are both well above the threshold.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import User
from tests.conftest import SyncApi
from tests.conftest import csrf_token_from
from tests.conftest import make_encounter

KNOWN_CODE = "KX-4471"
UNKNOWN_CODE = "QZ-0932"
# The probe is played on a day of a month that has ended by the time it is read.
NOW = datetime(2026, 12, 5, 17, tzinfo=ZoneInfo("UTC"))
PROBE_DAY = date(2026, 11, 20)
TOKEN = re.compile(r'(name="csrf_token"[^>]*?value=|<meta name="csrf-token" content=)"[^"]*"')


def _occurred(day, hour: int, timezone: str) -> str:
    return datetime.combine(day, time(hour), ZoneInfo(timezone)).isoformat()


def _reads(supervisor_client, admin_client, day, earlier, supervisor_id: int) -> dict[str, str]:
    """Every report, JSON answer and CSV about ``day``, and about the period from the
    known code's earlier visit to ``day`` (tokens blanked)."""
    base = f"start={day}&end={day}"
    wide = f"start={earlier}&end={day}"
    # The probed day's calendar month, which has ended: participant figures are published.
    month_start = day.replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    month = f"start={month_start}&end={month_end}"
    urls = [
        f"/reports?preset=custom&{month}",
        f"/reports?preset=custom&{month}&zone=eastside",
        f"/reports/summary.json?{month}",
        f"/reports/summary.json?{month}&zone=eastside",
        f"/reports/funder?template=generic_ssp_quarterly&year={day.year}&period=m{day.month:02d}",
        f"/reports/funder?template=generic_ssp_quarterly&year={day.year}"
        f"&period=m{day.month:02d}&format=csv",
        f"/reports?preset=custom&{wide}",
        f"/reports?preset=custom&{wide}&zone=eastside",
        f"/reports?preset=custom&{wide}&worker={supervisor_id}",
        f"/reports/summary.json?{wide}",
        f"/reports/summary.json?{wide}&zone=eastside",
        f"/reports/export.csv?period=day&{wide}",
        f"/reports/export.csv?period=week&{wide}",
        f"/reports/export.csv?period=month&{wide}",
        f"/reports/export.csv?period=month&suppress=1&{wide}",
        f"/reports?preset=custom&{base}",
        f"/reports?preset=custom&{base}&zone=eastside",
        f"/reports?preset=custom&{base}&worker={supervisor_id}",
        f"/reports?preset=custom&{base}&item=syringe_1ml_27g",
        f"/reports?preset=custom&{base}&zone=eastside&worker={supervisor_id}",
        f"/reports/summary.json?{base}",
        f"/reports/summary.json?{base}&zone=eastside",
        f"/reports/export.csv?period=day&{base}",
        f"/reports/export.csv?period=week&{base}",
        f"/reports/export.csv?period=month&{base}",
        f"/reports/export.csv?period=month&suppress=1&{base}",
    ]
    # Funder reports: the month, quarter and year of the probed day (participants, new).
    quarter = (day.month - 1) // 3 + 1
    funder = f"/reports/funder?template=generic_ssp_quarterly&year={day.year}"
    urls += [f"{funder}&period=q{quarter}", f"{funder}&period=q{quarter}&format=csv"]
    seen = {}
    for url in urls:
        response = supervisor_client.get(url)
        assert response.status_code == 200, url
        seen[url] = TOKEN.sub("TOKEN", response.get_data(as_text=True))
    records = admin_client.get(f"/reports/records.csv?{base}")
    assert records.status_code == 200
    seen["records.csv"] = records.get_data(as_text=True)
    return seen


def _void(client, encounter_id: str) -> None:
    page = client.get(f"/reports/encounters/{encounter_id}/void")
    token = csrf_token_from(page.get_data(as_text=True))
    response = client.post(
        f"/reports/encounters/{encounter_id}/void",
        data={"csrf_token": token, "reason": "test"},
        follow_redirects=True,  # the list page shows (and so clears) the flashed message
    )
    assert response.status_code == 200


def _busy_day(day, earlier, timezone: str) -> list[dict]:
    """15 returning participants (also seen on ``earlier``) and 15 new ones on ``day``."""
    records = []
    for number in range(15):
        returning, new = f"RT-{number:04d}", f"NW-{number:04d}"
        records.append(
            make_encounter(
                zone="eastside",
                participant_code=returning,
                occurred_at=_occurred(earlier, 10, timezone),
            )
        )
        records.append(
            make_encounter(
                zone="eastside",
                participant_code=returning,
                occurred_at=_occurred(day, 10, timezone),
            )
        )
        records.append(
            make_encounter(
                zone="eastside", participant_code=new, occurred_at=_occurred(day, 12, timezone)
            )
        )
    return records


@pytest.mark.parametrize("day_kind", ["quiet", "busy"])
def test_a_back_dated_guess_reads_the_same_for_a_known_and_an_unknown_code(
    app, supervisor_client, admin_client, sync_api, users, day_kind, fixed_clock
):
    fixed_clock(NOW)
    timezone = app.config["PROGRAM_TIMEZONE"]
    probe_day = PROBE_DAY
    # The known code was seen 40 days before the probed day (another week and month).
    earlier = probe_day - timedelta(days=40)
    seeded = [
        make_encounter(
            zone="eastside",
            participant_code=KNOWN_CODE,
            occurred_at=_occurred(earlier, 11, timezone),
        ),
        make_encounter(
            zone="eastside",
            participant_code="AB-1000",
            occurred_at=_occurred(probe_day, 9, timezone),
        ),
    ]
    if day_kind == "busy":
        seeded += _busy_day(probe_day, earlier, timezone)
    sent = sync_api.post(seeded)
    assert {r["status"] for r in sent.get_json()["results"]} == {"created"}
    with app.app_context():
        supervisor_id = db.session.scalar(
            sa.select(User.id).where(User.username == users.supervisor)
        )
    supervisor_phone = SyncApi(supervisor_client)

    def probe(code: str) -> tuple[str, dict[str, str]]:
        record = make_encounter(
            zone="eastside", participant_code=code, occurred_at=_occurred(probe_day, 15, timezone)
        )
        answer = supervisor_phone.post([record]).get_json()["results"]
        assert answer[0]["status"] == "created", answer
        return record["id"], _reads(
            supervisor_client, admin_client, probe_day, earlier, supervisor_id
        )

    known_id, known = probe(KNOWN_CODE)
    _void(supervisor_client, known_id)
    _unknown_id, unknown = probe(UNKNOWN_CODE)

    assert uuid.UUID(known_id)
    for url in known:
        assert known[url] == unknown[url], f"{url} tells a known code from an unknown one"
    # The probed day is shown at all (the reads are not empty pages).
    assert "Encounters" in known[f"/reports?preset=custom&start={probe_day}&end={probe_day}"]
    if day_kind == "busy":
        # The figures are there to read, exactly, above the threshold.
        month = supervisor_client.get(
            f"/reports/summary.json?start={probe_day.replace(day=1)}&end=2026-11-30"
        ).get_json()
        assert month["participants"] == 31


def test_other_readers_count_a_supervisors_records(
    app, supervisor_client, admin_client, sync_api, fixed_clock
):
    """Nothing is lost: what a supervisor logs counts in everyone else's figures."""
    fixed_clock(NOW)
    timezone = app.config["PROGRAM_TIMEZONE"]
    day = PROBE_DAY
    earlier = day - timedelta(days=20)
    sync_api.post(_busy_day(day, earlier, timezone))
    own = [
        make_encounter(
            zone="eastside", participant_code=f"SV-{n}", occurred_at=_occurred(day, 14, timezone)
        )
        for n in range(12)
    ]
    answer = SyncApi(supervisor_client).post(own).get_json()["results"]
    assert {r["status"] for r in answer} == {"created"}
    url = "/reports/summary.json?start=2026-11-01&end=2026-11-30"
    assert admin_client.get(url).get_json()["participants"] == 30 + 12
    mine = supervisor_client.get(url).get_json()
    assert mine["participants"] == 30
    # Every other figure counts the supervisor's records for the supervisor too.
    assert mine["encounters"] == 30 + 12
