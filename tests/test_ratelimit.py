"""Rate limits and sign-in throttles hold across processes and servers (database or Redis)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from outreach import ratelimit
from tests.conftest import AuthActions
from tests.conftest import SyncApi
from tests.conftest import base_config
from tests.live import PROJECT

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


needs_redis = pytest.mark.skipif(not _redis_available(), reason="no Redis on 127.0.0.1:6379")


def _redis_settings() -> dict:
    # A prefix of its own keeps concurrent test runs from sharing counters.
    return {"REDIS_URL": REDIS_URL, "RATELIMIT_KEY_PREFIX": f"test:{uuid.uuid4().hex}:"}


STORES = [
    pytest.param({}, id="database"),
    pytest.param("redis", id="redis", marks=needs_redis),
]


def _settings(kind) -> dict:
    return _redis_settings() if kind == "redis" else {}


@pytest.mark.parametrize("kind", STORES)
def test_fixed_window_allows_the_limit_then_refuses_with_a_wait(make_app, kind):
    app = make_app(**_settings(kind))
    with app.test_request_context():
        verdicts = [ratelimit.hit("test-key", 3, 60) for _ in range(4)]
        assert [v.allowed for v in verdicts] == [True, True, True, False]
        assert 1 <= verdicts[-1].retry_after <= 60
        assert ratelimit.hit("other-key", 3, 60).allowed


def test_a_window_that_ended_starts_again(make_app, monkeypatch):
    app = make_app()
    now = [time.time()]
    monkeypatch.setattr(ratelimit, "clock", lambda: now[0])
    with app.test_request_context():
        assert [ratelimit.hit("k", 1, 60).allowed for _ in range(2)] == [True, False]
        now[0] += 61
        assert ratelimit.hit("k", 1, 60).allowed


@pytest.mark.parametrize("kind", STORES)
def test_throttle_waits_grow_and_a_scope_can_be_lifted(make_app, kind):
    app = make_app(**_settings(kind))
    throttle = ratelimit.Throttle(limit=2, window=60, first_delay=10, max_delay=25)
    with app.test_request_context():
        assert throttle.fail("a", scope="user:7") == 0
        assert throttle.wait("a") == 0
        assert throttle.fail("a", scope="user:7") == 10
        assert 9 <= throttle.wait("a") <= 10
        assert throttle.fail("a", scope="user:7") == 20
        assert throttle.fail("a", scope="user:7") == 25  # the longest wait
        throttle.fail("b", scope="user:7")
        throttle.fail("b", scope="user:7")
        throttle.fail("c", scope="user:8")
        throttle.fail("c", scope="user:8")
        locked = throttle.locked_scopes("user:")
        assert set(locked) == {"user:7", "user:8"} and 20 <= locked["user:7"] <= 25
        ratelimit.store().delete_scope("user:7")
        assert throttle.wait("a") == 0 and throttle.wait("b") == 0
        assert throttle.wait("c") > 0
        throttle.clear("c")
        assert throttle.wait("c") == 0


@pytest.mark.parametrize("kind", STORES)
def test_two_app_servers_share_sync_limits(make_app, users, kind):
    settings = _settings(kind)
    servers = [make_app(SYNC_RATE_PER_MINUTE=3, **settings) for _ in range(2)]
    apis = []
    for server in servers:
        client = server.test_client()
        AuthActions(client).login(users.worker)
        apis.append(SyncApi(client))
    answers = [apis[n % 2].post([]) for n in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert answers[-1].get_json()["error"] == "rate_limited"


@pytest.mark.parametrize("kind", STORES)
def test_sign_in_throttling_is_shared_by_app_servers(make_app, users, kind):
    settings = _settings(kind)
    servers = [make_app(**settings) for _ in range(2)]
    failures = [
        AuthActions(servers[n % 2].test_client()).login("nobody", "wrong").status_code
        for n in range(6)
    ]
    assert failures == [401] * 5 + [429]


HITS_FROM_A_PROCESS = textwrap.dedent(
    """
    import json, sys
    from outreach import create_app, ratelimit
    config = json.loads(sys.argv[1])
    app = create_app(config)
    with app.test_request_context():
        sys.stdin.readline()  # start together
        allowed = sum(ratelimit.hit("shared-key", 10, 60).allowed for _ in range(15))
    print(allowed)
    """
)


@pytest.mark.parametrize("kind", STORES)
def test_two_processes_hitting_at_once_share_the_limit(database_url, tmp_path, kind):
    config = {**base_config(database_url), **_settings(kind)}
    env_instance = {"OUTREACH_INSTANCE_PATH": str(tmp_path / "instance")}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", HITS_FROM_A_PROCESS, json.dumps(config)],
            cwd=PROJECT,
            env={**os.environ, **env_instance},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = []
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outputs.append(int(out.strip().splitlines()[-1]))
    assert sum(outputs) == 10, outputs


def test_under_the_limit_there_is_never_a_wait(make_app, monkeypatch):
    # A stored time can round up by a microsecond; that must not become a one-second wait.
    app = make_app()
    throttle = ratelimit.Throttle(limit=3, window=60, first_delay=10, max_delay=60)
    with app.test_request_context():
        for n in range(50):
            moment = 1_800_000_000 + n / 7 + 0.0000006
            monkeypatch.setattr(ratelimit, "clock", lambda moment=moment: moment)
            throttle.fail(f"key-{n}")
            assert throttle.wait(f"key-{n}") == 0, moment
