"""Browser fixtures: the app served live on 127.0.0.1, and headless Chromium via Playwright.

The server sits behind a fault injector, so a test can make the real sync client meet a
failing server (5xx, a connection dropped after the server stored the batch) and can see
every request the phone made.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from dataclasses import dataclass
from dataclasses import field

import pytest

from tests.conftest import PASSWORD
from tests.live import CHROMIUM
from tests.live import CHROMIUM_ARGS
from tests.live import LiveServer

SYNC_PATH = "/api/v1/sync"


@dataclass
class Fault:
    path: str
    # "503": answer 503 at once; "drop": let the app answer, then drop the connection;
    # "slow": answer a second late (so that two senders would overlap).
    kind: str
    times: int


@dataclass
class FaultInjector:
    """WSGI middleware: records requests and fails chosen ones."""

    app: object
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    sync_batches: list[list[str]] = field(default_factory=list)
    answers: list[tuple[str, int]] = field(default_factory=list)  # (path, status) the app gave
    sw_body_suffix: bytes = b""
    sw_body_override: bytes | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, path: str, kind: str, times: int = 1) -> None:
        with self.lock:
            self.faults.append(Fault(path, kind, times))

    def _take_fault(self, path: str) -> str | None:
        with self.lock:
            for fault in self.faults:
                if fault.path == path and fault.times > 0:
                    fault.times -= 1
                    return fault.kind
        return None

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()

    def sync_ids(self) -> list[str]:
        """Every record id the phone sent, in order, repeats included."""
        with self.lock:
            return [record_id for batch in self.sync_batches for record_id in batch]

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        with self.lock:
            self.requests.append((method, path))
        if method == "POST" and path == SYNC_PATH:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            try:
                # Every record kind of the body ("encounters", "stock_events", ...).
                kinds = [v for v in json.loads(body).values() if isinstance(v, list)]
                ids = [r.get("id") for records in kinds for r in records]
            except (ValueError, KeyError, TypeError, AttributeError):
                ids = []
            with self.lock:
                self.sync_batches.append(ids)
        kind = self._take_fault(path)
        if kind == "503":
            start_response(
                "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Cache-Control", "no-store")],
            )
            return [b'{"error": "unavailable", "message": "injected"}']
        if kind == "slow":
            time.sleep(1.0)
        if kind == "drop":
            # The app does the work (and stores the batch); the answer never arrives.
            chunks = self.app(environ, lambda *args, **kwargs: None)
            b"".join(chunks)
            if hasattr(chunks, "close"):
                chunks.close()
            connection = environ.get("werkzeug.socket")
            if connection is not None:
                connection.shutdown(socket.SHUT_RDWR)
            raise ConnectionResetError("connection dropped by the fault injector")
        if path == "/sw.js" and self.sw_body_override is not None:
            start_response(
                "200 OK",
                [("Content-Type", "text/javascript"), ("Cache-Control", "no-cache")],
            )
            return [self.sw_body_override]
        if path == "/sw.js" and self.sw_body_suffix:
            return self._with_suffix(environ, start_response)
        return self.app(environ, self._noting_status(path, start_response))

    def _noting_status(self, path: str, start_response):
        def noting(status, headers, exc_info=None):
            with self.lock:
                self.answers.append((path, int(status.split(" ", 1)[0])))
            return start_response(status, headers, exc_info)

        return noting

    def statuses(self, prefix: str = "/") -> list[int]:
        """What the app answered to requests under ``prefix``, in order."""
        with self.lock:
            return [status for path, status in self.answers if path.startswith(prefix)]

    def _with_suffix(self, environ, start_response):
        """Serve /sw.js with extra bytes: the browser sees a new service worker version."""
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        environ = {k: v for k, v in environ.items() if k != "HTTP_IF_NONE_MATCH"}
        environ.pop("HTTP_IF_MODIFIED_SINCE", None)
        chunks = self.app(environ, capture)
        body = b"".join(chunks) + self.sw_body_suffix
        if hasattr(chunks, "close"):
            chunks.close()
        headers = [
            (k, v)
            for k, v in captured["headers"]
            if k.lower() not in {"content-length", "etag", "last-modified"}
        ]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]


@dataclass
class BrowserServer:
    url: str
    app: object
    faults: FaultInjector


@pytest.fixture
def live_server(app, users):
    """The app on a free port of 127.0.0.1, addressed as localhost (a secure context)."""
    injector = FaultInjector(app.wsgi_app)
    app.wsgi_app = injector
    server = LiveServer(app, host_name="localhost")
    try:
        yield BrowserServer(server.url, app, injector)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser, live_server):
    context = browser.new_context(base_url=live_server.url, service_workers="allow")
    context.set_default_timeout(15_000)
    messages: list[str] = []
    # Console output and page errors are printed with a failing test's report.
    context.on("console", lambda message: messages.append(f"console: {message.text}"))
    context.on("weberror", lambda error: messages.append(f"error: {error.error}"))
    yield context
    context.close()
    for message in messages:
        print(message)


@pytest.fixture
def page(context):
    return context.new_page()


def sign_in(page, username: str, password: str = PASSWORD, next_path: str = "/log") -> None:
    """Sign in through the real form and wait for the page after it."""
    page.goto(f"/login?next={next_path}")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', password)
    page.click('form button[type="submit"]')
    page.wait_for_url(f"**{next_path}")


PHONE_USER = """() => new Promise((done) => {
    const open = indexedDB.open("outreach");
    open.onerror = () => done(null);
    open.onsuccess = () => {
        const db = open.result;
        if (!db.objectStoreNames.contains("state")) { db.close(); return done(null); }
        const read = db.transaction("state").objectStore("state").get("user");
        read.onsuccess = () => { db.close(); done(read.result ?? null); };
        read.onerror = () => { db.close(); done(null); };
    };
})"""


def phone_user(page) -> str | None:
    """Who the phone has recorded as signed in (None: nobody, or not known yet)."""
    return page.evaluate(PHONE_USER)


def wait_phone_knows_user(page, username: str | None, timeout: float = 30.0) -> None:
    """Wait until the phone has recorded who is signed in (from /api/v1/session): only then
    does it save records for that worker. ``None``: until it names nobody."""
    deadline = time.monotonic() + timeout
    while (named := phone_user(page)) != username:
        if time.monotonic() > deadline:
            wanted = "nobody" if username is None else repr(username)
            raise AssertionError(f"the phone names {named!r} as signed in, never {wanted}")
        time.sleep(0.1)


def wait_until(page, expression: str, timeout: float = 15.0):
    """Poll a JS expression until it is truthy (wait_for_function needs eval, which the CSP
    forbids; evaluate() does not)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(f"() => {expression}")
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression!r} (last value {value!r})")
        time.sleep(0.1)


