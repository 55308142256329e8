"""Admin editing of the directory: forms, deactivation, audit, CSV export and import."""

from __future__ import annotations

import csv
import io
import re

import pytest
import sqlalchemy as sa

from outreach.directory import services as directory
from outreach.directory import transfer
from outreach.directory.demo import add_demo_services
from outreach.directory.hours import format_day_hours
from outreach.extensions import db
from outreach.models import AuditEvent
from outreach.models import DirectoryService
from tests.conftest import count_rows
from tests.conftest import csrf_token_from

HOURS_FIELDS = {f"hours_{d}": "" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def snapshot(app) -> list[dict]:
    """Every service's data, comparable across export and import."""
    with app.app_context():
        db.session.expire_all()
        services = db.session.scalars(sa.select(DirectoryService).order_by(DirectoryService.id))
        return [{"id": s.id, **directory._service_snapshot(s)} for s in services]


def audit_actions(app) -> list[str]:
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id))
        return [action for action in actions if action.startswith("directory.")]


def post_form(client, path: str, data: dict, **kwargs):
    token = csrf_token_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def upload(client, text: str, filename: str = "directory.csv"):
    token = csrf_token_from(client.get("/admin/directory/import").get_data(as_text=True))
    return client.post(
        "/admin/directory/import",
        data={"csrf_token": token, "file": (io.BytesIO(text.encode("utf-8")), filename)},
        content_type="multipart/form-data",
    )


@pytest.fixture
def demo(app):
    with app.app_context():
        add_demo_services()


# --- Forms -----------------------------------------------------------------------------------


def test_admin_creates_a_service_with_hours_and_types(app, admin_client):
    response = post_form(
        admin_client,
        "/admin/directory/new",
        {
            "name": "Form Clinic",
            "referral_types": ["wound_care", "moud"],
            "address": "5 Form Street",
            "phone": "555-0150",
            "languages": "English",
            "access": "both",
            **HOURS_FIELDS,
            "hours_mon": "09:00-12:00, 13:00-17:00",
            "hours_fri": "22:00-02:00",
            "public_notes": "Public words",
            "staff_notes": "Staff words",
            "active": "y",
        },
    )
    assert response.status_code == 302
    [service] = snapshot(app)
    assert service["name"] == "Form Clinic"
    assert service["referral_types"] == ["moud", "wound_care"]
    assert service["hours"]["mon"] == [["09:00", "12:00"], ["13:00", "17:00"]]
    assert service["hours"]["fri"] == [["22:00", "02:00"]]
    assert service["hours"]["tue"] == []
    assert service["access"] == "both" and service["active"] is True
    assert audit_actions(app) == ["directory.create"]


def test_admin_form_reports_bad_hours_and_saves_nothing(app, admin_client):
    response = post_form(
        admin_client,
        "/admin/directory/new",
        {"name": "Bad Hours", "access": "walk_in", **HOURS_FIELDS, "hours_tue": "9 to 5"},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "9 to 5 is not a range like 09:00-17:00" in page
    assert count_rows(app, "directory_service") == 0


def test_admin_edits_a_service_and_the_audit_names_changed_fields(app, admin_client, demo):
    first = snapshot(app)[0]
    path = f"/admin/directory/{first['id']}/edit"
    page = admin_client.get(path).get_data(as_text=True)
    assert first["name"] in page and first["staff_notes"] in page
    data = {
        "name": first["name"],
        "referral_types": ["food"],
        "address": first["address"],
        "phone": "(555) 555-0177",
        "languages": first["languages"],
        "access": first["access"],
        **{f"hours_{d}": format_day_hours(r) for d, r in first["hours"].items()},
        "public_notes": first["public_notes"],
        "staff_notes": first["staff_notes"],
        "active": "y",
    }
    assert post_form(admin_client, path, data).status_code == 302
    after = snapshot(app)[0]
    assert after["phone"] == "(555) 555-0177"
    assert after["referral_types"] == ["food"]
    with app.app_context():
        event = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "directory.update")
        ).one()
        assert sorted(event.details["changed"]) == ["phone", "referral_types"]
        assert event.actor.username == "ada"


def test_admin_deactivates_after_confirming(app, admin_client, client, demo):
    first = snapshot(app)[0]
    path = f"/admin/directory/{first['id']}/deactivate"
    confirm = admin_client.get(path)
    assert confirm.status_code == 200
    assert "Deactivate" in confirm.get_data(as_text=True)
    assert snapshot(app)[0]["active"] is True, "a GET must not change anything"
    assert post_form(admin_client, path, {}).status_code == 302
    assert snapshot(app)[0]["active"] is False
    assert first["name"] not in client.get("/directory").get_data(as_text=True)
    assert "directory.deactivate" in audit_actions(app)


def test_admin_pages_are_never_cached(admin_client, demo):
    for path in ("/admin/directory/", "/admin/directory/export.csv"):
        assert admin_client.get(path).headers["Cache-Control"] == "no-store, private"


def test_admin_page_links_back_to_admin_only_when_it_exists(admin_client):
    page = admin_client.get("/admin/directory/").get_data(as_text=True)
    assert ('href="/admin"' in page) == ("admin.index" in admin_client.application.view_functions)


# --- CSV -------------------------------------------------------------------------------------


