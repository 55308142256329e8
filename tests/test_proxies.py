"""The shipped reverse-proxy configs, run for real: valid, and their logs hold no client
addresses or query strings (Caddy 2.6 and nginx 1.22, as Debian 12 ships them).

Each test uses the file in deploy/ with only the site's name, ports, certificate (self-signed,
made here), log paths and the app's address replaced. Skipped only when the binary is absent
(Debian: apt-get install caddy nginx).
"""

from __future__ import annotations

import http.client
import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.live import PROJECT

APP_ADDRESS = "127.0.0.1:8000"
SECRET_QUERY = "period=secret-query-7731"
FORWARDED_CLIENT = "203.0.113.9"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class _Upstream(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def upstream():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"proxy did not listen on {port}")


def _get(port: int, host: str, path: str) -> int:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=10)
    connection.request("GET", path, headers={"Host": host, "X-Forwarded-For": FORWARDED_CLIENT})
    status = connection.getresponse().status
    connection.close()
    return status


def _requests_through(port: int, host: str) -> list[int]:
    return [
        _get(port, host, f"/reports/export.csv?{SECRET_QUERY}"),
        _get(port, host, f"/log?{SECRET_QUERY}"),
    ]


def _assert_private(text: str) -> None:
    """No query string, and no client address (the test client is 127.0.0.1 or ::1; the
    upstream's address, also 127.0.0.1, may appear in an error about reaching it)."""
    assert "secret-query" not in text
    assert FORWARDED_CLIENT not in text
    for field in ('"remote_ip"', '"client_ip"', '"remote_port"', "client: ", "::1"):
        assert field not in text


def test_the_app_address_is_named_once_in_each_config():
    for name in ("Caddyfile", "nginx.conf"):
        assert (PROJECT / "deploy" / name).read_text().count(APP_ADDRESS) == 1, name


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy is not installed")
def test_caddy_config_is_valid_and_logs_no_addresses_or_queries(tmp_path, upstream):
    cert, key = _self_signed(tmp_path)
    port = _free_port()
    access_log = tmp_path / "access.log"
    config = (PROJECT / "deploy" / "Caddyfile").read_text()
    config = config.replace("outreach.example.org {", f"localhost:{port} {{\n\ttls {cert} {key}", 1)
    config = config.replace(APP_ADDRESS, f"127.0.0.1:{upstream.server_port}")
    config = config.replace("/var/log/caddy/outreach.log", str(access_log))
    # This test's own instance: no admin endpoint, no redirect listener, storage in tmp.
    config = config.replace(
        "{\n\tlog default",
        f"{{\n\tadmin off\n\tauto_https disable_redirects\n"
        f"\tstorage file_system {tmp_path / 'data'}\n\tlog default",
        1,
    )
    assert "admin off" in config
    caddyfile = tmp_path / "Caddyfile"
    caddyfile.write_text(config)
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    checked = subprocess.run(
        ["caddy", "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr

    output = tmp_path / "caddy.out"
    with open(output, "w") as sink:
        process = subprocess.Popen(
            ["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for_port(port, process)
            assert _requests_through(port, f"localhost:{port}") == [200, 200]
            # The app down: Caddy's error log describes the request too.
            upstream.shutdown()
            upstream.server_close()
            assert _get(port, f"localhost:{port}", f"/sync?{SECRET_QUERY}") >= 500
            time.sleep(0.5)
        finally:
            process.terminate()
            process.wait(timeout=20)
    logged = access_log.read_text()
    assert '"uri":"/reports/export.csv"' in logged
    assert "127.0.0.1" not in logged
    _assert_private(logged)
    _assert_private(output.read_text())


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_config_is_valid_and_logs_no_addresses_or_queries(tmp_path, upstream):
    cert, key = _self_signed(tmp_path)
    https_port, http_port = _free_port(), _free_port()
    access_log, error_log = tmp_path / "access.log", tmp_path / "error.log"
    site = (PROJECT / "deploy" / "nginx.conf").read_text()
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    site = site.replace("/etc/letsencrypt/live/outreach.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/outreach.example.org/privkey.pem", str(key))
    site = site.replace("/var/log/nginx/outreach.log", str(access_log))
    site = site.replace("/var/log/nginx/outreach-error.log", str(error_log))
    site = site.replace(APP_ADDRESS, f"127.0.0.1:{upstream.server_port}")
    temp = tmp_path / "temp"
    temp.mkdir()
    temp.chmod(0o777)
    config = tmp_path / "nginx.conf"
    config.write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'main-error.log'} warn;\n"
        "daemon off;\nevents {}\nhttp {\n"
        f"client_body_temp_path {temp}/body;\nproxy_temp_path {temp}/proxy;\n"
        f"fastcgi_temp_path {temp}/fastcgi;\nuwsgi_temp_path {temp}/uwsgi;\n"
        f"scgi_temp_path {temp}/scgi;\n{site}\n}}\n"
    )
    command = ["nginx", "-p", str(tmp_path), "-c", str(config)]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr

    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(https_port, process)
        assert _requests_through(https_port, "outreach.example.org") == [200, 200]
        upstream.shutdown()
        upstream.server_close()
        assert _get(https_port, "outreach.example.org", f"/sync?{SECRET_QUERY}") == 502
        time.sleep(0.3)
    finally:
        process.terminate()
        process.wait(timeout=20)
    logged = access_log.read_text()
    assert '"path":"/reports/export.csv"' in logged and '"status":502' in logged
    assert "127.0.0.1" not in logged
    _assert_private(logged)
    _assert_private(error_log.read_text() if error_log.exists() else "")
