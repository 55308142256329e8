"""Which template category each catalogue entry counts in, per template.

An admin's choice (a ``FunderCategoryMap`` row) wins; without one, the template's defaults
decide: the first category that lists the entry's key, else the first whose flags the item
has (``is_syringe``, ``is_naloxone``). So the shipped templates work on the seeded
catalogue from the start, and a syringe size added later counts as syringes by itself.
"""

from __future__ import annotations

import sqlalchemy as sa

from outreach.auth.services import record_audit
from outreach.database import write_session
from outreach.extensions import db
from outreach.funder.definitions import Template
from outreach.models import FunderCategoryMap
from outreach.models import User
from outreach.reports.catalog import Catalog

# (catalogue, entry id) → category name, or None when the entry is not counted.
Mapping = dict[tuple[str, int], str | None]


def default_category(template: Template, catalogue: str, entry) -> str | None:
    """The category the template's defaults give a catalogue entry (None: not counted)."""
    categories = template.categories[catalogue].values()
    for category in categories:
        if entry.key in category.default_keys:
            return category.name
    for category in categories:
        if any(getattr(entry, flag, False) for flag in category.default_flags):
            return category.name
    return None


def _entries(catalog: Catalog, catalogue: str) -> list:
    return catalog.items if catalogue == "supplies" else catalog.referral_types


def stored(template_key: str) -> dict[tuple[str, int], str]:
    """The admin's choices for one template: (catalogue, entry id) → category ('' = none)."""
    return {
        (row.kind, row.entry_id): row.category
        for row in db.session.scalars(
            sa.select(FunderCategoryMap).where(FunderCategoryMap.template_key == template_key)
        )
    }


def effective(template: Template, catalog: Catalog) -> Mapping:
    """Where every catalogue entry counts in this template, choices and defaults together."""
    chosen = stored(template.key)
    result: Mapping = {}
    for catalogue in template.categories:
        names = template.categories[catalogue]
        for entry in _entries(catalog, catalogue):
            key = (catalogue, entry.id)
            if key in chosen:
                # A category the template no longer declares counts as none.
                result[key] = chosen[key] if chosen[key] in names else None
            else:
                result[key] = default_category(template, catalogue, entry)
    return result


def members(mapping: Mapping, catalogue: str, category: str) -> list[int]:
    """The entry ids that count in one category."""
    return [
        entry_id
        for (kind, entry_id), name in mapping.items()
        if kind == catalogue and name == category
    ]


def save(template: Template, catalog: Catalog, choices: Mapping, actor: User) -> int:
    """Store an admin's choices (only those that change something); the number changed.

    One audit event lists every change as entry key → [before, after].
    """
    before = effective(template, catalog)
    keys = {
        (catalogue, entry.id): entry.key
        for catalogue in template.categories
        for entry in _entries(catalog, catalogue)
    }
    changes: dict[str, list] = {}
    with write_session():
        for (catalogue, entry_id), category in choices.items():
            if (catalogue, entry_id) not in keys:
                continue
            if category is not None and category not in template.categories[catalogue]:
                raise ValueError(f"unknown category {category!r}")
            if before.get((catalogue, entry_id)) == category:
                continue
            row = db.session.get(FunderCategoryMap, (template.key, catalogue, entry_id))
            if row is None:
                row = FunderCategoryMap(
                    template_key=template.key, kind=catalogue, entry_id=entry_id
                )
                db.session.add(row)
            row.category = category or ""
            changes[f"{catalogue}:{keys[(catalogue, entry_id)]}"] = [
                before.get((catalogue, entry_id)) or "",
                category or "",
            ]
        if changes:
            record_audit(actor, "funder.mapping", "funder_template", template.key, changes)
    return len(changes)
