"""A real HTTP server for an app, on a free loopback port, and a small cookie-keeping client."""

from __future__ import annotations

import http.cookiejar
import json
import threading
import urllib.error
import urllib.request
from urllib.parse import urlencode

from werkzeug.serving import make_server

from tests.conftest import PASSWORD
from tests.conftest import csrf_token_from


class LiveServer:
    """Serve ``app`` with werkzeug's threaded server on 127.0.0.1, port chosen by the OS."""

    def __init__(self, app, wsgi_app=None):
        self.server = make_server("127.0.0.1", 0, wsgi_app or app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class HttpSession:
    """Signs in through the real form and calls the API, keeping cookies like a browser."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.csrf_token: str | None = None

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        """(status, headers, body bytes) without raising for error statuses."""
        req = urllib.request.Request(
            self.base_url + path, data=body, method=method, headers=headers or {}
        )
        try:
            with self.opener.open(req, timeout=60) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers, error.read()

    def login(self, username: str, password: str = PASSWORD) -> None:
        _, _, page = self.request("GET", "/login")
        form = urlencode(
            {
                "username": username,
                "password": password,
                "csrf_token": csrf_token_from(page.decode()),
            }
        ).encode()
        self.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        status, _, body = self.request("GET", "/api/v1/session")
        assert status == 200, body
        self.csrf_token = json.loads(body)["csrf_token"]

    def sync(self, encounters: list) -> tuple[int, dict]:
        status, _, body = self.request(
            "POST",
            "/api/v1/sync",
            json.dumps({"encounters": encounters}).encode(),
            {"Content-Type": "application/json", "X-CSRFToken": self.csrf_token or ""},
        )
        return status, json.loads(body) if body else {}

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.cookies)
