"""Taps and scrolling on /log: five typical encounters logged in Chromium at 390x844.

Runs the app on a throwaway SQLite database with the default catalogue, signs a worker in with
headless Chromium (/usr/bin/chromium) on a phone-sized touch screen, chooses a zone once (the
form remembers it, so it is not counted), then logs five typical encounters twice: on a new
phone, and again after those five taught the phone what it hands out most. For each it counts
the taps (a quick amount, +, a referral, "More supplies", the code field, Save) and the
scrolling needed to bring every control into view above the save bar. Also measured: the
height of /log and of the header.

Usage: .venv/bin/python bench/log_taps.py [--update-readme]
(run `npm run build` first; `make test` and `make run` do).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
from datetime import UTC
from datetime import datetime
from pathlib import Path

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live import CHROMIUM
from tests.live import CHROMIUM_ARGS

README = ROOT / "bench" / "README.md"
RESULTS = ROOT / "bench" / "results"
USERNAME = "bench-worker"
PASSWORD = "bench password 1234"
START, END = "<!-- log-taps:start -->", "<!-- log-taps:end -->"
VIEWPORT = {"width": 390, "height": 844}

# (name, steps): ("supply", key, amount), ("referral", key), ("count", name, amount),
# ("code", text). Save ends every encounter.
ENCOUNTERS = [
    (
        "10 syringes and a naloxone kit",
        [("supply", "syringe_1ml_27g", 10), ("supply", "naloxone_nasal", 1)],
    ),
    (
        "syringes, cookers and cottons",
        [
            ("supply", "syringe_1ml_27g", 20),
            ("supply", "cooker", 10),
            ("supply", "cotton_filter", 10),
        ],
    ),
    (
        "2 naloxone kits and a treatment referral",
        [("supply", "naloxone_nasal", 2), ("referral", "moud")],
    ),
    (
        "syringes out, used syringes back",
        [("supply", "syringe_1ml_27g", 20), ("count", "syringes_collected", 50)],
    ),
    (
        "wound care kit, referral and a participant code",
        [("supply", "wound_care_kit", 1), ("referral", "wound_care"), ("code", "M-KR-1987")],
    ),
]


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


class Phone:
    """One page, counting taps and the scrolling it takes to see what is tapped."""

    def __init__(self, page):
        self.page = page
        self.taps = 0
        self.scrolled = 0

    def _bring_into_view(self, locator) -> None:
        # Visible means between the top of the screen and the top of the fixed save bar.
        before = self.page.evaluate("() => window.scrollY")
        locator.evaluate(
            """(element) => {
              const bar = document.querySelector('.save-bar');
              const bottom = bar && getComputedStyle(bar).position === 'fixed'
                ? bar.getBoundingClientRect().top : window.innerHeight;
              const box = element.getBoundingClientRect();
              if (box.top < 0) window.scrollBy(0, box.top - 8);
              else if (box.bottom > bottom) window.scrollBy(0, box.bottom - bottom + 8);
            }"""
        )
        self.scrolled += abs(self.page.evaluate("() => window.scrollY") - before)

    def tap(self, selector: str) -> None:
        locator = self.page.locator(selector).first
        self._bring_into_view(locator)
        locator.tap()
        self.taps += 1

    def reveal(self, input_selector: str) -> None:
        """Open "More supplies" when the control sits behind it."""
        hidden = self.page.locator(input_selector).evaluate(
            "(element) => Boolean(element.closest('details:not([open])'))"
        )
        if hidden:
            self.tap("[data-more-supplies] > summary")


def log_one(phone: Phone, steps) -> None:
    page = phone.page
    for step in steps:
        kind = step[0]
        if kind in ("supply", "count"):
            _, key, amount = step
            input_id = f"supply-{key}" if kind == "supply" else key
            phone.reveal(f"#{input_id}")
            quick = f'button[data-add="{amount}"][aria-controls="{input_id}"]'
            if page.locator(quick).count():
                phone.tap(quick)
            elif amount <= 2:
                for _ in range(amount):
                    phone.tap(f'button[data-step="1"][aria-controls="{input_id}"]')
            else:
                phone.tap(f"#{input_id}")
                page.keyboard.type(str(amount))
        elif kind == "referral":
            phone.tap(f'label.toggle:has(input[value="{step[1]}"])')
        elif kind == "code":
            phone.tap("#participant_code")
            page.keyboard.type(step[1])
    phone.tap('#encounter-form button[type="submit"]')
    page.locator("[data-toast]").wait_for(state="visible")


def run() -> dict:
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="outreach-bench-"))
    app = make_app(tmp)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://localhost:{server.server_port}"
    rounds = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(
                base_url=base, viewport=VIEWPORT, is_mobile=True, has_touch=True
            )
            page = context.new_page()
            page.goto("/login?next=/log")
            page.fill('input[name="username"]', USERNAME)
            page.fill('input[name="password"]', PASSWORD)
            page.click('form.stack button[type="submit"]')
            page.wait_for_url("**/log")
            page.locator("html[data-ready=true]").wait_for(state="attached")
            page.select_option("#zone", index=1)
            sizes = page.evaluate(
                """() => ({
                  page: document.documentElement.scrollHeight,
                  header: document.querySelector('body > header').getBoundingClientRect().height,
                })"""
            )
            for label in ("new phone", "after learning"):
                page.goto("/log")
                page.locator("html[data-ready=true]").wait_for(state="attached")
                page.wait_for_timeout(300)  # the learned order is applied after load
                rows = []
                for name, steps in ENCOUNTERS:
                    phone = Phone(page)
                    log_one(phone, steps)
                    rows.append(
                        {"encounter": name, "taps": phone.taps, "scroll_px": phone.scrolled}
                    )
                rounds[label] = rows
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "viewport": f"{VIEWPORT['width']}x{VIEWPORT['height']}",
        "log_page_height_px": round(sizes["page"]),
        "header_height_px": round(sizes["header"]),
        "rounds": rounds,
    }


def markdown(result: dict) -> str:
    lines = [
        f"Measured {result['date']} on {result['machine']}, Chromium at {result['viewport']}: "
        f'/log is {result["log_page_height_px"]:,} px tall ("More supplies" closed), the '
        f"signed-in header {result['header_height_px']} px.",
        "",
        "| encounter | taps (new phone) | scroll px (new phone) | taps (after learning) "
        "| scroll px (after learning) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    first, learned = result["rounds"]["new phone"], result["rounds"]["after learning"]
    for a, b in zip(first, learned, strict=True):
        lines.append(
            f"| {a['encounter']} | {a['taps']} | {a['scroll_px']:,} | {b['taps']} "
            f"| {b['scroll_px']:,} |"
        )
    return "\n".join(lines)


def update_readme(text: str) -> None:
    content = README.read_text()
    block = f"{START}\n{text}\n{END}"
    if START in content:
        head, rest = content.split(START, 1)
        content = head + block + rest.split(END, 1)[1]
    else:
        content = content.rstrip() + "\n\n" + block + "\n"
    README.write_text(content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    result = run()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "log_taps.json").write_text(json.dumps(result, indent=2))
    text = markdown(result)
    print(text)
    if args.update_readme:
        update_readme(text)


if __name__ == "__main__":
    main()
