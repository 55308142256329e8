"""Card queries, grouping, search text and QR codes. No request or session access here."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import nh3
import segno
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from outreach.cards.content import ALLOWED_TAGS
from outreach.extensions import db
from outreach.models import Card

DEFAULT_LANG = "en"
CATEGORY_LABELS = {
    "injection": _l("Injecting and vein care"),
    "infection": _l("Wounds and infections"),
    "overdose": _l("Overdose"),
    "services": _l("Services and getting help"),
}
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class CardGroup:
    category: str
    label: str
    cards: list[Card]


def sanitise(body_html: str) -> str:
    """The one cleaning of a card's HTML, where the page shows it (so it covers a row edited
    by hand as well as one seeded from Markdown): only ALLOWED_TAGS, no attributes; script
    and style elements go with their content, other tags leave their text."""
    return nh3.clean(body_html, tags=set(ALLOWED_TAGS), attributes={}, link_rel=None)


def plain_text(body_html: str, shown: str = "") -> str:
    """The words of a card body for the offline search box, beyond the ``shown`` text (the
    title and summary the list already shows, which the search reads too).

    The search (static/src/pages/cards.js) finds a query word anywhere inside the text, so
    order, repeats and any word inside another ("vein" in "veins", "a" in nearly all) add
    nothing; leaving them out keeps /cards (kept offline in each language) small.
    """
    words = html.unescape(_TAG.sub(" ", body_html)).lower().split()
    unique = dict.fromkeys(word.strip(".,:;!?()\"'") for word in words)
    kept: list[str] = []
    seen = shown.lower()
    # Longest first, so a word is only checked against words that could contain it.
    for word in sorted(unique, key=len, reverse=True):
        if word and word not in seen:
            kept.append(word)
            seen += " " + word
    order = {word: index for index, word in enumerate(unique)}
    return " ".join(sorted(kept, key=order.__getitem__))


def list_cards(lang: str) -> list[Card]:
    """Every card in ``lang``, with the English one standing in where a translation is missing."""
    rows = db.session.scalars(
        sa.select(Card)
        .where(Card.lang.in_({lang, DEFAULT_LANG}))
        .order_by(Card.sort_order, Card.slug)
    )
    chosen: dict[str, Card] = {}
    for card in rows:
        if card.lang == lang or card.slug not in chosen:
            chosen[card.slug] = card
    return sorted(chosen.values(), key=lambda c: (c.sort_order, c.slug))


def get_card(slug: str, lang: str) -> Card | None:
    """One card in ``lang``, or in English when it has no translation yet."""
    cards = {
        card.lang: card
        for card in db.session.scalars(
            sa.select(Card).where(Card.slug == slug, Card.lang.in_({lang, DEFAULT_LANG}))
        )
    }
    return cards.get(lang) or cards.get(DEFAULT_LANG)


def card_translations(slug: str) -> dict[str, Card]:
    """Every written language of one card, by language code (English first when present)."""
    rows = db.session.scalars(sa.select(Card).where(Card.slug == slug).order_by(Card.lang))
    cards = {card.lang: card for card in rows}
    return dict(sorted(cards.items(), key=lambda item: item[0] != DEFAULT_LANG))


def card_slugs() -> list[str]:
    return list(db.session.scalars(sa.select(Card.slug).distinct().order_by(Card.slug)))


def group_cards(cards: list[Card]) -> list[CardGroup]:
    """Cards grouped by category, groups in the order of their first card."""
    groups: dict[str, list[Card]] = {}
    for card in sorted(cards, key=lambda c: (c.sort_order, c.slug)):
        groups.setdefault(card.category or "other", []).append(card)
    return [
        CardGroup(
            category, str(CATEGORY_LABELS.get(category, category.replace("_", " ").title())), items
        )
        for category, items in groups.items()
    ]


def qr_svg(url: str, title: str) -> str:
    """An SVG QR code for ``url``, made here (no outside service), scalable by CSS."""
    code = segno.make(url, error="m", micro=False)
    svg = code.svg_inline(
        scale=1,
        border=4,
        omitsize=True,
        title=title,
        svgclass="qr-code",
        lineclass="qr-dark",
        dark="#000",
        light="#fff",
    )
    # A standalone image needs its namespace; role and <title> name it for screen readers.
    return svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" role="img" ', 1)
