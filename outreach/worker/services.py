"""What the logging form shows: the active catalogue, grouped for quick scanning."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from outreach import privacy
from outreach.encounters.catalog import catalog_payload
from outreach.encounters.contract import FIELD_MESSAGES
from outreach.encounters.validation import MAX_PEOPLE_SERVED
from outreach.encounters.validation import MAX_REVERSALS
from outreach.encounters.validation import MAX_SUPPLY_QUANTITY
from outreach.encounters.validation import MAX_SYRINGES_COLLECTED
from outreach.extensions import db
from outreach.models import SupplyItem
from outreach.overdoses.contract import MAX_NALOXONE_DOSES

# Headings for the supply categories of the default catalogue; others show as "Other".
CATEGORY_LABELS = {
    "syringes": _l("Syringes"),
    "injection": _l("Injection supplies"),
    "disposal": _l("Disposal"),
    "overdose": _l("Overdose prevention"),
    "wound": _l("Wound care"),
    "smoking": _l("Smoking and snorting"),
    "sexual_health": _l("Sexual health"),
}
OTHER_CATEGORY = _l("Other supplies")
LIMITS = {
    "supply": MAX_SUPPLY_QUANTITY,
    "people_served": MAX_PEOPLE_SERVED,
    "syringes_collected": MAX_SYRINGES_COLLECTED,
    "reversals": MAX_REVERSALS,
    "overdose_doses": MAX_NALOXONE_DOSES,
}


@dataclass
class SupplyGroup:
    key: str
    label: str
    items: list[dict]


def _tally_kinds() -> dict[str, str]:
    """Which supplies count as syringes or naloxone in the shift tally, by key."""
    rows = db.session.execute(
        sa.select(SupplyItem.key, SupplyItem.is_syringe, SupplyItem.is_naloxone).where(
            sa.or_(SupplyItem.is_syringe, SupplyItem.is_naloxone)
        )
    )
    return {key: "syringes" if syringe else "naloxone" for key, syringe, _naloxone in rows}


def logging_form(lang: str) -> dict:
    """The catalogue for the form in ``lang``, with supplies grouped by category in order."""
    catalog = catalog_payload(lang)
    tally = _tally_kinds()
    groups: dict[str, SupplyGroup] = {}
    for item in catalog["supplies"]:
        category = item.get("category") or "other"
        if category not in groups:
            label = CATEGORY_LABELS.get(category, OTHER_CATEGORY)
            groups[category] = SupplyGroup(category, str(label), [])
        quick = [n for n in item.get("quick_amounts", []) if 1 < n <= MAX_SUPPLY_QUANTITY]
        groups[category].items.append(
            {**item, "quick_amounts": quick[:3], "tally": tally.get(item["key"], "")}
        )
    return {
        "version": catalog["version"],
        "groups": list(groups.values()),
        "referral_types": catalog["referral_types"],
        "zones": catalog["zones"],
        "limits": LIMITS,
        "code_rules": code_rules(),
    }


def code_rules() -> dict:
    """What the server refuses in a participant code, for the phone to refuse before Save in
    the same words: the server's messages by problem (outreach.privacy names them), and the
    bounds the phone's copy of the check needs."""
    messages = FIELD_MESSAGES["participant_code"].by_problem
    return {
        "messages": {problem: str(message) for problem, message in messages.items()},
        "max_length": privacy.MAX_CODE_LENGTH,
        "phone_digits": privacy.PHONE_DIGITS,
    }
