"""The identifying-data check on participant codes: the server's rules (outreach/privacy.py)
and the phone's (static/src/lib/code-check.js) give the same answer for every case in one
shared table (tests/data/participant_codes.json) and for generated codes, real code schemes
pass, and the phone warns with the server's own words."""

from __future__ import annotations

import html
import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from outreach import privacy
from tests.conftest import make_encounter

PROJECT = Path(__file__).resolve().parent.parent
CASES = json.loads((PROJECT / "tests/data/participant_codes.json").read_text("utf-8"))["cases"]
CODE_CHECK = PROJECT / "static/src/lib/code-check.js"
IDENTIFYING = (privacy.EMAIL, privacy.DATE, privacy.PHONE, privacy.NAME)


def server_concern(code: str) -> str:
    problem = privacy.participant_code_problem(code)
    assert problem in (None, *IDENTIFYING), (code, problem)
    return problem or ""


def phone_concerns(codes: list[str]) -> list[str]:
    """What the phone's codeConcern() says of each code (run by Node, as the phone's)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node is not installed")
    script = (
        f"import {{ codeConcern }} from {json.dumps(CODE_CHECK.as_uri())};\n"
        "let input = '';\n"
        "process.stdin.on('data', (chunk) => (input += chunk));\n"
        "process.stdin.on('end', () => console.log(JSON.stringify("
        "JSON.parse(input).map((code) => codeConcern(code)))));\n"
    )
    done = subprocess.run(
        [node, "--input-type=module", "-e", script],
        input=json.dumps(codes),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize("case", CASES, ids=[c["code"] for c in CASES])
def test_the_server_reads_every_case_as_the_table_says(case):
    assert server_concern(case["code"]) == case["concern"]


def test_the_phone_reads_every_case_as_the_table_says():
    codes = [case["code"] for case in CASES]
    assert dict(zip(codes, phone_concerns(codes), strict=True)) == {
        case["code"]: case["concern"] for case in CASES
    }


# --- Generated codes (a bounded number) -------------------------------------------------------
FIRST = ["john", "maria", "José", "ana", "LUIS", "Carmen", "peter", "Sofía", "DAVID", "Rosa"]
LAST = ["smith", "López", "GARCIA", "O'Brien", "Nguyen", "de la Cruz", "JONES", "Pérez"]
MONTHS_EN = ["Jan", "February", "MAR", "april", "May", "Jun", "July", "aug", "Sept", "Oct", "Dec"]
MONTHS_ES = ["enero", "FEB", "marzo", "abril", "mayo", "junio", "julio", "ago", "dic"]
SEPARATORS = ["-", "/", ".", ":", " ", ",", " - ", "_"]
LETTERS = "ABCDEFGHJKLMNPQRSTVWXZ"  # a scheme's letters: initials, a town's consonants


def scheme_code(rng: random.Random) -> str:
    """The scheme the form shows: an initial, two or four letters of a birth town, the year
    (M-KR-1987), typed with any separator and case."""
    town = "".join(rng.choice(LETTERS) for _ in range(rng.choice([2, 4])))
    parts = [rng.choice(LETTERS), town, str(rng.randint(1940, 2010))]
    code = rng.choice(["-", " ", "", "."]).join(parts)
    return code.lower() if rng.random() < 0.3 else code


def identifying_code(rng: random.Random) -> tuple[str, str]:
    """A name, a full date of birth, a phone number or an email address, in common shapes."""
    kind = rng.choice(IDENTIFYING)
    day, month, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1940, 2010)
    sep = rng.choice(SEPARATORS)
    if kind == privacy.NAME:
        return " ".join([rng.choice(FIRST), rng.choice(LAST)]), kind
    if kind == privacy.DATE:
        named = rng.choice(MONTHS_EN + MONTHS_ES)
        text = rng.choice(
            [
                f"{day}{sep}{month}{sep}{year}",
                f"{month:02d}{sep}{day:02d}{sep}{year % 100:02d}",
                f"{year}{sep}{month:02d}{sep}{day:02d}",
                f"{day} {named} {year}",
                f"{day} de {named} de {year}",
                f"{named} {day}, {year}",
            ]
        )
        return text, kind
    if kind == privacy.PHONE:
        digits = "".join(str(rng.randint(0, 9)) for _ in range(rng.choice([7, 10, 11])))
        groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
        return sep.join(groups), kind
    user = rng.choice(FIRST).lower() + rng.choice([".", "_", ""]) + rng.choice(LAST).lower()
    user = user.replace(" ", "").replace("'", "")
    return (
        rng.choice([f"{user}@gmail.com", f"{user}\uff20mail.org", f"{user} at gmail dot com"]),
        kind,
    )


@settings(max_examples=200, deadline=None)
@given(st.randoms(use_true_random=False))
def test_codes_in_the_forms_scheme_always_pass(rng):
    assert privacy.participant_code_problem(scheme_code(rng)) is None


@settings(max_examples=200, deadline=None)
@given(st.randoms(use_true_random=False))
def test_identifying_codes_are_always_refused(rng):
    code, kind = identifying_code(rng)
    assert privacy.participant_code_problem(code) == kind, code


def test_the_phone_agrees_with_the_server_on_generated_codes():
    rng = random.Random(21)
    codes = [scheme_code(rng) for _ in range(150)] + [identifying_code(rng)[0] for _ in range(250)]
    assert phone_concerns(codes) == [server_concern(code) for code in codes]


# --- The server refuses them; the phone warns in the same words -------------------------------


def _warnings(page: str) -> dict[str, str]:
    """The phone's words for each kind of identifying code (the page's data-rules)."""
    tag = re.search(r'<p[^>]*id="participant_code-warning"[^>]*>', page, re.S).group(0)
    rules = json.loads(html.unescape(re.search(r'data-rules="([^"]*)"', tag).group(1)))
    kinds = (privacy.EMAIL, privacy.DATE, privacy.PHONE, privacy.NAME)
    return {kind: rules["messages"][kind] for kind in kinds}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_server_refuses_them_and_the_phone_warns_in_the_same_words(
    app, sync_api, worker_client, lang
):
    examples = {
        privacy.EMAIL: "john.smith\uff20gmail.com",
        privacy.DATE: "15 MAR 1987",
        privacy.PHONE: "555,123,4567",
        privacy.NAME: "JOHN SMITH",
    }
    records = [make_encounter(participant_code=code) for code in examples.values()]
    response = sync_api.client.post(
        f"/api/v1/sync?lang={lang}",
        json={"encounters": [*records, make_encounter(participant_code="M-KRTZ-1987")]},
        headers={"X-CSRFToken": sync_api.token},
    )
    *refused, accepted = response.get_json()["results"]
    assert accepted["status"] == "created"
    assert [r["status"] for r in refused] == ["rejected"] * len(examples)
    server_words = {
        kind: result["errors"]["participant_code"]
        for kind, result in zip(examples, refused, strict=True)
    }
    page = worker_client.get(f"/log?lang={lang}").get_data(as_text=True)
    assert _warnings(page) == server_words
