"""Offline budget: what a phone downloads to be offline-ready; what a repeat visit fetches.

Runs the app on a throwaway SQLite database, signs a worker in with headless Chromium
(/usr/bin/chromium), waits until the service worker holds the precache and the pages kept
offline, then opens /log again. Every response body is measured at the server as gzip
(level 6) bytes; headers are not counted.

Usage: .venv/bin/python bench/offline_budget.py [--budget-kb 100] [--update-readme]
(run `npm run build` first; `make test` and `make run` do).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.live import CHROMIUM
from harness.live import CHROMIUM_ARGS

README = ROOT / "bench" / "README.md"
RESULTS = ROOT / "bench" / "results"
USERNAME = "bench-worker"
PASSWORD = "bench password 1234"
START, END = "<!-- offline-budget:start -->", "<!-- offline-budget:end -->"


@dataclass
class Meter:
    """WSGI middleware: the size of every response body, per phase."""

    app: object
    phase: str = "first"
    rows: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ, start_response):
        seen = {}

        def capture(status, headers, exc_info=None):
            seen["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        chunks = self.app(environ, capture)
        body = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        query = environ.get("QUERY_STRING")
        with self.lock:
            self.rows.append(
                {
                    "phase": self.phase,
                    "method": environ["REQUEST_METHOD"],
                    "url": environ.get("PATH_INFO", "") + (f"?{query}" if query else ""),
                    "status": seen.get("status"),
                    "bytes": len(body),
                    "gzip": len(gzip.compress(body, 6)) if body else 0,
                    "kept_page": environ.get("HTTP_X_OUTREACH_OFFLINE_COPY") == "1",
                }
            )
        return [body]


def make_app(tmp: Path):
    os.environ["OUTREACH_INSTANCE_PATH"] = str(tmp / "instance")
    from flask_migrate import upgrade

    from outreach import create_app
    from outreach.auth import services
    from outreach.models import Role
    from outreach.seeding import seed_all

    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite'}",
            "SECRET_KEY": "bench",
            "PARTICIPANT_CODE_KEY": "bench",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        upgrade()
        seed_all()
        services.create_user(USERNAME, Role.WORKER, PASSWORD)
    return app


def poll(page, expression: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => {expression}"):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {expression}")
        time.sleep(0.1)


def settle(meter: Meter, quiet: float = 1.5, timeout: float = 20.0) -> None:
    """Wait until no request has arrived for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        count = len(meter.rows)
        if count == last:
            return
        last = count
        time.sleep(quiet)


def run() -> dict:
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="outreach-bench-"))
    app = make_app(tmp)
    meter = Meter(app.wsgi_app)
    app.wsgi_app = meter
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://localhost:{server.server_port}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(base_url=base)
            page = context.new_page()
            page.goto("/login?next=/log")
            page.fill('input[name="username"]', USERNAME)
            page.fill('input[name="password"]', PASSWORD)
            page.click('form.stack button[type="submit"]')
            page.wait_for_url("**/log")
            poll(page, "navigator.serviceWorker.controller !== null")
            poll(page, "document.documentElement.dataset.offlineReady === 'true'")
            settle(meter)
            page.close()

            meter.phase = "repeat"
            again = context.new_page()
            again.goto("/log")
            poll(again, "document.documentElement.dataset.ready === 'true'")
            settle(meter)
            offline_ok = _works_offline(context, again)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return summarise(meter.rows, offline_ok)


def _works_offline(context, page) -> bool:
    context.set_offline(True)
    page.reload()
    ok = page.locator("#encounter-form").count() == 1
    page.goto("/outbox")
    ok = ok and page.locator("[data-outbox-count]").count() == 1
    context.set_offline(False)
    return ok


def summarise(rows: list[dict], offline_ok: bool) -> dict:
    first = [r for r in rows if r["phase"] == "first"]
    repeat = [r for r in rows if r["phase"] == "repeat"]

    def total(selected):
        return sum(r["gzip"] for r in selected)

    def is_api(row):
        return row["url"].startswith("/api/")

    sign_in = [r for r in first if r["url"].startswith("/login")]
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "offline_ready_gzip": total([r for r in first if not is_api(r)]),
        "sign_in_page_gzip": total(sign_in),
        "log_page_gzip": total([r for r in first if r["url"] == "/log"][:1]),
        "api_gzip_first_visit": total([r for r in first if is_api(r)]),
        "first_visit_requests": len(first),
        "repeat_visit_non_api": [
            f"{r['method']} {r['url']} {r['status']} ({r['gzip']} B)"
            for r in repeat
            if not is_api(r)
        ],
        "repeat_visit_api": [
            f"{r['method']} {r['url']} {r['status']}" for r in repeat if is_api(r)
        ],
        "works_offline": offline_ok,
        "kept_pages": sorted({r["url"] for r in first if r.get("kept_page")}),
        "kept_pages_gzip": total([r for r in first if r.get("kept_page")]),
        "rows": rows,
    }


def markdown(result: dict, budget_kb: float) -> str:
    kb = result["offline_ready_gzip"] / 1024
    verdict = "within" if kb <= budget_kb else "OVER"
    repeat = result["repeat_visit_non_api"] or ["nothing"]
    return "\n".join(
        [
            f"Measured {result['date']} on {result['machine']}:",
            "",
            "| measure | gzip bytes |",
            "| --- | ---: |",
            f"| everything to be offline-ready (sign-in, /log, whole precache, API excluded) "
            f"| **{result['offline_ready_gzip']:,}** "
            f"({kb:.1f} KB, {verdict} the {budget_kb:g} KB budget) |",
            f"| sign-in page (GET and POST /login) | {result['sign_in_page_gzip']:,} |",
            f"| /log page HTML | {result['log_page_gzip']:,} |",
            f"| pages kept offline ({len(result['kept_pages'])}: "
            f"{', '.join(result['kept_pages'])}) | {result['kept_pages_gzip']:,} |",
            f"| API answers during the first visit (not counted above) "
            f"| {result['api_gzip_first_visit']:,} |",
            "",
            f"Repeat visit, non-API requests: {'; '.join(repeat)}.",
            f"API calls on the repeat visit: {', '.join(result['repeat_visit_api']) or 'none'}.",
            f"Offline reload of /log and /outbox after the first visit: "
            f"{'works' if result['works_offline'] else 'FAILS'}.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-kb", type=float, default=100.0)
    parser.add_argument("--update-readme", action="store_true", help="write into bench/README.md")
    args = parser.parse_args()
    result = run()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "offline_budget.json").write_text(json.dumps(result, indent=2))
    text = markdown(result, args.budget_kb)
    print(text)
    print("\nper request (first visit):")
    for row in result["rows"]:
        if row["phase"] == "first":
            print(f"  {row['method']:4} {row['url'][:60]:60} {row['status']} {row['gzip']:>7,} B")
    if args.update_readme and README.exists():
        readme = README.read_text()
        if START in readme and END in readme:
            head, rest = readme.split(START, 1)
            _old, tail = rest.split(END, 1)
            README.write_text(f"{head}{START}\n{text}\n{END}{tail}")
            print(f"\nupdated {README.relative_to(ROOT)}")
    if result["offline_ready_gzip"] / 1024 > args.budget_kb or not result["works_offline"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
