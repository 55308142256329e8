"""Directory business logic: opening hours, queries, saving, and CSV import and export.

Hours are kept as ``{"mon": [["09:00", "17:00"]], ...}`` in PROGRAM_TIMEZONE wall-clock time.
A range whose end is not after its start runs past midnight into the next day ("22:00" to
"02:00"); "24:00" is allowed as an end and means midnight. No request or session access here.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm as so

from outreach.auth.services import record_audit
from outreach.extensions import db
from outreach.models import DirectoryService
from outreach.models import ReferralType
from outreach.models import User
from outreach.models import directory_service_referral
from outreach.models import utcnow

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ACCESS_CHOICES = ("walk_in", "appointment", "both")
MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY

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
# Field lengths follow the model's columns.
MAX_LENGTHS = {"name": 160, "address": 255, "phone": 40, "languages": 120}
NOTES_MAX_LENGTH = 4000

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_RANGE_SPLIT = re.compile(r"\s*[-\u2013\u2014]\s*")
_LIST_SPLIT = re.compile(r"[,;]")
_KEY_SPLIT = re.compile(r"[\s,;]+")
_PHONE_EXTENSION = re.compile(r"(?i)\s*(?:ext\.?|x)\s*(\d+)\s*$")
# A leading character that makes a spreadsheet treat a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# "+1 555 555 0100" stays readable; "-2+3" or "+1+1" would be computed, so they are escaped.
_PHONE_LIKE = re.compile(r"^\+\d[\d\s().-]*$")
_TRUE = {"", "yes", "y", "true", "1", "si", "sí", "active"}
_FALSE = {"no", "n", "false", "0", "inactive"}


class HoursError(ValueError):
    """Opening hours that cannot be read; the message says what is wrong."""


# --- Opening hours --------------------------------------------------------------------------


def _minutes(text: str, *, is_end: bool) -> int:
    match = _TIME.match(text.strip())
    if not match:
        raise HoursError(_l("%(value)s is not a time like 09:00", value=text.strip()))
    hours, minutes = int(match.group(1)), int(match.group(2))
    total = hours * 60 + minutes
    if minutes > 59 or total > MINUTES_PER_DAY or (total == MINUTES_PER_DAY and not is_end):
        raise HoursError(_l("%(value)s is not a time like 09:00", value=text.strip()))
    return total


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_day_hours(text: str) -> list[list[str]]:
    """``"09:00-12:00, 13:00-17:00"`` to ``[["09:00", "12:00"], ["13:00", "17:00"]]``.

    Blank (or "closed") means closed that day.
    """
    text = (text or "").strip()
    if not text or text.lower() in {"closed", "cerrado"}:
        return []
    ranges = []
    for part in _LIST_SPLIT.split(text):
        part = part.strip()
        if not part:
            continue
        pieces = _RANGE_SPLIT.split(part)
        if len(pieces) != 2:
            raise HoursError(_l("%(value)s is not a range like 09:00-17:00", value=part))
        start = _minutes(pieces[0], is_end=False)
        end = _minutes(pieces[1], is_end=True)
        if start == end:
            raise HoursError(
                _l("%(value)s starts and ends at the same time (use 00:00-24:00)", value=part)
            )
        ranges.append([_clock(start), _clock(end)])
    return ranges


def format_day_hours(ranges: list) -> str:
    """The inverse of ``parse_day_hours``: ``"09:00-12:00, 13:00-17:00"``; blank when closed."""
    return ", ".join(f"{start}-{end}" for start, end in ranges)


def normalise_hours(hours: dict | None) -> dict[str, list[list[str]]]:
    """Every weekday present, valid ranges only (stored data is never trusted blindly)."""
    clean: dict[str, list[list[str]]] = {}
    for day in DAYS:
        kept = []
        for item in (hours or {}).get(day) or []:
            try:
                kept.extend(parse_day_hours(f"{item[0]}-{item[1]}"))
            except (HoursError, TypeError, IndexError, KeyError):
                continue
        clean[day] = kept
    return clean


@dataclass(frozen=True)
class OpeningStatus:
    """Whether a service is open at a moment, and when that changes.

    ``state`` is "open", "closed" or "unknown" (no hours listed). Days count from the
    moment's own local day (0 = the same day, 1 = the next); weekdays are 0 = Monday.
    """

    state: str
    closes_at: str | None = None
    closes_in_days: int | None = None
    closes_weekday: int | None = None
    opens_at: str | None = None
    opens_in_days: int | None = None
    opens_weekday: int | None = None

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    @property
    def always_open(self) -> bool:
        return self.state == "open" and self.closes_at is None


def _week_intervals(hours: dict) -> list[tuple[int, int]]:
    """Opening intervals in minutes from Monday 00:00, merged, repeated a week either side."""
    raw = []
    clean = normalise_hours(hours)
    for index, day in enumerate(DAYS):
        for start_text, end_text in clean[day]:
            start = index * MINUTES_PER_DAY + _minutes(start_text, is_end=False)
            end = index * MINUTES_PER_DAY + _minutes(end_text, is_end=True)
            if end <= start:
                end += MINUTES_PER_DAY
            for shift in (-MINUTES_PER_WEEK, 0, MINUTES_PER_WEEK):
                raw.append((start + shift, end + shift))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(raw):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def opening_status(hours: dict, now: datetime, timezone: str | ZoneInfo) -> OpeningStatus:
    """Whether a service with these hours is open at ``now`` (an aware datetime).

    Hours are wall-clock times in ``timezone`` (PROGRAM_TIMEZONE). Ranges past midnight,
    closed days and several ranges a day are handled; a closing time at midnight is
    reported as "24:00" of the day it ends.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    tz = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
    local = now.astimezone(tz)
    current = local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute
    today = current // MINUTES_PER_DAY
    intervals = _week_intervals(hours)
    if not intervals:
        return OpeningStatus("unknown")
    for start, end in intervals:
        if start <= current < end:
            if end - start >= 3 * MINUTES_PER_WEEK:
                return OpeningStatus("open")
            # A close exactly at midnight belongs to the day before it ("24:00").
            day = (end - 1) // MINUTES_PER_DAY
            return OpeningStatus(
                "open",
                closes_at=_clock(end - day * MINUTES_PER_DAY),
                closes_in_days=day - today,
                closes_weekday=day % 7,
            )
    start = min(start for start, _end in intervals if start > current)
    day = start // MINUTES_PER_DAY
    return OpeningStatus(
        "closed",
        opens_at=_clock(start - day * MINUTES_PER_DAY),
        opens_in_days=day - today,
        opens_weekday=day % 7,
    )


