"""The app run for real, for the tests and the benchmarks alike: a live server on a free
loopback port (werkzeug in-process, or gunicorn as deployed), clients that sign in through the
real form and keep cookies like a phone, a TCP relay that can cut the database off, and how
to launch Debian's Chromium. Nothing here is shipped with the app."""

from __future__ import annotations

import contextlib
import http.client
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from werkzeug.serving import make_server

PROJECT = Path(__file__).resolve().parent.parent
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
BIN = Path(sys.executable).parent
STRONG_SECRET = "b3c1f0e2d4a5968778695a4b3c2d1e0f1a2b3c4d5e6f7081"
# Debian's Chromium, as root, with nothing reaching outside this machine (Playwright's own
# browser download does not work here). Used by the browser tests and the benchmarks.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def csrf_token_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_INPUT.search(html)
    if not match:
        raise AssertionError("no CSRF token on the page")
    return match.group(1)


def production_env(database_url: str, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "OUTREACH_", "PG"))}
    env.update(
        OUTREACH_ENV="production",
        SECRET_KEY=STRONG_SECRET,
        PARTICIPANT_CODE_KEY="a-production-participant-code-key-0123456789",
        DATABASE_URL=database_url,
        TRUSTED_PROXIES="1",
        PUBLIC_URL="https://outreach.example.org",
    )
    env.update(extra)
    return env


class LiveServer:
    """Serve ``app`` with werkzeug's threaded server on 127.0.0.1, port chosen by the OS."""

    def __init__(self, app, wsgi_app=None, host_name: str = "127.0.0.1"):
        self.server = make_server("127.0.0.1", 0, wsgi_app or app, threaded=True)
        # Track request threads so stop() can wait for requests still in flight (a service
        # worker's fetch, say): one cut off mid-request would leave its database session
        # open, and on PostgreSQL that blocks the next test's reset.
        self.server.daemon_threads = False
        self.server.block_on_close = True
        self.port = self.server.server_port
        self.url = f"http://{host_name}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        for request_thread in list(vars(self.server).get("_threads") or []):
            request_thread.join(timeout=10)
        # Joined above with a time limit; server_close() would wait without one.
        vars(self.server).pop("_threads", None)
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

    def login(self, username: str, password: str) -> None:
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

    def sync(self, encounters: list, **other_kinds: list) -> tuple[int, dict]:
        """(status, parsed body). ``other_kinds``: records of other kinds under their keys."""
        status, _, body = self.request(
            "POST",
            "/api/v1/sync",
            json.dumps({"encounters": encounters, **other_kinds}).encode(),
            {"Content-Type": "application/json", "X-CSRFToken": self.csrf_token or ""},
        )
        return status, json.loads(body) if body else {}

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.cookies)


class ProxiedClient:
    """A phone talking to the app as if through the TLS proxy: keeps its own cookies
    (they are Secure, so they are sent by hand over loopback HTTP) and one connection."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.csrf_token: str | None = None
        self._connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body=None, headers=None):
        headers = dict(headers or {})
        headers["X-Forwarded-Proto"] = "https"
        headers["X-Forwarded-For"] = "203.0.113.9"
        # Browsers send a same-origin Referer (Referrer-Policy: same-origin); Flask-WTF
        # requires it for CSRF-checked requests over HTTPS.
        headers["Referer"] = f"https://127.0.0.1:{self.port}/login"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self._connection.request(method, path, body=body, headers=headers)
                response = self._connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server closed: reconnect once.
                self.close()
                if attempt == 2:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response, data

    def login(self, username: str, password: str) -> None:
        _, page = self.request("GET", "/login")
        form = urlencode(
            {
                "username": username,
                "password": password,
                "csrf_token": csrf_token_from(page.decode()),
            }
        )
        response, _ = self.request(
            "POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert response.status == 302, response.status
        _, body = self.request("GET", "/api/v1/session")
        self.csrf_token = json.loads(body)["csrf_token"]

    def sync(self, encounters: list, **other_kinds: list):
        """(status, parsed body or None). ``other_kinds``: lists under their own keys."""
        response, parsed = self.sync_response(encounters, **other_kinds)
        return response.status, parsed

    def sync_response(self, encounters: list, **other_kinds: list):
        """(the response, for its status and headers; parsed body or None)."""
        response, body = self.request(
            "POST",
            "/api/v1/sync",
            json.dumps({"encounters": encounters, **other_kinds}),
            {"Content-Type": "application/json", "X-CSRFToken": self.csrf_token or ""},
        )
        try:
            return response, json.loads(body)
        except ValueError:
            return response, None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class GunicornServer:
    """gunicorn started exactly as docs/deploy.md says, on a free loopback port."""

    def __init__(self, env: dict, command: list[str] | None = None, cwd: Path = PROJECT):
        self.env = env
        # An installed release starts it its own way (tests/test_release.py).
        self.command = command or [
            str(BIN / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "outreach:create_app()",
        ]
        self.cwd = cwd
        self.output: list[str] = []
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.port = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.port is None:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            match = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self.client = ProxiedClient(self.port) if self.port else None

    def _drain(self):
        for line in self.process.stdout:
            self.output.append(line)

    def request(self, method: str, path: str, body=None, headers=None):
        return self.client.request(method, path, body, headers)

    def kill(self) -> None:
        """SIGKILL the master and its workers at once, as a crash or power cut would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._reader.join(timeout=5)
        self.process.stdout.close()

    def stop(self):
        if self.client:
            self.client.close()
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self._reader.join(timeout=5)
        self.process.stdout.close()


class TcpProxy:
    """A loopback TCP relay to a database server that can drop every connection at once and
    refuse new ones, as the app sees a database restart."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        import socket

        self._socket_module = socket
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self._sockets: set = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = self._socket_module.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update({client, upstream})
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(self._socket_module.SHUT_RDWR)
                sock.close()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones."""
        self.up = False
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(self._socket_module.SHUT_RDWR)
            sock.close()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self._closed = True
        self.cut()
        self.listener.close()
