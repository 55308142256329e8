"""The public referral directory: /directory and /directory/services.json."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request

from outreach.auth import role_required
from outreach.directory import display
from outreach.directory import hours
from outreach.directory import services
from outreach.i18n import current_lang
from outreach.models import Role
from outreach.pwa import offline_page
from outreach.pwa import public_path

bp = Blueprint("directory", __name__)


def service_entries(listing) -> list[dict]:
    """What the service macro renders: public fields and the open status (never staff notes:
    those reach signed-in staff through staff_notes_json, never a page that may be kept)."""
    now = datetime.now(UTC)
    timezone = display.program_timezone()
    entries = []
    for service in listing:
        public = services.public_service(service)
        status = hours.opening_status(public["hours"], now, timezone)
        entries.append(
            {
                **public,
                "status_text": display.status_text(status),
                "is_open": status.is_open,
                "access_label": display.ACCESS_LABELS.get(service.access, ""),
                "days": display.day_rows(public["hours"]),
                "has_hours": any(public["hours"].values()),
            }
        )
    return entries


def page_context() -> dict:
    """Shared by /directory and the referral cards: names, status words, the as-of date."""
    lang = current_lang()
    types = services.referral_types()
    return {
        "referral_types": types,
        "type_names": {t.key: t.display_name(lang) for t in types},
        "status_messages": display.status_messages(),
        "weekday_names": display.weekday_names(),
        "timezone": current_app.config["PROGRAM_TIMEZONE"],
        "as_of": display.as_of_text(services.directory_as_of()),
    }


@bp.get("/directory")
@offline_page
def index():
    """Local services, filterable by referral type; staff notes only for signed-in staff."""
    context = page_context()
    known = {t.key for t in context["referral_types"]}
    selected = request.args.get("type", "")
    if selected not in known:
        selected = ""
    entries = service_entries(services.list_services(selected or None))
    return render_template("directory/index.html", entries=entries, selected=selected, **context)


@bp.get("/directory/staff-notes.json")
@role_required(Role.WORKER)
def staff_notes_json():
    """Staff-only notes by service id, for signed-in staff; never stored by any cache.

    /directory is the same public page for everyone, so the service worker can keep it; the
    page fills these notes in while online.
    """
    response = jsonify(notes=services.staff_notes())
    response.headers["Cache-Control"] = "no-store, private"
    return response


@bp.get("/directory/services.json")
def services_json():
    """Active services for the phone app (the /log page); never the staff notes."""
    lang = current_lang()
    as_of = services.directory_as_of()
    return jsonify(
        {
            "as_of": as_of.isoformat(timespec="seconds") + "Z" if as_of else None,
            "timezone": current_app.config["PROGRAM_TIMEZONE"],
            "referral_types": [
                {"key": t.key, "name": t.display_name(lang)} for t in services.referral_types()
            ],
            "services": [services.public_service(s) for s in services.list_services()],
        }
    )


def offline_urls() -> list[str]:
    """Public directory URLs for the service worker to precache (fetch them signed out)."""
    urls = [public_path("directory.index")]
    urls += [public_path("directory.index", lang=lang) for lang in current_app.config["LANGUAGES"]]
    urls.append(public_path("directory.services_json"))
    return urls
