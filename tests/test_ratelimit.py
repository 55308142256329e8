"""Rate limits in memory and in Redis (shared by several app servers)."""

from __future__ import annotations

import uuid

import pytest

from outreach.ratelimit import MemoryLimiter
from outreach.ratelimit import RedisLimiter
from tests.conftest import AuthActions
from tests.conftest import SyncApi

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


needs_redis = pytest.mark.skipif(not _redis_available(), reason="no Redis on 127.0.0.1:6379")


@pytest.mark.parametrize(
    "make_limiter",
    [
        pytest.param(MemoryLimiter, id="memory"),
        pytest.param(lambda: RedisLimiter(REDIS_URL), id="redis", marks=needs_redis),
    ],
)
def test_limiter_allows_the_limit_then_refuses_and_resets(make_limiter):
    limiter = make_limiter()
    key = f"test:{uuid.uuid4().hex}"
    verdicts = [limiter.hit(key, 3, 60) for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert 1 <= verdicts[-1].retry_after <= 60
    limiter.reset(key)
    assert limiter.hit(key, 3, 60).allowed


@needs_redis
def test_two_app_servers_share_sync_limits_through_redis(make_app, users):
    # A prefix of its own keeps concurrent test runs from sharing counters.
    prefix = f"test:{uuid.uuid4().hex}:"
    servers = [
        make_app(REDIS_URL=REDIS_URL, SYNC_RATE_PER_MINUTE=3, RATELIMIT_KEY_PREFIX=prefix)
        for _ in range(2)
    ]
    apis = []
    for server in servers:
        client = server.test_client()
        AuthActions(client).login(users.worker)
        apis.append(SyncApi(client))
    statuses = [apis[n % 2].post([]).status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]


@needs_redis
def test_sign_in_throttling_is_shared_through_redis(make_app, users):
    prefix = f"test:{uuid.uuid4().hex}:"
    servers = [make_app(REDIS_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix) for _ in range(2)]
    failures = [
        AuthActions(servers[n % 2].test_client()).login("nobody", "wrong").status_code
        for n in range(6)
    ]
    assert failures == [401] * 5 + [429]
