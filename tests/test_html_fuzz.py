"""Arbitrary text in every path part, query parameter and form field of every HTML route: no 5xx.

Routes come from the app's own URL map, so a new route is covered without editing this file;
parameter names come from the source (``request.args.get("...")``) and from the forms each
page draws. The JSON API has its own schema-driven fuzzing (schemathesis).
"""

from __future__ import annotations

import os
import re
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.routing import AnyConverter
from werkzeug.routing import IntegerConverter
from werkzeug.routing import UUIDConverter

from outreach import create_app
from tests.conftest import AuthActions
from tests.conftest import base_config
from tests.conftest import csrf_token_from

PACKAGE = Path(__file__).resolve().parent.parent / "outreach"
# Skipped: served files, and the JSON API (fuzzed against its OpenAPI description).
SKIPPED_PREFIXES = ("/static/", "/api/")
READS_PARAMETER = re.compile(
    r"request\.(?:args|form|values)(?:\.get(?:list)?\(\s*|\[)\"([A-Za-z_][\w-]*)\""
)


def _routes() -> list[tuple[str, str]]:
    saved = os.environ.get("OUTREACH_INSTANCE_PATH")
    with tempfile.TemporaryDirectory(prefix="outreach-fuzz-") as instance:
        os.environ["OUTREACH_INSTANCE_PATH"] = instance
        try:
            app = create_app(base_config("sqlite://"))
        finally:
            if saved is None:
                del os.environ["OUTREACH_INSTANCE_PATH"]
            else:
                os.environ["OUTREACH_INSTANCE_PATH"] = saved
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(SKIPPED_PREFIXES):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method))
    return found


def _parameters_read_in_source() -> set[str]:
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        names.update(READS_PARAMETER.findall(path.read_text()))
    return names


ROUTES = _routes()
SOURCE_PARAMETERS = sorted(_parameters_read_in_source() | {"next", "page", "lang"})
TEXT = st.text(max_size=40) | st.sampled_from(
    [
        "",
        "0",
        "-1",
        "10" * 10,
        str(10**20),
        "1e308",
        "NaN",
        "/\r\nSet-Cookie: x=1",
        "//evil.example",
        "2026-02-30",
        "9999-12-31",
        "\x00",
        "\ud800",
        "%",
        "../",
        "é" * 300,
    ]
)


class _FormFields(HTMLParser):
    """Names of every input, select and textarea on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        if tag in {"input", "select", "textarea", "button"}:
            name = dict(attrs).get("name")
            if name:
                self.names.add(name)


def _path_strategy(rule):
    parts = []
    for kind, value in rule._trace:
        if not kind:
            parts.append(st.just(value))
            continue
        converter = rule._converters[value]
        if isinstance(converter, IntegerConverter):
            parts.append(st.one_of(st.integers(1, 5), st.integers(0, 10**30)).map(str))
        elif isinstance(converter, UUIDConverter):
            parts.append(st.uuids().map(str))
        elif isinstance(converter, AnyConverter):
            parts.append(st.sampled_from(sorted(converter.items)))
        else:
            parts.append(TEXT.filter(bool).map(lambda text: quote(text.replace("\ud800", ""))))
    # The first trace item is the host/subdomain part ("|"), not the path.
    return st.tuples(*parts).map(lambda values: "".join(values).split("|", 1)[-1])


def _sendable(text: str) -> str:
    # Lone surrogates cannot be percent-encoded as UTF-8; browsers send U+FFFD instead.
    return text.encode("utf-8", "replace").decode("utf-8")


@pytest.mark.parametrize(("endpoint", "method"), ROUTES, ids=[f"{m} {e}" for e, m in ROUTES])
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_route_answers_5xx_to_arbitrary_text(app, users, endpoint, method, data):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    client = app.test_client()
    if data.draw(st.booleans(), label="signed in as admin"):
        AuthActions(client).login(users.admin)
    path = data.draw(_path_strategy(rule), label="path")
    fields = set(SOURCE_PARAMETERS)
    page = client.get(path)
    page.get_data()  # a streamed answer must run to its end inside the test
    if page.status_code == 200 and page.mimetype == "text/html":
        parser = _FormFields()
        parser.feed(page.get_data(as_text=True))
        fields |= parser.names
    chosen = data.draw(st.lists(st.sampled_from(sorted(fields)), max_size=6, unique=True))
    values = {name: _sendable(data.draw(TEXT, label=name)) for name in chosen}
    if method == "POST":
        token = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page.get_data(as_text=True))
        if token and "csrf_token" not in values:
            values["csrf_token"] = token.group(1)
        response = client.post(path, data=values)
    else:
        response = client.get(path, query_string=values)
    response.get_data()
    assert response.status_code < 500, (method, path, values, response.status_code)


EDGE_CASES = [
    "/reports?page=" + str(10**20),
    "/reports/encounters?page=" + str(10**20),
    "/admin/audit?page=" + str(10**20),
    "/admin/audit?page=-5",
    "/admin/users/" + str(10**20),
    "/admin/catalog/zones/" + str(10**20),
    "/admin/directory/" + str(10**20) + "/edit",
    "/login?next=/log%0D%0ASet-Cookie:%20x=1",
    "/login?next=%0D%0A//evil.example",
    "/admin/",
    "/reports/",
    "/log/",
    "/cards/%00",
    "/cards?lang=%0D%0A",
    "/cards?lang=%00",
    "/directory?q=%00",
]


@pytest.mark.parametrize("path", EDGE_CASES)
def test_edge_cases_answer_a_4xx_or_a_redirect(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code < 500, response.status_code
    location = response.headers.get("Location", "")
    assert "\r" not in location and "\n" not in location


def test_admin_with_its_trailing_slash_leads_to_the_admin_home(admin_client):
    response = admin_client.get("/admin/", follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == "/admin"


def test_sign_in_with_cr_lf_in_next_stays_on_this_site(app, users, client):
    response = AuthActions(client).login(
        users.worker, query_string={"next": "/log\r\nSet-Cookie: x=1"}
    )
    assert response.status_code == 302
    assert "\r" not in response.headers["Location"] and "\n" not in response.headers["Location"]
    assert response.headers["Location"] == "/"


def test_a_nul_character_in_a_form_is_refused_not_a_server_error(client, users):
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"username": "wen\x00dy", "password": "x", "csrf_token": csrf_token_from(page)},
    )
    assert response.status_code == 400
