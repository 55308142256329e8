"""Lighthouse on a mobile profile for every page: scores, key metrics, failing audits.

    .venv/bin/python bench/lighthouse.py [--runs 1] [--pages SUBSTRING ...]
                                         [--wait-for-quiet] [--no-gzip] [--update-readme]

Serves a fresh app (gunicorn, production settings, throwaway SQLite database: migrated,
seeded, the demo directory, 2,000 demo encounters over 90 days, a worker, a supervisor and
an admin) behind a small loopback front that gzips what deploy/nginx.conf gzips (its
gzip_types and gzip_min_length, read from the file; --no-gzip measures gunicorn bare). Each
role signs in through the real /login form with a Python HTTP client; Lighthouse's Node CLI
(bench/node_modules/.bin/lighthouse, Debian's Chromium headless) then audits one page per HTML
template with its default mobile profile and simulated throttling, the session cookie
passed with --extra-headers. Every run is a cold first visit: Lighthouse clears the
origin's storage and service worker first.

Lighthouse is a benchmark tool, not part of the app's build: it has its own
bench/package.json and lock, and the first run installs it (`npm ci --prefix bench`, about
115 packages) into bench/node_modules/, so `make setup` never downloads it.

With --runs N each page is audited N times and the run with the median performance score
kept. Raw reports go to bench/results/lighthouse/. --wait-for-quiet waits (up to 10
minutes, checking every 30 s) for a 1-minute load average below 1.0 before auditing.
--update-readme writes the "Lighthouse (mobile)" section of bench/README.md. The whole run
(22 pages) takes about 5 minutes.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode
from urllib.parse import urlsplit

from common import BENCH_PASSWORD
from common import PROJECT
from common import bench_env
from common import machine
from common import prepare
from common import throwaway_database

from harness.live import CHROMIUM
from harness.live import GunicornServer

BENCH_NODE = PROJECT / "bench"
LIGHTHOUSE = BENCH_NODE / "node_modules" / ".bin" / "lighthouse"
README = PROJECT / "bench" / "README.md"
RESULTS = PROJECT / "bench" / "results" / "lighthouse"
HEADING = "## Lighthouse (mobile) — `.venv/bin/python bench/lighthouse.py`"
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
CHECKED = ("accessibility", "best-practices", "seo")
USERS = {"worker": "bench-worker-0", "supervisor": "bench-supervisor", "admin": "bench-admin"}
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')
NGINX_CONF = PROJECT / "deploy" / "nginx.conf"
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
}


@dataclass
class Page:
    path: str
    role: str | None  # None: audited signed out
    template: str


@dataclass
class Result:
    page: Page
    scores: dict[str, int]
    metrics: dict[str, float]
    failed: list[tuple[str, str, str, list[str]]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    lhr: dict = field(default_factory=dict)


def nginx_gzip() -> tuple[set[str], int]:
    """The types and minimum length deploy/nginx.conf compresses (text/html always does)."""
    conf = NGINX_CONF.read_text()
    types = re.search(r"^\s*gzip_types\s+([^;]+);", conf, re.MULTILINE)
    least = re.search(r"^\s*gzip_min_length\s+(\d+);", conf, re.MULTILINE)
    return {"text/html", *(types[1].split() if types else [])}, int(least[1]) if least else 20


class GzipFront(ThreadingHTTPServer):
    """A loopback reverse proxy to gunicorn that compresses as deploy/nginx.conf says
    (gzip_types, gzip_min_length, nginx's default level 1)."""

    daemon_threads = True

    def __init__(self, upstream_port: int, compress: bool = True):
        self.upstream_port = upstream_port
        self.compress = compress
        self.types, self.min_length = nginx_gzip()
        # Text answers the configuration leaves uncompressed: Content-Type -> count.
        self.left_plain: dict[str, int] = {}
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Relay)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Relay(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GzipFront

    def do_GET(self) -> None:
        self._relay()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=90)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    upstream.putheader(name, value)
            upstream.endheaders(body)
            response = upstream.getresponse()
            data = response.read()
            headers = [
                (name, value)
                for name, value in response.getheaders()
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length"
            ]
        finally:
            upstream.close()
        front = self.server
        kind = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if (
            front.compress
            and "gzip" in (self.headers.get("Accept-Encoding") or "")
            and not response.getheader("Content-Encoding")
            and len(data) >= front.min_length
        ):
            if kind in front.types:
                data = gzip.compress(data, 1)
                headers.append(("Content-Encoding", "gzip"))
            elif kind.startswith("text/") or kind.endswith(("json", "javascript", "xml")):
                with front.lock:
                    front.left_plain[kind] = front.left_plain.get(kind, 0) + 1
        self.send_response_only(response.status, response.reason)
        for name, value in headers:
            self.send_header(name, value)
        if response.status >= 200 and response.status not in (204, 304):
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and response.status not in (204, 304):
            self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


