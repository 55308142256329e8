"""/reports: the dashboard, summary.json, CSV exports and voiding mistaken records."""

from __future__ import annotations

import uuid
from datetime import UTC
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import stream_with_context
from flask import url_for
from flask_babel import format_datetime
from flask_babel import format_decimal
from flask_babel import format_percent
from flask_babel import gettext as _
from flask_login import current_user

from outreach.auth import role_required
from outreach.database import write_transaction
from outreach.encounters import rollups
from outreach.encounters import voids
from outreach.extensions import db
from outreach.i18n import current_lang
from outreach.models import NO_ZONE
from outreach.models import Encounter
from outreach.models import Role
from outreach.models import User
from outreach.reports import dashboard
from outreach.reports import periods
from outreach.reports import queries
from outreach.reports import services
from outreach.reports.forms import EncounterListForm
from outreach.reports.forms import ExportForm
from outreach.reports.forms import ReportFilterForm
from outreach.reports.forms import VoidForm
from outreach.reports.forms import choices
from outreach.reports.periods import PeriodError
from outreach.reports.queries import ReportFilter

bp = Blueprint("reports", __name__, url_prefix="/reports")

ENCOUNTERS_PER_PAGE = 50


@bp.app_template_filter("number")
def _number_filter(value) -> str:
    return format_decimal(value)


@bp.app_template_filter("program_time")
def _program_time_filter(moment) -> str:
    """A stored (naive UTC) time, shown on the program's clock."""
    zone = ZoneInfo(current_app.config["PROGRAM_TIMEZONE"])
    return format_datetime(moment.replace(tzinfo=UTC).astimezone(zone), "medium", rebase=False)


@bp.app_template_filter("percent")
def _percent_filter(value) -> str:
    return format_percent(value, "#,##0%")


def _zone_choices(catalog, everything_label: str, with_none: bool = False) -> list:
    lang = current_lang()
    options = [("", everything_label)]
    options += [(zone.key, zone.display_name(lang)) for zone in catalog.zones]
    if with_none:
        options.append(("none", _("No zone")))
    return choices(options)


def _worker_choices() -> list:
    workers = db.session.scalars(sa.select(User).order_by(sa.func.lower(User.username)))
    return choices(
        [("", _("All workers"))]
        + [
            (str(u.id), u.username if u.active else _("%(name)s (deactivated)", name=u.username))
            for u in workers
        ]
    )


def _zone_id(catalog, key: str | None) -> int | None:
    if not key:
        return None
    if key == "none":
        return NO_ZONE
    zone = next((z for z in catalog.zones if z.key == key), None)
    if zone is None:
        raise PeriodError(_("There is no zone with the key %(key)s.", key=key[:64]))
    return zone.id


@bp.get("")
@role_required(Role.SUPERVISOR)
def index():
    """The dashboard: figures, charts and tables for a period."""
    catalog = queries.load_catalog()
    lang = current_lang()
    form = ReportFilterForm(formdata=request.args or None)
    form.zone.choices = _zone_choices(catalog, _("All zones"))
    form.worker.choices = _worker_choices()
    form.item.choices = choices(
        [("", _("All items"))] + [(item.key, item.display_name(lang)) for item in catalog.items]
    )
    today = periods.today()
    status = 200
    start, end = periods.preset_range(periods.DEFAULT_PRESET, today)
    filters = {}
    if request.args and not form.validate():
        status = 400
    elif request.args:
        try:
            if form.preset.data == "custom":
                if not form.start.data or not form.end.data:
                    raise PeriodError(_("Choose both dates for a custom period."))
                start, end = form.start.data, form.end.data
                periods.check(start, end)
            else:
                start, end = periods.preset_range(form.preset.data, today)
            filters = {
                "zone_id": _zone_id(catalog, form.zone.data),
                "worker_id": int(form.worker.data) if form.worker.data else None,
                "item_id": next(
                    (i.id for i in catalog.items if i.key == form.item.data and form.item.data),
                    None,
                ),
            }
        except PeriodError as error:
            form.end.errors = [*form.end.errors, str(error)]
            start, end = periods.preset_range(periods.DEFAULT_PRESET, today)
            status = 400
    report = ReportFilter(start, end, **filters)
    if not form.start.data:
        form.start.data = start
    if not form.end.data:
        form.end.data = end
    export_form = ExportForm(formdata=None)
    view = dashboard.build(report, catalog, lang, today)
    return (
        render_template(
            "reports/index.html",
            form=form,
            export_form=export_form,
            view=view,
            report=report,
            catalog=catalog,
            threshold=current_app.config["SUPPRESSION_THRESHOLD"],
            filtered_by=_filter_names(report, catalog, lang),
        ),
        status,
    )


def _filter_names(report: ReportFilter, catalog, lang: str) -> list[str]:
    names = []
    if report.zone_id is not None:
        zone = catalog.zone(report.zone_id)
        names.append(zone.display_name(lang) if zone else _("No zone"))
    if report.worker_id is not None:
        worker = db.session.get(User, report.worker_id)
        names.append(worker.username if worker else "?")
    if report.item_id is not None:
        item = catalog.item(report.item_id)
        names.append(item.display_name(lang) if item else "?")
    return names


def _bad_parameters(message: str):
    response = jsonify(error="bad_request", message=message)
    response.status_code = 400
    return response


