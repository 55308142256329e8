"""English and Spanish ship complete, and the language choice sticks."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [("outreach/**.py", "python"), ("templates/**.html", "jinja2")]


def _message_ids_in_code(project_dir) -> set[str]:
    ids = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(project_dir), method_map=METHODS, keywords=KEYWORDS
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_user_facing_string_has_a_spanish_translation(project_dir):
    path = project_dir / "outreach/translations/es/LC_MESSAGES/messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id
        and m.string
        and (m.string if isinstance(m.string, str) else all(m.string))
        and "fuzzy" not in m.flags
    }
    missing = sorted(_message_ids_in_code(project_dir) - translated)
    assert missing == [], "run 'make messages' and translate these in es/messages.po"


def test_lang_parameter_switches_to_spanish_and_is_remembered(client):
    page = client.get("/login?lang=es").get_data(as_text=True)
    assert 'lang="es"' in page
    assert "Iniciar sesión" in page
    again = client.get("/login").get_data(as_text=True)
    assert "Iniciar sesión" in again


def test_browser_language_is_used_when_nothing_was_chosen(client):
    page = client.get("/login", headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert "Iniciar sesión" in page.get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en-US"})
    assert "Sign in" in english.get_data(as_text=True)


def test_api_errors_follow_the_language(client):
    response = client.get("/api/v1/session?lang=es")
    assert response.get_json()["message"] == "Vuelva a iniciar sesión."
