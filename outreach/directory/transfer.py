"""CSV import and export of the directory, one row per service, the same format both ways."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from dataclasses import field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm as so

from outreach.auth.services import record_audit
from outreach.directory.hours import DAYS
from outreach.directory.hours import HoursError
from outreach.directory.hours import format_day_hours
from outreach.directory.hours import normalise_hours
from outreach.directory.hours import parse_day_hours
from outreach.directory.services import ACCESS_CHOICES
from outreach.directory.services import MAX_LENGTHS
from outreach.directory.services import NOTES_MAX_LENGTH
from outreach.directory.services import ServiceValues
from outreach.directory.services import apply_values
from outreach.directory.services import referral_types_by_key
from outreach.directory.services import sorted_types
from outreach.extensions import db
from outreach.models import DirectoryService
from outreach.models import ReferralType
from outreach.models import User

CSV_COLUMNS = (
    "id",
    "name",
    "referral_types",
    "address",
    "phone",
    "languages",
    "access",
    *DAYS,
    "public_notes",
    "staff_notes",
    "active",
)
CSV_MAX_ROWS = 5000

_KEY_SPLIT = re.compile(r"[\s,;]+")
# A leading character that makes a spreadsheet treat a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# "+1 555 555 0100" stays readable; "-2+3" or "+1+1" would be computed, so they are escaped.
_PHONE_LIKE = re.compile(r"^\+\d[\d\s().-]*$")
_TRUE = {"", "yes", "y", "true", "1", "si", "sí", "active"}
_FALSE = {"no", "n", "false", "0", "inactive"}


@dataclass(frozen=True)
class RowError:
    """One problem in a CSV file: ``row`` as a spreadsheet numbers it (the header is 1)."""

    row: int
    column: str
    message: str


@dataclass
class ImportResult:
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def _escape_cell(value: str) -> str:
    """Keep spreadsheets from running a cell as a formula; phone numbers stay as they are."""
    if value.startswith("'") or (value.startswith(_FORMULA_START) and not _PHONE_LIKE.match(value)):
        return "'" + value
    return value


def _unescape_cell(value: str) -> str:
    return value[1:] if value.startswith("'") else value


def export_csv() -> str:
    """Every service (active or not) as CSV, one row each, in the import format."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    services = db.session.scalars(
        sa.select(DirectoryService)
        .options(so.selectinload(DirectoryService.referral_types))
        .order_by(DirectoryService.id)
    )
    for service in services:
        hours = normalise_hours(service.hours)
        cells = {
            "id": str(service.id),
            "name": service.name,
            "referral_types": " ".join(t.key for t in sorted_types(service.referral_types)),
            "address": service.address,
            "phone": service.phone,
            "languages": service.languages,
            "access": service.access,
            **{day: format_day_hours(hours[day]) for day in DAYS},
            "public_notes": service.public_notes,
            "staff_notes": service.staff_notes,
            "active": "yes" if service.active else "no",
        }
        writer.writerow([_escape_cell(cells[column]) for column in CSV_COLUMNS])
    return buffer.getvalue()


