"""The bag: the phone's bag page (workers), the stock report and the list of stock records
to void one (supervisors)."""

from tests.role_matrix import SUPERVISOR
from tests.role_matrix import WORKER
from tests.role_matrix import everyone
from tests.role_matrix import staff_only

VOID_RULE = "/reports/stock/events/<uuid:event_id>/void"
MISSING = "/reports/stock/events/00000000-0000-4000-8000-000000000000/void"

ROUTES = [
    ("GET", "/log/bag", "/log/bag", staff_only(WORKER)),
    ("GET", "/reports/stock", "/reports/stock", staff_only(SUPERVISOR)),
    ("GET", "/reports/stock/events", "/reports/stock/events", staff_only(SUPERVISOR)),
    # No such record: the role check comes first, then 404.
    ("GET", MISSING, VOID_RULE, staff_only(SUPERVISOR, ok=404)),
    # Without a CSRF token every form post is refused.
    ("POST", MISSING, VOID_RULE, everyone(400)),
]
