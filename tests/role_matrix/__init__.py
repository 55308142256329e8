"""Expected status per role for every route, one module per feature.

Each module defines ``ROUTES``: a list of ``(method, path, rule, expected)`` where
``expected`` maps ``ANON``/``WORKER``/``SUPERVISOR``/``ADMIN`` to a status code or to
``LOGIN_REDIRECT`` (302 to /login). tests/test_roles.py gathers them all and fails when a
route of the app is in none of them.
"""

ANON, WORKER, SUPERVISOR, ADMIN = "anonymous", "worker", "supervisor", "admin"
LOGIN_REDIRECT = "login"


def everyone(status: int) -> dict:
    return {ANON: status, WORKER: status, SUPERVISOR: status, ADMIN: status}


def staff_only(minimum: str, ok: int = 200, anon=LOGIN_REDIRECT) -> dict:
    """``ok`` for ``minimum`` and higher roles, 403 below it, ``anon`` when signed out."""
    order = [WORKER, SUPERVISOR, ADMIN]
    allowed = order[order.index(minimum) :]
    return {ANON: anon, **{role: ok if role in allowed else 403 for role in order}}
