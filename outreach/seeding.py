"""Idempotent loading of the default catalogue and the cards."""

from __future__ import annotations

import sqlalchemy as sa

from outreach.cards.content import load_cards
from outreach.cards.content import store_cards
from outreach.extensions import db
from outreach.models import ReferralType
from outreach.models import SupplyItem
from outreach.models import Zone
from outreach.seed_data import REFERRAL_TYPES
from outreach.seed_data import SUPPLY_ITEMS
from outreach.seed_data import ZONES


def _add_missing(model, rows: list[dict]) -> int:
    """Add rows whose key is not there yet; never touch what an admin has edited."""
    known = set(db.session.scalars(sa.select(model.key)))
    added = 0
    for position, row in enumerate(rows):
        if row["key"] in known:
            continue
        db.session.add(model(sort_order=(position + 1) * 10, **row))
        added += 1
    return added


def seed_all() -> dict[str, int]:
    """Seed everything; safe to run again."""
    counts = {
        "supply items": _add_missing(
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
                }
                for (key, name, name_es, unit, category, quick, is_syringe, is_naloxone) in (
                    SUPPLY_ITEMS
                )
            ],
        ),
        "referral types": _add_missing(
            ReferralType,
            [{"key": k, "name": n, "name_es": es} for k, n, es in REFERRAL_TYPES],
        ),
        "zones": _add_missing(Zone, [{"key": k, "name": n, "name_es": es} for k, n, es in ZONES]),
    }
    db.session.commit()
    counts["cards"] = store_cards(load_cards())
    return counts
