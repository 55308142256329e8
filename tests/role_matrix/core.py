"""Sign-in, home and the phone API."""

from tests.role_matrix import ADMIN
from tests.role_matrix import ANON
from tests.role_matrix import LOGIN_REDIRECT
from tests.role_matrix import SUPERVISOR
from tests.role_matrix import WORKER
from tests.role_matrix import everyone
from tests.role_matrix import staff_only

ROUTES = [
    # Signed-in visitors are sent on to /log.
    ("GET", "/", "/", {ANON: LOGIN_REDIRECT, WORKER: 302, SUPERVISOR: 302, ADMIN: 302}),
    ("GET", "/login", "/login", {ANON: 200, WORKER: 302, SUPERVISOR: 302, ADMIN: 302}),
    # Without a CSRF token every form post is refused.
    ("POST", "/login", "/login", everyone(400)),
    ("POST", "/logout", "/logout", everyone(400)),
    ("GET", "/healthz", "/healthz", everyone(200)),
    ("GET", "/api/v1/openapi.json", "/api/v1/openapi.json", everyone(200)),
    ("GET", "/api/v1/session", "/api/v1/session", staff_only(WORKER, anon=401)),
    ("GET", "/api/v1/catalog", "/api/v1/catalog", staff_only(WORKER, anon=401)),
    # Without a CSRF token: 401 when signed out (checked first), else 403.
    ("POST", "/api/v1/sync", "/api/v1/sync", {ANON: 401, WORKER: 403, SUPERVISOR: 403, ADMIN: 403}),
]
