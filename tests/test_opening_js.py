"""The page script's "open now" (static/src/lib/opening.js) agrees with the server's."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from datetime import timedelta

import pytest

from outreach.directory.hours import DAYS
from outreach.directory.hours import opening_status
from tests.test_directory import NEW_YORK
from tests.test_directory import at

NODE = shutil.which("node")
SCRIPT = """
import { openingStatus } from "./static/src/lib/opening.js";
const cases = JSON.parse(process.argv[1]);
console.log(JSON.stringify(cases.map(([hours, minutes]) => openingStatus(hours, minutes))));
"""


def _random_hours(rng: random.Random) -> dict:
    hours = {}
    for day in DAYS:
        ranges = []
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            start = rng.randrange(0, 24 * 4) * 15
            end = rng.randrange(1, 24 * 4 + 1) * 15
            if start != end:
                ranges.append(
                    [f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"]
                )
        hours[day] = ranges
    return hours


@pytest.mark.skipif(NODE is None, reason="needs node")
def test_opening_script_matches_the_server(project_dir):
    rng = random.Random(20261121)
    monday = at("2026-11-23 00:00")
    cases, expected = [], []
    for _ in range(300):
        hours = _random_hours(rng)
        minutes = rng.randrange(0, 7 * 24 * 60)
        status = opening_status(hours, monday + timedelta(minutes=minutes), NEW_YORK)
        cases.append([hours, minutes])
        if status.state == "unknown":
            expected.append({"state": "unknown"})
        elif status.always_open:
            expected.append({"state": "always"})
        elif status.is_open:
            expected.append(
                {
                    "state": "open",
                    "time": status.closes_at,
                    "days": status.closes_in_days,
                    "weekday": status.closes_weekday,
                }
            )
        else:
            expected.append(
                {
                    "state": "closed",
                    "time": status.opens_at,
                    "days": status.opens_in_days,
                    "weekday": status.opens_weekday,
                }
            )
    result = subprocess.run(
        [NODE, "--input-type=module", "-e", SCRIPT, json.dumps(cases)],
        cwd=project_dir,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(result.stdout) == expected
