"""/reports/funder (supervisors) and /admin/funder (admins: where catalogue entries count)."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from outreach.auth import role_required
from outreach.funder import mapping as category_mapping
from outreach.funder import report as funder_report
from outreach.funder.definitions import Template
from outreach.funder.definitions import load_templates
from outreach.funder.forms import FunderReportForm
from outreach.funder.forms import mapping_form
from outreach.funder.forms import period_choices
from outreach.i18n import current_lang
from outreach.models import Role
from outreach.program_settings import syringes_per_pound
from outreach.reports import csvfile
from outreach.reports import periods
from outreach.reports.catalog import load_catalog
from outreach.reports.forms import choices

bp = Blueprint("funder", __name__, url_prefix="/reports/funder")
admin_bp = Blueprint("funder_admin", __name__, url_prefix="/admin/funder")

YEARS_BACK = 5


def _default_period(template: Template, today) -> tuple[str, int]:
    """The last whole period of the template's first kind before today."""
    kind = template.periods[0]
    if kind == funder_report.YEAR:
        return "year", today.year - 1
    if kind == funder_report.QUARTER:
        quarter = (today.month - 1) // 3
        return (f"q{quarter}", today.year) if quarter else ("q4", today.year - 1)
    return (f"m{today.month - 1:02d}", today.year) if today.month > 1 else ("m12", today.year - 1)


def _period(choice: str, year: int) -> funder_report.Period:
    if choice == "year":
        return funder_report.Period(funder_report.YEAR, year)
    kind = funder_report.QUARTER if choice[0] == "q" else funder_report.MONTH
    return funder_report.Period(kind, year, int(choice[1:]))


@bp.get("")
@role_required(Role.SUPERVISOR)
def index():
    """The report as a printable page, or as CSV (format=csv) in the template's field names."""
    templates = load_templates()
    lang = current_lang()
    today = periods.today()
    # Only the language asked for (the header's language links): the defaults.
    asked = any(name != "lang" for name in request.args)
    form = FunderReportForm(formdata=request.args if asked else None)
    form.template.choices = choices((t.key, t.name(lang)) for t in templates.values())
    form.period.choices = period_choices()
    years = range(today.year, today.year - YEARS_BACK - 1, -1)
    form.year.choices = choices((str(y), str(y)) for y in years)
    if not asked:
        first = next(iter(templates.values()))
        choice, year = _default_period(first, today)
        form.template.data, form.period.data, form.year.data = first.key, choice, str(year)
    elif not form.validate():
        return render_template("funder/report.html", form=form, result=None), 400
    template = templates[form.template.data]
    period = _period(form.period.data, int(form.year.data))
    if period.kind not in template.periods:
        form.period.errors = [_("This template is not reported by that period.")]
        return render_template("funder/report.html", form=form, result=None), 400
    catalog = load_catalog()
    threshold = current_app.config["SUPPRESSION_THRESHOLD"]
    result = funder_report.build(
        template,
        period,
        threshold,
        catalog,
        category_mapping.effective(template, catalog),
        syringes_per_pound(),
        lang,
        current_user.id,
    )
    if request.args.get("format") == "csv":
        response = current_app.response_class(_csv(result), mimetype="text/csv")
        filename = f"outreach-funder-{template.key}-{period.slug}.csv"
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        response.headers["Cache-Control"] = "no-store"
        return response
    csv_args = {**request.args, "template": template.key, "period": form.period.data}
    csv_args.update(year=form.year.data, format="csv")
    return render_template(
        "funder/report.html",
        form=form,
        result=result,
        template=template,
        lang=lang,
        csv_url=url_for("funder.index", **csv_args),
        statuses=funder_report,
    )


def _csv(result: funder_report.FunderReport) -> str:
    """One row: the period, then each field under the template's own name.

    Hidden figures are words, never a number: "<N" (fewer than N) or "suppressed" (a
    small count is part of it).
    """
    cells = []
    for item in result.results:
        if item.status == funder_report.SHOWN:
            cells.append(item.value)
        elif item.status == funder_report.FEWER_THAN:
            cells.append(f"<{result.threshold}")
        else:
            cells.append("suppressed")
    header = ["template", "period", "period_start", "period_end"]
    header += [item.field.name for item in result.results]
    period = result.period
    row = [result.template.key, period.slug, period.start.isoformat(), period.end.isoformat()]
    return csvfile.write_csv([row + cells], header)


# --- admin: categories ---------------------------------------------------------------------


@admin_bp.before_request
@role_required(Role.ADMIN)
def _admins_only():
    """Every page here is for admins."""
    return None


@admin_bp.get("")
def templates_index():
    """Every template, with a link to map the catalogue to its categories."""
    return render_template(
        "funder/admin_index.html", templates=load_templates().values(), lang=current_lang()
    )


@admin_bp.route("/<key>", methods=["GET", "POST"])
def template_mapping(key: str):
    """One template: a category (or none) for each supply item and referral type."""
    template = load_templates().get(key)
    if template is None:
        abort(404)
    lang = current_lang()
    catalog = load_catalog()
    current = category_mapping.effective(template, catalog)
    sections = []
    rows = []
    for catalogue, entries, title in (
        ("supplies", catalog.items, _("Supply items")),
        ("referrals", catalog.referral_types, _("Referral types")),
    ):
        categories = template.categories[catalogue]
        if not categories:
            continue
        options = [("", _("Not counted"))] + [(c.name, c.label(lang)) for c in categories.values()]
        names = []
        for entry in entries:
            name = f"{catalogue}_{entry.id}"
            label = entry.display_name(lang)
            if not entry.active:
                label = _("%(name)s (deactivated)", name=label)
            rows.append((name, label, options))
            names.append(name)
        sections.append((title, names))
    data = {
        f"{catalogue}_{entry_id}": category or ""
        for (catalogue, entry_id), category in current.items()
    }
    form = mapping_form(
        rows, formdata=request.form if request.method == "POST" else None, data=data
    )
    status = 200
    if form.validate_on_submit():
        chosen = {}
        for name, _label, _options in rows:
            catalogue, entry_id = name.rsplit("_", 1)
            chosen[(catalogue, int(entry_id))] = form[name].data or None
        changed = category_mapping.save(template, catalog, chosen, current_user)
        flash(_("Categories saved (%(n)d changed).", n=changed), "info")
        return redirect(url_for("funder_admin.template_mapping", key=key))
    if request.method == "POST":
        status = 400
    return (
        render_template(
            "funder/admin_mapping.html", template=template, form=form, sections=sections, lang=lang
        ),
        status,
    )
