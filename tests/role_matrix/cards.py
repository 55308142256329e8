"""Cards, the public directory, and the admin directory editor."""

from tests.role_matrix import ADMIN
from tests.role_matrix import WORKER
from tests.role_matrix import everyone
from tests.role_matrix import staff_only

ROUTES = [
    ("GET", "/cards", "/cards", everyone(200)),
    ("GET", "/cards/naloxone?lang=es", "/cards/<slug>", everyone(200)),
    ("GET", "/cards/referral/wound_care", "/cards/referral/<key>", everyone(200)),
    ("GET", "/cards/naloxone/qr.svg", "/cards/<slug>/qr.svg", everyone(200)),
    (
        "GET",
        "/cards/referral/wound_care/qr.svg",
        "/cards/referral/<key>/qr.svg",
        everyone(200),
    ),
    ("GET", "/directory", "/directory", everyone(200)),
    ("GET", "/directory/services.json", "/directory/services.json", everyone(200)),
    (
        "GET",
        "/directory/staff-notes.json",
        "/directory/staff-notes.json",
        staff_only(WORKER),
    ),
    ("GET", "/admin/directory/", "/admin/directory/", staff_only(ADMIN)),
    ("GET", "/admin/directory/new", "/admin/directory/new", staff_only(ADMIN)),
    # Without a CSRF token every form post is refused, before any role check.
    ("POST", "/admin/directory/new", "/admin/directory/new", everyone(400)),
    # The seeded database has no services: an admin gets past the role check to a 404.
    (
        "GET",
        "/admin/directory/1/edit",
        "/admin/directory/<int:service_id>/edit",
        staff_only(ADMIN, ok=404),
    ),
    ("POST", "/admin/directory/1/edit", "/admin/directory/<int:service_id>/edit", everyone(400)),
    (
        "GET",
        "/admin/directory/1/deactivate",
        "/admin/directory/<int:service_id>/deactivate",
        staff_only(ADMIN, ok=404),
    ),
    (
        "POST",
        "/admin/directory/1/deactivate",
        "/admin/directory/<int:service_id>/deactivate",
        everyone(400),
    ),
    ("GET", "/admin/directory/export.csv", "/admin/directory/export.csv", staff_only(ADMIN)),
    ("GET", "/admin/directory/import", "/admin/directory/import", staff_only(ADMIN)),
    ("POST", "/admin/directory/import", "/admin/directory/import", everyone(400)),
]
