"""The front door: where a visitor lands."""

from flask import Blueprint
from flask import render_template
from flask_login import login_required

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def index():
    """The signed-in home page."""
    return render_template("main/index.html")