def wait_offline_ready(page) -> None:
    """Wait until the service worker controls the page and has the pages kept offline."""
    wait_until(page, "navigator.serviceWorker.controller !== null")
    wait_until(page, "document.documentElement.dataset.offlineReady === 'true'")


def outbox_count(page) -> str:
    return page.locator("[data-outbox-count]").first.inner_text()


def wait_count(page, expected: int, timeout: float = 20.0) -> None:
    """Wait until the page shows this many records waiting."""
    wait_until(
        page,
        "document.documentElement.dataset.outboxCounted === 'true' && "
        f"document.querySelector('[data-outbox-count]')?.textContent === '{expected}'",
        timeout,
    )


def log_encounter(page, item: str = "syringe_1ml_27g", amount: int = 20, referral=None) -> None:
    """Log one encounter the way a worker does: a quick amount, a referral, save."""
    if not page.locator(f'input[name="supply.{item}"]').is_visible():
        page.click("[data-more-supplies] > summary")  # the item sits behind "More supplies"
    if amount == 1:
        page.click(f'button[data-step="1"][aria-controls="supply-{item}"]')
    else:
        page.click(f'button.quick[data-add="{amount}"][aria-controls="supply-{item}"]')
    if referral:
        page.check(f'input[name="referral"][value="{referral}"]')
    page.click('#encounter-form button[type="submit"]')
    page.locator("[data-toast]").wait_for(state="visible")


def wait_stored(app, expected: int, timeout: float = 30.0) -> set[str]:
    """Wait until the server holds this many encounters; their ids."""
    deadline = time.monotonic() + timeout
    while len(ids := stored_ids(app)) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return ids


def stored_ids(app) -> set[str]:
    """Ids of the encounters the server holds."""
    import sqlalchemy as sa

    from outreach.extensions import db
    from outreach.models import Encounter

    with app.app_context():
        return {str(i) for i in db.session.scalars(sa.select(Encounter.id))}
