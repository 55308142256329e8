"""Sign-in checks and account operations. No request or session access here."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from outreach import ratelimit
from outreach.auth import find_user
from outreach.extensions import db
from outreach.models import AuditEvent
from outreach.models import Role
from outreach.models import User
from outreach.models import utcnow

# A client address may try a few accounts before it is slowed down too.
CLIENT_FAILURE_MULTIPLIER = 4
MIN_PASSWORD_LENGTH = 10


class LoginOutcome(enum.Enum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None
    retry_minutes: int = 0


def authenticate(username: str, password: str, client: str) -> LoginResult:
    """Check a sign-in, throttling repeated failures per account and per client."""
    max_failures = current_app.config["LOGIN_MAX_FAILURES"]
    window = current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"]
    limiter = ratelimit.limiter()
    client_key = f"login-client:{client}"
    name_key = f"login-name:{username.strip().lower()}"

    user = find_user(username)
    now = utcnow()
    if user is not None and user.failed_logins >= max_failures and user.last_failed_login_at:
        unlock_at = user.last_failed_login_at + timedelta(seconds=window)
        if unlock_at > now:
            minutes = math.ceil((unlock_at - now).total_seconds() / 60)
            return LoginResult(LoginOutcome.THROTTLED, retry_minutes=minutes)

    if user is not None and user.active and user.check_password(password):
        user.failed_logins = 0
        user.last_failed_login_at = None
        user.last_login_at = now
        db.session.commit()
        limiter.reset(name_key)
        return LoginResult(LoginOutcome.OK, user=user)

    # Count the failure against the client and the name (known or not, so guessing which
    # usernames exist gains nothing), and against the account when there is one.
    client_verdict = limiter.hit(client_key, max_failures * CLIENT_FAILURE_MULTIPLIER, window)
    name_verdict = limiter.hit(name_key, max_failures, window)
    if user is not None:
        recent = user.last_failed_login_at and user.last_failed_login_at > now - timedelta(
            seconds=window
        )
        user.failed_logins = (user.failed_logins if recent else 0) + 1
        user.last_failed_login_at = now
        db.session.commit()
    if not client_verdict.allowed or not name_verdict.allowed:
        retry = max(client_verdict.retry_after, name_verdict.retry_after)
        return LoginResult(LoginOutcome.THROTTLED, retry_minutes=math.ceil(retry / 60))
    return LoginResult(LoginOutcome.BAD_CREDENTIALS)


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