@bp.get("/summary.json")
@role_required(Role.SUPERVISOR)
def summary():
    """The period's figures as JSON (DESIGN.md)."""
    catalog = queries.load_catalog()
    try:
        start, end = periods.resolve(
            request.args.get("start"), request.args.get("end"), periods.today()
        )
        zone_id = _zone_id(catalog, request.args.get("zone"))
    except PeriodError as error:
        return _bad_parameters(str(error))
    return jsonify(dashboard.summary_payload(ReportFilter(start, end, zone_id), catalog))


def _csv_response(body, filename: str) -> Response:
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/export.csv")
@role_required(Role.SUPERVISOR)
def export():
    """Aggregates by period, zone, item and referral type; suppress=1 to share."""
    period = request.args.get("period", "month")
    if period not in (queries.DAY, queries.WEEK, queries.MONTH):
        return _bad_parameters(_("period must be day, week or month."))
    try:
        start, end = periods.resolve(
            request.args.get("start"), request.args.get("end"), periods.today()
        )
    except PeriodError as error:
        return _bad_parameters(str(error))
    suppress = request.args.get("suppress") in ("1", "y", "true", "yes", "on")
    start, end, text = services.aggregate_export(
        start,
        end,
        period,
        suppress,
        current_app.config["SUPPRESSION_THRESHOLD"],
        queries.load_catalog(),
        current_lang(),
    )
    kind = "shareable" if suppress else "internal"
    return _csv_response(text, f"outreach-{kind}-{period}-{start}-{end}.csv")


@bp.get("/records.csv")
@role_required(Role.ADMIN)
def records():
    """Anonymous row-level records for evaluation (admins only; no codes, no hashes)."""
    try:
        start, end = periods.resolve(
            request.args.get("start"), request.args.get("end"), periods.today()
        )
    except PeriodError as error:
        return _bad_parameters(str(error))
    body = stream_with_context(services.records_export(start, end, queries.load_catalog()))
    return _csv_response(body, f"outreach-records-{start}-{end}.csv")


@bp.get("/encounters")
@role_required(Role.SUPERVISOR)
def encounters():
    """Recent encounters to find one logged by mistake; no participant data is shown."""
    catalog = queries.load_catalog()
    form = EncounterListForm(formdata=request.args or None)
    form.zone.choices = _zone_choices(catalog, _("All zones"), with_none=True)
    form.worker.choices = _worker_choices()
    page = max(1, request.args.get("page", 1, type=int))
    rows: list = []
    status = 200
    if request.args and not form.validate():
        status = 400
    else:
        rows = queries.recent_encounters(
            form.day.data,
            int(form.worker.data) if form.worker.data else None,
            _zone_id(catalog, form.zone.data),
            limit=ENCOUNTERS_PER_PAGE + 1,
            offset=(page - 1) * ENCOUNTERS_PER_PAGE,
        )
    args = {k: v for k, v in request.args.items() if k != "page"}
    return (
        render_template(
            "reports/encounters.html",
            form=form,
            rows=rows[:ENCOUNTERS_PER_PAGE],
            page=page,
            has_more=len(rows) > ENCOUNTERS_PER_PAGE,
            args=args,
            catalog=catalog,
            reasons=voids.VOID_REASONS,
            timezone=current_app.config["PROGRAM_TIMEZONE"],
        ),
        status,
    )


@bp.route("/encounters/<uuid:encounter_id>/void", methods=["GET", "POST"])
@role_required(Role.SUPERVISOR)
def void(encounter_id: uuid.UUID):
    """Confirm, then void one encounter with a reason."""
    encounter = db.session.get(Encounter, encounter_id)
    if encounter is None:
        abort(404)
    form = VoidForm()
    status = 200
    if encounter.voided_at is None and form.validate_on_submit():
        try:
            voids.void_encounter(encounter_id, form.reason.data, current_user)
        except voids.VoidError:
            flash(_("That record was voided already."), "warning")
        else:
            flash(_("The record is voided. It no longer counts in any report."), "info")
        return redirect(url_for("reports.encounters", **_list_args()))
    if request.method == "POST":
        status = 400 if encounter.voided_at is None else 409
    return (
        render_template(
            "reports/void.html",
            form=form,
            encounter=encounter,
            catalog=queries.load_catalog(),
            reasons=voids.VOID_REASONS,
            back=url_for("reports.encounters", **_list_args()),
            timezone=current_app.config["PROGRAM_TIMEZONE"],
        ),
        status,
    )


def _list_args() -> dict:
    keep = ("day", "worker", "zone", "page")
    return {k: v for k, v in request.args.items() if k in keep and v}


@bp.cli.command("rebuild")
def rebuild_command() -> None:
    """Recompute the report roll-ups from the encounters."""
    with write_transaction() as connection:
        rollups.rebuild(connection)
    click.echo("Report roll-ups rebuilt.")


@bp.cli.command("check")
def check_command() -> None:
    """Compare the report roll-ups with a fresh computation (changes nothing)."""
    with db.engine.connect() as connection, connection.begin() as transaction:
        kept = rollups.snapshot(connection)
        rollups.rebuild(connection)
        fresh = rollups.snapshot(connection)
        transaction.rollback()
    if kept != fresh:
        raise click.ClickException("The report roll-ups differ from the encounters: rebuild.")
    click.echo("Report roll-ups match the encounters.")
