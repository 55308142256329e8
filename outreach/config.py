"""Settings: defaults, then the settings file, then environment variables, then the test mapping.

The settings file is the one the service reads: the file named by ``OUTREACH_SETTINGS``, else
``/etc/outreach/outreach.env`` when it exists. So ``flask …`` typed by any user sees the
service's settings, and a file that cannot be read stops every command instead of letting it
fall back to a development database.
"""

from __future__ import annotations

import difflib
import os
import secrets
from datetime import date
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

import click

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


def resource_dir(name: str) -> Path:
    """A top-level folder of the source tree (templates, static, migrations), or its copy
    inside an installed release (``outreach/_bundled/<name>``, see scripts/build_release.py)."""
    bundled = PACKAGE_DIR / "_bundled" / name
    return bundled if bundled.is_dir() else PROJECT_DIR / name


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
    "PARTICIPANT_CODE_KEY_PREVIOUS",
    "PARTICIPANT_CODE_KEY_PREVIOUS_UNTIL",
    "LOCK_IDLE_SECONDS",
    "SEAL_KEYS_FILE",
    "BACKDATED_AUDIT_DAYS",
    "PUBLIC_URL",
    "SEAL_WRAP_KEY",
)
INTEGER_SETTINGS = {
    "SUPPRESSION_THRESHOLD",
    "TRUSTED_PROXIES",
    "SYNC_RATE_PER_MINUTE",
    "LOCK_IDLE_SECONDS",
    "BACKDATED_AUDIT_DAYS",
}
# --- The per-account sync record budget (outreach/sync/api.py) -------------------------------
# Records one account may send per window, whatever their kind or how many requests carry
# them (refused records count too). Far above a real shift, so only a flood reaches it.
RECORD_BUDGET_SETTINGS = ("SYNC_RECORD_BUDGET", "SYNC_RECORD_BUDGET_WINDOW_SECONDS")
RECORD_BUDGET_DEFAULTS = {"SYNC_RECORD_BUDGET": 3000, "SYNC_RECORD_BUDGET_WINDOW_SECONDS": 3600}
ENVIRONMENT_SETTINGS += RECORD_BUDGET_SETTINGS
INTEGER_SETTINGS |= set(RECORD_BUDGET_SETTINGS)
# --- end of the record budget ----------------------------------------------------------------

# Secrets that must never protect a production instance.
KNOWN_DEVELOPMENT_SECRETS = {"dev", "development", "secret", "changeme", "change-me", "test"}
MIN_PRODUCTION_SECRET_LENGTH = 32
# Fewer different characters than this is not a random secret ("aaaa…", "abab…").
MIN_SECRET_DISTINCT_CHARACTERS = 8
MAKE_SECRET_COMMAND = 'python3 -c "import secrets; print(secrets.token_hex(32))"'  # noqa: S105
# Where the service's settings live unless OUTREACH_SETTINGS names another file.
DEFAULT_SETTINGS_FILE = Path("/etc/outreach/outreach.env")
# The longest a rotation may keep the previous participant-code key.
MAX_ROTATION_DAYS = 400


# Names read by the process rather than the app's settings (gunicorn, the CLI, the paths).
PROCESS_SETTINGS = frozenset(
    {
        "OUTREACH_SETTINGS",
        "OUTREACH_INSTANCE_PATH",
        "OUTREACH_BIND",
        "OUTREACH_WORKERS",
        "OUTREACH_THREADS",
        "OUTREACH_TIMEOUT",
        "OUTREACH_ACCESS_LOG",
        "OUTREACH_LOG_LEVEL",
        "OUTREACH_FORWARDED_ALLOW_IPS",
        "FLASK_APP",
        "FLASK_DEBUG",
    }
)
# A name in the environment this close to a known one is a slip, not someone else's variable
# ("DATABSE_URL"): difflib's ratio, high enough that TEST_DATABASE_URL is left alone.
ENVIRONMENT_NEAR_MISS = 0.9


