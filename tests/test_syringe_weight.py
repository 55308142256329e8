"""Syringes collected by weight: the contract, grams stored, and estimated counts in reports."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import UTC
from datetime import datetime
from decimal import ROUND_HALF_UP
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from outreach.encounters.contract import to_grams
from outreach.extensions import db
from outreach.models import AuditEvent
from outreach.models import Encounter
from outreach.program_settings import estimated_syringes
from tests.conftest import csrf_token_from
from tests.conftest import make_encounter
from tests.test_report_rollups import _kept_and_rebuilt


def _today(app):
    return datetime.now(UTC).astimezone(ZoneInfo(app.config["PROGRAM_TIMEZONE"])).date()


def _half_up(value: Fraction) -> int:
    return int(Decimal(value.numerator) / Decimal(value.denominator) + Decimal("0.5"))


@pytest.mark.parametrize(
    ("value", "unit", "grams"),
    [
        (1, "kg", 1000),
        (2.5, "kg", 2500),
        (1.1, "kg", 1100),  # read as written, not as the nearest binary float
        (0.0125, "kg", 13),  # 12.5 g: halves round up
        (1, "lb", 454),  # 453.59237 g
        (0.5, "lb", 227),  # 226.796185 g
        (0.01, "lb", 5),  # the lightest weight taken: 4.5359237 g
        (500, "lb", 226796),  # 226,796.185 g
    ],
)
def test_weights_become_whole_grams_half_up(value, unit, grams):
    assert to_grams(value, unit) == grams


def test_estimated_syringes_are_grams_over_a_pound_times_the_factor_half_up():
    assert estimated_syringes(0, 281) == 0
    assert estimated_syringes(454, 281) == 281  # 281.25
    assert estimated_syringes(1000, 281) == 619  # 619.49
    assert estimated_syringes(1000, 100) == 220  # 220.46
    # A value exactly half way rounds up: 453.59237 g is 1 lb, so x.5 lb at 1 per pound.
    for grams in range(1, 3000, 37):
        exact = Fraction(grams) * 281 / Fraction("453.59237")
        assert estimated_syringes(grams, 281) == int(exact + Fraction(1, 2)), grams


def test_phones_send_weight_or_count_and_the_server_stores_grams(app, sync_api):
    old_style = make_encounter(syringes_collected=12)
    by_kg = make_encounter(
        syringes_collected=0, syringes_collected_weight={"value": 1.5, "unit": "kg"}
    )
    by_lb = make_encounter(
        syringes_collected=3, syringes_collected_weight={"value": 2, "unit": "lb"}
    )
    no_weight = make_encounter(syringes_collected_weight=None)
    results = sync_api.post([old_style, by_kg, by_lb, no_weight]).get_json()["results"]
    assert [r["status"] for r in results] == ["created"] * 4
    with app.app_context():
        stored = dict(
            db.session.execute(sa.select(Encounter.id, Encounter.syringes_collected_grams)).all()
        )
    assert {str(k): v for k, v in stored.items()} == {
        old_style["id"]: 0,
        by_kg["id"]: 1500,
        by_lb["id"]: 907,  # 907.18474 g
        no_weight["id"]: 0,
    }
    kept, rebuilt = _kept_and_rebuilt(app)
    assert kept == rebuilt


@pytest.mark.parametrize(
    ("weight", "field"),
    [
        ({"value": 0, "unit": "kg"}, "syringes_collected_weight.value"),
        ({"value": -1, "unit": "lb"}, "syringes_collected_weight.value"),
        ({"value": 0.001, "unit": "kg"}, "syringes_collected_weight.value"),
        ({"value": 501, "unit": "kg"}, "syringes_collected_weight.value"),
        ({"value": "2", "unit": "kg"}, "syringes_collected_weight.value"),
        ({"value": True, "unit": "kg"}, "syringes_collected_weight.value"),
        ({"value": None, "unit": "kg"}, "syringes_collected_weight.value"),
        ({"unit": "kg"}, "syringes_collected_weight.value"),
        ({"value": 2, "unit": "g"}, "syringes_collected_weight.unit"),
        ({"value": 2, "unit": "KG"}, "syringes_collected_weight.unit"),
        ({"value": 2}, "syringes_collected_weight.unit"),
        (2, "syringes_collected_weight"),
        ("2 kg", "syringes_collected_weight"),
        ([2, "kg"], "syringes_collected_weight"),
    ],
)
def test_bad_weights_are_rejected_per_record_with_a_message(app, sync_api, weight, field):
    good = make_encounter()
    bad = make_encounter(syringes_collected_weight=weight)
    results = sync_api.post([bad, good]).get_json()["results"]
    assert results[1]["status"] == "created"
    assert results[0]["status"] == "rejected"
    assert field in results[0]["errors"], results[0]
    assert "kg" in results[0]["errors"][field] and "500" in results[0]["errors"][field]


def test_weight_messages_are_translated(app, worker_client):
    token = worker_client.get("/api/v1/session").get_json()["csrf_token"]
    bad = make_encounter(syringes_collected_weight={"value": 0, "unit": "kg"})
    answer = worker_client.post(
        "/api/v1/sync?lang=es", json={"encounters": [bad]}, headers={"X-CSRFToken": token}
    ).get_json()["results"][0]
    message = answer["errors"]["syringes_collected_weight.value"]
    assert "jeringas" in message.lower(), message


def test_openapi_documents_the_weight(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    weight = schemas["Encounter"]["properties"]["syringes_collected_weight"]
    assert {"$ref": "#/components/schemas/CollectedWeight"} in weight["anyOf"]
    assert schemas["CollectedWeight"]["properties"]["unit"]["enum"] == ["kg", "lb"]
    assert schemas["CollectedWeight"]["properties"]["value"]["maximum"] == 500


def _set_factor(admin_client, value):
    token = csrf_token_from(admin_client.get("/admin/settings").get_data(as_text=True))
    return admin_client.post(
        "/admin/settings", data={"csrf_token": token, "syringes_per_pound": value}
    )


def test_reports_show_counted_estimated_and_their_sum_equal_to_a_recount(
    app, supervisor_client, admin_client, sync_api
):
    rng = random.Random(15)
    records = []
    for _ in range(30):
        extra = {}
        if rng.random() < 0.6:
            extra["syringes_collected_weight"] = {
                "value": rng.choice([rng.randint(1, 20), round(rng.uniform(0.01, 30), 3)]),
                "unit": rng.choice(["kg", "lb"]),
            }
        records.append(
            make_encounter(
                syringes_collected=rng.randint(0, 50),
                zone=rng.choice(["riverside", "downtown", None]),
                **extra,
            )
        )
    assert {r["status"] for r in sync_api.post(records).get_json()["results"]} == {"created"}
    grams = sum(
        int(
            (
                Decimal(repr(r["syringes_collected_weight"]["value"]))
                * Decimal("1000" if r["syringes_collected_weight"]["unit"] == "kg" else "453.59237")
            ).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        )
        for r in records
        if "syringes_collected_weight" in r
    )
    counted = sum(r["syringes_collected"] for r in records)
    today = _today(app)
    for factor in (281, 300):
        if factor != 281:
            assert _set_factor(admin_client, factor).status_code == 302
        expected = _half_up(Fraction(grams) * factor / Fraction("453.59237"))
        body = supervisor_client.get(f"/reports/summary.json?start={today}&end={today}").get_json()
        assert body["syringes_collected"] == counted
        assert body["syringes_collected_by_weight"] == {
            "grams": grams,
            "syringes_per_pound": factor,
            "estimated_syringes": expected,
            "counted_and_estimated": counted + expected,
        }
        page = supervisor_client.get(f"/reports?start={today}&end={today}").get_data(as_text=True)
        shown = re.search(r"Syringes collected by weight \(estimated\)</dt><dd>([\d,]+)</dd>", page)
        assert shown and int(shown.group(1).replace(",", "")) == expected
        total = re.search(r"Syringes collected, counted and estimated</dt><dd>([\d,]+)</dd>", page)
        assert total and int(total.group(1).replace(",", "")) == counted + expected
    # Exports carry the exact grams (additive over days and zones), beside the counts.
    export = supervisor_client.get(f"/reports/export.csv?period=day&start={today}&end={today}")
    rows = list(csv.DictReader(io.StringIO(export.get_data().decode("utf-8-sig"), newline="")))
    assert [
        int(row["value"])
        for row in rows
        if row["measure"] == "syringes_collected_grams" and row["zone"] == "all"
    ] == [grams]
    # A worker filter reads the records instead of the roll-ups: the same figures.
    with app.app_context():
        worker_id = db.session.scalar(sa.select(Encounter.worker_id).limit(1))
    page = supervisor_client.get(f"/reports?start={today}&end={today}&worker={worker_id}")
    shown = re.search(
        r"Syringes collected by weight \(estimated\)</dt><dd>([\d,]+)</dd>",
        page.get_data(as_text=True),
    )
    assert shown and int(shown.group(1).replace(",", "")) == expected


def test_admin_sets_syringes_per_pound_and_it_is_audited(app, admin_client):
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert 'value="281"' in page
    for bad in ("0", "2001", "many", ""):
        assert _set_factor(admin_client, bad).status_code == 400, bad
    assert _set_factor(admin_client, "250").status_code == 302
    assert 'value="250"' in admin_client.get("/admin/settings").get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "settings.update")
        )
        assert event.details == {"syringes_per_pound": [281, 250]}
    assert admin_client.get("/admin/settings").headers["Cache-Control"] == "no-store"
