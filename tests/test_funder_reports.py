"""Funder reports: templates are checked, figures equal a recount, small counts stay hidden."""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

import pytest
import sqlalchemy as sa
import yaml

from outreach.extensions import db
from outreach.funder.definitions import TEMPLATE_DIR
from outreach.funder.definitions import TemplateError
from outreach.funder.definitions import load_directory
from outreach.funder.definitions import parse_template
from outreach.models import AuditEvent
from outreach.models import ReferralType
from outreach.models import SupplyItem
from tests.conftest import csrf_token_from
from tests.conftest import make_encounter

THRESHOLD = 11
NOW = datetime(2026, 11, 20, 18, tzinfo=UTC)
# The generic template's categories on the seeded catalogue, written out by hand.
SYRINGES = ("syringe_1ml_27g", "syringe_1ml_28g")
NALOXONE_DOSES = {"naloxone_nasal": 2, "naloxone_injectable": 1}
REFERRALS = {
    "referrals_substance_use_treatment": ("moud", "detox"),
    "referrals_medical_care": ("medical_care", "wound_care"),
}
CSV_URL = "/reports/funder?template=generic_ssp_quarterly&format=csv"


def _noon(day: date) -> str:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC).isoformat()


def _records(seed: int) -> tuple[list[dict], list[dict]]:
    """June to September 2026 in one zone, every month with enough of everything to show."""
    rng = random.Random(seed)
    encounters, overdoses = [], []
    for month in (6, 7, 8, 9):
        for n in range(rng.randrange(36, 48)):
            day = date(2026, month, rng.randrange(1, 29))
            supplies = {"syringe_1ml_27g": rng.randrange(1, 40)}
            for key in ("syringe_1ml_28g", *NALOXONE_DOSES, "fentanyl_test_strip"):
                if rng.random() < 0.6:
                    supplies[key] = rng.randrange(1, 4)
            # June's codes come back later; codes 30..59 are new in the quarter.
            code = f"P{rng.randrange(30) if month == 6 else rng.randrange(60)}"
            grams = rng.choice((0, 0, 50, 120))
            encounters.append(
                make_encounter(
                    occurred_at=_noon(day).replace("12:00", f"12:{n % 60:02d}"),
                    zone="downtown",
                    participant_code=code,
                    people_served=rng.randrange(1, 4),
                    supplies=supplies,
                    syringes_collected=rng.randrange(0, 30),
                    syringes_collected_weight={"value": grams / 1000, "unit": "kg"}
                    if grams
                    else None,
                    naloxone_reversals_reported=rng.randrange(0, 2) + (n % 2),
                    referrals=[k for k in ("moud", "detox", "wound_care") if rng.random() < 0.6],
                )
            )
        for n in range(rng.randrange(24, 30)):
            overdoses.append(
                {
                    "id": str(uuid.uuid4()),
                    "occurred_at": _noon(date(2026, month, 1 + n % 27)),
                    "zone": "downtown",
                    "naloxone_doses": rng.randrange(1, 4),
                    "given_by": ["worker"],
                    "ems_called": "yes",
                    "outcome": "alive" if n % 2 else "transported",
                }
            )
    return encounters, overdoses


