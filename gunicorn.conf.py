"""Production gunicorn settings: `gunicorn -c gunicorn.conf.py "outreach:create_app()"`.

Every value can be overridden with the environment variables named below.
"""

import multiprocessing
import os

bind = os.environ.get("OUTREACH_BIND", "127.0.0.1:8000")
# Sync work is short and mostly waits on the database: a few workers per core, threads each.
workers = int(os.environ.get("OUTREACH_WORKERS", min(multiprocessing.cpu_count() * 2 + 1, 12)))
threads = int(os.environ.get("OUTREACH_THREADS", 4))
worker_class = "gthread"
# A 500-record batch on a slow disk stays well inside this.
timeout = int(os.environ.get("OUTREACH_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak can never take the service down.
max_requests = 5000
max_requests_jitter = 500
# Build the app once in the master so a broken configuration fails before any worker starts.
preload_app = True
forwarded_allow_ips = os.environ.get("OUTREACH_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Access log: one JSON line per request, with the path but never the query string, the body
# or the client address.
accesslog = os.environ.get("OUTREACH_ACCESS_LOG", "-")
access_log_format = (
    '{"time":"%(t)s","method":"%(m)s","path":"%(U)s","status":%(s)s,'
    '"bytes":"%(B)s","duration_ms":%(M)s}'
)
errorlog = "-"
loglevel = os.environ.get("OUTREACH_LOG_LEVEL", "info")