def export(admin_client) -> str:
    response = admin_client.get("/admin/directory/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return response.get_data(as_text=True)


def test_csv_round_trip_restores_the_same_data(app, admin_client, demo):
    before = snapshot(app)
    text = export(admin_client)
    # The admin export is the full record, staff notes included.
    assert "Ask for the duty nurse" in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(before)
    assert rows[0]["id"] == str(before[0]["id"])
    # Change the directory, then import the export: everything is as it was.
    with app.app_context():
        service = db.session.get(DirectoryService, before[0]["id"])
        service.name = "Renamed"
        service.hours = {}
        service.referral_types = []
        service.active = False
        db.session.commit()
    response = upload(admin_client, text)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert snapshot(app) == before
    assert audit_actions(app)[-1] == "directory.import"
    # Importing it again changes nothing.
    upload(admin_client, text)
    assert snapshot(app) == before


def test_csv_import_with_blank_ids_adds_the_same_services(app, admin_client, demo):
    before = snapshot(app)
    text = export(admin_client)
    with app.app_context():
        db.session.execute(sa.delete(DirectoryService))
        db.session.commit()
    rows = list(csv.reader(io.StringIO(text)))
    for row in rows[1:]:
        row[0] = ""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    assert upload(admin_client, buffer.getvalue()).status_code == 302
    after = snapshot(app)
    strip = [{k: v for k, v in s.items() if k != "id"} for s in before]
    assert [{k: v for k, v in s.items() if k != "id"} for s in after] == strip


def test_csv_export_neutralises_spreadsheet_formulas_and_round_trips_them(app, admin_client):
    with app.app_context():
        directory.save_service(
            None,
            directory.ServiceValues(
                name='=HYPERLINK("http://evil.example","x")',
                phone="+1 555 555 0100",
                public_notes="-2+3",
                staff_notes="'quoted",
            ),
            None,
        )
    before = snapshot(app)
    text = export(admin_client)
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["name"].startswith("'=")
    assert row["phone"] == "+1 555 555 0100"
    assert row["public_notes"] == "'-2+3"
    assert row["staff_notes"] == "''quoted"
    assert upload(admin_client, text).status_code == 302
    assert snapshot(app) == before


BAD_CSV_HEADER = ",".join(transfer.CSV_COLUMNS)


def _row(**cells) -> str:
    values = {column: "" for column in transfer.CSV_COLUMNS}
    values.update({"name": "Fine Place", "access": "walk_in", "active": "yes"}, **cells)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([values[c] for c in transfer.CSV_COLUMNS])
    return buffer.getvalue()


def test_csv_import_reports_every_bad_row_and_imports_nothing(app, admin_client, demo):
    before = snapshot(app)
    events_before = audit_actions(app)
    text = (
        BAD_CSV_HEADER
        + "\n"
        + _row(name="Good Row", referral_types="food")  # row 2: fine
        + _row(name="")  # row 3
        + _row(referral_types="food not_a_type")  # row 4
        + _row(tue="9 to 5")  # row 5
        + _row(access="sometimes")  # row 6
        + _row(active="maybe")  # row 7
        + _row(id="99999")  # row 8
        + _row(id=str(before[0]["id"]))  # row 9: fine on its own
        + _row(id=str(before[0]["id"]))  # row 10: same id again
        + "too,few,values\n"  # row 11
    )
    response = upload(admin_client, text)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>', page)
    found = {(int(row), column) for row, column, _problem in rows}
    assert found == {
        (3, "name"),
        (4, "referral_types"),
        (5, "tue"),
        (6, "access"),
        (7, "active"),
        (8, "id"),
        (10, "id"),
        (11, "—"),
    }
    problems = {(int(row), column): problem for row, column, problem in rows}
    assert "not_a_type" in problems[(4, "referral_types")]
    assert "9 to 5" in problems[(5, "tue")]
    assert "row 9" in problems[(10, "id")]
    assert "8 problems found. Nothing was imported" in page
    assert snapshot(app) == before
    assert audit_actions(app) == events_before


def test_csv_import_rejects_a_file_with_wrong_columns(app, admin_client):
    response = upload(admin_client, "name,phone,colour\nX,555,red\n")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "missing columns: id, referral_types" in page
    assert "unknown columns: colour" in page
    assert count_rows(app, "directory_service") == 0


def test_csv_import_rejects_an_empty_file_and_other_extensions(app, admin_client):
    assert "The file is empty." in upload(admin_client, "").get_data(as_text=True)
    other = upload(admin_client, BAD_CSV_HEADER + "\n", filename="directory.xlsx")
    assert other.status_code == 422
    assert "Choose a file ending in .csv." in other.get_data(as_text=True)


def test_csv_import_reads_a_spreadsheets_bom_and_windows_encoding(app, admin_client):
    text = BAD_CSV_HEADER + "\r\n" + _row(name="Clínica Peña", languages="Español")
    token = csrf_token_from(admin_client.get("/admin/directory/import").get_data(as_text=True))
    for data in (b"\xef\xbb\xbf" + text.encode("utf-8"), text.encode("cp1252")):
        with app.app_context():
            db.session.execute(sa.delete(DirectoryService))
            db.session.commit()
        response = admin_client.post(
            "/admin/directory/import",
            data={"csrf_token": token, "file": (io.BytesIO(data), "d.csv")},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302
        assert [s["name"] for s in snapshot(app)] == ["Clínica Peña"]


def test_csv_import_is_all_or_nothing_when_the_database_fails(app, monkeypatch):
    text = BAD_CSV_HEADER + "\n" + _row(name="First") + _row(name="Second")
    calls = {"n": 0}
    original = transfer.apply_values

    def failing_apply(service, values, types):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return original(service, values, types)

    monkeypatch.setattr(transfer, "apply_values", failing_apply)
    with app.app_context(), pytest.raises(RuntimeError):
        transfer.import_csv(text, None)
    assert count_rows(app, "directory_service") == 0
    assert count_rows(app, "audit_event") == 0


def test_csv_export_is_audited(app, admin_client):
    export(admin_client)
    assert audit_actions(app) == ["directory.export"]
