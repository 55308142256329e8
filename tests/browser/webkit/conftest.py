"""WebKit fixtures: Debian's WebKitGTK MiniBrowser, driven by Selenium through WebKitWebDriver
on a private Xvfb display, against the app served live on 127.0.0.1.

WebKit, the engine of every iPhone browser, has no switch that takes a page offline. Here
"no signal" is what a phone meets in the street: the server goes away (its port refuses
connections and the requests in flight are cut) and later comes back on the same port, so the
page's origin, its service worker and its IndexedDB stay the same.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
import warnings
from pathlib import Path

import pytest
from werkzeug.serving import ThreadedWSGIServer

from tests.browser.conftest import FaultInjector
from tests.conftest import PASSWORD

WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
# Debian installs MiniBrowser off PATH, under the library directory of webkit2gtk.
MINIBROWSER_GLOB = "/usr/lib/*/webkit2gtk-4.*/MiniBrowser"
INSTALL = "apt-get install -y webkit2gtk-driver xvfb"
WAIT_SECONDS = 20.0
PHONE_WINDOW = (390, 844)
VISIBLE = """(css) => {
  const element = document.querySelector(css);
  return Boolean(element && element.getClientRects().length
    && getComputedStyle(element).visibility !== "hidden");
}"""


def pytest_configure(config):
    config.addinivalue_line("markers", "webkit: drives WebKitGTK's MiniBrowser through Selenium")


def minibrowser() -> str | None:
    found = sorted(Path("/").glob(MINIBROWSER_GLOB.lstrip("/")))
    return str(found[-1]) if found else None


# -- the display ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def xvfb_display():
    """An Xvfb server of this test process's own; Xvfb picks a free display number itself
    (-displayfd), so parallel test processes and other users never collide."""
    if not Path(WEBKIT_DRIVER).exists() or not shutil.which("Xvfb") or not minibrowser():
        pytest.fail(f"WebKitGTK's WebDriver or Xvfb is missing: run '{INSTALL}' (make test does)")
    read_end, write_end = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as announced:
        # Xvfb writes the display number once it accepts clients (EOF: it failed to start).
        number = announced.readline().strip()
    if not number:
        xvfb.kill()
        pytest.fail("Xvfb did not start")
    try:
        yield f":{number.decode()}"
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


# -- the server that can go away -----------------------------------------------------------


class _TrackedServer(ThreadedWSGIServer):
    """werkzeug's threaded server, keeping its open connections so that it can cut them."""

    def __init__(self, *args, **kwargs):
        self.connections: set = set()
        self.connections_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class SamePortServer:
    """A WSGI app on 127.0.0.1, on a port the OS chose once and kept across restarts.

    ``go_away()`` is a phone losing signal: new connections are refused and the requests in
    flight are cut, so their answers never arrive (werkzeug closes every connection after its
    answer, so no kept-alive connection outlives this). ``come_back()`` serves again on the
    same port: the listening socket is made with SO_REUSEADDR, so the port's closed
    connections do not hold it."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app
        self.port = 0
        self.server: _TrackedServer | None = None
        self.thread: threading.Thread | None = None
        self._serve()
        self.url = f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.server = _TrackedServer("127.0.0.1", self.port, self.wsgi_app)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def go_away(self) -> None:
        if self.server is None:
            return
        self.server.shutdown()
        self.server.cut_connections()
        self.server.server_close()
        self.thread.join(timeout=10)
        self.server = None

    def come_back(self) -> None:
        if self.server is None:
            self._serve()


class WebKitServer:
    """What a WebKit test sees of the server: its address, the app, the fault injector (as
    in the Chromium tests) and the switch that takes it away and brings it back."""

    def __init__(self, app):
        self.app = app
        self.faults = FaultInjector(app.wsgi_app)
        app.wsgi_app = self.faults
        self.server = SamePortServer(self.faults)
        self.url = self.server.url
        self.port = self.server.port

    def go_away(self) -> None:
        self.server.go_away()

    def come_back(self) -> None:
        self.server.come_back()
        assert self.server.port == self.port

    def stop(self) -> None:
        self.server.go_away()


@pytest.fixture
def webkit_server(app, users):
    """The app on a free port of 127.0.0.1 (a potentially trustworthy origin: a secure
    context, so the service worker and WebCrypto are there, as on https)."""
    server = WebKitServer(app)
    try:
        yield server
    finally:
        server.stop()


# -- the phone -----------------------------------------------------------------------------


class Phone:
    """One WebKit window on the app, with the few verbs the tests need. Every wait polls a
    condition; none sleeps a fixed time."""

    def __init__(self, driver, base_url: str):
        self.driver = driver
        self.base_url = base_url

    # Pages and scripts.
    def goto(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def reload(self) -> None:
        self.driver.refresh()

    @property
    def path(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.driver.current_url).path

    def evaluate(self, expression: str):
        """The value of a JS expression, awaited if it is a promise."""
        return self.driver.execute_script(f"return await ({expression});")

    def call(self, function: str, *args):
        """Call a JS function source (``() => ...``) with arguments; awaited."""
        return self.driver.execute_script(f"return await ({function})(...arguments);", *args)

    def poll(self, condition, what: str, timeout: float = WAIT_SECONDS):
        """Ask ``condition()`` until it is truthy; a page between two documents (a navigation
        under way) counts as "not yet"."""
        from selenium.common.exceptions import WebDriverException

        deadline = time.monotonic() + timeout
        while True:
            try:
                value = condition()
            except WebDriverException as error:
                if not _navigating(error):
                    raise
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what} (last value {value!r})")
            time.sleep(0.1)

    def wait_until(self, expression: str, timeout: float = WAIT_SECONDS, what: str = ""):
        """Wait until a JS expression (a promise is awaited) is truthy."""
        return self.poll(lambda: self.evaluate(expression), what or repr(expression), timeout)

    def wait_for_path(self, path: str, timeout: float = WAIT_SECONDS) -> None:
        self.poll(
            lambda: self.path == path and self.evaluate("document.readyState") == "complete",
            f"{path} loaded",
            timeout,
        )

    # Elements.
    def element(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def count(self, css: str) -> int:
        return self.call("(css) => document.querySelectorAll(css).length", css)

    def visible(self, css: str) -> bool:
        """Shown: in the page, not hidden, with a box (as Playwright's is_visible)."""
        return bool(self.call(VISIBLE, css))

    def wait_visible(self, css: str, timeout: float = WAIT_SECONDS) -> None:
        self.poll(lambda: self.visible(css), f"{css} visible", timeout)

    def wait_hidden(self, css: str, timeout: float = WAIT_SECONDS) -> None:
        self.poll(lambda: not self.visible(css), f"{css} hidden", timeout)

    def text(self, css: str) -> str:
        return self.call("(css) => document.querySelector(css)?.textContent ?? null", css)

    def click(self, css: str) -> None:
        """Tap an element as a worker does: scrolled to the middle of the screen first, so no
        fixed bar at the screen's edge is in the way (WebDriver scrolls it to the very edge)."""
        self.wait_visible(css)
        element = self.element(css)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()

    def fill(self, css: str, value: str) -> None:
        element = self.element(css)
        element.clear()
        element.send_keys(value)

    # The app.
    def sign_in(self, username: str, password: str = PASSWORD, pin: str | None = None) -> None:
        """Sign in through the real form and wait for /log."""
        self.goto("/login?next=/log")
        self.fill('input[name="username"]', username)
        self.fill('input[name="password"]', password)
        if pin is not None:
            self.fill("#unlock-pin", pin)
        self.click('form[data-login] button[type="submit"]')
        self.wait_for_path("/log")

    def wait_offline_ready(self) -> None:
        """The service worker controls the page and keeps the pages for use offline."""
        self.wait_until("navigator.serviceWorker.controller !== null", what="a service worker")
        self.wait_until(
            "document.documentElement.dataset.offlineReady === 'true'", what="pages kept"
        )

    def wait_count(self, expected: int, timeout: float = WAIT_SECONDS) -> None:
        """The page shows this many records waiting."""
        self.wait_until(
            "document.documentElement.dataset.outboxCounted === 'true' && "
            f"document.querySelector('[data-outbox-count]')?.textContent === '{expected}'",
            timeout,
            what=f"{expected} records waiting",
        )

    def log_encounter(self, item: str = "syringe_1ml_27g", amount: int = 20) -> None:
        """Log one encounter as a worker does: a quick amount, then Save."""
        if not self.visible(f'input[name="supply.{item}"]'):
            self.click("[data-more-supplies] > summary")
        if amount == 1:
            self.click(f'button[data-step="1"][aria-controls="supply-{item}"]')
        else:
            self.click(f'button.quick[data-add="{amount}"][aria-controls="supply-{item}"]')
        self.wait_until(f"document.getElementById('supply-{item}').value === '{amount}'")
        self.click('#encounter-form button[type="submit"]')
        self.wait_visible("[data-toast]")
        # The form is cleared once the record is saved on the phone.
        self.wait_until(f"document.getElementById('supply-{item}').value !== '{amount}'")


def _navigating(error: Exception) -> bool:
    text = str(error).lower()
    return any(
        sign in text
        for sign in ("navigat", "unload", "no such window", "javascript execution context")
    )


@pytest.fixture
def phone(xvfb_display, webkit_server, monkeypatch):
    """A fresh MiniBrowser (its own ephemeral website data) on the test's server, sized as
    a phone."""
    from selenium import webdriver

    monkeypatch.setenv("DISPLAY", xvfb_display)
    options = webdriver.WebKitGTKOptions()
    options.binary_location = minibrowser()
    options.add_argument("--automation")
    service = webdriver.WebKitGTKService(executable_path=WEBKIT_DRIVER)
    with warnings.catch_warnings():
        # Selenium's WebKitGTK driver still hands its own connection the old argument.
        warnings.filterwarnings(
            "ignore", "setting remote_server_addr", DeprecationWarning, "selenium"
        )
        driver = webdriver.WebKitGTK(options=options, service=service)
    # An iPhone 13's screen in CSS pixels (MiniBrowser's own bar takes a little of it).
    driver.set_window_size(*PHONE_WINDOW)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    try:
        yield Phone(driver, webkit_server.url)
    finally:
        driver.quit()
