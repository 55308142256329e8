"""Rate limits and sign-in throttles, shared by every app process and server.

Counters live in the database (table ``rate_limit_counter``), or in Redis when ``REDIS_URL``
is set, so two gunicorn workers or two app servers count together. Keys are HMAC'd with the
app's secret before they are stored: a counter about a client address or a username that
does not exist never shows either.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask import current_app

from outreach.database import dialect_insert
from outreach.database import write_transaction
from outreach.extensions import db
from outreach.models import RateLimitCounter


def clock() -> float:
    """Seconds since the epoch (tests move it forward)."""
    return time.time()


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int


@dataclass(frozen=True)
class Counter:
    """A counter as stored: how many hits, the last one, and when it is forgotten."""

    count: int
    last_at: float
    expires_at: float


def _to_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def _to_seconds(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp()


class DatabaseStore:
    """Counters in the app's database: shared without any other service."""

    table = RateLimitCounter.__table__

    def increment(
        self, key: str, ttl: int, now: float, scope: str | None, sliding: bool, amount: int = 1
    ):
        """Count ``amount`` hits; a forgotten (expired) counter starts again from them."""
        t = self.table
        at = _to_datetime(now)
        fresh_expiry = _to_datetime(now + ttl)
        expired = t.c.expires_at <= at
        with _own_write_transaction() as connection:
            insert = dialect_insert(connection, t).values(
                key=key, scope=scope, count=amount, last_at=at, expires_at=fresh_expiry
            )
            upsert = insert.on_conflict_do_update(
                index_elements=[t.c.key],
                set_={
                    "count": sa.case((expired, amount), else_=t.c.count + amount),
                    "last_at": at,
                    "scope": scope,
                    "expires_at": fresh_expiry
                    if sliding
                    else sa.case((expired, fresh_expiry), else_=t.c.expires_at),
                },
            ).returning(t.c.count, t.c.last_at, t.c.expires_at)
            row = connection.execute(upsert).one()
            # Forget old counters now and then, so the table stays small.
            if row.count == amount:
                connection.execute(sa.delete(t).where(t.c.expires_at < at - timedelta(hours=1)))
        return Counter(row.count, _to_seconds(row.last_at), _to_seconds(row.expires_at))

    def extend(self, key: str, expires_at: float) -> None:
        t = self.table
        until = _to_datetime(expires_at)
        with _own_write_transaction() as connection:
            connection.execute(
                sa.update(t).where(t.c.key == key, t.c.expires_at < until).values(expires_at=until)
            )

    def get(self, key: str, now: float) -> Counter | None:
        t = self.table
        row = db.session.execute(
            sa.select(t.c.count, t.c.last_at, t.c.expires_at).where(
                t.c.key == key, t.c.expires_at > _to_datetime(now)
            )
        ).one_or_none()
        if row is None:
            return None
        return Counter(row.count, _to_seconds(row.last_at), _to_seconds(row.expires_at))

    def delete(self, key: str) -> None:
        with _own_write_transaction() as connection:
            connection.execute(sa.delete(self.table).where(self.table.c.key == key))

    def delete_scope(self, scope: str) -> int:
        with _own_write_transaction() as connection:
            return connection.execute(
                sa.delete(self.table).where(self.table.c.scope == scope)
            ).rowcount

    def in_scopes(self, prefix: str, now: float) -> dict[str, list[Counter]]:
        """Live counters whose scope starts with ``prefix``, by scope."""
        t = self.table
        rows = db.session.execute(
            sa.select(t.c.scope, t.c.count, t.c.last_at, t.c.expires_at).where(
                t.c.scope.startswith(prefix, autoescape=True), t.c.expires_at > _to_datetime(now)
            )
        )
        found: dict[str, list[Counter]] = {}
        for row in rows:
            found.setdefault(row.scope, []).append(
                Counter(row.count, _to_seconds(row.last_at), _to_seconds(row.expires_at))
            )
        return found


def _own_write_transaction():
    """A short transaction of its own, committed at once whatever the request does later.

    The request's transaction is ended first: on SQLite a form post's transaction holds the
    write lock, which this one would otherwise wait for until it timed out. Callers count
    before changing anything else, so nothing is pending here.
    """
    session = db.session
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("count a rate limit before changing anything in the session")
    session.commit()
    return write_transaction()


