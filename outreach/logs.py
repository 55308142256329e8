"""Application logs: one JSON object per line in production, plain text in development.

What is logged is chosen here and in the callers: never request bodies, query strings,
participant codes or client addresses. gunicorn's own lines (start-up, workers, the access
log) use the same JSON shape through :class:`GunicornLogger` (see gunicorn.conf.py).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC
from datetime import datetime

from flask import Flask
from gunicorn.glogging import Logger as BaseGunicornLogger

# Attributes every LogRecord has; anything else was passed through ``extra=`` on purpose.
_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Format a record as a single JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def init_app(app: Flask) -> None:
    logger = logging.getLogger("outreach")
    logger.setLevel(logging.INFO)
    if app.testing or logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    if app.config["OUTREACH_ENV"] == "production":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False


class GunicornLogger(BaseGunicornLogger):
    """gunicorn's error and access logs as the app's JSON lines.

    An access line holds the method, the path (never the query string), the status, the
    size and the duration: no client address, no headers, no body.
    """

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        status = str(getattr(resp, "status", "") or "").split(" ", 1)[0]
        self.access_log.info(
            "request",
            extra={
                "method": environ.get("REQUEST_METHOD", ""),
                "path": environ.get("PATH_INFO", ""),
                "status": int(status) if status.isdigit() else None,
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
            },
        )
