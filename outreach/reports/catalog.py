"""The catalogue as reports see it: every item, referral type and zone, in display order."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import ReferralType
from outreach.models import SupplyItem
from outreach.models import Zone


@dataclass(frozen=True)
class Catalog:
    """Every catalogue row, active or not (deactivated items stay in past reports)."""

    items: list[SupplyItem]
    referral_types: list[ReferralType]
    zones: list[Zone]

    @cached_property
    def syringe_ids(self) -> frozenset[int]:
        return frozenset(item.id for item in self.items if item.is_syringe)

    @cached_property
    def naloxone_ids(self) -> frozenset[int]:
        return frozenset(item.id for item in self.items if item.is_naloxone)

    @cached_property
    def naloxone_doses_per_unit(self) -> dict[int, int]:
        return {item.id: item.doses_per_unit for item in self.items if item.is_naloxone}

    def naloxone_doses(self, totals: dict[int, int]) -> int:
        """Naloxone doses in item quantities: each naloxone item's units x its doses per unit."""
        doses = self.naloxone_doses_per_unit
        return sum(value * doses[key] for key, value in totals.items() if key in doses)

    def item(self, item_id: int) -> SupplyItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    def zone(self, zone_id: int) -> Zone | None:
        return next((z for z in self.zones if z.id == zone_id), None)


def load_catalog() -> Catalog:
    """All supply items, referral types and zones in their display order."""

    def ordered(model):
        return list(db.session.scalars(sa.select(model).order_by(model.sort_order, model.id)))

    return Catalog(ordered(SupplyItem), ordered(ReferralType), ordered(Zone))


def sum_ids(totals: dict[int, int], ids: frozenset[int]) -> int:
    """The total of the given catalogue ids (e.g. every syringe size)."""
    return sum(value for key, value in totals.items() if key in ids)
