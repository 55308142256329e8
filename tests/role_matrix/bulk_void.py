"""Voiding every record of one worker over a period: supervisors and admins."""

from tests.role_matrix import SUPERVISOR
from tests.role_matrix import everyone
from tests.role_matrix import staff_only

ROUTES = [
    ("GET", "/reports/bulk-void", "/reports/bulk-void", staff_only(SUPERVISOR)),
    # Without a CSRF token every form post is refused.
    ("POST", "/reports/bulk-void", "/reports/bulk-void", everyone(400)),
]