def _post(sync_api, encounters, overdoses=()) -> None:
    for index in range(0, max(len(encounters), len(overdoses)), 200):
        body = {"encounters": encounters[index : index + 200]}
        if overdoses:
            body["overdose_responses"] = list(overdoses[index : index + 200])
        response = sync_api.client.post(
            "/api/v1/sync", json=body, headers={"X-CSRFToken": sync_api.token}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert {r["status"] for r in response.get_json()["results"]} <= {"created"}


def _csv_row(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert len(rows) == 1
    return rows[0]


def _recount(encounters, overdoses, start: date, end: date, per_pound: int) -> dict[str, int]:
    """Every generic field straight from the records sent (brute force, no roll-ups)."""

    def day(record) -> date:
        return datetime.fromisoformat(record["occurred_at"]).date()

    chosen = [e for e in encounters if start <= day(e) <= end]
    before = {e["participant_code"] for e in encounters if day(e) < start}
    codes = {e["participant_code"] for e in chosen}
    grams = sum(
        round(e["syringes_collected_weight"]["value"] * 1000)
        for e in chosen
        if e["syringes_collected_weight"]
    )
    responses = [o for o in overdoses if start <= day(o) <= end]

    def supply(keys, weights=None):
        return sum(
            q * (weights[k] if weights else 1)
            for e in chosen
            for k, q in e["supplies"].items()
            if k in keys
        )

    figures = {
        "unique_participants": len(codes),
        "new_participants": len(codes - before),
        "encounters": len(chosen),
        "people_served": sum(e["people_served"] for e in chosen),
        "syringes_distributed": supply(SYRINGES),
        "syringes_collected": sum(e["syringes_collected"] for e in chosen)
        + round(grams * per_pound / 453.59237),
        "naloxone_kits": supply(NALOXONE_DOSES),
        "naloxone_doses": supply(NALOXONE_DOSES, NALOXONE_DOSES),
        "overdose_responses": len(responses),
        "naloxone_doses_in_responses": sum(o["naloxone_doses"] for o in responses),
        "overdose_reversals": sum(e["naloxone_reversals_reported"] for e in chosen)
        + sum(o["outcome"] == "alive" for o in responses),
        "fentanyl_test_strips": supply(("fentanyl_test_strip",)),
        "referrals_testing_and_prevention": 0,
        "referrals_mental_health": 0,
        "referrals_social_services": 0,
    }
    for name, keys in REFERRALS.items():
        figures[name] = sum(1 for e in chosen for k in e["referrals"] if k in keys)
    return figures


def _people_as_published(encounters, start: date, end: date) -> dict[str, str]:
    """Unique and new participants as the participant rule publishes them, worked out from
    the records by brute force (docs/privacy.md, "New and returning participants")."""

    def day(record) -> date:
        return datetime.fromisoformat(record["occurred_at"]).date()

    def counts(first: date, last: date) -> tuple[int, int]:
        codes = {e["participant_code"] for e in encounters if first <= day(e) <= last}
        before = {e["participant_code"] for e in encounters if day(e) < first}
        return len(codes), len(codes & before)

    def small(n: int) -> bool:
        return 1 <= n < THRESHOLD

    if end >= NOW.date():
        return {"unique_participants": "suppressed", "new_participants": "suppressed"}
    participants, returning = counts(start, end)
    new = participants - returning
    months = []
    cursor = start
    while cursor <= end:
        following = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
        months.append(counts(cursor, following - timedelta(days=1)))
        cursor = following
    months_shown = all(not small(p - r) and not small(r) for p, r in months)
    new_shown = months_shown and not small(returning)
    all_new = not any(day(e) < start for e in encounters)
    if small(participants):
        unique = f"<{THRESHOLD}"
    elif (all_new and not new_shown) or (len(months) > 1 and months_shown and small(returning)):
        unique = "suppressed"
    else:
        unique = str(participants)
    shown_new = str(new) if new_shown else f"<{THRESHOLD}" if small(new) else "suppressed"
    return {"unique_participants": unique, "new_participants": shown_new}


@pytest.mark.parametrize("seed", [1, 2])
def test_figures_equal_a_recount_of_the_records(
    app, sync_api, supervisor_client, fixed_clock, seed
):
    fixed_clock(NOW)
    encounters, overdoses = _records(seed)
    _post(sync_api, encounters, overdoses)
    periods = [
        ("q3", date(2026, 7, 1), date(2026, 9, 30)),
        ("m08", date(2026, 8, 1), date(2026, 8, 31)),
        ("year", date(2026, 1, 1), date(2026, 12, 31)),
    ]
    for choice, start, end in periods:
        row = _csv_row(supervisor_client.get(f"{CSV_URL}&period={choice}&year=2026"))
        expected = {k: str(v) for k, v in _recount(encounters, overdoses, start, end, 281).items()}
        expected |= _people_as_published(encounters, start, end)
        assert row["period_start"] == start.isoformat() and row["period_end"] == end.isoformat()
        assert {name: row[name] for name in expected} == expected, choice


def test_small_counts_are_hidden_and_hide_the_quarter(
    app, sync_api, supervisor_client, fixed_clock
):
    fixed_clock(NOW)
    many = [
        make_encounter(
            occurred_at=_noon(date(2026, 7, 2 + n % 20)),
            zone="downtown",
            participant_code=f"C{n}",
            supplies={"syringe_1ml_27g": 10},
            referrals=[],
            naloxone_reversals_reported=0,
        )
        for n in range(30)
    ]
    few = [
        make_encounter(
            occurred_at=_noon(date(2026, 8, 3)),
            zone="downtown",
            participant_code="C1",
            supplies={"syringe_1ml_27g": 10},
            referrals=[],
            naloxone_reversals_reported=0,
        )
        for _ in range(3)
    ]
    _post(sync_api, many + few)
    august = _csv_row(supervisor_client.get(f"{CSV_URL}&period=m08&year=2026"))
    assert august["encounters"] == "suppressed"
    assert august["syringes_distributed"] == "suppressed"
    assert august["unique_participants"] == f"<{THRESHOLD}"
    assert august["overdose_reversals"] == "0"  # zeros are never hidden
    quarter = _csv_row(supervisor_client.get(f"{CSV_URL}&period=q3&year=2026"))
    # The quarter adds August's hidden total: it is hidden too, whatever July shows.
    assert quarter["encounters"] == quarter["people_served"] == "suppressed"
    # August's new and returning are hidden (one returning participant), so the quarter's new
    # is too; nobody was seen before July, so the quarter's participants are its new
    # participants, and are hidden with them.
    assert quarter["new_participants"] == quarter["unique_participants"] == "suppressed"
    assert august["new_participants"] == "0" or august["new_participants"] == "suppressed"
    page = supervisor_client.get(
        "/reports/funder?template=generic_ssp_quarterly&period=m08&year=2026"
    ).get_data(as_text=True)
    assert "not shown" in page and f"fewer than {THRESHOLD}" in page
    assert ">3<" not in page


def test_admin_mapping_changes_the_figures(
    app, sync_api, admin_client, supervisor_client, fixed_clock
):
    fixed_clock(NOW)
    records = [
        make_encounter(
            occurred_at=_noon(date(2026, 7, 1 + n)),
            zone="downtown",
            supplies={"syringe_1ml_27g": 10, "syringe_1ml_28g": 5, "cooker": 2},
            referrals=["housing"],
        )
        for n in range(20)
    ]
    _post(sync_api, records)
    url = f"{CSV_URL}&period=m07&year=2026"
    before = _csv_row(supervisor_client.get(url))
    assert before["syringes_distributed"] == "300"
    assert before["referrals_social_services"] == "20"
    with app.app_context():
        ids = dict(db.session.execute(sa.select(SupplyItem.key, SupplyItem.id)).all())
        housing = db.session.scalar(sa.select(ReferralType.id).where(ReferralType.key == "housing"))
    page = admin_client.get("/admin/funder/generic_ssp_quarterly")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    form = {"csrf_token": csrf_token_from(html)}
    for name in [f"supplies_{i}" for i in ids.values()] + [f"referrals_{housing}"]:
        assert f'name="{name}"' in html
    # Keep every default, then: the 28G syringe out, cookers in, housing to medical care.
    defaults = supervisor_defaults(html)
    form.update(defaults)
    form[f"supplies_{ids['syringe_1ml_28g']}"] = ""
    form[f"supplies_{ids['cooker']}"] = "syringes"
    form[f"referrals_{housing}"] = "medical_care"
    saved = admin_client.post("/admin/funder/generic_ssp_quarterly", data=form)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    after = _csv_row(supervisor_client.get(url))
    assert after["syringes_distributed"] == str(200 + 40)
    assert after["referrals_social_services"] == "0"
    assert after["referrals_medical_care"] == "20"
    with app.app_context():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "funder.mapping")
        )
        assert event.target_id == "generic_ssp_quarterly"
        assert event.details["supplies:syringe_1ml_28g"] == ["syringes", ""]
        assert event.details["referrals:housing"] == ["social_services", "medical_care"]
    # The other template keeps its own defaults.
    other = _csv_row(
        supervisor_client.get(
            "/reports/funder?template=cdph_ssp_annual&format=csv&period=m07&year=2026"
        )
    )
    assert other["syringes_dispensed"] == "300"
    bad = admin_client.post(
        "/admin/funder/generic_ssp_quarterly",
        data={**form, f"referrals_{housing}": "no_such_category"},
    )
    assert bad.status_code == 400


