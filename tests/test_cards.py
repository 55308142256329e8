"""Safety and referral cards: content rules, rendering, sanitising, QR codes, offline URLs."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
import segno
import sqlalchemy as sa
from markupsafe import escape

from outreach.cards.content import ALLOWED_TAGS
from outreach.cards.content import CONTENT_DIR
from outreach.cards.content import load_cards
from outreach.cards.content import parse_card
from outreach.cards.content import store_cards
from outreach.cards.services import sanitise
from outreach.directory.services import ServiceValues
from outreach.directory.services import save_service
from outreach.extensions import db
from outreach.models import Card

CARD_FILES = sorted(CONTENT_DIR.glob("*/*.md"))
SLUGS = sorted({path.stem for path in CARD_FILES})
REQUIRED_SLUGS = {
    "track-marks-vein-care",
    "collapsed-veins",
    "abscess-infection",
    "wound-care",
    "safer-injection",
    "overdose-response",
    "naloxone",
    "fentanyl-test-strips",
    "syringe-disposal",
    "what-ssps-offer",
    "get-help-now",
}
LEAD_HEADING = {"en": "What to do", "es": "Qué hacer"}
HELP_HEADING = {"en": "Get help now", "es": "Busque ayuda ya"}

# Stigmatising terms, per language. "Clean"/"dirty" are flagged where they describe a person
# or a drug test (being "clean"), and "dirty" always, since a card never needs it.
STIGMA_PATTERNS = {
    "en": [
        r"\baddicts?\b",
        r"\babusers?\b",
        r"\bjunkies?\b",
        r"\bjunky\b",
        r"\bdrug abuse\b",
        r"\bsubstance abuse\b",
        r"\bdirty\b",
        r"\b(?:get|gets|getting|got|stay|stays|staying|stayed|be|being|been|is|are|was|were|am|"
        r"keep|keeps|keeping|went|go|going)\s+clean\b",
        r"\bclean\s+(?:time|and\s+sober|urine|test|screen)\b",
    ],
    "es": [
        r"\badict[oa]s?\b",
        r"\bdrogadict[oa]s?\b",
        r"\btoxic[oó]man[oa]s?\b",
        r"\babuso\s+de\s+(?:drogas|sustancias)\b",
        r"\b(?:jeringas?|agujas?)\s+sucias?\b",
        r"\byonquis?\b",
        r"\bestar\s+limpi[oa]s?\b",
        r"\b(?:est[aá]|estoy|est[aá]n|mantenerse|seguir|sigue)\s+limpi[oa]s?\b",
    ],
}


def stigma_terms(text: str, lang: str) -> list[str]:
    """Every stigmatising term found in ``text``."""
    found = []
    for pattern in STIGMA_PATTERNS[lang]:
        found += [m.group(0) for m in re.finditer(pattern, text, flags=re.IGNORECASE)]
    return found


def scan_card_files(directory: Path) -> dict[str, list[str]]:
    """File name → stigmatising terms, for every card file under ``directory``."""
    problems = {}
    for path in sorted(directory.glob("*/*.md")):
        terms = stigma_terms(path.read_text(encoding="utf-8"), path.parent.name)
        if terms:
            problems[str(path)] = terms
    return problems


class _TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list]] = []
        self.headings: list[str] = []
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag == "h2":
            self._in_heading = True
            self.headings.append("")

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_heading = False

    def handle_data(self, data):
        if self._in_heading:
            self.headings[-1] += data


def parse_html(html: str) -> _TagCollector:
    collector = _TagCollector()
    collector.feed(html)
    return collector


def card_body(page: str) -> str:
    match = re.search(r'<div class="card-body">(.*?)</div>\s*<footer', page, re.S)
    assert match, "no card body on the page"
    return match.group(1)


# --- Content rules ---------------------------------------------------------------------------


def test_card_files_cover_every_required_topic_in_both_languages():
    for lang in ("en", "es"):
        present = {path.stem for path in (CONTENT_DIR / lang).glob("*.md")}
        assert present >= REQUIRED_SLUGS, lang
    assert {p.stem for p in (CONTENT_DIR / "en").glob("*.md")} == {
        p.stem for p in (CONTENT_DIR / "es").glob("*.md")
    }


def test_card_files_use_person_first_language():
    assert scan_card_files(CONTENT_DIR) == {}


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "Many addicts come here."),
        ("en", "Drug abusers are welcome."),
        ("en", "Don't be a junkie."),
        ("en", "Drug abuse is a health issue."),
        ("en", "Substance abuse services."),
        ("en", "Never use dirty needles."),
        ("en", "He has been clean for a year."),
        ("en", "She wants to get clean."),
        ("en", "Clean time matters."),
        ("es", "Muchos adictos vienen aquí."),
        ("es", "Una adicta pidió ayuda."),
        ("es", "No es un drogadicto."),
        ("es", "Un toxicómano."),
        ("es", "El abuso de drogas."),
        ("es", "Abuso de sustancias."),
        ("es", "No use jeringas sucias."),
        ("es", "Nunca comparta agujas sucias."),
        ("es", "Un yonqui."),
        ("es", "Quiere estar limpio."),
    ],
)
def test_stigma_scan_flags_planted_terms(lang, text):
    assert stigma_terms(text, lang)


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "People who inject drugs. Keep the wound clean and covered."),
        ("en", "Use a new, clean cooker."),
        ("es", "Personas que se inyectan drogas. Mantenga la herida limpia."),
    ],
)
def test_stigma_scan_allows_person_first_language(lang, text):
    assert stigma_terms(text, lang) == []


def test_stigma_scan_fails_on_a_planted_card_file(tmp_path):
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "planted.md").write_text("## What to do\nHelp addicts with dirty needles.\n")
    (tmp_path / "es").mkdir()
    (tmp_path / "es" / "fine.md").write_text("## Qué hacer\nUse una jeringa nueva.\n")
    problems = scan_card_files(tmp_path)
    assert list(problems) == [str(tmp_path / "en" / "planted.md")]
    assert [term.lower() for term in problems[str(tmp_path / "en" / "planted.md")]] == [
        "addicts",
        "dirty",
    ]


@pytest.mark.parametrize("path", CARD_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_card_leads_with_what_to_do_and_ends_with_get_help_now(path):
    card = parse_card(path.read_text(encoding="utf-8"), str(path))
    headings = [h.strip() for h in parse_html(card.body_html).headings]
    assert headings[0] == LEAD_HEADING[card.lang]
    assert headings[-1] == HELP_HEADING[card.lang]
    assert card.sources and all(s["title"] and s["publisher"] for s in card.sources)
    assert card.summary and card.reviewed


@pytest.mark.parametrize("path", CARD_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_card_lists_render_as_lists(path):
    # Markdown needs a blank line before a list; without it the list becomes one paragraph.
    card = parse_card(path.read_text(encoding="utf-8"), str(path))
    for paragraph in re.findall(r"<p>(.*?)</p>", card.body_html, re.S):
        assert not re.search(r"\n\s*[-*] ", paragraph), paragraph


@pytest.mark.parametrize("path", CARD_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_card_fits_a_phone_screen_or_two(path):
    card = parse_card(path.read_text(encoding="utf-8"), str(path))
    words = len(re.sub(r"<[^>]+>", " ", card.body_html).split())
    # Roughly two phone screens of large type.
    assert words <= 330, words


# --- Sanitising ------------------------------------------------------------------------------

MALICIOUS = """---
title: "Planted"
slug: planted
lang: en
summary: "A card with hostile markup."
sources:
  - title: "Nowhere"
    publisher: "Nobody"
