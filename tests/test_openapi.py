"""The API's OpenAPI description, and schemathesis fuzzing a live server against it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import count_rows
from tests.live import HttpSession
from tests.live import LiveServer

BIN = Path(sys.executable).parent


def test_openapi_describes_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    described = {"/api/v1" + path for path in spec["paths"]}
    routes = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")}
    assert routes - {"/api/v1/openapi.json"} == described


@pytest.fixture
def live(app):
    server = LiveServer(app)
    yield server
    server.stop()


def test_schemathesis_finds_no_server_errors_or_schema_mismatches(app, live, users, tmp_path):
    session = HttpSession(live.url)
    session.login(users.worker)
    result = subprocess.run(
        [
            str(BIN / "schemathesis"),
            "run",
            f"{live.url}/api/v1/openapi.json",
            "--url",
            f"{live.url}/api/v1",
            "-H",
            f"Cookie: {session.cookie_header()}",
            "-H",
            f"X-CSRFToken: {session.csrf_token}",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,"
            "response_schema_conformance",
            "--max-examples",
            "60",
            "--seed",
            "20261121",
            "--workers",
            "2",
            "--generation-database",
            "none",
            "--request-timeout",
            "30",
            "--no-color",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert re.search(r"Tested: 3\b", output), output[-3000:]
    # The generated batches got past sign-in and CSRF into real ingest.
    assert count_rows(app, "encounter") > 0
