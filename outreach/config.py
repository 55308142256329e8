"""Settings: defaults, then environment variables, then the test mapping."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent

# Settings read from the environment when set (string values, converted below).
ENVIRONMENT_SETTINGS = (
    "OUTREACH_ENV",
    "TRUSTED_PROXIES",
    "SECRET_KEY",
    "DATABASE_URL",
    "PARTICIPANT_CODE_KEY",
    "PROGRAM_TIMEZONE",
    "SUPPRESSION_THRESHOLD",
    "REDIS_URL",
    "SYNC_RATE_PER_MINUTE",
    "LOCK_IDLE_SECONDS",
    "SEAL_KEYS_FILE",
)
INTEGER_SETTINGS = {
    "SUPPRESSION_THRESHOLD",
    "TRUSTED_PROXIES",
    "SYNC_RATE_PER_MINUTE",
    "LOCK_IDLE_SECONDS",
}
# Secrets that must never protect a production instance.
KNOWN_DEVELOPMENT_SECRETS = {"dev", "development", "secret", "changeme", "change-me", "test"}
MIN_PRODUCTION_SECRET_LENGTH = 32


class ConfigurationError(ValueError):
    """Settings the app refuses to start with, with the reason."""


def default_settings(instance_path: Path) -> dict:
    """The settings every app starts from."""
    return {
        # "development" (the default) or "production" (strict checks, secure cookies).
        "OUTREACH_ENV": "development",
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto.
        "TRUSTED_PROXIES": 0,
        "DATABASE_URL": f"sqlite:///{instance_path / 'outreach.sqlite'}",
        "PROGRAM_TIMEZONE": "UTC",
        "SUPPRESSION_THRESHOLD": 11,
        "REDIS_URL": None,
        # A working shift; "keep me signed in" extends it through the remember cookie.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        # The cookie is set at sign-in and when the session changes, not on every answer: a
        # slow answer still in flight at sign-out would otherwise set the old session again
        # and sign the phone back in (the shift's 12 hours count from sign-in).
        "SESSION_REFRESH_EACH_REQUEST": False,
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # A phone may stay offline for hours; the token lives as long as the session does.
        "WTF_CSRF_TIME_LIMIT": None,
        # Forms and CSV imports; the sync API lowers this to 1 MiB for its own requests.
        "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
        "SYNC_MAX_BODY_BYTES": 1024 * 1024,
        "SYNC_MAX_RECORDS": 500,
        # Sign-in throttling: this many failures per account or per client within the window.
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_FAILURE_WINDOW_SECONDS": 15 * 60,
        # Sync requests allowed per signed-in user per minute.
        "SYNC_RATE_PER_MINUTE": 120,
        # Phones lock their screens after this long without a touch (unlock: PIN or password).
        "LOCK_IDLE_SECONDS": 600,
        # The participant-code seal keys; None: seal_keys.json in the instance folder.
        "SEAL_KEYS_FILE": None,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "BABEL_TRANSLATION_DIRECTORIES": str(PACKAGE_DIR / "translations"),
        "LANGUAGES": {"en": "English", "es": "Español"},
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    }


def read_environment(environ: os._Environ | dict) -> dict:
    """Settings given as environment variables."""
    settings: dict = {}
    for name in ENVIRONMENT_SETTINGS:
        value = environ.get(name)
        if value is None or value == "":
            continue
        if name not in INTEGER_SETTINGS:
            settings[name] = value
            continue
        try:
            settings[name] = int(value)
        except ValueError:
            raise ConfigurationError(f"{name} must be a whole number, not {value!r}") from None
    return settings


def instance_secret(instance_path: Path, filename: str) -> str:
    """Read a secret kept in the instance folder, creating it on first use."""
    path = instance_path / filename
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    # Created readable by the owner only: these keys protect sessions and participant codes.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def check_production(settings: dict, environ) -> None:
    """Refuse to run in production with development settings."""
    problems = []
    secret = settings.get("SECRET_KEY") or ""
    if (
        len(secret) < MIN_PRODUCTION_SECRET_LENGTH
        or secret.lower() in KNOWN_DEVELOPMENT_SECRETS
        or not environ.get("SECRET_KEY")
    ):
        problems.append(
            f"SECRET_KEY must come from the environment, at least "
            f"{MIN_PRODUCTION_SECRET_LENGTH} random characters"
        )
    if not settings.get("PARTICIPANT_CODE_KEY") or not environ.get("PARTICIPANT_CODE_KEY"):
        problems.append("PARTICIPANT_CODE_KEY must come from the environment")
    if not environ.get("DATABASE_URL"):
        problems.append("DATABASE_URL must come from the environment")
    if settings.get("DEBUG") or environ.get("FLASK_DEBUG") not in (None, "", "0", "false"):
        problems.append("debug mode must be off")
    if problems:
        raise ConfigurationError("Refusing to start in production: " + "; ".join(problems))


def finalise(settings: dict, instance_path: Path, environ=None) -> dict:
    """Fill generated secrets, normalise the database URL and check values."""
    environ = os.environ if environ is None else environ
    production = settings.get("OUTREACH_ENV") == "production"
    if production:
        check_production(settings, environ)
        settings.update(
            SESSION_COOKIE_SECURE=True,
            REMEMBER_COOKIE_SECURE=True,
            PREFERRED_URL_SCHEME="https",
        )
    elif settings.get("OUTREACH_ENV") != "development":
        raise ConfigurationError("OUTREACH_ENV must be 'development' or 'production'")
    if not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = instance_secret(instance_path, "secret_key")
    if not settings.get("PARTICIPANT_CODE_KEY"):
        settings["PARTICIPANT_CODE_KEY"] = instance_secret(instance_path, "participant_code_key")
    settings["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(settings["DATABASE_URL"])
    try:
        ZoneInfo(settings["PROGRAM_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(
            f"PROGRAM_TIMEZONE {settings['PROGRAM_TIMEZONE']!r} is not a known time zone"
        ) from error
    if int(settings["SUPPRESSION_THRESHOLD"]) < 2:
        raise ValueError("SUPPRESSION_THRESHOLD must be 2 or more")
    return settings


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written in the common short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
