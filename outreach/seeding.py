"""Defaults a new program starts from (once), and shipped content that follows the code.

The default catalogue, referral types and zones are added once, when a program starts (its
catalogue is empty; admins deactivate entries, never delete them, so a program that has
started always has rows). Later runs never re-create, re-activate or reorder what an admin
changed or removed. Cards are shipped content: every run brings them
in line with the files under ``outreach/content`` (added, revised, removed).
"""

from __future__ import annotations

import sqlalchemy as sa

from outreach.cards.content import load_cards
from outreach.cards.content import store_cards
from outreach.extensions import db
from outreach.models import Card
from outreach.models import ReferralType
from outreach.models import SupplyItem
from outreach.models import Zone
from outreach.seed_data import DOSES_PER_UNIT
from outreach.seed_data import REFERRAL_TYPES
from outreach.seed_data import SUPPLY_ITEMS
from outreach.seed_data import ZONES

CATALOG_MODELS = (SupplyItem, ReferralType, Zone)


def _add(model, rows: list[dict]) -> int:
    for position, row in enumerate(rows):
        db.session.add(model(sort_order=(position + 1) * 10, **row))
    return len(rows)


def defaults_seeded() -> bool:
    """Whether this program has started: any catalogue row, active or not."""
    return any(
        db.session.scalar(sa.select(model.id).limit(1)) is not None for model in CATALOG_MODELS
    )


def seed_defaults() -> dict[str, int] | None:
    """Add the default catalogue, referral types and zones to a new program; None if done."""
    if defaults_seeded():
        return None
    counts = {
        "supply items": _add(
            SupplyItem,
            [
                {
                    "key": key,
                    "name": name,
                    "name_es": name_es,
                    "unit": unit,
                    "category": category,
                    "quick_amounts": quick,
                    "is_syringe": is_syringe,
                    "is_naloxone": is_naloxone,
                    "doses_per_unit": DOSES_PER_UNIT.get(key, 1),
                }
                for (key, name, name_es, unit, category, quick, is_syringe, is_naloxone) in (
                    SUPPLY_ITEMS
                )
            ],
        ),
        "referral types": _add(
            ReferralType,
            [{"key": k, "name": n, "name_es": es} for k, n, es in REFERRAL_TYPES],
        ),
        "zones": _add(Zone, [{"key": k, "name": n, "name_es": es} for k, n, es in ZONES]),
    }
    db.session.commit()
    return counts


def update_content() -> dict[str, int]:
    """Bring the shipped cards in line with the code: add, revise, and remove old ones."""
    cards = load_cards()
    changed = store_cards(cards)
    shipped = {(card.slug, card.lang) for card in cards}
    removed = 0
    for card in db.session.scalars(sa.select(Card)):
        if (card.slug, card.lang) not in shipped:
            db.session.delete(card)
            removed += 1
    db.session.commit()
    return {"cards added or revised": changed, "cards removed": removed}


def seed_all() -> dict[str, int]:
    """Defaults (first run only) and shipped content (every run); safe to run again."""
    defaults = seed_defaults()
    counts = dict.fromkeys(("supply items", "referral types", "zones"), 0)
    counts.update(defaults or {})
    counts["cards"] = (content := update_content())["cards added or revised"]
    counts["cards removed"] = content["cards removed"]
    return counts
