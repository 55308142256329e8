"""Directory business logic: links, queries and saving.

Opening hours are in ``hours``, CSV import and export in ``transfer``. No request or session
access here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import orm as so

from outreach.auth.services import record_audit
from outreach.directory.hours import normalise_hours
from outreach.extensions import db
from outreach.models import DirectoryService
from outreach.models import ReferralType
from outreach.models import User
from outreach.models import directory_service_referral
from outreach.models import utcnow

ACCESS_CHOICES = ("walk_in", "appointment", "both")
# Field lengths follow the model's columns.
MAX_LENGTHS = {"name": 160, "address": 255, "phone": 40, "languages": 120}
NOTES_MAX_LENGTH = 4000

_PHONE_EXTENSION = re.compile(r"(?i)\s*(?:ext\.?|x)\s*(\d+)\s*$")


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
        "referral_types": [t.key for t in sorted_types(service.referral_types)],
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


def sorted_types(types: list[ReferralType]) -> list[ReferralType]:
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


def apply_values(service: DirectoryService, values: ServiceValues, types_by_key: dict) -> list[str]:
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


def referral_types_by_key() -> dict[str, ReferralType]:
    return {t.key: t for t in db.session.scalars(sa.select(ReferralType))}


def save_service(
    service: DirectoryService | None, values: ServiceValues, actor: User | None
) -> DirectoryService:
    """Create (``service`` None) or update a service, with an audit event."""
    creating = service is None
    types_by_key = referral_types_by_key()
    if creating:
        service = DirectoryService()
    changed = apply_values(service, values, types_by_key)
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
        referral_keys=[t.key for t in sorted_types(service.referral_types)],
        address=service.address,
        phone=service.phone,
        languages=service.languages,
        access=service.access,
        hours=normalise_hours(service.hours),
        public_notes=service.public_notes,
        staff_notes=service.staff_notes,
        active=service.active,
    )
