"""Administration: admins only. User 1 is the worker account of the matrix fixtures."""

from tests.role_matrix import ADMIN
from tests.role_matrix import everyone
from tests.role_matrix import staff_only

CATALOG = "/admin/catalog/<any(supplies, referrals, zones):kind>"
ENTRY = CATALOG + "/<int:entry_id>"

ROUTES = [
    ("GET", "/admin", "/admin", staff_only(ADMIN)),
    ("GET", "/admin/users", "/admin/users", staff_only(ADMIN)),
    ("POST", "/admin/users", "/admin/users", everyone(400)),
    ("GET", "/admin/users/1", "/admin/users/<int:user_id>", staff_only(ADMIN)),
    ("GET", "/admin/users/999", "/admin/users/<int:user_id>", staff_only(ADMIN, ok=404)),
    ("POST", "/admin/users/1/role", "/admin/users/<int:user_id>/role", everyone(400)),
    ("POST", "/admin/users/1/password", "/admin/users/<int:user_id>/password", everyone(400)),
    (
        "GET",
        "/admin/users/1/deactivate",
        "/admin/users/<int:user_id>/deactivate",
        staff_only(ADMIN),
    ),
    (
        "POST",
        "/admin/users/1/deactivate",
        "/admin/users/<int:user_id>/deactivate",
        everyone(400),
    ),
    ("POST", "/admin/users/1/reactivate", "/admin/users/<int:user_id>/reactivate", everyone(400)),
    (
        "POST",
        "/admin/users/1/sign-out-everywhere",
        "/admin/users/<int:user_id>/sign-out-everywhere",
        everyone(400),
    ),
    ("POST", "/admin/users/1/unlock", "/admin/users/<int:user_id>/unlock", everyone(400)),
    # The trailing slash (as the documented route list writes it) leads to /admin.
    ("GET", "/admin/", "/admin/", {**staff_only(ADMIN), ADMIN: 308}),
    ("GET", "/admin/catalog/supplies", CATALOG, staff_only(ADMIN)),
    ("GET", "/admin/catalog/referrals", CATALOG, staff_only(ADMIN)),
    ("GET", "/admin/catalog/zones", CATALOG, staff_only(ADMIN)),
    ("POST", "/admin/catalog/zones", CATALOG, everyone(400)),
    ("GET", "/admin/catalog/zones/1", ENTRY, staff_only(ADMIN)),
    ("GET", "/admin/catalog/supplies/1", ENTRY, staff_only(ADMIN)),
    ("GET", "/admin/catalog/zones/999", ENTRY, staff_only(ADMIN, ok=404)),
    ("POST", "/admin/catalog/zones/1", ENTRY, everyone(400)),
    ("POST", "/admin/catalog/zones/1/move", ENTRY + "/move", everyone(400)),
    ("POST", "/admin/catalog/zones/1/active", ENTRY + "/active", everyone(400)),
    ("GET", "/admin/audit", "/admin/audit", staff_only(ADMIN)),
    ("GET", "/admin/settings", "/admin/settings", staff_only(ADMIN)),
    ("POST", "/admin/settings", "/admin/settings", everyone(400)),
]
