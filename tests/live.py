"""The live-server helpers of ``harness.live``, with the test accounts' password as default."""

from __future__ import annotations

from harness import live
from harness.live import BIN
from harness.live import CHROMIUM
from harness.live import CHROMIUM_ARGS
from harness.live import PROJECT
from harness.live import STRONG_SECRET
from harness.live import LiveServer
from harness.live import TcpProxy
from harness.live import production_env
from tests.conftest import PASSWORD

__all__ = [
    "BIN",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "PROJECT",
    "STRONG_SECRET",
    "GunicornServer",
    "HttpSession",
    "LiveServer",
    "ProxiedClient",
    "TcpProxy",
    "production_env",
]


class HttpSession(live.HttpSession):
    def login(self, username: str, password: str = PASSWORD) -> None:
        super().login(username, password)


class ProxiedClient(live.ProxiedClient):
    def login(self, username: str, password: str = PASSWORD) -> None:
        super().login(username, password)


class GunicornServer(live.GunicornServer):
    """gunicorn as deployed, with a client that signs in with the test password."""

    def start(self) -> None:
        super().start()
        if self.port:
            self.client = ProxiedClient(self.port)