reviewed: 2026-11-21
---
## What to do
<script>alert("x")</script>
<img src="x" onerror="alert(1)">
[tap me](javascript:alert(1))
<a href="javascript:alert(2)" onclick="alert(3)">link</a>
<p onmouseover="alert(4)" style="color:red">text</p>
<iframe src="https://example.com"></iframe>

## Get help now
- Call 911.
"""


def _assert_inert(html: str) -> None:
    parsed = parse_html(html)
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS, tag
        assert attrs == [], (tag, attrs)
    lowered = html.lower()
    assert "<script" not in lowered
    assert "javascript:" not in lowered
    assert "onerror" not in lowered


def test_a_card_seeded_from_hostile_markdown_shows_inert(app, client):
    with app.app_context():
        assert store_cards([parse_card(MALICIOUS, "planted.md")]) == 1
    body = card_body(client.get("/cards/planted?lang=en").get_data(as_text=True))
    _assert_inert(body)
    # Disallowed tags leave their words; a script leaves nothing (not even as text).
    assert "link" in body and "tap me" in body and "text" in body
    assert "alert" not in body


@pytest.mark.parametrize(
    ("hostile", "kept"),
    [
        ('<script>alert("x")</script><p>after</p>', "<p>after</p>"),
        ('<img src="x" onerror="alert(1)">', ""),
        ('<a href="javascript:alert(1)">tap me</a>', "tap me"),
        ('<p onclick="alert(1)" style="color:red" class="x">words</p>', "<p>words</p>"),
        ('<h2 id="top">Help</h2><!-- note -->', "<h2>Help</h2>"),
        ('<iframe src="https://example.com"></iframe><svg onload="alert(1)"></svg>', ""),
        ("<style>p{display:none}</style><strong>bold</strong>", "<strong>bold</strong>"),
    ],
)
def test_sanitise_keeps_only_the_allowed_tags_without_attributes(hostile, kept):
    assert sanitise(hostile) == kept
    _assert_inert(sanitise(hostile))


def test_sanitise_keeps_every_real_card_as_written():
    """Every card file's HTML passes through unchanged: the cleaning only ever removes."""
    for card in load_cards():
        assert sanitise(card.body_html) == card.body_html, (card.lang, card.slug)


