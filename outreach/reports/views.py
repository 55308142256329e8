"""/reports: the dashboard, summary.json, CSV exports and voiding mistaken records."""

from __future__ import annotations

import uuid

import click
import sqlalchemy as sa
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request
from flask import url_for
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
from outreach.program_settings import syringes_per_pound
from outreach.reports import csvfile
from outreach.reports import dashboard
from outreach.reports import exports
from outreach.reports import periods
from outreach.reports.catalog import Catalog
from outreach.reports.catalog import load_catalog
from outreach.reports.encounter_list import recent_encounters
from outreach.reports.figures import ReportFilter
from outreach.reports.forms import EncounterListForm
from outreach.reports.forms import ExportForm
from outreach.reports.forms import ReportFilterForm
from outreach.reports.forms import choices
from outreach.reports.periods import PeriodError
from outreach.reports.void_view import confirm_and_void

bp = Blueprint("reports", __name__, url_prefix="/reports")

ENCOUNTERS_PER_PAGE = 50


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
    catalog = load_catalog()
    lang = current_lang()
    form = _filter_form(catalog, lang)
    today = periods.today()
    report, problem = _chosen_report(form, catalog, today)
    threshold = current_app.config["SUPPRESSION_THRESHOLD"]
    if report is None:
        # Keep what was typed, with the message beside it; show no figures for a period
        # nobody asked for.
        if problem:
            form.end.errors = [*form.end.errors, problem]
        view = None
    else:
        form.start.data = form.start.data or report.start
        form.end.data = form.end.data or report.end
        view = dashboard.build(report, catalog, lang, today, threshold, syringes_per_pound())
    return (
        render_template(
            "reports/index.html",
            form=form,
            export_form=ExportForm(formdata=None),
            view=view,
            report=report,
            catalog=catalog,
            threshold=threshold,
            filtered_by=_filter_names(report, catalog, lang) if report else [],
        ),
        200 if report else 400,
    )


def _filter_form(catalog: Catalog, lang: str) -> ReportFilterForm:
    form = ReportFilterForm(formdata=request.args or None)
    form.zone.choices = _zone_choices(catalog, _("All zones"))
    form.worker.choices = _worker_choices()
    form.item.choices = choices(
        [("", _("All items"))] + [(item.key, item.display_name(lang)) for item in catalog.items]
    )
    return form


def _chosen_report(
    form: ReportFilterForm, catalog: Catalog, today
) -> tuple[ReportFilter | None, str | None]:
    """The report the filters ask for, or (None, why not) when they cannot be used."""
    if not request.args:
        return ReportFilter(
            *periods.preset_range(periods.DEFAULT_PRESET, today), reader_id=current_user.id
        ), None
    if not form.validate():
        return None, None
    try:
        if form.preset.data == "custom":
            if not form.start.data or not form.end.data:
                raise PeriodError(_("Choose both dates for a custom period."))
            start, end = form.start.data, form.end.data
            periods.check(start, end)
        else:
            start, end = periods.preset_range(form.preset.data, today)
        item_id = next(
            (i.id for i in catalog.items if form.item.data and i.key == form.item.data), None
        )
        return (
            ReportFilter(
                start,
                end,
                zone_id=_zone_id(catalog, form.zone.data),
                worker_id=int(form.worker.data) if form.worker.data else None,
                item_id=item_id,
                reader_id=current_user.id,
            ),
            None,
        )
    except PeriodError as error:
        return None, str(error)


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
    """The period's figures as JSON (the shape README documents)."""
    catalog = load_catalog()
    try:
        start, end = periods.resolve(
            request.args.get("start"), request.args.get("end"), periods.today()
        )
        zone_id = _zone_id(catalog, request.args.get("zone"))
    except PeriodError as error:
        return _bad_parameters(str(error))
    threshold = current_app.config["SUPPRESSION_THRESHOLD"]
    payload = dashboard.summary_payload(
        ReportFilter(start, end, zone_id, reader_id=current_user.id),
        catalog,
        threshold,
        syringes_per_pound(),
    )
    return jsonify(payload)


def _csv_response(body, filename: str) -> Response:
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/export.csv")
@role_required(Role.SUPERVISOR)
def export():
    """Aggregates by period and zone; suppress=1 for the shareable file (by month)."""
    period = request.args.get("period", periods.MONTH)
    if period not in (periods.DAY, periods.WEEK, periods.MONTH):
        return _bad_parameters(_("period must be day, week or month."))
    try:
        start, end = periods.resolve(
            request.args.get("start"), request.args.get("end"), periods.today()
        )
    except PeriodError as error:
        return _bad_parameters(str(error))
    catalog, lang = load_catalog(), current_lang()
    threshold = current_app.config["SUPPRESSION_THRESHOLD"]
    if request.args.get("suppress") in ("1", "y", "true", "yes", "on"):
        try:
            start, end, text = exports.shareable_export(
                start, end, period, threshold, catalog, lang, current_user.id
            )
        except exports.ExportError as error:
            return _bad_parameters(str(error))
        return _csv_response(
            csvfile.in_request(text), f"outreach-shareable-{period}-{start}-{end}.csv"
        )
    start, end, text = exports.internal_export(
        start, end, period, threshold, catalog, lang, current_user.id
    )
    # Streamed: the header leaves at once, the rows a chunk at a time (never whole in memory).
    return _csv_response(csvfile.in_request(text), f"outreach-internal-{period}-{start}-{end}.csv")


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
    body = csvfile.in_request(exports.records_export(start, end, load_catalog()))
    return _csv_response(body, f"outreach-records-{start}-{end}.csv")


@bp.get("/encounters")
@role_required(Role.SUPERVISOR)
def encounters():
    """Recent encounters to find one logged by mistake; no participant data is shown."""
    catalog = load_catalog()
    form = EncounterListForm(formdata=request.args or None)
    form.zone.choices = _zone_choices(catalog, _("All zones"), with_none=True)
    form.worker.choices = _worker_choices()
    page = max(1, request.args.get("page", 1, type=int))
    rows: list = []
    status = 200
    if request.args and not form.validate():
        status = 400
    else:
        rows = recent_encounters(
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
    return confirm_and_void(
        db.session.get(Encounter, encounter_id),
        lambda reason: voids.void_encounter(encounter_id, reason, current_user),
        template="reports/void.html",
        back=url_for("reports.encounters", **_list_args()),
        done=_("The record is voided. It no longer counts in any report."),
        catalog=load_catalog(),
        reasons=voids.VOID_REASONS,
        timezone=current_app.config["PROGRAM_TIMEZONE"],
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
