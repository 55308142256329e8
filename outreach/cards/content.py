"""Load card files, render their Markdown to HTML, and store them at seed time.

The stored HTML is not trusted: the card page cleans it where it shows it
(``services.sanitise``, the one pass), so a row written any other way is cleaned too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import markdown
import sqlalchemy as sa
import yaml

from outreach.extensions import db
from outreach.models import Card

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content" / "cards"
REQUIRED_KEYS = ("title", "slug", "lang", "summary", "sources", "reviewed")
# What a card's HTML may keep (no attributes, so no links, images or styles).
ALLOWED_TAGS = ["p", "ul", "ol", "li", "strong", "em", "h2", "h3", "br", "blockquote"]


class CardFormatError(ValueError):
    """A card file that cannot be used, with the file named."""


@dataclass(frozen=True)
class CardContent:
    slug: str
    lang: str
    title: str
    summary: str
    category: str
    order: int
    body_html: str
    sources: list[dict]
    reviewed: dt.date


def render_markdown(text: str) -> str:
    """Markdown to HTML, as written (raw HTML included): the page sanitises it once."""
    return markdown.markdown(text, output_format="html")


def parse_card(text: str, origin: str) -> CardContent:
    """Split front matter from body and check the front matter."""
    if not text.startswith("---"):
        raise CardFormatError(f"{origin}: missing front matter")
    try:
        _, front, body = text.split("---", 2)
        meta = yaml.safe_load(front) or {}
    except (ValueError, yaml.YAMLError) as error:
        raise CardFormatError(f"{origin}: unreadable front matter ({error})") from error
    missing = [key for key in REQUIRED_KEYS if not meta.get(key)]
    if missing:
        raise CardFormatError(f"{origin}: missing {', '.join(missing)}")
    reviewed = meta["reviewed"]
    if isinstance(reviewed, str):
        reviewed = dt.date.fromisoformat(reviewed)
    sources = [
        {"title": str(s.get("title", "")), "publisher": str(s.get("publisher", ""))}
        for s in meta["sources"]
        if isinstance(s, dict)
    ]
    return CardContent(
        slug=str(meta["slug"]),
        lang=str(meta["lang"]),
        title=str(meta["title"]),
        summary=str(meta["summary"]),
        category=str(meta.get("category", "")),
        order=int(meta.get("order", 0)),
        body_html=render_markdown(body.strip()),
        sources=sources,
        reviewed=reviewed,
    )


def load_cards(directory: Path = CONTENT_DIR) -> list[CardContent]:
    """Every card file under ``directory`` (``<lang>/<slug>.md``)."""
    cards = []
    for path in sorted(directory.glob("*/*.md")):
        card = parse_card(path.read_text(encoding="utf-8"), str(path))
        if card.slug != path.stem or card.lang != path.parent.name:
            raise CardFormatError(f"{path}: slug or lang does not match the file's place")
        cards.append(card)
    return cards


def store_cards(cards: list[CardContent]) -> int:
    """Insert or update cards by (slug, lang); return how many changed."""
    existing = {(c.slug, c.lang): c for c in db.session.scalars(sa.select(Card))}
    changed = 0
    for content in cards:
        card = existing.get((content.slug, content.lang)) or Card(
            slug=content.slug, lang=content.lang
        )
        values = {
            "title": content.title,
            "summary": content.summary,
            "category": content.category,
            "sort_order": content.order,
            "body_html": content.body_html,
            "sources": content.sources,
            "reviewed": content.reviewed,
        }
        if card.id is None or any(getattr(card, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(card, key, value)
            db.session.add(card)
            changed += 1
    db.session.commit()
    return changed
