"""Language choice: ?lang= wins and is remembered; otherwise the browser's preference.

On a safety card, ?lang= is the card's language, not the app's (a worker shows a participant
a card in Spanish without the app turning Spanish): it is never remembered there, and it sets
the page's language only for a visitor who has not chosen one (someone scanning the card's QR
code sees it in the card's language).
"""

from __future__ import annotations

from flask import Flask
from flask import current_app
from flask import g
from flask import request
from flask_babel import get_locale

from outreach.pwa import is_offline_copy

LANG_COOKIE = "lang"
# Pages where ?lang= picks a card's language only.
CARD_LANG_ENDPOINTS = frozenset({"cards.show", "cards.show_qr"})
# Where ?lang= says which copy is wanted (a page's scripts ask for their strings in the
# page's language), not a choice to remember.
UNREMEMBERED_LANG_ENDPOINTS = frozenset({"worker.strings"})


def supported_languages() -> list[str]:
    return list(current_app.config["LANGUAGES"])


def select_locale() -> str:
    """The language for this request."""
    languages = supported_languages()
    asked = request.args.get("lang")
    remembered = request.cookies.get(LANG_COOKIE)
    if asked in languages and request.endpoint in CARD_LANG_ENDPOINTS:
        return remembered if remembered in languages else asked
    if asked in languages:
        if request.endpoint not in UNREMEMBERED_LANG_ENDPOINTS:
            g.remember_lang = asked
        return asked
    if remembered in languages:
        return remembered
    return request.accept_languages.best_match(languages) or languages[0]


def current_lang() -> str:
    return str(get_locale() or "en")


def init_app(app: Flask) -> None:
    @app.before_request
    def _choose_language() -> None:
        # Every ?lang= is remembered, even on answers that show no text (the service worker
        # tells the server this way, through /offline-pages.json?lang=).
        if "lang" in request.args:
            get_locale()

    @app.after_request
    def _remember_language(response):
        lang = g.get("remember_lang")
        # The service worker fetching a page in each language to keep offline is not the
        # visitor choosing a language (see outreach/pwa.py).
        if lang and not is_offline_copy():
            response.set_cookie(
                LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
            )
        return response

    @app.context_processor
    def _language_context() -> dict:
        return {
            "current_lang": current_lang(),
            "languages": app.config["LANGUAGES"],
            "entry_lang": entry_language,
        }


def entry_language() -> tuple[str, str] | None:
    """For text staff type in one language only (directory notes, in the program's default
    language): (its code, its name in the page's language) when the page is in another
    language, so the page can say so; None when they match."""
    from babel import Locale

    default = str(current_app.config.get("BABEL_DEFAULT_LOCALE") or "en")
    lang = current_lang()
    if lang == default:
        return None
    return default, Locale.parse(default).get_display_name(lang)
