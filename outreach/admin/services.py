"""Administration writes: accounts and catalogues. Every change lands in the audit log."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy import orm as so

from outreach import program_settings
from outreach.auth import find_user
from outreach.auth import services as auth_services
from outreach.auth.services import record_audit
from outreach.database import write_session
from outreach.extensions import db
from outreach.models import AuditEvent
from outreach.models import Encounter
from outreach.models import EncounterReferral
from outreach.models import EncounterSupply
from outreach.models import ReferralType
from outreach.models import Role
from outreach.models import SupplyItem
from outreach.models import User
from outreach.models import Zone

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Exports and filters use these words for "every zone" and "no zone".
RESERVED_KEYS = {"all", "none", "total"}
CATALOGS = {"supplies": SupplyItem, "referrals": ReferralType, "zones": Zone}
TARGET_TYPES = {SupplyItem: "supply_item", ReferralType: "referral_type", Zone: "zone"}
SUPPLY_FIELDS = (
    "unit",
    "category",
    "quick_amounts",
    "is_syringe",
    "is_naloxone",
    "doses_per_unit",
    "stock_tracked",
    "low_stock_threshold",
)
MAX_DOSES_PER_UNIT = 100
AUDIT_PAGE_SIZE = 50


class AdminError(ValueError):
    """An admin action that cannot be done; the message says why, for the admin."""


# --- accounts ------------------------------------------------------------------------------


def create_user(username: str, role: Role, password: str, actor: User) -> User:
    """Create an account (audited by the auth service)."""
    problem = auth_services.validate_password(password)
    if problem:
        raise AdminError(
            _("Use at least %(count)d characters.", count=auth_services.MIN_PASSWORD_LENGTH)
        )
    if find_user(username) is not None:
        raise AdminError(_("That username is taken."))
    try:
        return auth_services.create_user(username, role, password, actor=actor)
    except ValueError as error:
        raise AdminError(str(error)) from error


def change_role(user: User, role: Role, actor: User) -> None:
    """Give an account another role."""
    if user.role == role:
        return
    # Admins cannot demote or deactivate themselves, so one active admin always remains.
    if user.id == actor.id:
        raise AdminError(_("You cannot change your own role. Ask another admin."))
    with write_session():
        old = user.role
        user.role = role
        record_audit(
            actor,
            "user.role",
            "user",
            user.id,
            {"username": user.username, "from": old.key, "to": role.key},
        )


def set_user_active(user: User, active: bool, actor: User) -> None:
    """Deactivate (signing the account out everywhere) or reactivate an account."""
    if user.active == active:
        return
    if not active and user.id == actor.id:
        raise AdminError(_("You cannot deactivate your own account."))
    with write_session():
        user.active = active
        # A new session token ends every session of the account at its next request.
        user.rotate_session_token()
        record_audit(
            actor,
            "user.reactivate" if active else "user.deactivate",
            "user",
            user.id,
            {"username": user.username},
        )


def reset_password(user: User, password: str, actor: User) -> None:
    """Set a new password and sign the account out of every device."""
    problem = auth_services.validate_password(password)
    if problem:
        raise AdminError(
            _("Use at least %(count)d characters.", count=auth_services.MIN_PASSWORD_LENGTH)
        )
    with write_session():
        user.set_password(password)
        user.rotate_session_token()
        user.failed_logins = 0
        user.last_failed_login_at = None
        record_audit(actor, "user.password_reset", "user", user.id, {"username": user.username})


# --- catalogues ----------------------------------------------------------------------------


def entries(model) -> list:
    """Every entry of a catalogue in display order, deactivated ones included."""
    return list(db.session.scalars(sa.select(model).order_by(model.sort_order, model.id)))


def key_in_use(entry) -> bool:
    """Whether any encounter refers to this entry (its key can then never change)."""
    if isinstance(entry, SupplyItem):
        condition = sa.select(EncounterSupply.item_id).where(EncounterSupply.item_id == entry.id)
    elif isinstance(entry, ReferralType):
        condition = sa.select(EncounterReferral.referral_type_id).where(
            EncounterReferral.referral_type_id == entry.id
        )
    else:
        condition = sa.select(Encounter.id).where(Encounter.zone_id == entry.id)
    return bool(db.session.scalar(sa.select(condition.exists())))


def set_syringes_per_pound(value: int, actor: User) -> None:
    """Change the factor that turns a weight of collected syringes into a count."""
    if not 1 <= value <= program_settings.MAX_SYRINGES_PER_POUND:
        raise AdminError(
            _(
                "Syringes per pound is a whole number from 1 to %(max)d.",
                max=program_settings.MAX_SYRINGES_PER_POUND,
            )
        )
    with write_session():
        previous = program_settings.store_syringes_per_pound(value)
        if previous is not None:
            record_audit(
                actor,
                "settings.update",
                "program_setting",
                program_settings.SYRINGES_PER_POUND,
                {"syringes_per_pound": [previous, value]},
            )


def _check_key(model, key: str, entry=None) -> str:
    key = key.strip()
    if not KEY_PATTERN.match(key):
        raise AdminError(_("A key uses lowercase letters, digits and _ and starts with a letter."))
    if key in RESERVED_KEYS:
        raise AdminError(_("The key %(key)s is reserved. Choose another.", key=key))
    clash = db.session.scalar(sa.select(model).where(model.key == key))
    if clash is not None and clash is not entry:
        raise AdminError(_("Another entry already has the key %(key)s.", key=key))
    return key


def _clean_fields(model, fields: dict) -> dict:
    clean = {
        "name": fields["name"].strip(),
        "name_es": (fields.get("name_es") or "").strip() or None,
    }
    if not clean["name"]:
        raise AdminError(_("Give it a name."))
    if model is SupplyItem:
        amounts = (fields.get("quick_amounts") or "").split()
        if not amounts or not all(a.isdigit() and 1 <= int(a) <= 10_000 for a in amounts):
            raise AdminError(_("Quick amounts are whole numbers from 1 to 10,000, like 10 20 50."))
        doses = fields.get("doses_per_unit")
        doses = 1 if doses is None or doses == "" else doses
        whole = isinstance(doses, int) and not isinstance(doses, bool)
        if not whole or not 1 <= doses <= MAX_DOSES_PER_UNIT:
            raise AdminError(
                _("Doses per unit is a whole number from 1 to %(max)d.", max=MAX_DOSES_PER_UNIT)
            )
        clean.update(
            unit=(fields.get("unit") or "each").strip() or "each",
            category=(fields.get("category") or "other").strip() or "other",
            quick_amounts=" ".join(amounts),
            is_syringe=bool(fields.get("is_syringe")),
            is_naloxone=bool(fields.get("is_naloxone")),
            doses_per_unit=doses,
            stock_tracked=bool(fields.get("stock_tracked")),
            low_stock_threshold=_threshold(fields.get("low_stock_threshold")),
        )
    return clean


def _threshold(value) -> int | None:
    """A bag's low-stock threshold: blank for none, else a whole number 0-10,000."""
    if value is None or value == "":
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10_000:
        raise AdminError(_("The low-stock threshold is a whole number from 0 to 10,000."))
    return value