def supervisor_defaults(html: str) -> dict[str, str]:
    """The selected option of every select on the mapping page."""
    import re

    chosen = {}
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        selected = re.search(r'<option selected value="([^"]*)"', body) or re.search(
            r'<option value="([^"]*)" selected', body
        )
        chosen[name] = selected.group(1) if selected else ""
    return chosen


def test_roles(client, worker_client, supervisor_client, admin_client):
    # An HTML page, not the JSON API: signed out, it sends the visitor to sign in and back.
    signed_out = client.get("/reports/funder")
    assert signed_out.status_code == 302
    assert signed_out.headers["Location"] == "/login?next=/reports/funder"
    assert worker_client.get("/reports/funder").status_code == 403
    assert worker_client.get(CSV_URL).status_code == 403
    assert supervisor_client.get("/reports/funder").status_code == 200
    assert supervisor_client.get("/admin/funder").status_code == 403
    assert admin_client.get("/admin/funder").status_code == 200
    assert admin_client.get("/admin/funder/no_such_template").status_code == 404


def test_page_in_spanish_and_bad_choices(supervisor_client):
    page = supervisor_client.get(
        "/reports/funder?template=generic_ssp_quarterly&period=q1&year=2026&lang=es"
    ).get_data(as_text=True)
    assert "Participantes únicos" in page and "Jeringas distribuidas" in page
    default = supervisor_client.get("/reports/funder?lang=es")
    assert default.status_code == 200 and "Participantes únicos" in default.get_data(as_text=True)
    for query in ("period=q9&year=2026", "period=year&year=1990", "template=nope"):
        response = supervisor_client.get(f"/reports/funder?template=generic_ssp_quarterly&{query}")
        assert response.status_code == 400


