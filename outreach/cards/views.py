"""Public card pages: /cards, /cards/<slug> and /cards/referral/<referral type key>."""

from __future__ import annotations

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import make_response
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from outreach.cards import services
from outreach.directory import services as directory_services
from outreach.directory.views import page_context
from outreach.directory.views import service_entries
from outreach.i18n import current_lang
from outreach.pwa import offline_page
from outreach.pwa import public_path

bp = Blueprint("cards", __name__)


@bp.get("/cards")
@offline_page
def index():
    """Every safety card by category, the referral cards, and an offline search box."""
    lang = current_lang()
    cards = services.list_cards(lang)
    types = directory_services.referral_types()
    counts = directory_services.service_counts()
    return render_template(
        "cards/index.html",
        groups=services.group_cards(cards),
        search_text={
            c.slug: services.plain_text(c.body_html, f"{c.title} {c.summary}") for c in cards
        },
        referral_types=types,
        service_counts=counts,
        lang=lang,
    )


@bp.get("/cards/<slug>")
@offline_page
def show(slug: str):
    """One safety card in every language it is written in, one page kept offline.

    The card's language is its own choice, apart from the app's: ``?lang=`` here (old links
    and printed QR codes) picks which copy is shown first and is never remembered as the
    app's language (see outreach/i18n.py). The other copies are in the page, hidden, and a
    link local to the card shows one without touching the app's language, offline too.
    """
    translations = services.card_translations(slug)
    if not translations:
        abort(404)
    asked = card_lang()
    shown = asked if asked in translations else services.DEFAULT_LANG
    if shown not in translations:
        shown = next(iter(translations))
    articles = []
    # The copy asked for first; each copy speaks its own language (headings, QR caption).
    for lang in [shown] + [lang for lang in translations if lang != shown]:
        card = translations[lang]
        url = public_link("cards.show", slug=card.slug, lang=lang)
        others = [other for other in translations if other != lang]
        with force_locale(lang):
            articles.append(
                render_template(
                    "cards/_card.html",
                    card=card,
                    body_html=services.sanitise(card.body_html),
                    public_url=url,
                    qr_src=url_for("cards.show_qr", slug=card.slug, lang=lang),
                    hidden=lang != shown,
                    untranslated=untranslated_note(asked) if lang == shown != asked else None,
                    asked=asked,
                    switches=[(other, switch_label(other)) for other in others],
                )
            )
    return render_template(
        "cards/show.html", card=translations[shown], articles=articles, lang=current_lang()
    )


def card_lang() -> str:
    """The language a card is asked for in: ``?lang=``, else the app's."""
    asked = request.args.get("lang")
    return asked if asked in current_app.config["LANGUAGES"] else current_lang()


def untranslated_note(lang: str) -> str:
    """Said, in the language asked for, when the card has no copy in it yet."""
    with force_locale(lang):
        return _("This card is not translated yet, so it is shown in English.")


def switch_label(lang: str) -> str:
    """ "Read this card in <language>", in that language (it is for whoever reads it)."""
    with force_locale(lang):
        # Each translation names its own language: "Leer esta tarjeta en español".
        return _("Read this card in English")


@bp.get("/cards/<slug>/qr.svg")
def show_qr(slug: str):
    """The card's QR code as an SVG image, drawn here (no outside service).

    A separate image rather than part of the page, so the pages kept offline stay small: a QR
    code only helps while the phone that scans it has a connection.
    """
    lang = card_lang()
    if services.get_card(slug, lang) is None:
        abort(404)
    return _qr_response(public_link("cards.show", slug=slug, lang=lang))


def public_link(endpoint: str, **values) -> str:
    """The link printed on a card and drawn in its QR code.

    Built from PUBLIC_URL, never from the request's Host header: the QR image is cached for
    a day by shared caches, so a request with a forged Host would otherwise hand everyone a
    code pointing elsewhere. Without PUBLIC_URL (development only; production requires it)
    the link is relative.
    """
    path = url_for(endpoint, **values)
    base = current_app.config.get("PUBLIC_URL")
    return f"{base}{path}" if base else path


def _qr_response(url: str):
    response = make_response(services.qr_svg(url, _("QR code: %(url)s", url=url)))
    response.mimetype = "image/svg+xml"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/cards/referral/<key>")
@offline_page
def referral(key: str):
    """A referral card built from the directory: the services for one referral type."""
    lang = current_lang()
    referral_type = directory_services.find_referral_type(key)
    if referral_type is None:
        abort(404)
    # Printed and handed over, so never the staff notes, whoever is signed in.
    entries = service_entries(directory_services.list_services(key))
    url = public_link("cards.referral", key=key, lang=lang)
    return render_template(
        "cards/referral.html",
        referral_type=referral_type,
        title=referral_type.display_name(lang),
        entries=entries,
        public_url=url,
        qr_src=url_for("cards.referral_qr", key=key, lang=lang),
        lang=lang,
        **page_context(),
    )


@bp.get("/cards/referral/<key>/qr.svg")
def referral_qr(key: str):
    """A referral card's QR code as an SVG image."""
    if directory_services.find_referral_type(key) is None:
        abort(404)
    lang = current_lang()
    return _qr_response(public_link("cards.referral", key=key, lang=lang))


def offline_urls() -> list[str]:
    """Public card URLs for the service worker to precache (fetch them signed out)."""
    languages = list(current_app.config["LANGUAGES"])
    path = public_path
    urls = [path("cards.index")] + [path("cards.index", lang=lang) for lang in languages]
    # One page per card holds every language (its own switch shows the other), so a card is
    # kept once, in the app's language first; /cards/<slug>?lang=.. is served from it offline.
    urls += [path("cards.show", slug=slug) for slug in services.card_slugs()]
    # Referral cards are left out: offline, /directory lists the same services, filterable by
    # referral type, and keeping two copies of every type would break the 100 KB offline budget.
    return urls
