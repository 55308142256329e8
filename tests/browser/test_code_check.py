"""On the phone, before Save: the participant-code warning for each way around the old check
(full-width @, "at … dot", digits across commas, month names, colons, a name in capitals),
in the server's own words, offline too; the form's scheme stays silent."""

from __future__ import annotations

import pytest

from tests.browser.conftest import sign_in
from tests.browser.conftest import wait_offline_ready
from tests.conftest import make_encounter

# The server's side runs on both engines in the unit tests; the phone's side once, on SQLite.
pytestmark = [pytest.mark.browser, pytest.mark.engine_independent]

EXAMPLES = [
    "john.smith\uff20gmail.com",
    "john smith at gmail dot com",
    "555,123,4567",
    "15 MAR 1987",
    "15:03:1987",
    "JOHN SMITH",
]


def test_each_way_around_is_warned_in_the_servers_words_before_save(
    page, context, app, users, live_server
):
    # What the server answers for each example, in English.
    client = app.test_client()
    from tests.conftest import AuthActions
    from tests.conftest import SyncApi

    AuthActions(client).login(users.worker)
    results = SyncApi(client).post([make_encounter(participant_code=c) for c in EXAMPLES])
    server_words = [r["errors"]["participant_code"] for r in results.get_json()["results"]]

    sign_in(page, users.worker)
    wait_offline_ready(page)
    context.set_offline(True)
    page.reload()
    warning = page.locator("#participant_code-warning")
    for code, words in zip(EXAMPLES, server_words, strict=True):
        page.fill("#participant_code", code)
        assert warning.inner_text() == words, code
    page.fill("#participant_code", "M-KRTZ-1987")
    assert warning.inner_text() == ""
