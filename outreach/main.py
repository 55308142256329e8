"""The front door: where a visitor lands."""

from flask import Blueprint
from flask import redirect
from flask import url_for
from flask_login import login_required

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def index():
    """Signed-in visitors start on the logging page (it works offline too)."""
    return redirect(url_for("worker.log"))
