"""Funder reports: supervisors and admins; their category mapping: admins only."""

from tests.role_matrix import ADMIN
from tests.role_matrix import SUPERVISOR
from tests.role_matrix import everyone
from tests.role_matrix import staff_only

MAPPING_RULE = "/admin/funder/<key>"

ROUTES = [
    ("GET", "/reports/funder", "/reports/funder", staff_only(SUPERVISOR)),
    ("GET", "/admin/funder", "/admin/funder", staff_only(ADMIN)),
    ("GET", "/admin/funder/generic_ssp_quarterly", MAPPING_RULE, staff_only(ADMIN)),
    ("GET", "/admin/funder/no_such_template", MAPPING_RULE, staff_only(ADMIN, ok=404)),
    # Without a CSRF token every form post is refused.
    ("POST", "/admin/funder/generic_ssp_quarterly", MAPPING_RULE, everyone(400)),
]