def decode_upload(data: bytes) -> str:
    """Text of an uploaded CSV: UTF-8 (with or without BOM), else Windows-1252 as spreadsheets
    on Windows save it."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _clean_row(
    number: int, cells: dict[str, str], known_types: set[str], existing_ids: set[int]
) -> tuple[int | None, ServiceValues | None, list[RowError]]:
    errors: list[RowError] = []

    def problem(column: str, message) -> None:
        errors.append(_row_error(number, column, message))

    service_id = None
    raw_id = cells["id"].strip()
    if raw_id:
        if not raw_id.isdigit():
            problem("id", _l("must be a whole number, or blank to add a new service"))
        elif int(raw_id) not in existing_ids:
            problem("id", _l("no service has id %(id)s; leave it blank to add one", id=raw_id))
        else:
            service_id = int(raw_id)

    text = {column: cells[column].strip() for column in ("name", "address", "phone", "languages")}
    if not text["name"]:
        problem("name", _l("is required"))
    for column, limit in MAX_LENGTHS.items():
        if len(text[column]) > limit:
            problem(column, _l("is longer than %(limit)d characters", limit=limit))

    keys = [key for key in _KEY_SPLIT.split(cells["referral_types"].strip()) if key]
    unknown = [key for key in keys if key not in known_types]
    if unknown:
        problem("referral_types", _l("unknown referral type: %(keys)s", keys=", ".join(unknown)))

    access = cells["access"].strip().lower().replace("-", "_").replace(" ", "_") or "walk_in"
    if access not in ACCESS_CHOICES:
        problem("access", _l("must be one of: %(choices)s", choices=", ".join(ACCESS_CHOICES)))

    hours = {}
    for day in DAYS:
        try:
            hours[day] = parse_day_hours(cells[day])
        except HoursError as error:
            problem(day, error)

    notes = {column: cells[column].strip() for column in ("public_notes", "staff_notes")}
    for column, value in notes.items():
        if len(value) > NOTES_MAX_LENGTH:
            problem(column, _l("is longer than %(limit)d characters", limit=NOTES_MAX_LENGTH))

    active_text = cells["active"].strip().lower()
    if active_text not in _TRUE | _FALSE:
        problem("active", _l("must be yes or no"))

    if errors:
        return service_id, None, errors
    values = ServiceValues(
        name=text["name"],
        referral_keys=list(dict.fromkeys(keys)),
        address=text["address"],
        phone=text["phone"],
        languages=text["languages"],
        access=access,
        hours=hours,
        public_notes=notes["public_notes"],
        staff_notes=notes["staff_notes"],
        active=active_text in _TRUE,
    )
    return service_id, values, []


def _row_error(row: int, column: str, message) -> RowError:
    # Messages are lazy translations; they are fixed in the language of the current request.
    return RowError(row, column, str(message))


def _header_errors(header: list[str]) -> list[RowError]:
    missing = [column for column in CSV_COLUMNS if column not in header]
    unknown = [name for name in header if name not in CSV_COLUMNS]
    repeated = sorted({name for name in header if header.count(name) > 1})
    errors = []
    if missing:
        errors.append(_row_error(1, "", _l("missing columns: %(names)s", names=", ".join(missing))))
    if unknown:
        errors.append(_row_error(1, "", _l("unknown columns: %(names)s", names=", ".join(unknown))))
    if repeated:
        errors.append(
            _row_error(1, "", _l("repeated columns: %(names)s", names=", ".join(repeated)))
        )
    return errors


def parse_csv(text: str) -> tuple[list[tuple[int | None, ServiceValues]], list[RowError]]:
    """Read and check every row; return the clean rows and every problem found."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        return [], [_row_error(1, "", _l("The file is empty."))]
    except csv.Error as error:
        return [], [_row_error(1, "", _l("Unreadable CSV: %(error)s", error=str(error)))]
    errors = _header_errors(header)
    if errors:
        return [], errors

    known_types = set(db.session.scalars(sa.select(ReferralType.key)))
    existing_ids = set(db.session.scalars(sa.select(DirectoryService.id)))
    rows: list[tuple[int | None, ServiceValues]] = []
    first_row_of_id: dict[int, int] = {}
    number = 1
    try:
        for record in reader:
            number += 1
            if not any(cell.strip() for cell in record):
                continue
            if number - 1 > CSV_MAX_ROWS:
                errors.append(
                    _row_error(number, "", _l("more than %(limit)d rows", limit=CSV_MAX_ROWS))
                )
                break
            if len(record) != len(header):
                message = _l(
                    "has %(found)d values but the header has %(expected)d",
                    found=len(record),
                    expected=len(header),
                )
                errors.append(_row_error(number, "", message))
                continue
            cells = {
                name: _unescape_cell(value) for name, value in zip(header, record, strict=True)
            }
            service_id, values, row_errors = _clean_row(number, cells, known_types, existing_ids)
            if service_id is not None:
                if service_id in first_row_of_id:
                    message = _l(
                        "id %(id)d is also on row %(row)d",
                        id=service_id,
                        row=first_row_of_id[service_id],
                    )
                    row_errors.append(_row_error(number, "id", message))
                first_row_of_id.setdefault(service_id, number)
            errors.extend(row_errors)
            if values is not None and not row_errors:
                rows.append((service_id, values))
    except csv.Error as error:
        errors.append(_row_error(number, "", _l("Unreadable CSV: %(error)s", error=str(error))))
    return rows, errors


def import_csv(text: str, actor: User | None) -> ImportResult:
    """Check every row, then apply all of them in one transaction, or none when any is wrong."""
    rows, errors = parse_csv(text)
    result = ImportResult(errors=errors)
    if errors:
        return result
    types_by_key = referral_types_by_key()
    try:
        for service_id, values in rows:
            if service_id is None:
                service = DirectoryService()
                apply_values(service, values, types_by_key)
                db.session.add(service)
                result.created += 1
            else:
                service = db.session.get(DirectoryService, service_id)
                if apply_values(service, values, types_by_key):
                    result.updated += 1
                else:
                    result.unchanged += 1
        db.session.flush()
        record_audit(
            actor,
            "directory.import",
            "directory_service",
            None,
            {"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return result
