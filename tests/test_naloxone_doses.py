"""Naloxone counted as funders count it: kits and doses (units x doses per unit, per item)."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import UTC
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import SupplyItem
from outreach.reports.catalog import load_catalog
from tests.conftest import csrf_token_from
from tests.conftest import make_encounter


def _today(app):
    return datetime.now(UTC).astimezone(ZoneInfo(app.config["PROGRAM_TIMEZONE"])).date()


def _set_doses(app, key: str, doses: int) -> None:
    with app.app_context():
        item = db.session.scalar(sa.select(SupplyItem).where(SupplyItem.key == key))
        item.doses_per_unit = doses
        db.session.commit()


def _send(sync_api, records) -> None:
    results = sync_api.post(records).get_json()["results"]
    assert {r["status"] for r in results} == {"created"}, results


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))


def _recount(app) -> tuple[int, int]:
    """Naloxone kits and doses straight from the stored records (voided ones left out)."""
    with app.app_context():
        kits, doses = db.session.execute(
            sa.text(
                "SELECT COALESCE(SUM(s.quantity), 0),"
                " COALESCE(SUM(s.quantity * i.doses_per_unit), 0)"
                " FROM encounter_supply s JOIN supply_item i ON i.id = s.item_id"
                " JOIN encounter e ON e.id = s.encounter_id"
                " WHERE i.is_naloxone AND e.voided_at IS NULL"
            )
        ).one()
    return int(kits), int(doses)


def test_seeded_nasal_kit_holds_two_doses_and_other_items_one(app):
    with app.app_context():
        doses = dict(db.session.execute(sa.select(SupplyItem.key, SupplyItem.doses_per_unit)).all())
    assert doses["naloxone_nasal"] == 2
    assert doses["naloxone_injectable"] == 1
    assert doses["syringe_1ml_27g"] == 1


def test_migration_gives_existing_nasal_kits_two_doses(app):
    from flask_migrate import downgrade
    from flask_migrate import upgrade

    _set_doses(app, "naloxone_injectable", 3)
    with app.app_context():
        downgrade(revision="0003_trust")
        upgrade()
        doses = dict(db.session.execute(sa.select(SupplyItem.key, SupplyItem.doses_per_unit)).all())
    # The nasal kit gets its two doses from its key; every other item starts at 1.
    assert (doses["naloxone_nasal"], doses["naloxone_injectable"]) == (2, 1)


def test_doses_are_units_times_doses_per_unit_item_by_item(app):
    _set_doses(app, "naloxone_injectable", 3)
    _set_doses(app, "syringe_1ml_27g", 5)  # not naloxone: never counted as doses
    with app.app_context():
        catalog = load_catalog()
        ids = {item.key: item.id for item in catalog.items}
        totals = {
            ids["naloxone_nasal"]: 4,
            ids["naloxone_injectable"]: 2,
            ids["syringe_1ml_27g"]: 7,
        }
        assert catalog.naloxone_doses(totals) == 4 * 2 + 2 * 3
        assert catalog.naloxone_doses({ids["syringe_1ml_27g"]: 7}) == 0
        assert catalog.naloxone_doses({}) == 0


def test_figures_and_exports_equal_a_recount(app, supervisor_client, sync_api):
    _set_doses(app, "naloxone_injectable", 3)
    rng = random.Random(15)
    records = []
    for _ in range(40):
        supplies = {"syringe_1ml_27g": rng.randint(1, 30)}
        for key in ("naloxone_nasal", "naloxone_injectable"):
            if rng.random() < 0.6:
                supplies[key] = rng.randint(1, 4)
        records.append(
            make_encounter(zone=rng.choice(["riverside", "downtown", None]), supplies=supplies)
        )
    _send(sync_api, records)
    kits, doses = _recount(app)
    assert doses > kits > 0
    today = _today(app)
    body = supervisor_client.get(f"/reports/summary.json?start={today}&end={today}").get_json()
    assert body["naloxone"] == {"kits": kits, "doses": doses}
    page = supervisor_client.get(f"/reports?start={today}&end={today}").get_data(as_text=True)
    shown = re.search(r"Naloxone doses given</dt><dd>([\d,]+)</dd>", page)
    assert shown and int(shown.group(1).replace(",", "")) == doses
    rows = _csv(supervisor_client.get(f"/reports/export.csv?period=day&start={today}&end={today}"))
    totals = {
        row["measure"]: int(row["value"])
        for row in rows
        if row["measure"] in ("naloxone_kits", "naloxone_doses") and row["zone"] == "all"
    }
    assert totals == {"naloxone_kits": kits, "naloxone_doses": doses}
    # Per zone too: each zone's row equals that zone's recount.
    with app.app_context():
        by_zone = dict(
            db.session.execute(
                sa.text(
                    "SELECT COALESCE(z.key, 'none'), SUM(s.quantity * i.doses_per_unit)"
                    " FROM encounter_supply s JOIN supply_item i ON i.id = s.item_id"
                    " JOIN encounter e ON e.id = s.encounter_id"
                    " LEFT JOIN zone z ON z.id = e.zone_id"
                    " WHERE i.is_naloxone GROUP BY COALESCE(z.key, 'none')"
                )
            ).all()
        )
    exported = {
        row["zone"]: int(row["value"])
        for row in rows
        if row["measure"] == "naloxone_doses" and row["zone"] != "all"
    }
    assert exported == {zone: int(value) for zone, value in by_zone.items()}


def test_shareable_kits_and_doses_hide_whatever_an_item_hides(app, supervisor_client, sync_api):
    # Riverside: 12 nasal encounters (publishable) and 2 injectable ones (hidden: fewer than
    # 11 encounters). Published kits would give the injectable figure back by subtraction.
    records = [make_encounter(zone="riverside", supplies={"naloxone_nasal": 1}) for _ in range(12)]
    records += [
        make_encounter(zone="riverside", supplies={"naloxone_injectable": 5}) for _ in range(2)
    ]
    records += [
        make_encounter(zone="downtown", supplies={"naloxone_nasal": 2, "naloxone_injectable": 1})
        for _ in range(12)
    ]
    _send(sync_api, records)
    month = _today(app).replace(day=1)
    rows = _csv(supervisor_client.get(f"/reports/export.csv?suppress=1&period=month&start={month}"))
    hidden = {
        (row["measure"], row["key"], row["period_start"], row["zone"], row["row"])
        for row in rows
        if row["suppressed"] == "yes"
    }
    item_hidden = {
        cell[2:] for cell in hidden if cell[0] == "supplies" and cell[1].startswith("naloxone")
    }
    assert ("supplies", "naloxone_injectable", month.isoformat(), "riverside", "detail") in hidden
    for measure in ("naloxone_kits", "naloxone_doses"):
        derived_hidden = {cell[2:] for cell in hidden if cell[0] == measure}
        assert item_hidden <= derived_hidden, measure
    # Nothing hidden is printed.
    assert all(row["value"] == "" for row in rows if row["suppressed"] == "yes")


def test_admin_edits_doses_per_unit(app, admin_client):
    with app.app_context():
        item_id = db.session.scalar(
            sa.select(SupplyItem.id).where(SupplyItem.key == "naloxone_injectable")
        )
    url = f"/admin/catalog/supplies/{item_id}"
    page = admin_client.get(url).get_data(as_text=True)
    assert 'name="doses_per_unit"' in page

    def post(doses):
        token = csrf_token_from(admin_client.get(url).get_data(as_text=True))
        return admin_client.post(
            url,
            data={
                "csrf_token": token,
                "key": "naloxone_injectable",
                "name": "Naloxone injectable",
                "unit": "kit",
                "category": "overdose",
                "quick_amounts": "1 2 4",
                "is_naloxone": "y",
                "doses_per_unit": doses,
            },
        )

    assert post("3").status_code == 302
    for bad in ("0", "101", "two", "1.5"):
        assert post(bad).status_code == 400, bad
    with app.app_context():
        item = db.session.get(SupplyItem, item_id)
        assert item.doses_per_unit == 3
