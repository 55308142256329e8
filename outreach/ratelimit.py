"""Fixed-window rate limits, in memory or in Redis when REDIS_URL is set.

Keys may name a client address; those live only here (in memory or in Redis with an
expiry), never in a data table.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from flask import Flask
from flask import current_app


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int


class MemoryLimiter:
    """Counters in this process's memory; fine for one app server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, limit: int, window: int) -> Verdict:
        now = time.monotonic()
        with self._lock:
            started, count = self._windows.get(key, (now, 0))
            if now - started >= window:
                started, count = now, 0
            count += 1
            self._windows[key] = (started, count)
            if len(self._windows) > 100_000:
                self._forget_expired(now, window)
        retry_after = max(1, int(window - (now - started)))
        return Verdict(count <= limit, retry_after)

    def reset(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)

    def _forget_expired(self, now: float, window: int) -> None:
        for key in [k for k, (s, _) in self._windows.items() if now - s >= window]:
            del self._windows[key]


class RedisLimiter:
    """Counters in Redis, shared by every app server."""

    def __init__(self, url: str, prefix: str = "outreach:rl:") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2)
        self._prefix = prefix

    def hit(self, key: str, limit: int, window: int) -> Verdict:
        name = f"{self._prefix}{key}"
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, window, nx=True)
        pipe.ttl(name)
        count, _, ttl = pipe.execute()
        return Verdict(count <= limit, max(1, int(ttl)))

    def reset(self, key: str) -> None:
        self._redis.delete(f"{self._prefix}{key}")


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    prefix = app.config.get("RATELIMIT_KEY_PREFIX", "outreach:rl:")
    app.extensions["outreach_limiter"] = RedisLimiter(url, prefix) if url else MemoryLimiter()


def limiter() -> MemoryLimiter | RedisLimiter:
    return current_app.extensions["outreach_limiter"]
