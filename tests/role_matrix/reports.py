"""Reports: supervisors and admins; row-level records: admins only."""

from tests.role_matrix import ADMIN
from tests.role_matrix import SUPERVISOR
from tests.role_matrix import everyone
from tests.role_matrix import staff_only

VOID_RULE = "/reports/encounters/<uuid:encounter_id>/void"
MISSING = "/reports/encounters/00000000-0000-4000-8000-000000000000/void"

ROUTES = [
    ("GET", "/reports", "/reports", staff_only(SUPERVISOR)),
    ("GET", "/reports/summary.json", "/reports/summary.json", staff_only(SUPERVISOR)),
    ("GET", "/reports/export.csv", "/reports/export.csv", staff_only(SUPERVISOR)),
    ("GET", "/reports/records.csv", "/reports/records.csv", staff_only(ADMIN)),
    ("GET", "/reports/encounters", "/reports/encounters", staff_only(SUPERVISOR)),
    # No such record: the role check comes first, then 404.
    ("GET", MISSING, VOID_RULE, staff_only(SUPERVISOR, ok=404)),
    # Without a CSRF token every form post is refused.
    ("POST", MISSING, VOID_RULE, everyone(400)),
]
