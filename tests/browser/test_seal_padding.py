"""The sealed code does not tell the code's length: the phone pads it before sealing."""

from __future__ import annotations

import base64
import json

import pytest

from outreach import sealing
from tests.browser.conftest import SYNC_PATH
from tests.browser.conftest import log_encounter
from tests.browser.conftest import sign_in
from tests.browser.conftest import wait_count
from tests.browser.conftest import wait_offline_ready
from tests.browser.test_shared_phone import DUMP_DATABASE

pytestmark = [pytest.mark.browser, pytest.mark.engine_independent]

SHORT, LONG = "K7", "Harbour-Lighthouse-Quay-5120-x"


def _ciphertext_bytes(token: str) -> int:
    segment = token.split(".")[3]
    return len(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def test_codes_of_different_lengths_seal_to_tokens_of_one_length(page, live_server, users):
    sign_in(page, users.worker)
    wait_offline_ready(page)
    live_server.faults.fail(SYNC_PATH, "503", times=1000)
    for count, code in enumerate((SHORT, LONG), start=1):
        page.goto("/log")
        page.fill('input[name="participant_code"]', code)
        log_encounter(page, "cooker", 1)
        wait_count(page, count)
    outbox = json.loads(page.evaluate(DUMP_DATABASE))["outbox"]
    tokens = [entry["record"]["participant_code_sealed"] for entry in outbox]
    assert len(tokens) == 2
    assert _ciphertext_bytes(tokens[0]) == _ciphertext_bytes(tokens[1]) == sealing.PADDED_BYTES
    with live_server.app.app_context():
        assert sorted(sealing.open_sealed_code(token) for token in tokens) == sorted([SHORT, LONG])
