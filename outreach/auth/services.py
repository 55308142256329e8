"""Sign-in checks and account operations. No request or session access here."""

from __future__ import annotations

import enum
import functools
import logging
import math
import secrets
from dataclasses import dataclass

from flask import current_app
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from outreach import ratelimit
from outreach.auth import find_user
from outreach.auth import sessions
from outreach.extensions import db
from outreach.models import AuditEvent
from outreach.models import Role
from outreach.models import User
from outreach.models import utcnow

log = logging.getLogger("outreach.auth")

# A client address may try a few accounts before it is slowed down on all of them.
CLIENT_FAILURE_MULTIPLIER = 4
# Past the limit, the first wait; each further failure doubles it, up to the longest.
FIRST_DELAY_SECONDS = 60
MAX_DELAY_SECONDS = 60 * 60
MIN_PASSWORD_LENGTH = 10
# Scope of an account's throttles, so a supervisor can lift them.
ACCOUNT_SCOPE = "user:"


class LoginOutcome(enum.Enum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None
    retry_after: int = 0

    @property
    def retry_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


def account_throttle() -> ratelimit.Throttle:
    """Failures for one username from one client: follows the attacker, not the account."""
    config = current_app.config
    return ratelimit.Throttle(
        limit=config["LOGIN_MAX_FAILURES"],
        window=config["LOGIN_FAILURE_WINDOW_SECONDS"],
        first_delay=FIRST_DELAY_SECONDS,
        max_delay=MAX_DELAY_SECONDS,
    )


def client_throttle() -> ratelimit.Throttle:
    """Failures from one client across every username."""
    config = current_app.config
    return ratelimit.Throttle(
        limit=config["LOGIN_MAX_FAILURES"] * CLIENT_FAILURE_MULTIPLIER,
        window=config["LOGIN_FAILURE_WINDOW_SECONDS"],
        first_delay=FIRST_DELAY_SECONDS,
        max_delay=MAX_DELAY_SECONDS,
    )


def _keys(username: str, client: str) -> tuple[str, str]:
    name = username.strip().lower()
    return f"login-client:{client}", f"login-account:{client}\n{name}"


@functools.cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_hex(16), method=method)


def _password_matches(user: User | None, password: str) -> bool:
    """Check the password, spending the same time when there is no such account."""
    if user is None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        check_password_hash(_dummy_hash(method), password)
        return False
    return user.check_password(password)


def authenticate(username: str, password: str, client: str) -> LoginResult:
    """Check a sign-in. A throttled client waits, even with the right password."""
    client_key, account_key = _keys(username, client)
    by_client, by_account = client_throttle(), account_throttle()
    wait = max(by_client.wait(client_key), by_account.wait(account_key))
    if wait:
        return LoginResult(LoginOutcome.THROTTLED, retry_after=wait)

    user = find_user(username)
    # Checked for inactive accounts too, so their answer takes as long as any other.
    matches = _password_matches(user, password)
    if user is not None and user.active and matches:
        by_account.clear(account_key)
        user.last_login_at = utcnow()
        db.session.commit()
        return LoginResult(LoginOutcome.OK, user=user)

    user_id = user.id if user is not None else None
    client_wait = by_client.fail(client_key, scope="login-client")
    account_wait = by_account.fail(
        account_key, scope=f"{ACCOUNT_SCOPE}{user_id}" if user_id else None
    )
    # Never the username: it may be a typo of a password, or a name that does not exist.
    log.info("sign-in failed", extra={"event": "auth.login_failed", "user_id": user_id})
    if client_wait or account_wait:
        log.warning(
            "sign-in throttled",
            extra={
                "event": "auth.lockout",
                "user_id": user_id,
                "by": "client" if client_wait else "account",
                "wait_seconds": max(client_wait, account_wait),
            },
        )
    return LoginResult(LoginOutcome.BAD_CREDENTIALS)


def lockout_seconds(user: User) -> int:
    """How long sign-in to this account is paused for some client (0: not paused)."""
    scope = f"{ACCOUNT_SCOPE}{user.id}"
    return account_throttle().locked_scopes(scope).get(scope, 0)


def locked_accounts() -> dict[int, int]:
    """Accounts with sign-in paused for some client: user id to seconds left."""
    locked = account_throttle().locked_scopes(ACCOUNT_SCOPE)
    return {int(scope[len(ACCOUNT_SCOPE) :]): wait for scope, wait in locked.items()}


def lift_lockout(user: User, actor: User) -> None:
    """Let every client try this account again now (audit-logged)."""
    ratelimit.store().delete_scope(f"{ACCOUNT_SCOPE}{user.id}")
    record_audit(actor, "user.unlock", "user", user.id, {"username": user.username})
    db.session.commit()
    log.info(
        "sign-in lockout lifted",
        extra={"event": "auth.lockout_lifted", "user_id": user.id, "actor_id": actor.id},
    )


def sign_out_everywhere(user: User, actor: User) -> int:
    """End every session of ``user`` (audit-logged); how many were open."""
    ended = sessions.end_all(user)
    record_audit(actor, "user.sign_out_everywhere", "user", user.id, {"username": user.username})
    db.session.commit()
    log.info(
        "signed out everywhere",
        extra={
            "event": "auth.sign_out_everywhere",
            "user_id": user.id,
            "actor_id": actor.id,
            "sessions": ended,
        },
    )
    return ended


def validate_password(password: str) -> str | None:
    """A message when the password is too weak, else None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    return None


def create_user(username: str, role: Role, password: str, actor: User | None = None) -> User:
    """Create an account and record it in the audit log."""
    username = username.strip()
    if not username or len(username) > 64:
        raise ValueError("A username needs 1 to 64 characters.")
    if find_user(username) is not None:
        raise ValueError(f"The username {username!r} is taken.")
    problem = validate_password(password)
    if problem:
        raise ValueError(problem)
    user = User(username=username, role_level=int(role))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record_audit(actor, "user.create", "user", user.id, {"username": username, "role": role.key})
    db.session.commit()
    return user


def record_audit(
    actor: User | None, action: str, target_type: str | None, target_id, details: dict
) -> AuditEvent:
    """Add an audit event to the current transaction."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details,
    )
    db.session.add(event)
    return event
