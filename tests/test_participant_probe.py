"""No report tells a signed-in user whether a participant code was seen before.

The probe: a supervisor (who may also log) logs a back-dated record with a guessed code on
a quiet day, then reads every report, JSON answer and CSV for that day, and for the weeks
back to the day the known code was last seen. Played once with a code the program knows
and once with one it has never seen, everything read must be the same: "returning" must not
rise for the known code and "new" for the unknown one, and no distinct count may differ.

What this cannot cover, by nature: figures of 11 or more that one record moves by one
(docs/privacy.md, "A curious supervisor").
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from datetime import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import User
from tests.conftest import SyncApi
from tests.conftest import csrf_token_from
from tests.conftest import make_encounter

KNOWN_CODE = "KX-4471"
UNKNOWN_CODE = "QZ-0932"
TOKEN = re.compile(r'(name="csrf_token"[^>]*?value=|<meta name="csrf-token" content=)"[^"]*"')


def _occurred(day, hour: int, timezone: str) -> str:
    return datetime.combine(day, time(hour), ZoneInfo(timezone)).isoformat()


def _reads(supervisor_client, admin_client, day, earlier, supervisor_id: int) -> dict[str, str]:
    """Every report, JSON answer and CSV about ``day``, and about the period from the
    known code's earlier visit to ``day`` (tokens blanked)."""
    base = f"start={day}&end={day}"
    wide = f"start={earlier}&end={day}"
    urls = [
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


def test_a_back_dated_guess_reads_the_same_for_a_known_and_an_unknown_code(
    app, supervisor_client, admin_client, sync_api, users
):
    timezone = app.config["PROGRAM_TIMEZONE"]
    today = datetime.now(ZoneInfo(timezone)).date()
    probe_day = today - timedelta(days=10)
    # The known code was seen 40 days before the probed day (another week and month).
    earlier = probe_day - timedelta(days=40)
    sent = sync_api.post(
        [
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
    )
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
