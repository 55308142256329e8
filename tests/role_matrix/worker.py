"""The worker app: logging, outbox, and the files that make it installable and offline."""

from tests.role_matrix import WORKER
from tests.role_matrix import everyone
from tests.role_matrix import staff_only

ROUTES = [
    ("GET", "/log", "/log", staff_only(WORKER)),
    ("GET", "/log/strings.js", "/log/strings.js", staff_only(WORKER)),
    ("GET", "/log/overdose", "/log/overdose", staff_only(WORKER)),
    # The shift view moved into /outbox; old links are led there.
    ("GET", "/log/shift", "/log/shift", staff_only(WORKER, ok=302)),
    ("GET", "/outbox", "/outbox", staff_only(WORKER)),
    ("GET", "/offline-pages.json", "/offline-pages.json", everyone(200)),
    ("GET", "/manifest.webmanifest", "/manifest.webmanifest", everyone(200)),
    # Built by `npm run build` (make setup); the tests run on built assets.
    ("GET", "/sw.js", "/sw.js", everyone(200)),
]
