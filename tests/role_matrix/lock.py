"""The screen lock (outreach/auth/lock.py): its page and its JSON endpoints (JSON like /api)."""

from tests.role_matrix import LOGIN_REDIRECT
from tests.role_matrix import WORKER
from tests.role_matrix import staff_only

ROUTES = [
    ("GET", "/lock", "/lock", staff_only(WORKER, anon=LOGIN_REDIRECT)),
    # Without a JSON body each is refused (400); signed out, 401 JSON like the rest of /api.
    ("POST", "/lock/session", "/lock/session", staff_only(WORKER, ok=400, anon=401)),
    ("POST", "/lock/unlock", "/lock/unlock", staff_only(WORKER, ok=400, anon=401)),
    ("POST", "/lock/key", "/lock/key", staff_only(WORKER, ok=400, anon=401)),
]