def _template(**changes) -> dict:
    data = yaml.safe_load((TEMPLATE_DIR / "generic_ssp_quarterly.yaml").read_text())
    data.update(changes)
    return data


def _field(formula: str, name: str = "x") -> list[dict]:
    return [{"name": name, "label": "X", "description": "X", "formula": formula}]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_template(fields=_field("syringes_handed_out")), "unknown figure 'syringes_handed_out'"),
        (_template(fields=_field("supplies[category:needles]")), "unknown supplies category"),
        (_template(fields=_field("referrals[category:syringes]")), "unknown referrals category"),
        (_template(fields=_field("encounters +")), "ends where a figure name was expected"),
        (_template(fields=_field("encounters * 2")), "unexpected '* 2'"),
        (_template(fields=_field("__import__('os')")), "unexpected"),
        (_template(fields=_field("participants + encounters")), "cannot be added"),
        (_template(fields=_field("supplies")), "write supplies[category:NAME]"),
        (_template(fields=_field("encounters[category:syringes]")), "has no categories"),
        (_template(fields=_field("encounters") * 2), "used twice"),
        (_template(periods=["fortnight"]), "'fortnight' is not one of"),
        (_template(colour="red"), "unknown key 'colour'"),
        (_template(key="Bad Key"), "'key' must be"),
        (_template(fields=[{"name": "x", "formula": "encounters"}]), "field x.label"),
    ],
)
def test_bad_templates_fail_to_load_with_a_clear_message(data, message):
    with pytest.raises(TemplateError) as raised:
        parse_template(data, "bad.yaml")
    assert message in str(raised.value)
    assert str(raised.value).startswith("bad.yaml")


def test_shipped_templates_load_and_a_broken_file_stops_the_load(tmp_path):
    shipped = load_directory(TEMPLATE_DIR)
    assert {"generic_ssp_quarterly", "cdph_ssp_annual"} <= set(shipped)
    assert "cdph.ca.gov" in shipped["cdph_ssp_annual"].source
    (tmp_path / "a.yaml").write_text((TEMPLATE_DIR / "generic_ssp_quarterly.yaml").read_text())
    (tmp_path / "b.yaml").write_text("key: [unclosed")
    with pytest.raises(TemplateError, match=r"b\.yaml: not valid YAML"):
        load_directory(tmp_path)
    (tmp_path / "b.yaml").write_text((TEMPLATE_DIR / "generic_ssp_quarterly.yaml").read_text())
    with pytest.raises(TemplateError, match="used twice"):
        load_directory(tmp_path)


def test_a_template_is_reported_only_by_its_periods(supervisor_client):
    from dataclasses import replace

    from outreach.funder.definitions import load_templates

    templates = load_templates()
    shipped = templates["cdph_ssp_annual"]
    templates["cdph_ssp_annual"] = replace(shipped, periods=("year",))
    try:
        url = "/reports/funder?template=cdph_ssp_annual&year=2026&period="
        assert supervisor_client.get(url + "year").status_code == 200
        refused = supervisor_client.get(url + "q2")
        assert refused.status_code == 400
        assert "not reported by that period" in refused.get_data(as_text=True)
    finally:
        templates["cdph_ssp_annual"] = shipped
