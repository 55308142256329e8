"""Settings an admin changes in /admin (kept in the database, not the environment)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP
from decimal import Decimal

import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import ProgramSetting

SYRINGES_PER_POUND = "syringes_per_pound"
# A published county formula for sharps returned by weight; the admin can change it.
DEFAULT_SYRINGES_PER_POUND = 281
MAX_SYRINGES_PER_POUND = 2000
GRAMS_PER_POUND = Decimal("453.59237")


def syringes_per_pound() -> int:
    """The program's syringes-per-pound factor (the default until an admin sets one)."""
    value = db.session.scalar(
        sa.select(ProgramSetting.value).where(ProgramSetting.key == SYRINGES_PER_POUND)
    )
    return int(value) if value is not None else DEFAULT_SYRINGES_PER_POUND


def store_syringes_per_pound(value: int) -> int | None:
    """Save the factor (no commit); the previous value, or None when unchanged."""
    previous = syringes_per_pound()
    if value == previous:
        return None
    row = db.session.get(ProgramSetting, SYRINGES_PER_POUND)
    if row is None:
        db.session.add(ProgramSetting(key=SYRINGES_PER_POUND, value=str(value)))
    else:
        row.value = str(value)
    return previous


def estimated_syringes(grams: int, per_pound: int) -> int:
    """Syringes estimated from a total weight: grams / 453.59237 x per pound, half up."""
    exact = Decimal(grams) * Decimal(per_pound) / GRAMS_PER_POUND
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
