"""JSON API for phones: /api/v1/session, /api/v1/catalog, /api/v1/sync.

Every answer is JSON and nothing redirects. Checks run in the documented order: signed in
(401), then CSRF on writes (403), then the body (413, 400), then rate (429).
"""

from __future__ import annotations

import json

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from outreach import device
from outreach import ratelimit
from outreach.database import manages_own_write_transaction
from outreach.encounters.catalog import catalog_payload
from outreach.encounters.catalog import load_catalog_index
from outreach.encounters.ingest import ingest_batch
from outreach.extensions import csrf
from outreach.i18n import current_lang
from outreach.overdoses.ingest import ingest_overdoses
from outreach.stock.ingest import ingest_stock_events
from outreach.stock.services import session_bag

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Records are a few levels deep; anything much deeper is an attack or a bug.
MAX_JSON_DEPTH = 32
# CSRF is checked in require_session() below, after the sign-in check, not globally.
csrf.exempt(bp)
# Record kinds sent beside "encounters": body key → ingest(records, worker_id, author), which
# answers one result per record in the encounters' form, under the same key (absent from the
# answer when not sent, so a phone that sends only encounters gets the answer it always got).
RECORD_KINDS = {"overdose_responses": ingest_overdoses, "stock_events": ingest_stock_events}


class ApiError(Exception):
    """An error answered as ``{"error": code, "message": ...}`` with a status."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    response = jsonify(error=error.code, message=error.message)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


@bp.before_request
def require_session():
    """401 when signed out, then CSRF on state-changing requests."""
    # Set before anything reads the body (the CSRF check may look for a form field).
    request.max_content_length = current_app.config["SYNC_MAX_BODY_BYTES"]
    if request.endpoint == "api.openapi":
        return None
    if not current_user.is_authenticated:
        raise ApiError(401, "unauthorized", _("Please sign in again."))
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        from flask_wtf.csrf import CSRFError

        try:
            csrf.protect()
        except CSRFError as error:
            from outreach.web import csrf_problem

            message = csrf_problem(error) or _(
                "The security token is missing or expired. Reload and retry."
            )
            raise ApiError(403, "csrf", message) from error


@bp.after_request
def _no_store(response):
    # API answers carry the session's CSRF token and fresh data: never cache them.
    response.headers["Cache-Control"] = "no-store"
    return response


def _read_json_body():
    """The body as JSON (whatever its Content-Type), no deeper than MAX_JSON_DEPTH."""
    unreadable = ApiError(400, "bad_request", _("The request body is not readable JSON."))
    try:
        body = json.loads(request.get_data())
    except (ValueError, RecursionError):
        raise unreadable from None
    if _deeper_than(body, MAX_JSON_DEPTH):
        raise ApiError(
            400,
            "bad_request",
            _("The request body is nested too deeply (at most %(n)d levels).", n=MAX_JSON_DEPTH),
        )
    return body


def _deeper_than(value, limit: int) -> bool:
    """Whether ``value`` nests objects and arrays more than ``limit`` levels deep."""
    level, frontier = 1, [value]
    while frontier:
        frontier = [
            child
            for container in frontier
            if isinstance(container, (dict, list))
            for child in (container.values() if isinstance(container, dict) else container)
            if isinstance(child, (dict, list))
        ]
        if frontier:
            level += 1
            if level > limit:
                return True
    return False


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI description of this API (public: it holds no data)."""
    from outreach.sync.openapi import build_spec

    catalog = load_catalog_index()
    return jsonify(
        build_spec(
            list(catalog.supplies),
            list(catalog.referral_types),
            list(catalog.zones),
            current_app.config["SYNC_MAX_RECORDS"],
        )
    )


@bp.get("/session")
def session_info():
    """Who is signed in, and a CSRF token for the next writes."""
    return jsonify(
        user={"username": current_user.username, "role": current_user.role.key},
        csrf_token=generate_csrf(),
        # The seal key and the lock's idle time.
        **device.session_extras(),
        # What the server expects this worker's bag to hold (tracked items).
        bag=session_bag(current_user.id),
    )


@bp.get("/catalog")
def catalog():
    """The active supply catalogue, referral types and zones."""
    return jsonify(catalog_payload(current_lang()))


@bp.post("/sync")
@manages_own_write_transaction
def sync():
    """Store a batch of encounters (and other record kinds); one result per record, in order."""
    config = current_app.config
    body = _read_json_body()
    others = (
        {key: body[key] for key in RECORD_KINDS if key in body} if isinstance(body, dict) else {}
    )
    if not isinstance(body, dict) or not isinstance(
        body.get("encounters", [] if others else None), list
    ):
        raise ApiError(
            400, "bad_request", _('The body must be an object with an "encounters" list.')
        )
    for key, value in others.items():
        if not isinstance(value, list):
            raise ApiError(400, "bad_request", _('"%(key)s" must be a list.', key=key))
    records = body.get("encounters", [])
    # The limit counts every kind together.
    if len(records) + sum(map(len, others.values())) > config["SYNC_MAX_RECORDS"]:
        raise ApiError(
            413,
            "too_many_records",
            _("Send at most %(max)d records at a time.", max=config["SYNC_MAX_RECORDS"]),
        )
    verdict = ratelimit.hit(f"sync-user:{current_user.id}", config["SYNC_RATE_PER_MINUTE"], 60)
    if not verdict.allowed:
        raise ApiError(
            429,
            "rate_limited",
            _("Too many sync requests. Waiting before trying again."),
            {"Retry-After": str(verdict.retry_after)},
        )
    _spend_record_budget(len(records) + sum(map(len, others.values())))
    answer = {"results": []}
    if records or not others:
        outcome = ingest_batch(records, worker_id=current_user.id, author=current_user.username)
        answer["results"] = outcome.results
    for key, records_of_kind in others.items():
        answer[key] = RECORD_KINDS[key](records_of_kind, current_user.id, current_user.username)
    return jsonify(answer)


def _spend_record_budget(sent: int) -> None:
    """Count the records this request carries against the account's budget; 429 past it.

    Requests are limited per minute too, but a request carries up to 500 records: without a
    budget counted in records one account could send tens of thousands a minute, each to be
    voided by hand. The budget (``SYNC_RECORD_BUDGET`` per ``SYNC_RECORD_BUDGET_WINDOW_SECONDS``)
    sits far above a real shift; the phone keeps its records and sends them after the wait.
    """
    if not sent:
        return
    config = current_app.config
    budget = int(config["SYNC_RECORD_BUDGET"])
    verdict = ratelimit.hit(
        f"sync-records:{current_user.id}",
        budget,
        int(config["SYNC_RECORD_BUDGET_WINDOW_SECONDS"]),
        amount=sent,
    )
    if not verdict.allowed:
        raise ApiError(
            429,
            "record_budget",
            _(
                "This account has sent more than %(budget)d records in a short time. "
                "They stay on the phone and go later.",
                budget=budget,
            ),
            {"Retry-After": str(verdict.retry_after)},
        )