# Redis: a hash {count, last} per counter with Redis's own expiry, and a set per scope.
_INCREMENT_SCRIPT = """
local count = redis.call('HINCRBY', KEYS[1], 'count', tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], 'last', ARGV[1])
if count == tonumber(ARGV[4]) or ARGV[3] == '1' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local ttl = redis.call('PTTL', KEYS[1])
if KEYS[2] ~= '' then
  redis.call('SADD', KEYS[2], KEYS[1])
  if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
end
return {count, ttl}
"""
_EXTEND_SCRIPT = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
"""


class RedisStore:
    """Counters in Redis, for sites that already run it."""

    def __init__(self, url: str, prefix: str = "outreach:rl:") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2)
        self._prefix = prefix
        self._increment = self._redis.register_script(_INCREMENT_SCRIPT)
        self._extend = self._redis.register_script(_EXTEND_SCRIPT)

    def _name(self, key: str) -> str:
        return f"{self._prefix}c:{key}"

    def _scope_name(self, scope: str) -> str:
        return f"{self._prefix}s:{scope}"

    def increment(
        self, key: str, ttl: int, now: float, scope: str | None, sliding: bool, amount: int = 1
    ):
        keys = [self._name(key), self._scope_name(scope) if scope else ""]
        args = [repr(now), ttl * 1000, int(sliding), amount]
        count, ttl_ms = self._increment(keys=keys, args=args)
        return Counter(int(count), now, now + int(ttl_ms) / 1000)

    def extend(self, key: str, expires_at: float) -> None:
        ttl_ms = max(1, int((expires_at - clock()) * 1000))
        self._extend(keys=[self._name(key)], args=[ttl_ms])

    def get(self, key: str, now: float) -> Counter | None:
        return self._read(self._name(key), now)

    def _read(self, name: str, now: float) -> Counter | None:
        pipe = self._redis.pipeline()
        pipe.hgetall(name)
        pipe.pttl(name)
        values, ttl_ms = pipe.execute()
        if not values or ttl_ms <= 0:
            return None
        return Counter(int(values[b"count"]), float(values[b"last"]), now + ttl_ms / 1000)

    def delete(self, key: str) -> None:
        self._redis.delete(self._name(key))

    def delete_scope(self, scope: str) -> int:
        name = self._scope_name(scope)
        members = list(self._redis.smembers(name))
        if members:
            self._redis.delete(*members)
        self._redis.delete(name)
        return len(members)

    def in_scopes(self, prefix: str, now: float) -> dict[str, list[Counter]]:
        found: dict[str, list[Counter]] = {}
        start = len(self._scope_name(""))
        for set_name in self._redis.scan_iter(match=self._scope_name(prefix) + "*", count=500):
            scope = set_name.decode()[start:]
            for member in self._redis.smembers(set_name):
                counter = self._read(member, now)
                if counter is not None:
                    found.setdefault(scope, []).append(counter)
        return found


Store = DatabaseStore | RedisStore


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    prefix = app.config.get("RATELIMIT_KEY_PREFIX", "outreach:rl:")
    app.extensions["outreach_ratelimit_store"] = RedisStore(url, prefix) if url else DatabaseStore()


def store() -> Store:
    return current_app.extensions["outreach_ratelimit_store"]


def hashed(key: str) -> str:
    """The stored name of a counter: a keyed hash, so it never shows what it counts."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"ratelimit:" + key.encode(), hashlib.sha256).hexdigest()


def hit(key: str, limit: int, window: int, amount: int = 1) -> Verdict:
    """Count ``amount`` (one request, or the records it carries) in a fixed window of
    ``window`` seconds; refuse once the window's count passes ``limit``."""
    now = clock()
    counter = store().increment(hashed(key), window, now, None, sliding=False, amount=amount)
    retry_after = max(1, _whole_seconds(counter.expires_at - now))
    return Verdict(counter.count <= limit, retry_after)


def _whole_seconds(remaining: float) -> int:
    """Seconds to wait, rounded up, ignoring the microsecond a stored time may be off by."""
    return max(0, math.ceil(remaining - 0.001))


@dataclass(frozen=True)
class Throttle:
    """Failures counted per key; past ``limit`` each one waits twice as long as the last.

    A counter is forgotten ``window`` seconds after its last failure (or after the wait that
    failure earned, whichever ends later).
    """

    limit: int
    window: int
    first_delay: int
    max_delay: int

    def delay_after(self, failures: int) -> int:
        if failures < self.limit:
            return 0
        return min(self.max_delay, self.first_delay * 2 ** min(failures - self.limit, 30))

    def wait(self, key: str) -> int:
        """Seconds this key must still wait (0: go ahead)."""
        now = clock()
        counter = store().get(hashed(key), now)
        return self._remaining(counter, now) if counter else 0

    def _remaining(self, counter: Counter, now: float) -> int:
        delay = self.delay_after(counter.count)
        if not delay:
            # Under the limit: no wait at all (a stored time may round a microsecond late).
            return 0
        return _whole_seconds(counter.last_at + delay - now)

    def fail(self, key: str, scope: str | None = None) -> int:
        """Count a failure; the seconds it now has to wait (0 while under the limit)."""
        now = clock()
        counter = store().increment(hashed(key), self.window, now, scope, sliding=True)
        delay = self.delay_after(counter.count)
        if delay:
            store().extend(hashed(key), counter.last_at + delay + self.window)
        return delay

    def clear(self, key: str) -> None:
        store().delete(hashed(key))

    def locked_scopes(self, prefix: str) -> dict[str, int]:
        """Scopes starting with ``prefix`` that hold a waiting key, with the longest wait."""
        now = clock()
        locked: dict[str, int] = {}
        for scope, counters in store().in_scopes(prefix, now).items():
            wait = max(math.ceil(c.last_at + self.delay_after(c.count) - now) for c in counters)
            if wait > 0:
                locked[scope] = wait
        return locked