def add_entry(model, key: str, fields: dict, actor: User):
    """Add a catalogue entry at the end of the list."""
    key = _check_key(model, key)
    clean = _clean_fields(model, fields)
    with write_session():
        last = db.session.scalar(sa.select(sa.func.max(model.sort_order))) or 0
        entry = model(key=key, sort_order=last + 10, active=True, **clean)
        db.session.add(entry)
        db.session.flush()
        record_audit(
            actor,
            "catalog.create",
            TARGET_TYPES[model],
            entry.id,
            {"key": key, **_audit_values(clean)},
        )
    return entry


def update_entry(entry, key: str | None, fields: dict, actor: User) -> None:
    """Rename an entry (and change its key, only while no record uses it)."""
    model = type(entry)
    clean = _clean_fields(model, fields)
    changes = {}
    if key is not None and key.strip() != entry.key:
        if key_in_use(entry):
            raise AdminError(
                _("The key %(key)s is used by stored records and cannot change.", key=entry.key)
            )
        new_key = _check_key(model, key, entry)
        changes["key"] = [entry.key, new_key]
    for name, value in clean.items():
        if getattr(entry, name) != value:
            changes[name] = [_audit_value(getattr(entry, name)), _audit_value(value)]
    if not changes:
        return
    with write_session():
        if "key" in changes:
            entry.key = changes["key"][1]
        for name, value in clean.items():
            setattr(entry, name, value)
        record_audit(
            actor,
            "catalog.update",
            TARGET_TYPES[model],
            entry.id,
            {"key": entry.key, "changes": changes},
        )


def move_entry(entry, direction: str, actor: User) -> None:
    """Move an entry one place up or down in its list."""
    model = type(entry)
    with write_session():
        ordered = entries(model)
        index = next(i for i, e in enumerate(ordered) if e.id == entry.id)
        target = index - 1 if direction == "up" else index + 1
        if not 0 <= target < len(ordered):
            return
        ordered[index], ordered[target] = ordered[target], ordered[index]
        for position, item in enumerate(ordered):
            item.sort_order = (position + 1) * 10
        record_audit(
            actor,
            "catalog.move",
            TARGET_TYPES[model],
            entry.id,
            {"key": entry.key, "direction": direction},
        )


def set_entry_active(entry, active: bool, actor: User) -> None:
    """Deactivate (hidden from phones; stays in past reports) or reactivate an entry."""
    if entry.active == active:
        return
    with write_session():
        entry.active = active
        record_audit(
            actor,
            "catalog.reactivate" if active else "catalog.deactivate",
            TARGET_TYPES[type(entry)],
            entry.id,
            {"key": entry.key},
        )


def _audit_value(value):
    return value if isinstance(value, (str, int, bool)) or value is None else str(value)


def _audit_values(values: dict) -> dict:
    return {k: _audit_value(v) for k, v in values.items()}


# --- audit log -----------------------------------------------------------------------------


def audit_page(page: int, action: str | None = None) -> tuple[list[AuditEvent], bool]:
    """One page of audit events, newest first, and whether older ones follow."""
    statement = sa.select(AuditEvent).options(so.joinedload(AuditEvent.actor))
    if action:
        statement = statement.where(AuditEvent.action.startswith(action, autoescape=True))
    events = list(
        db.session.scalars(
            statement.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(AUDIT_PAGE_SIZE + 1)
            .offset((page - 1) * AUDIT_PAGE_SIZE)
        ).unique()
    )
    return events[:AUDIT_PAGE_SIZE], len(events) > AUDIT_PAGE_SIZE
