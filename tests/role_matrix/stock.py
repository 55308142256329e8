"""The bag: the phone's bag page (workers) and the stock report (supervisors)."""

from tests.role_matrix import SUPERVISOR
from tests.role_matrix import WORKER
from tests.role_matrix import staff_only

ROUTES = [
    ("GET", "/log/bag", "/log/bag", staff_only(WORKER)),
    ("GET", "/reports/stock", "/reports/stock", staff_only(SUPERVISOR)),
]
