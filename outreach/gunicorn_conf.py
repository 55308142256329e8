"""Production gunicorn settings: `gunicorn -c gunicorn.conf.py "outreach:create_app()"`.

Also usable from an installed release as ``gunicorn -c python:outreach.gunicorn_conf``.
Every value can be overridden with the variables named below, in the settings file or the
environment.
"""

import multiprocessing
import sys

from outreach.config import ConfigurationError
from outreach.config import check_settings
from outreach.config import effective_environment

# A setting the app would refuse stops gunicorn here with one line, before any worker starts.
try:
    check_settings()
    _settings = effective_environment()
except ConfigurationError as _error:
    sys.exit(f"Error: {_error.message}")


def _whole_number(name: str, default: int) -> int:
    value = _settings.get(name) or default
    try:
        return int(value)
    except ValueError:
        sys.exit(f"Error: {name} must be a whole number, not {value!r}")


bind = _settings.get("OUTREACH_BIND", "127.0.0.1:8000")
# Sync work is short and mostly waits on the database: a few workers per core, threads each.
workers = _whole_number("OUTREACH_WORKERS", min(multiprocessing.cpu_count() * 2 + 1, 12))
threads = _whole_number("OUTREACH_THREADS", 4)
worker_class = "gthread"
# A 500-record batch on a slow disk stays well inside this.
timeout = _whole_number("OUTREACH_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak can never take the service down.
max_requests = 5000
max_requests_jitter = 500
# Build the app once in the master so a broken configuration fails before any worker starts.
preload_app = True
forwarded_allow_ips = _settings.get("OUTREACH_FORWARDED_ALLOW_IPS", "127.0.0.1")
wsgi_app = "outreach:create_app()"

# Logs go to standard output (access) and standard error (everything else) as JSON lines
# shaped like the app's (outreach/logs.py): under systemd, the journal (journalctl -u
# outreach). An access line holds method, path (never the query string), status, size and
# duration: never the client address, headers or body.
logger_class = "outreach.logs.GunicornLogger"
accesslog = _settings.get("OUTREACH_ACCESS_LOG", "-")
errorlog = "-"
loglevel = _settings.get("OUTREACH_LOG_LEVEL", "info")
