"""The catalogue a record names: keys to ids for ingest, and the active list for phones."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import ReferralType
from outreach.models import SupplyItem
from outreach.models import Zone


@dataclass(frozen=True)
class CatalogIndex:
    """Catalogue keys → database ids, loaded once per batch. Deactivated keys still count:
    a phone with an older catalogue may send them, and the record is still true."""

    supplies: dict[str, int]
    referral_types: dict[str, int]
    zones: dict[str, int]


def load_catalog_index() -> CatalogIndex:
    """Every catalogue key, active or not, with its id."""

    def keys(model) -> dict[str, int]:
        return {key: pk for key, pk in db.session.execute(sa.select(model.key, model.id))}

    return CatalogIndex(
        supplies=keys(SupplyItem), referral_types=keys(ReferralType), zones=keys(Zone)
    )


def catalog_payload(lang: str) -> dict:
    """The active catalogue for phones, with a version that changes when it changes."""

    def active(model):
        return db.session.scalars(
            sa.select(model).where(model.active).order_by(model.sort_order, model.name)
        ).all()

    supplies = [
        {
            "key": item.key,
            "name": item.display_name(lang),
            "unit": item.unit,
            "category": item.category,
            "quick_amounts": [int(n) for n in item.quick_amounts.split() if n.isdigit()],
            # The bag (outreach.stock): kept in workers' bags, and when a bag runs low.
            "stock_tracked": item.stock_tracked,
            "low_stock_threshold": item.low_stock_threshold,
        }
        for item in active(SupplyItem)
    ]
    referral_types = [{"key": r.key, "name": r.display_name(lang)} for r in active(ReferralType)]
    zones = [{"key": z.key, "name": z.display_name(lang)} for z in active(Zone)]
    body = {"supplies": supplies, "referral_types": referral_types, "zones": zones}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    return {"version": digest, "lang": lang, **body}
