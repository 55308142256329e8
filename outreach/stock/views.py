"""/log/bag (the phone's bag screen, kept offline) and /reports/stock (supervisors), with
/reports/stock/events to void a stock event entered by mistake."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import Blueprint
from flask import Response
from flask import current_app
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from outreach import pwa
from outreach.auth import role_required
from outreach.encounters.voids import VOID_REASONS
from outreach.extensions import db
from outreach.i18n import current_lang
from outreach.models import Role
from outreach.models import StockEvent
from outreach.models import SupplyItem
from outreach.reports import periods
from outreach.reports.csvfile import safe_text
from outreach.reports.csvfile import write_csv
from outreach.reports.periods import PeriodError
from outreach.reports.void_view import confirm_and_void
from outreach.stock import services
from outreach.stock import voids
from outreach.stock.contract import ADJUSTMENT
from outreach.stock.contract import COUNT
from outreach.stock.contract import LOAD
from outreach.stock.contract import REASONS
from outreach.stock.forms import StockPeriodForm

EVENT_TYPE_NAMES = {LOAD: _l("Load-out"), COUNT: _l("Count"), ADJUSTMENT: _l("Adjustment")}

bp = Blueprint("stock", __name__)


def offline_urls() -> list[str]:
    return [url_for("stock.bag")]


def tracked_items(lang: str) -> list[dict]:
    """The active tracked items, in the catalogue's order, for the phone's pages."""
    items = db.session.scalars(
        sa.select(SupplyItem)
        .where(SupplyItem.active, SupplyItem.stock_tracked)
        .order_by(SupplyItem.sort_order, SupplyItem.name)
    )
    return [
        {"key": i.key, "name": i.display_name(lang), "low": i.low_stock_threshold} for i in items
    ]


@bp.get("/log/bag")
@pwa.offline_page
@role_required(Role.WORKER)
def bag():
    """Load the bag, count it at the end of a shift. Saved on the phone first, then sent."""
    return render_template("worker/bag.html", items=tracked_items(current_lang()), reasons=REASONS)


def _period(form: StockPeriodForm) -> tuple:
    today = periods.today()
    if not request.args:
        return periods.preset_range(periods.DEFAULT_PRESET, today)
    if not form.validate():
        raise PeriodError(_("Choose a period."))
    if form.preset.data == "custom":
        if not form.start.data or not form.end.data:
            raise PeriodError(_("Choose both dates for a custom period."))
        periods.check(form.start.data, form.end.data)
        return form.start.data, form.end.data
    return periods.preset_range(form.preset.data, today)


@bp.get("/reports/stock")
@role_required(Role.SUPERVISOR)
def report():
    """Per item: loaded, handed out, adjusted by reason; and what each bag holds now."""
    form = StockPeriodForm(formdata=request.args or None)
    try:
        start, end = _period(form)
    except PeriodError as error:
        form.end.errors = [*form.end.errors, str(error)]
        return render_template("reports/stock.html", form=form, view=None), 400
    form.start.data, form.end.data = form.start.data or start, form.end.data or end
    view = services.stock_report(start, end)
    if request.args.get("format") == "csv":
        return _csv(view)
    return render_template(
        "reports/stock.html",
        form=form,
        view=view,
        reasons=REASONS,
        lang=current_lang(),
        csv_url=url_for("stock.report", **{**request.args.to_dict(), "format": "csv"}),
    )


def _csv(view: services.StockReport) -> Response:
    """The item table, then one row per bag and item. Staff and items only: no participant
    counts, so nothing here is suppressed."""
    lang = current_lang()
    header = [
        _("Section"),
        _("Supply item"),
        _("Worker"),
        _("Loaded"),
        _("Handed out"),
        *(str(label) for label in REASONS.values()),
        _("No reason given"),
        _("In the bag now"),
    ]
    rows = []
    for row in view.items:
        rows.append(
            [
                _("Period %(start)s to %(end)s", start=view.start, end=view.end),
                safe_text(row.item.display_name(lang)),
                "",
                row.loaded,
                row.handed_out,
                *(row.adjusted.get(reason, 0) for reason in services.REPORT_REASONS),
                "",
            ]
        )
    names = {row.item.id: row.item.display_name(lang) for row in view.items}
    for bag in view.bags:
        for item_id, expected in bag.expected.items():
            rows.append(
                [_("Bags now"), safe_text(names.get(item_id, "?")), safe_text(bag.worker)]
                + [""] * (2 + len(services.REPORT_REASONS))
                + [expected]
            )
    response = Response(write_csv(rows, header), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="outreach-stock-{view.start}-{view.end}.csv"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _void_names() -> dict:
    return {
        "types": EVENT_TYPE_NAMES,
        "adjust_reasons": REASONS,
        "reasons": VOID_REASONS,
        "timezone": current_app.config["PROGRAM_TIMEZONE"],
        "lang": current_lang(),
    }


@bp.get("/reports/stock/events")
@role_required(Role.SUPERVISOR)
def events():
    """The latest stock events, each with a way to void it."""
    return render_template("reports/stock_events.html", rows=voids.recent(), **_void_names())


@bp.route("/reports/stock/events/<uuid:event_id>/void", methods=["GET", "POST"])
@role_required(Role.SUPERVISOR)
def void_event(event_id: uuid.UUID):
    """Confirm, then void one stock event with a reason."""
    return confirm_and_void(
        db.session.get(StockEvent, event_id),
        lambda reason: voids.void_stock_event(event_id, reason, current_user),
        template="reports/stock_event_void.html",
        back=url_for("stock.events"),
        done=_("The stock record is voided. No bag counts it any more."),
        **_void_names(),
    )