def test_card_page_sanitises_stored_html_again(app, client):
    with app.app_context():
        db.session.add(
            Card(
                slug="planted",
                lang="en",
                title="Planted",
                summary="Edited by hand",
                category="services",
                body_html=(
                    "<h2>What to do</h2><script>alert(1)</script>"
                    '<img src=x onerror="alert(1)"><a href="javascript:alert(1)">x</a>'
                ),
                sources=[{"title": "T", "publisher": "P"}],
                reviewed=parse_card(MALICIOUS, "x").reviewed,
            )
        )
        db.session.commit()
    page = client.get("/cards/planted?lang=en").get_data(as_text=True)
    _assert_inert(card_body(page))


# --- Pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("slug", SLUGS)
def test_card_page_renders_with_sources_and_review_date(client, slug, lang):
    card = parse_card(
        (CONTENT_DIR / lang / f"{slug}.md").read_text(encoding="utf-8"), f"{lang}/{slug}"
    )
    response = client.get(f"/cards/{slug}?lang={lang}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    assert f"<h1>{escape(card.title)}</h1>" in page
    assert ("Sources" if lang == "en" else "Fuentes") in page
    for source in card.sources:
        assert str(escape(source["title"])) in page
    reviewed = "November 21, 2026" if lang == "en" else "21 de noviembre de 2026"
    assert card.reviewed.isoformat() == "2026-11-21"
    assert reviewed in page
    assert "data-print" in page
    assert f'<img class="qr-code" src="/cards/{slug}/qr.svg?lang={lang}"' in page


@pytest.mark.parametrize(
    "path", ["/cards/no-such-card/qr.svg", "/cards/referral/no-such-type/qr.svg"]
)
def test_qr_code_of_an_unknown_card_is_404(client, path):
    assert client.get(path).status_code == 404


def test_card_page_unknown_slug_is_404(client):
    response = client.get("/cards/no-such-card")
    assert response.status_code == 404
    assert "<h1>" in response.get_data(as_text=True)


def test_cards_index_groups_every_card_with_an_offline_search_box(client):
    page = client.get("/cards?lang=en").get_data(as_text=True)
    for slug in SLUGS:
        # The card's own page: it opens in the app's language, its switch shows the other.
        assert f'href="/cards/{slug}"' in page
    groups = re.findall(r'<h2 id="group-([\w-]+)"', page)
    assert groups[:4] == ["injection", "infection", "overdose", "services"]
    assert "referral" in groups
    assert 'type="search"' in page
    # The search covers the card bodies, not only the titles.
    assert re.search(r"data-search=\"[^\"]*carfentanil", page)
    assert "cards" in re.search(r'src="/static/dist/([^"]+)"', page).group(1)


def test_cards_index_in_spanish(client):
    page = client.get("/cards?lang=es").get_data(as_text=True)
    assert "Naloxona paso a paso" in page
    assert 'href="/cards/naloxone"' in page
    assert "Tarjetas de seguridad" in page


def test_card_pages_are_public_and_cacheable_when_signed_out(client):
    response = client.get("/cards/naloxone?lang=en")
    assert response.headers["Cache-Control"] == "no-cache"
    assert "csrf_token" not in response.get_data(as_text=True)


# --- QR codes --------------------------------------------------------------------------------


def _svg(page: str) -> str:
    match = re.search(r"<svg .*?</svg>", page, re.S)
    assert match, "no inline SVG"
    return match.group(0)


def _matrix_from_svg(svg: str) -> list[list[bool]]:
    """Rebuild the module grid from segno's path: rows of horizontal strokes at y + 0.5."""
    root = ET.fromstring(svg)  # noqa: S314 (our own output)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
    path = next(el for el in root if el.tag.endswith("path") and el.get("class") == "qr-dark")
    tokens = re.findall(r"[MmHhVv]|-?\d+(?:\.\d+)?", path.attrib["d"])
    size, border = int(width), 4
    grid = [[False] * size for _ in range(int(height))]
    x = y = 0.0
    i = 0
    while i < len(tokens):
        command = tokens[i]
        if command in "Mm":
            dx, dy = float(tokens[i + 1]), float(tokens[i + 2])
            x, y = (dx, dy) if command == "M" else (x + dx, y + dy)
            i += 3
        elif command == "h":
            length = float(tokens[i + 1])
            for column in range(int(x), int(x + length)):
                grid[int(y)][column] = True
            x += length
            i += 2
        else:
            raise AssertionError(f"unexpected path command {command}")
    return [row[border : size - border] for row in grid[border : size - border]]


SITE = "https://outreach.example.org"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_card_qr_code_encodes_the_cards_public_url(make_app, lang):
    client = make_app(PUBLIC_URL=SITE).test_client()
    page = client.get(f"/cards/naloxone?lang={lang}").get_data(as_text=True)
    url = f"{SITE}/cards/naloxone?lang={lang}"
    assert f'<span class="card-url">{url}</span>' in page
    image = client.get(f"/cards/naloxone/qr.svg?lang={lang}")
    assert image.mimetype == "image/svg+xml"
    assert "public" in image.headers["Cache-Control"]
    svg = _svg(image.get_data(as_text=True))
    expected = segno.make(url, error="m", micro=False)
    assert _matrix_from_svg(svg) == [[bool(m) for m in row] for row in expected.matrix]
    assert "<title>" in svg and "style=" not in svg


def test_referral_card_qr_code_encodes_its_url(make_app):
    client = make_app(PUBLIC_URL=SITE + "/").test_client()
    page = client.get("/cards/referral/wound_care?lang=es").get_data(as_text=True)
    assert '<img class="qr-code" src="/cards/referral/wound_care/qr.svg?lang=es"' in page
    url = f"{SITE}/cards/referral/wound_care?lang=es"
    page = client.get("/cards/referral/wound_care/qr.svg?lang=es").get_data(as_text=True)
    expected = segno.make(url, error="m", micro=False)
    assert _matrix_from_svg(_svg(page)) == [[bool(m) for m in row] for row in expected.matrix]


@pytest.mark.parametrize("path", ["/cards/naloxone?lang=en", "/cards/referral/wound_care?lang=en"])
@pytest.mark.parametrize("public_url", [SITE, None])
def test_a_forged_host_never_reaches_a_card_link_or_its_cached_qr_code(make_app, path, public_url):
    """The QR image is cached for a day by shared caches: its link must not come from Host."""
    client = make_app(PUBLIC_URL=public_url).test_client()
    base, _, query = path.partition("?")
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    page = client.get(path, headers=forged).get_data(as_text=True)
    qr = client.get(f"{base}/qr.svg?{query}", headers=forged).get_data(as_text=True)
    assert "evil.example" not in page and "evil.example" not in qr
    expected = f"{public_url or ''}{path}"
    assert f'<span class="card-url">{expected}</span>' in page
    matrix = segno.make(expected, error="m", micro=False).matrix
    assert _matrix_from_svg(_svg(qr)) == [[bool(m) for m in row] for row in matrix]


# --- Referral cards --------------------------------------------------------------------------


@pytest.fixture
def wound_services(app):
    with app.app_context():
        save_service(
            None,
            ServiceValues(
                name="Test Wound Clinic",
                referral_keys=["wound_care", "medical_care"],
                address="1 Test Road",
                phone="(555) 555-0190",
                hours={"mon": [["09:00", "17:00"]]},
                public_notes="Walk-ins before noon.",
                staff_notes="SECRET-STAFF-NOTE",
            ),
            None,
        )
        save_service(
            None,
            ServiceValues(name="Test Food Bank", referral_keys=["food"], phone="555-0191"),
            None,
        )
        save_service(
            None,
            ServiceValues(name="Closed Wound Place", referral_keys=["wound_care"], active=False),
            None,
        )


def test_referral_card_lists_only_matching_active_services(client, wound_services):
    page = client.get("/cards/referral/wound_care?lang=en").get_data(as_text=True)
    assert "<h1>Wound care</h1>" in page
    assert "Test Wound Clinic" in page
    assert 'href="tel:5555550190"' in page
    assert "Walk-ins before noon." in page
    assert "Test Food Bank" not in page
    assert "Closed Wound Place" not in page
    headings = parse_html(card_body(page)).headings
    assert headings[0] == "What to do" and headings[-1] == "Get help now"


def test_referral_card_never_shows_staff_notes_even_to_staff(admin_client, wound_services):
    page = admin_client.get("/cards/referral/wound_care").get_data(as_text=True)
    assert "Test Wound Clinic" in page
    assert "SECRET-STAFF-NOTE" not in page


def test_referral_card_unknown_or_inactive_type_is_404(app, client):
    assert client.get("/cards/referral/no_such_type").status_code == 404
    with app.app_context():
        db.session.execute(sa.text("UPDATE referral_type SET active = false WHERE key = 'food'"))
        db.session.commit()
    assert client.get("/cards/referral/food").status_code == 404


def test_cards_index_counts_services_per_referral_type(client, wound_services):
    page = client.get("/cards?lang=en").get_data(as_text=True)
    wound = re.search(r'href="/cards/referral/wound_care\?lang=en">(.*?)</a>', page, re.S)
    assert "1 service" in wound.group(1)
    housing = re.search(r'href="/cards/referral/housing\?lang=en">(.*?)</a>', page, re.S)
    assert "No services listed yet" in housing.group(1)


# --- Offline URLs ----------------------------------------------------------------------------


def test_cards_offline_urls_cover_every_card_in_both_languages(app, client):
    from outreach.cards.views import offline_urls

    with app.app_context():
        urls = offline_urls()
        slugs = {card.slug for card in load_cards()}
    assert {"/cards", "/cards?lang=en", "/cards?lang=es"} <= set(urls)
    # One kept page per card, holding every language (see the card language tests below).
    for slug in slugs:
        assert f"/cards/{slug}" in urls
    assert not any(url.startswith("/cards/") and "?" in url for url in urls)
    # Referral cards stay online only (the directory covers them offline).
    assert not any(url.startswith("/cards/referral/") for url in urls)
    assert len(urls) == len(set(urls))
    for url in urls:
        assert client.get(url).status_code == 200, url


# --- A card's language is not the app's --------------------------------------------------------


def _articles(page: str) -> list[tuple[str, bool]]:
    """(language, hidden) of each copy of the card in the page, in order."""
    return [
        (lang, bool(hidden))
        for lang, hidden in re.findall(
            r'<article class="safety-card" lang="(\w+)"( hidden)?>', page
        )
    ]


def test_a_card_page_holds_both_languages_the_one_asked_for_shown_first(client):
    page = client.get("/cards/naloxone?lang=es").get_data(as_text=True)
    assert _articles(page) == [("es", False), ("en", True)]
    assert "Naloxona paso a paso" in page and "Naloxone step by step" in page
    # Each copy's switch is in the language it shows, for whoever reads it.
    assert '<a href="?lang=en" lang="en" hreflang="en" data-card-switch="en">' in page
    assert "Read this card in English" in page and "Leer esta tarjeta en español" in page
    assert 'src="/cards/naloxone/qr.svg?lang=es"' in page
    assert 'src="/cards/naloxone/qr.svg?lang=en"' in page
    english = client.get("/cards/naloxone?lang=en").get_data(as_text=True)
    assert _articles(english) == [("en", False), ("es", True)]


def test_a_cards_lang_is_never_remembered_as_the_apps_language(client):
    client.set_cookie("lang", "en")
    response = client.get("/cards/naloxone?lang=es")
    page = response.get_data(as_text=True)
    # The worker's app stays English around the card shown in Spanish.
    assert '<html lang="en">' in page
    assert _articles(page)[0] == ("es", False)
    assert "lang=" not in response.headers.get("Set-Cookie", "")
    assert '<html lang="en">' in client.get("/directory").get_data(as_text=True)
    # The same for its QR code image.
    assert "lang=" not in client.get("/cards/naloxone/qr.svg?lang=es").headers.get("Set-Cookie", "")
    # The app's own switch still changes the app's language (from the list of cards).
    assert 'href="/cards?lang=es" lang="es" hreflang="es"' in page


def test_a_visitor_from_a_qr_code_reads_the_whole_page_in_the_cards_language(client):
    page = client.get(
        "/cards/naloxone?lang=es", headers={"Accept-Language": "en-US,en;q=0.9"}
    ).get_data(as_text=True)
    assert '<html lang="es">' in page
    assert _articles(page)[0] == ("es", False)
    assert "Tarjetas de seguridad" in page


def test_a_card_not_yet_translated_says_so_in_the_language_asked_for(app, client):
    with app.app_context():
        db.session.execute(sa.delete(Card).where(Card.slug == "naloxone", Card.lang == "es"))
        db.session.commit()
    page = client.get("/cards/naloxone?lang=es").get_data(as_text=True)
    assert _articles(page) == [("en", False)]
    assert '<p class="flash flash-warning" lang="es">' in page
    assert "data-card-switch" not in page