class ConfigurationError(click.ClickException, ValueError):
    """Settings the app refuses to start with, with the reason.

    A ClickException so that every ``flask …`` command prints it as one line and exits 1
    instead of a traceback; a ValueError for callers that catch bad values.
    """


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
        # The site's https address: absolute links and QR codes are built from it, never
        # from the request's Host header. Required in production; else links are relative.
        "PUBLIC_URL": None,
        # The secret the seal keys' private halves are wrapped with in the database; unset:
        # derived from SECRET_KEY (set this to the old SECRET_KEY when rotating that one).
        "SEAL_WRAP_KEY": None,
        # A record this many days older than its arrival is noted in the audit log.
        "BACKDATED_AUDIT_DAYS": 3,
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "BABEL_TRANSLATION_DIRECTORIES": str(PACKAGE_DIR / "translations"),
        "LANGUAGES": {"en": "English", "es": "Español"},
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # The per-account sync record budget (declared above, with its names).
        **RECORD_BUDGET_DEFAULTS,
    }


def settings_file_path(environ) -> Path | None:
    """The settings file to read: OUTREACH_SETTINGS, else the documented path if present."""
    named = environ.get("OUTREACH_SETTINGS")
    if named is not None:
        return Path(named) if named.strip() else None
    if DEFAULT_SETTINGS_FILE.exists():
        return DEFAULT_SETTINGS_FILE
    return None


def read_settings_file(path: Path) -> dict[str, str]:
    """NAME=value lines (the systemd EnvironmentFile format); # starts a comment line."""
    try:
        text = path.read_text(encoding="utf-8")
    except PermissionError:
        raise ConfigurationError(
            f"Cannot read the settings file {path} (permission denied): run the command as "
            f"the service's user, for example sudo -u outreach"
        ) from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ConfigurationError(f"Cannot read the settings file {path} ({reason})") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, separator, value = line.partition("=")
        name = name.strip()
        if not separator or not name.isidentifier():
            raise ConfigurationError(f"{path}, line {number}: expected NAME=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[name] = value
    return values


def settable_names() -> dict[str, bool]:
    """Every setting the settings file or the environment may give → whether it is a number.

    Derived from the defaults, so a setting added there is known (and read) with no list to
    keep in step: every default that is a plain number or text, plus ENVIRONMENT_SETTINGS.
    """
    names = {name: name in INTEGER_SETTINGS for name in ENVIRONMENT_SETTINGS}
    for name, value in default_settings(PROJECT_DIR / "instance").items():
        if isinstance(value, bool) or name in names:
            continue
        if isinstance(value, int):
            names[name] = True
        elif isinstance(value, str):
            names[name] = False
    return names


def known_names() -> frozenset[str]:
    return frozenset(settable_names()) | PROCESS_SETTINGS


def _did_you_mean(name: str, known: frozenset[str], cutoff: float = 0.6) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=cutoff)
    return f"{name} (did you mean {close[0]}?)" if close else name


def check_names(file_values: dict[str, str], path: Path | None, environ) -> None:
    """Refuse names Outreach does not know: a misspelt setting must never be ignored.

    Every name in the settings file must be known. The environment also holds other
    programs' variables, so there only ``OUTREACH_…`` names and near-misses of a known name
    (``OUTREACH_EMV``, ``DATABSE_URL``) are refused: each would otherwise run production
    as development, or on a fresh SQLite file, without a word.
    """
    known = known_names()
    unknown_in_file = [name for name in file_values if name not in known]
    if unknown_in_file:
        names = ", ".join(_did_you_mean(name, known) for name in unknown_in_file)
        raise ConfigurationError(f"{path}: unknown setting {names}; remove or correct it")
    slips = []
    for name in environ:
        if name in known:
            continue
        if name.startswith("OUTREACH_"):
            slips.append(_did_you_mean(name, known))
        elif difflib.get_close_matches(name, sorted(known), n=1, cutoff=ENVIRONMENT_NEAR_MISS):
            slips.append(_did_you_mean(name, known, ENVIRONMENT_NEAR_MISS))
    if slips:
        raise ConfigurationError(
            f"Unknown setting in the environment: {', '.join(sorted(slips))}; unset or correct it"
        )


