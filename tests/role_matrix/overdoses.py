"""Overdose responses: the list to void one, for supervisors and admins."""

from tests.role_matrix import SUPERVISOR
from tests.role_matrix import everyone
from tests.role_matrix import staff_only

VOID_RULE = "/reports/overdoses/<uuid:response_id>/void"
MISSING = "/reports/overdoses/00000000-0000-4000-8000-000000000000/void"

ROUTES = [
    ("GET", "/reports/overdoses", "/reports/overdoses", staff_only(SUPERVISOR)),
    # No such record: the role check comes first, then 404.
    ("GET", MISSING, VOID_RULE, staff_only(SUPERVISOR, ok=404)),
    # Without a CSRF token every form post is refused.
    ("POST", MISSING, VOID_RULE, everyone(400)),
]