class Browserless:
    """Signs in through the real form and keeps the cookies, as a browser would."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie, _, _ = value.partition(";")
                key, _, val = cookie.partition("=")
                self.cookies[key.strip()] = val.strip()
        return response.status, data.decode("utf-8", "replace")

    def login(self, username: str, role: str) -> None:
        _, page = self.request("GET", "/login")
        token = CSRF.search(page)
        if not token:
            raise SystemExit("no CSRF token on /login")
        form = urlencode({"username": username, "password": BENCH_PASSWORD, "csrf_token": token[1]})
        status, _ = self.request(
            "POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 302:
            raise SystemExit(f"signing in {username} answered {status}")
        status, body = self.request("GET", "/api/v1/session")
        if status != 200 or json.loads(body)["user"]["role"] != role:
            raise SystemExit(f"{username} is not signed in as {role}: {status} {body[:200]}")

    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def first(self, path: str, pattern: str) -> str:
        """The first match of ``pattern`` in the page at ``path`` (links to detail pages)."""
        status, body = self.request("GET", path)
        match = re.search(pattern, body)
        if status != 200 or not match:
            raise SystemExit(f"no {pattern!r} on {path} ({status})")
        return match[1]


def flask(database_url: str, *args: str) -> None:
    env = bench_env(database_url, OUTREACH_ENV="development")
    command = [str(Path(sys.executable).parent / "flask"), "--app", "outreach", *args]
    subprocess.run(command, env=env, check=True, capture_output=True, cwd=PROJECT)


def populate(database_url: str) -> None:
    """prepare() (migrated, seeded, bench-worker-0), then the other roles and demo data."""
    prepare(database_url, workers=1)
    for role in ("supervisor", "admin"):
        flask(
            database_url,
            "user",
            "create",
            USERS[role],
            "--role",
            role,
            "--password",
            BENCH_PASSWORD,
        )
    flask(database_url, "demo-directory")
    flask(database_url, "demo-data", "--days", "90", "--encounters", "2000", "--seed", "1")


def pages(sessions: dict[str, Browserless]) -> list[Page]:
    """One page for every HTML template, as the role that uses it."""
    supervisor, admin = sessions["supervisor"], sessions["admin"]
    encounter = supervisor.first("/reports/encounters", r"/reports/encounters/([0-9a-f-]{36})/void")
    user = admin.first("/admin/users", r'href="/admin/users/(\d+)"')
    supply = admin.first("/admin/catalog/supplies", r'href="/admin/catalog/supplies/(\d+)"')
    service = admin.first("/admin/directory/", r'href="/admin/directory/(\d+)/edit"')
    return [
        Page("/login", None, "auth/login"),
        Page("/cards", None, "cards/index"),
        Page("/cards/naloxone?lang=en", None, "cards/show"),
        Page("/cards/naloxone?lang=es", None, "cards/show (Spanish)"),
        Page("/cards/referral/wound_care?lang=en", None, "cards/referral"),
        Page("/directory", None, "directory/index"),
        Page("/log", "worker", "worker/log"),
        Page("/outbox", "worker", "worker/outbox"),
        Page("/log/bag", "worker", "stock/bag"),
        Page("/reports", "supervisor", "reports/index"),
        Page("/reports/funder", "supervisor", "funder/report"),
        Page("/reports/stock", "supervisor", "stock/report"),
        Page("/reports/stock/events", "supervisor", "reports/stock_events"),
        Page("/reports/overdoses", "supervisor", "reports/overdoses"),
        Page("/reports/encounters", "supervisor", "reports/encounters"),
        Page(f"/reports/encounters/{encounter}/void", "supervisor", "reports/void"),
        Page("/admin", "admin", "admin/index"),
        Page("/admin/users", "admin", "admin/users"),
        Page(f"/admin/users/{user}", "admin", "admin/user"),
        Page(f"/admin/users/{user}/deactivate", "admin", "admin/confirm_deactivate"),
        Page("/admin/catalog/supplies", "admin", "admin/catalog"),
        Page(f"/admin/catalog/supplies/{supply}", "admin", "admin/catalog_entry"),
        Page("/admin/audit", "admin", "admin/audit"),
        Page("/admin/directory/", "admin", "directory_admin/index"),
        Page("/admin/directory/new", "admin", "directory_admin/form"),
        Page(f"/admin/directory/{service}/deactivate", "admin", "directory_admin/deactivate"),
        Page("/admin/directory/import", "admin", "directory_admin/import"),
    ]


def install_lighthouse() -> None:
    """Lighthouse from bench/package-lock.json, installed on first use only."""
    if LIGHTHOUSE.exists():
        return
    print("installing Lighthouse for the benchmark (npm ci --prefix bench)", flush=True)
    done = subprocess.run(
        ["npm", "ci", "--prefix", str(BENCH_NODE), "--no-audit", "--no-fund", "--loglevel=error"],
        check=False,
        timeout=600,
    )
    if done.returncode != 0 or not LIGHTHOUSE.exists():
        raise SystemExit("could not install Lighthouse: run `npm ci --prefix bench` and retry")


def lighthouse(url: str, cookie: str | None, folder: Path, name: str) -> dict:
    """One Lighthouse run with its defaults (mobile, simulated throttling); the report."""
    output = folder / f"{name}.json"
    command = [
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={output}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={CHROME_FLAGS}",
    ]
    if cookie:
        headers = folder / "headers.json"
        headers.write_text(json.dumps({"Cookie": cookie}))
        command.append(f"--extra-headers={headers}")
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    done = subprocess.run(
        command, env=env, cwd=folder, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0 or not output.exists():
        raise SystemExit(f"lighthouse failed on {url}:\n{done.stderr[-2000:]}")
    return json.loads(output.read_text())


def _evidence(item: dict) -> str | None:
    node = item.get("node")
    if isinstance(node, dict):
        return node.get("selector") or node.get("snippet")
    for key in ("url", "source", "description", "label"):
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict) and value.get("url"):
            return value["url"]
    return None


def failed_audits(lhr: dict) -> list[tuple[str, str, str, list[str]]]:
    """(category, audit id, title, up to three offending elements) for every audit below 1."""
    failed = []
    for category in CHECKED:
        for ref in lhr["categories"][category]["auditRefs"]:
            audit = lhr["audits"][ref["id"]]
            if audit.get("score") is None or audit["score"] >= 1:
                continue
            if audit.get("scoreDisplayMode") in ("informative", "manual", "notApplicable"):
                continue
            items = (audit.get("details") or {}).get("items") or []
            evidence = [e for e in (_evidence(item) for item in items) if e]
            failed.append((category, audit["id"], audit["title"], evidence))
    return failed


def summarise(page: Page, lhr: dict) -> Result:
    if lhr.get("runtimeError"):
        raise SystemExit(f"{page.path}: {lhr['runtimeError']}")
    final = urlsplit(lhr["finalDisplayedUrl"])
    wanted = urlsplit(page.path)
    if (final.path, final.query) != (wanted.path, wanted.query):
        raise SystemExit(f"{page.path} ended on {lhr['finalDisplayedUrl']} (signed out?)")
    audits = lhr["audits"]
    scores = {c: round((lhr["categories"][c]["score"] or 0) * 100) for c in CATEGORIES}
    requests = ((audits.get("network-requests") or {}).get("details") or {}).get("items") or []
    metrics = {
        "fcp": audits["first-contentful-paint"]["numericValue"],
        "lcp": audits["largest-contentful-paint"]["numericValue"],
        "tbt": audits["total-blocking-time"]["numericValue"],
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "bytes": audits["total-byte-weight"]["numericValue"],
        "requests": len(requests),
    }
    return Result(page, scores, metrics, failed_audits(lhr), lhr.get("runWarnings") or [], lhr)


def audit_page(page: Page, base: str, sessions, folder: Path, runs: int) -> Result:
    cookie = sessions[page.role].cookie_header() if page.role else None
    name = re.sub(r"[^a-z0-9]+", "-", page.path.lower()).strip("-") or "root"
    results = [
        summarise(page, lighthouse(base + page.path, cookie, folder, f"{name}-{n}"))
        for n in range(runs)
    ]
    results.sort(key=lambda r: r.scores["performance"])
    return results[(len(results) - 1) // 2]


def load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def wait_for_quiet(limit: float = 1.0, every: float = 30, longest: float = 600) -> float:
    deadline = time.monotonic() + longest
    while (current := load()) >= limit and time.monotonic() < deadline:
        print(f"  load {current:.2f} (waiting for < {limit})", flush=True)
        time.sleep(every)
    return current


def table(results: list[Result]) -> list[str]:
    lines = [
        "| page | signed in as | perf | a11y | best pr. | SEO | FCP s | LCP s | TBT ms | CLS "
        "| transfer KB | requests |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        s, m = r.scores, r.metrics
        lines.append(
            f"| `{r.page.path}` | {r.page.role or '—'} | {s['performance']} "
            f"| {s['accessibility']} | {s['best-practices']} | {s['seo']} "
            f"| {m['fcp'] / 1000:.1f} | {m['lcp'] / 1000:.1f} | {m['tbt']:.0f} | {m['cls']:.3f} "
            f"| {m['bytes'] / 1024:.1f} | {m['requests']} |"
        )
    return lines


def _shown(evidence: list[str]) -> str:
    shown = ", ".join("`" + e[:80].replace("`", "'") + "`" for e in evidence[:3])
    return shown + (f" and {len(evidence) - 3} more" if len(evidence) > 3 else "")


def failures(results: list[Result]) -> list[str]:
    """Each failing audit once, with the pages it fails on and what it points at there."""
    pages_by_audit: dict[tuple[str, str, str], list[tuple[str, list[str]]]] = {}
    for r in results:
        for category, audit_id, title, evidence in r.failed:
            pages_by_audit.setdefault((category, audit_id, title), []).append(
                (r.page.path, evidence)
            )
    lines = []
    for (category, audit_id, title), where in pages_by_audit.items():
        paths = (
            f"every page ({len(where)})"
            if len(where) == len(results) > 1
            else ", ".join(f"`{path}`" for path, _ in where)
        )
        lines.append(f"- {category} `{audit_id}` ({title}): {paths}")
        lines += [f"  - `{path}`: {_shown(evidence)}" for path, evidence in where if evidence]
    return lines or ["- none"]


def shifts(results: list[Result]) -> list[str]:
    """The elements that moved, on pages with any layout shift."""
    lines = []
    for r in results:
        items = ((r.lhr["audits"].get("layout-shifts") or {}).get("details") or {}).get("items")
        moved = [
            f"`{item['node'].get('selector', '?')}` ({item.get('score', 0):.3f})"
            for item in items or []
            if isinstance(item.get("node"), dict)
        ]
        if moved:
            lines.append(f"- `{r.page.path}`: {', '.join(moved[:3])}")
    return lines


def chromium_version() -> str:
    done = subprocess.run(
        [CHROMIUM, "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    match = re.search(r"\d+(\.\d+)+", done.stdout)
    return match[0] if match else "?"


def _wrap(text: str) -> str:
    return textwrap.fill(text, 95, break_long_words=False, break_on_hyphens=False)


def section(results: list[Result], context: dict) -> str:
    lhr = results[0].lhr
    throttling = lhr["configSettings"]["throttling"]
    screen = lhr["configSettings"]["screenEmulation"]
    benchmark = statistics.median(r.lhr["environment"]["benchmarkIndex"] for r in results)
    medians = {c: statistics.median(r.scores[c] for r in results) for c in CATEGORIES}
    plain = context["left_plain"]
    parts = [
        HEADING,
        "",
        "Every page, one per HTML template, as the role that uses it, audited by Lighthouse's",
        "Node CLI with its defaults: mobile form factor and simulated throttling, headless",
        "Chromium. The app is fresh: gunicorn with production settings on a throwaway SQLite",
        "database (migrated, seeded, demo directory, 2,000 demo encounters over 90 days), behind a",
        "loopback front that gzips what `deploy/nginx.conf` gzips (its `gzip_types` and",
        "`gzip_min_length`, level 1; plain HTTP on 127.0.0.1, so no TLS and no HTTP/2). Each role",
        "signs in through the real `/login` form with a Python HTTP client and Lighthouse gets the",
        "session cookie through `--extra-headers`. Every run is a cold first visit: Lighthouse",
        "clears the origin's storage, caches and service worker first. Transfer is what the page",
        "itself fetched, headers included; what the service worker downloads to work offline is",
        "the offline budget's subject. Raw reports go to `bench/results/lighthouse/`.",
        "",
        _wrap(
            f"Measured {context['date']} on {context['machine']}, with "
            f"`{context['command']}`. Lighthouse {lhr['lighthouseVersion']}, "
            f"Chromium {context['chromium']}; screen "
            f"{screen['width']}x{screen['height']} at {screen['deviceScaleFactor']:g}x, "
            f"{throttling['rttMs']:.0f} ms RTT, {throttling['throughputKbps'] / 1024:.1f} Mbit/s, "
            f"{throttling['cpuSlowdownMultiplier']:g}x CPU slowdown; host benchmark index "
            f"{benchmark:.0f}; {context['runs']} run(s) per page"
            + (" (the median by performance score kept)" if context["runs"] > 1 else "")
            + f"; 1-minute load average {context['load_before']:.2f} at the start and "
            f"{context['load_after']:.2f} at the end; {len(results)} pages in "
            f"{context['seconds'] / 60:.1f} minutes."
        ),
        "",
        *table(results),
        "",
        _wrap(
            f"Median over the pages: performance {medians['performance']:g}, accessibility "
            f"{medians['accessibility']:g}, best practices {medians['best-practices']:g}, SEO "
            f"{medians['seo']:g}. Times in seconds (TBT in ms), transfer in KB (1,024 bytes)."
        ),
    ]
    if plain:
        kinds = ", ".join(f"`{kind}` ({count})" for kind, count in sorted(plain.items()))
        parts += [
            "",
            _wrap(
                f"Text answers of {context['min_length']} bytes or more that "
                f"`deploy/nginx.conf` leaves uncompressed (responses during the run): {kinds}."
            ),
        ]
    parts += [
        "",
        "Audits below full marks in accessibility, best practices and SEO (category, id, title,",
        "pages, and up to three offending elements where Lighthouse names them):",
        "",
        *failures(results),
    ]
    if moved := shifts(results):
        parts += ["", "Elements that moved (layout shifts, with their CLS share):", "", *moved]
    warnings = sorted({w for r in results for w in r.warnings})
    if warnings:
        parts += ["", "Lighthouse warnings:", "", *(f"- {w}" for w in warnings)]
    return "\n".join(parts) + "\n"


def update_readme(text: str) -> None:
    readme = README.read_text()
    start = readme.find(HEADING)
    if start == -1:
        README.write_text(readme.rstrip("\n") + "\n\n" + text)
        return
    following = readme.find("\n## ", start + len(HEADING))
    tail = readme[following + 1 :] if following != -1 else ""
    README.write_text(readme[:start] + text + ("\n" + tail if tail else ""))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1, help="Lighthouse runs per page")
    parser.add_argument("--pages", nargs="*", help="only pages whose path contains one of these")
    parser.add_argument("--wait-for-quiet", action="store_true", help="wait for load < 1.0")
    parser.add_argument("--no-gzip", action="store_true", help="no compression in front")
    parser.add_argument("--update-readme", action="store_true", help="write bench/README.md")
    args = parser.parse_args()
    install_lighthouse()
    print(f"Machine: {machine()}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    with throwaway_database("sqlite") as url, tempfile.TemporaryDirectory() as scratch:
        populate(url)
        server = GunicornServer(bench_env(url))
        if server.port is None:
            raise SystemExit("gunicorn did not start:\n" + "".join(server.output))
        front = GzipFront(server.port, compress=not args.no_gzip)
        try:
            base = f"http://127.0.0.1:{front.port}"
            sessions = {role: Browserless(front.port) for role in USERS}
            for role, session in sessions.items():
                session.login(USERS[role], role)
            selected = [
                p for p in pages(sessions) if not args.pages or any(s in p.path for s in args.pages)
            ]
            if args.wait_for_quiet:
                print("waiting for a quiet machine (1-minute load < 1.0, at most 10 minutes)")
                wait_for_quiet()
            load_before, started = load(), time.monotonic()
            print(f"load before: {load_before:.2f}; auditing {len(selected)} pages", flush=True)
            results = []
            for page in selected:
                result = audit_page(page, base, sessions, Path(scratch), args.runs)
                results.append(result)
                s, m = result.scores, result.metrics
                print(
                    f"  {page.path:48} perf {s['performance']:3} a11y {s['accessibility']:3} "
                    f"bp {s['best-practices']:3} seo {s['seo']:3}  LCP {m['lcp'] / 1000:.1f} s "
                    f"{m['bytes'] / 1024:.0f} KB",
                    flush=True,
                )
                name = re.sub(r"[^a-z0-9]+", "-", page.path.lower()).strip("-")
                (RESULTS / f"{name}.json").write_text(json.dumps(result.lhr))
            context = {
                "date": datetime.now(UTC).date().isoformat(),
                "machine": machine().rsplit(", ", 1)[0],
                "runs": args.runs,
                "load_before": load_before,
                "load_after": load(),
                "seconds": time.monotonic() - started,
                "chromium": chromium_version(),
                "left_plain": dict(front.left_plain),
                "min_length": front.min_length,
                "command": " ".join([".venv/bin/python bench/lighthouse.py", *sys.argv[1:]]),
            }
        finally:
            front.stop()
            server.stop()
    text = section(results, context)
    print()
    print(text)
    if args.update_readme:
        update_readme(text)
        print(f"updated {README.relative_to(PROJECT)}")


if __name__ == "__main__":
    main()
