"""The WebKit harness's "no signal": while away the server refuses connections and cuts the
requests in flight (the answer never arrives), then it serves again on the same port."""

from __future__ import annotations

import http.client
import threading

import pytest

from tests.browser.webkit.conftest import SamePortServer

pytestmark = pytest.mark.engine_independent


class SlowApp:
    """Answers "/" at once; "/slow" only once released (a request in flight)."""

    def __init__(self):
        self.arrived = threading.Event()
        self.release = threading.Event()

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            self.arrived.set()
            self.release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"here"]


def get(port: int, path: str = "/") -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        return connection.getresponse().read()
    finally:
        connection.close()


def test_away_means_no_answer_at_all_and_back_means_the_same_port():
    app = SlowApp()
    server = SamePortServer(app)
    port = server.port
    try:
        assert get(port) == b"here"
        in_flight: list = []

        def ask_slowly():
            try:
                in_flight.append(get(port, "/slow"))
            except (OSError, http.client.HTTPException) as error:
                in_flight.append(error)

        asking = threading.Thread(target=ask_slowly)
        asking.start()
        assert app.arrived.wait(10)
        server.go_away()
        asking.join(10)
        app.release.set()
        [outcome] = in_flight
        assert isinstance(outcome, Exception), "a request in flight got its answer"
        with pytest.raises(ConnectionRefusedError):
            get(port)

        server.come_back()
        assert server.port == port
        assert get(port) == b"here"
    finally:
        app.release.set()
        server.go_away()
