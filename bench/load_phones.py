"""50 simulated phones syncing at once for 60 s against gunicorn: errors, loss, latency.

    .venv/bin/python bench/load_phones.py [--phones 50] [--seconds 60] [--engines sqlite,postgresql]

Each phone signs in as its own worker, then loops: log 1-20 encounters, sync them, and now
and then resend its previous batch (as a phone does when an answer was lost). A 429 or 5xx
answer is retried after a short backoff, as the real client does. At the end the database
must hold exactly the distinct encounters sent: zero lost, zero doubled, zero errors.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time

import sqlalchemy as sa
from common import BENCH_PASSWORD
from common import bench_env
from common import encounter
from common import machine
from common import percentile
from common import prepare
from common import throwaway_database

from harness.live import GunicornServer
from harness.live import ProxiedClient


class Phone(threading.Thread):
    def __init__(self, index: int, port: int, deadline: float):
        super().__init__()
        self.client = ProxiedClient(port)
        self.username = f"bench-worker-{index}"
        self.rng = random.Random(index)
        self.deadline = deadline
        self.sent_ids: set[str] = set()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.retries = 0

    def run(self) -> None:
        for attempt in range(5):
            try:
                self.client.login(self.username, BENCH_PASSWORD)
                break
            except AssertionError:
                self.retries += 1
                time.sleep(0.2 * 2**attempt)
        else:
            self.errors.append("could not sign in")
            return
        previous: list[dict] = []
        while time.monotonic() < self.deadline:
            if previous and self.rng.random() < 0.1:
                batch = previous
            else:
                batch = [encounter(self.rng) for _ in range(self.rng.randint(1, 20))]
            self._deliver(batch)
            previous = batch
            time.sleep(self.rng.uniform(0.05, 0.3))
        self.client.close()

    def _deliver(self, batch: list[dict]) -> None:
        for attempt in range(6):
            started = time.perf_counter()
            try:
                status, body = self.client.sync(batch)
            except OSError as error:
                status, body = 0, {"error": type(error).__name__}
            self.latencies.append(time.perf_counter() - started)
            if status == 200:
                for record, result in zip(batch, body["results"], strict=True):
                    if result["status"] not in ("created", "duplicate"):
                        self.errors.append(f"{result['status']}: {result.get('errors')}")
                    self.sent_ids.add(record["id"])
                return
            self.retries += 1
            time.sleep(min(2.0, 0.1 * 2**attempt) * self.rng.uniform(0.5, 1.5))
        self.errors.append(f"gave up after status {status}")


def run(engine: str, phones: int, seconds: float) -> dict:
    with throwaway_database(engine) as url:
        prepare(url, workers=phones)
        # These phones sync every 0.05-0.3 s, far more often than real ones (on save, on
        # reconnect, once a minute), so the per-user rate limit is raised for the run.
        server = GunicornServer(bench_env(url, TRUSTED_PROXIES="1", SYNC_RATE_PER_MINUTE="2000"))
        try:
            deadline = time.monotonic() + seconds
            crowd = [Phone(n, server.port, deadline) for n in range(phones)]
            for phone in crowd:
                phone.start()
            for phone in crowd:
                phone.join()
        finally:
            server.stop()
        engine_ = sa.create_engine(url)
        with engine_.connect() as connection:
            stored = connection.execute(sa.text("SELECT COUNT(*) FROM encounter")).scalar()
            distinct = connection.execute(
                sa.text("SELECT COUNT(DISTINCT id) FROM encounter")
            ).scalar()
        engine_.dispose()
    sent = set().union(*(p.sent_ids for p in crowd))
    for sample in sorted({e for p in crowd for e in p.errors})[:5]:
        print(f"  error ({engine}): {sample}", file=sys.stderr)
    latencies = [v for p in crowd for v in p.latencies]
    return {
        "engine": engine,
        "requests": len(latencies),
        "encounters": len(sent),
        "stored": stored,
        "lost": len(sent) - distinct,
        "doubled": stored - distinct,
        "errors": sum(len(p.errors) for p in crowd),
        "retries": sum(p.retries for p in crowd),
        "p50": percentile(latencies, 0.5) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phones", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"Machine: {machine()}")
    print(f"{args.phones} phones for {args.seconds:.0f} s\n")
    columns = (
        "engine | sync requests | encounters | lost | doubled | errors | retried | p50 ms | p95 ms"
    )
    print(f"| {columns} |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    failed = False
    for engine in args.engines.split(","):
        r = run(engine, args.phones, args.seconds)
        failed |= bool(r["lost"] or r["doubled"] or r["errors"])
        print(
            f"| {r['engine']} | {r['requests']:,} | {r['encounters']:,} | {r['lost']} "
            f"| {r['doubled']} | {r['errors']} | {r['retries']} | {r['p50']:.0f} | {r['p95']:.0f} |"
        )
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