def effective_environment(environ=None) -> dict[str, str]:
    """The settings file's values, overridden by the process environment."""
    environ = os.environ if environ is None else environ
    path = settings_file_path(environ)
    from_file = read_settings_file(path) if path is not None else {}
    check_names(from_file, path, environ)
    merged = dict(from_file)
    merged.update(environ)
    return merged


def read_environment(environ: os._Environ | dict) -> dict:
    """Settings given as environment variables."""
    settings: dict = {}
    for name, is_number in settable_names().items():
        value = environ.get(name)
        if value is None or value == "":
            continue
        if not is_number:
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
    keep_folder_owner(path)
    return value


def keep_folder_owner(path: Path) -> None:
    """Give a file a command made in a shared folder to that folder's owner.

    A command run as root (sudo flask …) would otherwise leave a root-only file the service's
    user cannot read, and every request needing it would fail while nothing said why.
    """
    if os.geteuid() != 0:
        return
    folder = path.parent.stat()
    if folder.st_uid != 0 or folder.st_gid != 0:
        os.chown(path, folder.st_uid, folder.st_gid)


def is_weak_secret(value: str) -> bool:
    """Too short, a known placeholder, or plainly not random (few characters, a repeat)."""
    if len(value.encode()) < MIN_PRODUCTION_SECRET_LENGTH:
        return True
    if value.lower() in KNOWN_DEVELOPMENT_SECRETS or value.lower().startswith("replace-with"):
        return True
    if len(set(value)) < MIN_SECRET_DISTINCT_CHARACTERS:
        return True
    # A short unit repeated ("0123456789abcdef0123456789abcdef").
    return any(
        value == (value[:size] * (len(value) // size + 1))[: len(value)]
        for size in range(1, len(value) // 2 + 1)
    )


def check_production(settings: dict, environ) -> None:
    """Refuse to run in production with development settings."""
    problems = []
    for name in ("SECRET_KEY", "PARTICIPANT_CODE_KEY"):
        value = settings.get(name) or ""
        if not environ.get(name):
            problems.append(f"{name} must be set in the settings file or the environment")
        elif is_weak_secret(value):
            problems.append(
                f"{name} is weak (at least {MIN_PRODUCTION_SECRET_LENGTH} random characters); "
                f"make one with: {MAKE_SECRET_COMMAND}"
            )
    if not environ.get("DATABASE_URL"):
        problems.append("DATABASE_URL must be set in the settings file or the environment")
    if not settings.get("PUBLIC_URL"):
        problems.append(
            "PUBLIC_URL must be set to the site's https address (https://outreach.example.org)"
        )
    if settings.get("DEBUG") or environ.get("FLASK_DEBUG") not in (None, "", "0", "false"):
        problems.append("debug mode must be off")
    if problems:
        raise ConfigurationError("Refusing to start in production: " + "; ".join(problems))


def check_key_rotation(settings: dict, today: date | None = None) -> None:
    """Validate the previous participant-code key and its end date; drop it once past."""
    previous = settings.get("PARTICIPANT_CODE_KEY_PREVIOUS")
    until = settings.get("PARTICIPANT_CODE_KEY_PREVIOUS_UNTIL")
    if not previous:
        settings["PARTICIPANT_CODE_KEY_PREVIOUS"] = None
        return
    if not until:
        raise ConfigurationError(
            "PARTICIPANT_CODE_KEY_PREVIOUS needs PARTICIPANT_CODE_KEY_PREVIOUS_UNTIL "
            "(the last day of the rotation, YYYY-MM-DD)"
        )
    try:
        last_day = until if isinstance(until, date) else date.fromisoformat(str(until))
    except ValueError:
        raise ConfigurationError(
            f"PARTICIPANT_CODE_KEY_PREVIOUS_UNTIL must be a date (YYYY-MM-DD), not {until!r}"
        ) from None
    if previous == settings.get("PARTICIPANT_CODE_KEY"):
        raise ConfigurationError(
            "PARTICIPANT_CODE_KEY_PREVIOUS is the same as PARTICIPANT_CODE_KEY: "
            "set PARTICIPANT_CODE_KEY to the new key"
        )
    today = today or date.today()
    if last_day < today:
        # A past day would end the rotation at once: every returning code would look new.
        raise ConfigurationError(
            f"PARTICIPANT_CODE_KEY_PREVIOUS_UNTIL {last_day.isoformat()} is in the past: set "
            f"the rotation's last day ahead, or remove both _PREVIOUS lines once it is over"
        )
    if last_day > today + timedelta(days=MAX_ROTATION_DAYS):
        raise ConfigurationError(
            f"PARTICIPANT_CODE_KEY_PREVIOUS_UNTIL is more than {MAX_ROTATION_DAYS} days away"
        )
    settings["PARTICIPANT_CODE_KEY_PREVIOUS_UNTIL"] = last_day
    # After the last day the previous key is dropped: codes seen only under it look new.
    settings["PARTICIPANT_CODE_KEY_PREVIOUS"] = previous if today <= last_day else None


def finalise(
    settings: dict, instance_path: Path, environ=None, *, generate_secrets: bool = True
) -> dict:
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
    if generate_secrets and not settings.get("SECRET_KEY"):
        settings["SECRET_KEY"] = instance_secret(instance_path, "secret_key")
    if generate_secrets and not settings.get("PARTICIPANT_CODE_KEY"):
        settings["PARTICIPANT_CODE_KEY"] = instance_secret(instance_path, "participant_code_key")
    settings["SQLALCHEMY_DATABASE_URI"] = check_database_url(
        normalise_database_url(settings["DATABASE_URL"])
    )
    if settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # Named, so `flask restore` can see app servers still using the database.
        options = dict(settings.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {
            "application_name": "outreach",
            **options.get("connect_args", {}),
        }
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = options
    settings["PUBLIC_URL"] = check_public_url(settings.get("PUBLIC_URL"))
    check_key_rotation(settings)
    try:
        ZoneInfo(settings["PROGRAM_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"PROGRAM_TIMEZONE {settings['PROGRAM_TIMEZONE']!r} is not a known time zone"
        ) from None
    if int(settings["SUPPRESSION_THRESHOLD"]) < 2:
        raise ConfigurationError("SUPPRESSION_THRESHOLD must be 2 or more")
    for name in RECORD_BUDGET_SETTINGS:
        if int(settings[name]) < 1:
            raise ConfigurationError(f"{name} must be 1 or more")
    if int(settings["SYNC_RECORD_BUDGET"]) < int(settings["SYNC_MAX_RECORDS"]):
        # A full batch could then never pass, and the phone would wait forever.
        raise ConfigurationError(
            f"SYNC_RECORD_BUDGET must be at least SYNC_MAX_RECORDS ({settings['SYNC_MAX_RECORDS']})"
        )
    return settings


def check_settings(environ=None) -> None:
    """Raise the ConfigurationError create_app() would, without building the app or writing."""
    environ = effective_environment(environ)
    instance_path = Path(environ.get("OUTREACH_INSTANCE_PATH") or PROJECT_DIR / "instance")
    settings = default_settings(instance_path)
    settings.update(read_environment(environ))
    finalise(settings, instance_path, environ, generate_secrets=False)


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written in the common short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# The database drivers Outreach is built and tested with.
SUPPORTED_DATABASE_DRIVERS = ("sqlite", "postgresql+psycopg")


def check_database_url(url: str) -> str:
    """A URL SQLAlchemy can use, with a driver that is installed, or one line saying why."""
    import sqlalchemy as sa

    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigurationError(
            "DATABASE_URL is not a database URL (postgresql+psycopg://USER@HOST/NAME or "
            "sqlite:///PATH)"
        ) from None
    driver = parsed.drivername
    try:
        parsed.get_dialect()
    except (sa.exc.NoSuchModuleError, ImportError):
        close = difflib.get_close_matches(driver, SUPPORTED_DATABASE_DRIVERS, n=1, cutoff=0.4)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigurationError(
            f"DATABASE_URL names the driver {driver!r}, which is not installed{hint}"
        ) from None
    return url


def check_public_url(value: str | None) -> str | None:
    """PUBLIC_URL without a trailing slash; an http(s) address with a host and no query."""
    from urllib.parse import urlsplit

    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError(
            f"PUBLIC_URL must be the site's address, like https://outreach.example.org, "
            f"not {value!r}"
        )
    return value.strip().rstrip("/")
