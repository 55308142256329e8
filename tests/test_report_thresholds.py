"""Every figure that hides small counts, read at threshold - 1 and at threshold.

A count of 10 must read "fewer than 11" (or blank) and a count of 11 must be shown, on every
screen, in summary.json, in both CSVs and in funder reports. Reading only far-off values
let a reviewer change ``values < threshold`` to ``values < threshold - 1`` (or show a
participant count of 10 on a screen) without a test failing; these fail on both.

The data, for n = 10 and n = 11, all in months that have ended (the clock is fixed after):

- October, downtown: n participants, each on one encounter, each serving 2 people (value
  2n, but made up by n encounters: hidden only by the count of encounters behind it);
- October, riverside: 12 encounters without a code whose collected syringes add up to n
  (made up by 12 encounters: hidden only by its value);
- November, downtown: the same n participants again, and n new ones (new n, returning n).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC
from datetime import datetime

import pytest

from tests.conftest import make_encounter

THRESHOLD = 11
NOW = datetime(2026, 12, 5, 17, tzinfo=UTC)
OCTOBER = ("2026-10-01", "2026-10-31")
NOVEMBER = ("2026-11-01", "2026-11-30")
FUNDER = "/reports/funder?template=generic_ssp_quarterly&year=2026&format=csv"


def _at(day: int, month: int, minute: int) -> str:
    return datetime(2026, month, day, 16, minute, tzinfo=UTC).isoformat()


def _records(n: int) -> list[dict]:
    records = []
    for k in range(n):
        for month, code in ((10, f"R-{k}"), (11, f"R-{k}"), (11, f"N-{k}")):
            records.append(
                make_encounter(
                    occurred_at=_at(2 + k, month, k if code[0] == "R" else 30 + k),
                    zone="downtown",
                    participant_code=code,
                    people_served=2 if month == 10 else 1,
                    supplies={"syringe_1ml_27g": 20},
                    syringes_collected=0,
                    referrals=[],
                )
            )
    for k in range(12):
        records.append(
            make_encounter(
                occurred_at=_at(2 + k, 10, 50),
                zone="riverside",
                participant_code=None,
                syringes_collected=1 if k < n else 0,
                supplies={"syringe_1ml_27g": 20},
                referrals=[],
            )
        )
    return records


def _csv(client, url: str) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def _cell(rows, start, zone, measure) -> str:
    found = [
        r
        for r in rows
        if r["period_start"] == start
        and r["period"] == "month"
        and r["zone"] == zone
        and r["measure"] == measure
        and r["key"] == ""
    ]
    assert len(found) == 1, (start, zone, measure)
    return found[0]["value"]


@pytest.mark.parametrize("n", [THRESHOLD - 1, THRESHOLD])
def test_counts_at_the_threshold_are_shown_and_one_below_are_hidden(
    app, supervisor_client, sync_api, fixed_clock, n
):
    fixed_clock(NOW)
    answer = sync_api.post(_records(n)).get_json()["results"]
    assert {r["status"] for r in answer} == {"created"}
    shown = n >= THRESHOLD

    def expect(value: str, hidden: str = "") -> str:
        return str(n) if shown else hidden

    # The dashboard: October's participants (headline and the zone's row), November's split.
    october = supervisor_client.get(
        f"/reports?preset=custom&start={OCTOBER[0]}&end={OCTOBER[1]}"
    ).get_data(as_text=True)
    headline = re.search(r"<dt>Participants</dt><dd>([^<]*)</dd>", october).group(1)
    assert headline == (str(n) if shown else f"fewer than {THRESHOLD}")
    zone_row = re.search(
        r'<th scope="row">Downtown</th>\s*<td class="num"[^>]*>[^<]*</td>'
        r'\s*<td class="num"[^>]*>([^<]*)</td>',
        october,
    ).group(1)
    assert zone_row == headline
    november = supervisor_client.get(
        f"/reports?preset=custom&start={NOVEMBER[0]}&end={NOVEMBER[1]}"
    ).get_data(as_text=True)
    split = f"{n} new, {n} returning"
    assert (split in november) is shown
    assert (f"one of them is fewer than {THRESHOLD}" in november) is not shown

    # summary.json, for all zones and for the zone.
    for zone in ("", "&zone=downtown"):
        body = supervisor_client.get(
            f"/reports/summary.json?start={OCTOBER[0]}&end={OCTOBER[1]}{zone}"
        ).get_json()
        assert body["participants"] == (n if shown else None)
        assert body.get("participants_fewer_than") == (None if shown else THRESHOLD)

    # The internal CSV hides small participant counts only; the shareable one every count.
    internal = _csv(supervisor_client, f"/reports/export.csv?period=month&start={OCTOBER[0]}")
    assert _cell(internal, OCTOBER[0], "downtown", "participants") == expect(str(n))
    assert _cell(internal, OCTOBER[0], "downtown", "encounters") == str(n)
    shared = _csv(
        supervisor_client, f"/reports/export.csv?period=month&suppress=1&start={OCTOBER[0]}"
    )
    assert _cell(shared, OCTOBER[0], "downtown", "participants") == expect(str(n))
    assert _cell(shared, OCTOBER[0], "downtown", "encounters") == expect(str(n))
    # Hidden by the encounters behind it (n), not by its value (2n).
    assert _cell(shared, OCTOBER[0], "downtown", "people_served") == (str(2 * n) if shown else "")
    # Hidden by its value (n), not by the encounters behind it (12).
    assert _cell(shared, OCTOBER[0], "riverside", "syringes_collected") == expect(str(n))

    # Funder reports: October's participants and encounters, November's new participants.
    row = _csv(supervisor_client, f"{FUNDER}&period=m10")[0]
    assert row["unique_participants"] == (str(n) if shown else f"<{THRESHOLD}")
    assert row["new_participants"] == (str(n) if shown else f"<{THRESHOLD}")
    row = _csv(supervisor_client, f"{FUNDER}&period=m11")[0]
    assert row["new_participants"] == (str(n) if shown else f"<{THRESHOLD}")
    assert row["unique_participants"] == str(2 * n)


def test_small_means_one_to_threshold_less_one():
    from outreach.reports.disclosure import is_small

    assert [v for v in range(0, 13) if is_small(v, THRESHOLD)] == list(range(1, THRESHOLD))
