"""How long 500 records queued offline take to reach the server once a phone is back online.

    .venv/bin/python bench/outbox_drain.py [--records 500] [--runs 3]

Headless Chromium signs in to a fresh app (gunicorn, SQLite), waits until the service worker
holds the pages it keeps offline, goes offline, puts the records in the outbox (IndexedDB,
as /log saves them), reloads /log offline to show them waiting, then comes back online and
times until the page shows 0 waiting and the server holds every record exactly once.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import UTC
from datetime import datetime

import sqlalchemy as sa
from common import BENCH_PASSWORD
from common import bench_env
from common import machine
from common import prepare
from common import throwaway_database

from harness.live import CHROMIUM
from harness.live import CHROMIUM_ARGS
from harness.live import GunicornServer

# Puts entries in the outbox store exactly as lib/outbox.js addRecord() does.
FILL_OUTBOX = """async (records) => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open("outreach");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  await new Promise((resolve, reject) => {
    const tx = db.transaction("outbox", "readwrite");
    const now = Date.now();
    for (const record of records) {
      tx.objectStore("outbox").put({
        id: record.id, record, status: "pending", savedAt: now, holdUntil: now, errors: null,
      });
    }
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}"""


def records(count: int) -> list[dict]:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return [
        {
            "id": str(uuid.uuid4()),
            "occurred_at": now,
            "zone": "riverside",
            "participant_code": None,
            "people_served": 1,
            "supplies": {"syringe_1ml_27g": 20, "naloxone_nasal": 1},
            "syringes_collected": 10,
            "naloxone_reversals_reported": 0,
            "referrals": ["wound_care"],
        }
        for _ in range(count)
    ]


def count(page) -> str:
    return page.evaluate("() => document.querySelector('[data-outbox-count]')?.textContent")


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.02)


def one_run(browser, server, database_url: str, total: int) -> float:
    engine = sa.create_engine(database_url)
    with engine.begin() as connection:
        for table in ("encounter_referral", "encounter_supply", "encounter"):
            connection.execute(sa.text(f"DELETE FROM {table}"))
    context = browser.new_context(
        base_url=f"http://localhost:{server.port}", service_workers="allow"
    )
    page = context.new_page()
    page.goto("/login?next=/log")
    page.fill('input[name="username"]', "bench-worker-0")
    page.fill('input[name="password"]', BENCH_PASSWORD)
    page.click('form button[type="submit"]')
    page.wait_for_url("**/log")
    wait_for(
        lambda: page.evaluate("() => document.documentElement.dataset.offlineReady === 'true'"),
        60,
        "the service worker to keep the pages",
    )
    context.set_offline(True)
    page.evaluate(FILL_OUTBOX, records(total))
    page.reload()
    wait_for(lambda: count(page) == str(total), 30, f"{total} waiting")

    started = time.perf_counter()
    context.set_offline(False)
    wait_for(lambda: count(page) == "0", 300, "the outbox to drain")
    elapsed = time.perf_counter() - started
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT COUNT(*) FROM encounter")).scalar()
    engine.dispose()
    context.close()
    if stored != total:
        raise SystemExit(f"server holds {stored}, expected {total}")
    return elapsed


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    with throwaway_database("sqlite") as url:
        prepare(url, workers=1)
        server = GunicornServer(bench_env(url, OUTREACH_ENV="development"))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                times = [one_run(browser, server, url, args.records) for _ in range(args.runs)]
                browser.close()
        finally:
            server.stop()
    print(
        f"{args.records} queued records drained in median {statistics.median(times):.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in times)})"
    )


if __name__ == "__main__":
    main()
