"""/log and /outbox: shells that work offline; the data lives on the phone until synced."""

from __future__ import annotations

from flask import Blueprint
from flask import make_response
from flask import redirect
from flask import render_template
from flask import url_for

from outreach import pwa
from outreach.auth import role_required
from outreach.encounters.catalog import catalog_payload
from outreach.encounters.contract import OCCURRED_AT_MESSAGES
from outreach.i18n import current_lang
from outreach.models import Role
from outreach.worker import services

bp = Blueprint("worker", __name__)


@bp.app_context_processor
def _record_time_words() -> dict:
    """The server's own words for a record time out of bounds, for the phone's "When"
    field on every worker form (templates/worker/_when.html): the phone says what the server
    would, before Save."""
    return {"occurred_at_messages": OCCURRED_AT_MESSAGES.by_problem, "catalog_version": _version}


def _version() -> str:
    """The catalogue version the page was made with (the one /api/v1/catalog answers): a
    kept page that differs from the server's is stale (pages/*.js refresh it)."""
    return catalog_payload(current_lang())["version"]


def offline_urls() -> list[str]:
    """The worker pages the service worker keeps for offline use."""
    return [
        url_for("worker.log"),
        url_for("worker.overdose"),
        url_for("worker.outbox"),
        # In the language the pages are kept in (the list is made in it): a page and its
        # strings always match, even while the kept pages catch up with a new language.
        url_for("worker.strings", lang=current_lang()),
    ]


@bp.get("/log/strings.js")
@pwa.offline_page
@role_required(Role.WORKER)
def strings():
    """The strings every worker page's scripts share, sent once (and kept offline once)
    instead of inside each page."""
    response = make_response(render_template("worker/strings.js.jinja"))
    response.mimetype = "text/javascript"
    return response


@bp.get("/log")
@pwa.offline_page
@role_required(Role.WORKER)
def log():
    """Log an encounter; saved to this device's outbox first, then sent."""
    return render_template("worker/log.html", form=services.logging_form(current_lang()))


@bp.get("/log/overdose")
@pwa.offline_page
@role_required(Role.WORKER)
def overdose():
    """Log an overdose response: its own page, so it is never under the encounter form's
    Save bar (and a tap meant for it never saves an encounter)."""
    return render_template("worker/overdose.html", form=services.logging_form(current_lang()))


@bp.get("/log/shift")
@role_required(Role.WORKER)
def shift():
    """The shift view is a section of /outbox now (one page fewer kept on the phone); old
    links and bookmarks still lead to it."""
    return redirect(url_for("worker.outbox", _anchor="shift"))


@bp.get("/outbox")
@pwa.offline_page
@role_required(Role.WORKER)
def outbox():
    """Records waiting on this device, and any the server rejected."""
    return render_template("worker/outbox.html")