# --- Links ----------------------------------------------------------------------------------


def tel_uri(phone: str) -> str | None:
    """A ``tel:`` link for a phone number as people write it, or None when it has no digits."""
    phone = (phone or "").strip()
    extension = ""
    match = _PHONE_EXTENSION.search(phone)
    if match:
        # A comma makes the phone pause, then dial the extension.
        extension = "," + match.group(1)
        phone = phone[: match.start()]
    digits = re.sub(r"[^\d]", "", phone)
    if len(digits) < 3:
        return None
    prefix = "+" if phone.startswith("+") else ""
    return f"tel:{prefix}{digits}{extension}"


def geo_uri(address: str) -> str | None:
    """A ``geo:`` link that opens the phone's own maps app on a search for the address."""
    address = " ".join((address or "").split())
    if not address:
        return None
    return "geo:0,0?q=" + quote(address, safe="")


# --- Queries --------------------------------------------------------------------------------


def referral_types(active_only: bool = True) -> list[ReferralType]:
    """Referral types in display order."""
    query = sa.select(ReferralType).order_by(ReferralType.sort_order, ReferralType.key)
    if active_only:
        query = query.where(ReferralType.active.is_(True))
    return list(db.session.scalars(query))


def find_referral_type(key: str) -> ReferralType | None:
    """An active referral type by key."""
    return db.session.scalar(
        sa.select(ReferralType).where(ReferralType.key == key, ReferralType.active.is_(True))
    )


def list_services(
    referral_key: str | None = None, include_inactive: bool = False
) -> list[DirectoryService]:
    """Services by name, optionally only those serving one referral type."""
    query = (
        sa.select(DirectoryService)
        .options(so.selectinload(DirectoryService.referral_types))
        .order_by(sa.func.lower(DirectoryService.name), DirectoryService.id)
    )
    if not include_inactive:
        query = query.where(DirectoryService.active.is_(True))
    if referral_key:
        query = query.where(DirectoryService.referral_types.any(ReferralType.key == referral_key))
    return list(db.session.scalars(query))


def service_counts() -> dict[str, int]:
    """How many active services serve each referral type, by key."""
    rows = db.session.execute(
        sa.select(ReferralType.key, sa.func.count(DirectoryService.id))
        .join(
            directory_service_referral,
            directory_service_referral.c.referral_type_id == ReferralType.id,
        )
        .join(DirectoryService, DirectoryService.id == directory_service_referral.c.service_id)
        .where(DirectoryService.active.is_(True))
        .group_by(ReferralType.key)
    )
    return {key: count for key, count in rows}


def staff_notes() -> dict[str, str]:
    """Staff-only notes of active services, by service id (as text, for JSON)."""
    rows = db.session.execute(
        sa.select(DirectoryService.id, DirectoryService.staff_notes).where(
            DirectoryService.active.is_(True), DirectoryService.staff_notes != ""
        )
    )
    return {str(service_id): notes for service_id, notes in rows}


