"""The screen lock (outreach/auth/lock.py): its page and its JSON endpoints."""

from tests.role_matrix import LOGIN_REDIRECT
from tests.role_matrix import WORKER
from tests.role_matrix import staff_only

ROUTES = [
    ("GET", "/lock", "/lock", staff_only(WORKER, anon=LOGIN_REDIRECT)),
    # Without a JSON body each is refused (400); signed out, 401 JSON like the rest of /api.
    ("POST", "/api/v1/lock", "/api/v1/lock", staff_only(WORKER, ok=400, anon=401)),
    ("POST", "/api/v1/unlock", "/api/v1/unlock", staff_only(WORKER, ok=400, anon=401)),
    ("POST", "/api/v1/unlock-key", "/api/v1/unlock-key", staff_only(WORKER, ok=400, anon=401)),
]
