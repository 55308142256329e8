"""The signed-in user's account page and sign-in lockouts."""

from tests.role_matrix import SUPERVISOR
from tests.role_matrix import WORKER
from tests.role_matrix import everyone
from tests.role_matrix import staff_only

ROUTES = [
    ("GET", "/account", "/account", staff_only(WORKER)),
    # Without a CSRF token every form post is refused.
    ("POST", "/account/sign-out-everywhere", "/account/sign-out-everywhere", everyone(400)),
    ("GET", "/account/lockouts", "/account/lockouts", staff_only(SUPERVISOR)),
    (
        "POST",
        "/account/lockouts/1/lift",
        "/account/lockouts/<int:user_id>/lift",
        everyone(400),
    ),
]