def get_service(service_id: int) -> DirectoryService | None:
    return db.session.get(DirectoryService, service_id)


def directory_as_of() -> datetime | None:
    """When the directory last changed (naive UTC), or None when it is empty."""
    return db.session.scalar(sa.select(sa.func.max(DirectoryService.updated_at)))


def public_service(service: DirectoryService) -> dict:
    """What anyone may see about a service (never the staff notes)."""
    return {
        "id": service.id,
        "name": service.name,
        "referral_types": [t.key for t in _sorted_types(service.referral_types)],
        "address": service.address,
        "phone": service.phone,
        "tel": tel_uri(service.phone),
        "maps": geo_uri(service.address),
        "hours": normalise_hours(service.hours),
        "languages": service.languages,
        "access": service.access,
        "public_notes": service.public_notes,
        "updated_at": service.updated_at.isoformat(timespec="seconds") + "Z",
    }


def _sorted_types(types: list[ReferralType]) -> list[ReferralType]:
    return sorted(types, key=lambda t: (t.sort_order, t.key))


# --- Saving ---------------------------------------------------------------------------------


@dataclass
class ServiceValues:
    """Clean values for one service, from the admin form or a CSV row."""

    name: str
    referral_keys: list[str] = field(default_factory=list)
    address: str = ""
    phone: str = ""
    languages: str = ""
    access: str = "walk_in"
    hours: dict = field(default_factory=dict)
    public_notes: str = ""
    staff_notes: str = ""
    active: bool = True


def _service_snapshot(service: DirectoryService) -> dict:
    return {
        "name": service.name,
        "referral_types": sorted(t.key for t in service.referral_types),
        "address": service.address,
        "phone": service.phone,
        "languages": service.languages,
        "access": service.access,
        "hours": normalise_hours(service.hours),
        "public_notes": service.public_notes,
        "staff_notes": service.staff_notes,
        "active": service.active,
    }


def _apply(service: DirectoryService, values: ServiceValues, types_by_key: dict) -> list[str]:
    """Copy values onto the service; return the names of the fields that changed."""
    before = _service_snapshot(service) if service.id is not None else {}
    service.name = values.name
    service.referral_types = [types_by_key[key] for key in values.referral_keys]
    service.address = values.address
    service.phone = values.phone
    service.languages = values.languages
    service.access = values.access
    service.hours = normalise_hours(values.hours)
    service.public_notes = values.public_notes
    service.staff_notes = values.staff_notes
    service.active = values.active
    after = _service_snapshot(service)
    changed = [name for name, value in after.items() if before.get(name) != value]
    if changed:
        # Set by hand: a change to the referral types alone does not touch this row.
        service.updated_at = utcnow()
    return changed


def _types_by_key() -> dict[str, ReferralType]:
    return {t.key: t for t in db.session.scalars(sa.select(ReferralType))}


def save_service(
    service: DirectoryService | None, values: ServiceValues, actor: User | None
) -> DirectoryService:
    """Create (``service`` None) or update a service, with an audit event."""
    creating = service is None
    types_by_key = _types_by_key()
    if creating:
        service = DirectoryService()
    changed = _apply(service, values, types_by_key)
    db.session.add(service)
    db.session.flush()
    if creating:
        record_audit(
            actor, "directory.create", "directory_service", service.id, {"name": values.name}
        )
    elif changed:
        # Field names only: notes can be long and belong in the directory, not the log.
        record_audit(
            actor,
            "directory.update",
            "directory_service",
            service.id,
            {"name": values.name, "changed": changed},
        )
    db.session.commit()
    return service


def deactivate_service(service: DirectoryService, actor: User | None) -> None:
    """Hide a service from the public directory (it stays for the record and CSV)."""
    if not service.active:
        return
    service.active = False
    service.updated_at = utcnow()
    record_audit(
        actor, "directory.deactivate", "directory_service", service.id, {"name": service.name}
    )
    db.session.commit()


def values_from_service(service: DirectoryService) -> ServiceValues:
    return ServiceValues(
        name=service.name,
        referral_keys=[t.key for t in _sorted_types(service.referral_types)],
        address=service.address,
        phone=service.phone,
        languages=service.languages,
        access=service.access,
        hours=normalise_hours(service.hours),
        public_notes=service.public_notes,
        staff_notes=service.staff_notes,
        active=service.active,
    )


# --- CSV ------------------------------------------------------------------------------------


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
            "referral_types": " ".join(t.key for t in _sorted_types(service.referral_types)),
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
    types_by_key = _types_by_key()
    try:
        for service_id, values in rows:
            if service_id is None:
                service = DirectoryService()
                _apply(service, values, types_by_key)
                db.session.add(service)
                result.created += 1
            else:
                service = db.session.get(DirectoryService, service_id)
                if _apply(service, values, types_by_key):
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
