"""Funder templates: YAML files in ``outreach/funder/templates``, checked when loaded.

A template names its fields (the CSV uses those names), gives each a label and a
description in English and Spanish and a formula (``formulas``), declares the categories
its formulas sum over, with defaults from the catalogue (item keys or item flags), and the
periods it is reported by. Anything wrong stops the load with a message that names the
file and the field: a template that half works would send a funder wrong figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from outreach.funder import formulas
from outreach.funder.formulas import FormulaError
from outreach.funder.formulas import Term

TEMPLATE_DIR = Path(__file__).parent / "templates"
PERIODS = ("month", "quarter", "year")
CATALOGUES = ("supplies", "referrals")
FLAGS = ("is_syringe", "is_naloxone")
LANGUAGES = ("en", "es")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TOP_KEYS = {
    "key",
    "name",
    "description",
    "source",
    "periods",
    "categories",
    "fields",
    "not_covered",
}


class TemplateError(ValueError):
    """A template file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Text:
    """Words in English and Spanish (Spanish falls back to English)."""

    en: str
    es: str

    def __call__(self, lang: str) -> str:
        return self.es if lang == "es" and self.es else self.en


@dataclass(frozen=True)
class Category:
    name: str
    label: Text
    default_keys: tuple[str, ...] = ()
    default_flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Field:
    name: str
    label: Text
    description: Text
    formula: str
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Template:
    key: str
    name: Text
    description: Text
    source: str
    periods: tuple[str, ...]
    # catalogue ("supplies", "referrals") → category name → Category, in file order
    categories: dict[str, dict[str, Category]]
    fields: tuple[Field, ...]
    not_covered: tuple[Text, ...] = ()


def _text(value, where: str) -> Text:
    if isinstance(value, str) and value.strip():
        return Text(value.strip(), "")
    if isinstance(value, dict) and isinstance(value.get("en"), str) and value["en"].strip():
        unknown = set(value) - set(LANGUAGES)
        if unknown:
            raise TemplateError(f"{where}: unknown language {sorted(unknown)[0]!r}")
        spanish = value.get("es", "")
        if not isinstance(spanish, str):
            raise TemplateError(f"{where}: 'es' must be text")
        return Text(value["en"].strip(), spanish.strip())
    raise TemplateError(f"{where}: expected text, or {{en: ..., es: ...}} with English")


def _names(value, where: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TemplateError(f"{where}: expected a list of names")
    for name in value:
        if allowed is not None and name not in allowed:
            raise TemplateError(f"{where}: {name!r} is not one of {', '.join(allowed)}")
    return tuple(value)


def parse_template(data, origin: str) -> Template:
    """A Template from a YAML document's data; TemplateError says what is wrong."""
    if not isinstance(data, dict):
        raise TemplateError(f"{origin}: a template is a mapping of keys")
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise TemplateError(f"{origin}: unknown key {sorted(unknown)[0]!r}")
    key = data.get("key")
    if not isinstance(key, str) or not NAME.match(key):
        raise TemplateError(f"{origin}: 'key' must be lower-case letters, digits and _")
    periods = _names(data.get("periods"), f"{origin}: periods", PERIODS)
    if not periods:
        raise TemplateError(f"{origin}: 'periods' lists at least one of {', '.join(PERIODS)}")
    categories: dict[str, dict[str, Category]] = {catalogue: {} for catalogue in CATALOGUES}
    raw_categories = data.get("categories") or {}
    if not isinstance(raw_categories, dict) or set(raw_categories) - set(CATALOGUES):
        raise TemplateError(f"{origin}: 'categories' has only supplies and referrals")
    for catalogue, entries in raw_categories.items():
        if not isinstance(entries, dict):
            raise TemplateError(f"{origin}: categories.{catalogue} is a mapping")
        for name, spec in entries.items():
            where = f"{origin}: categories.{catalogue}.{name}"
            if not isinstance(name, str) or not NAME.match(name):
                raise TemplateError(f"{where}: a category name is lower-case letters and _")
            if not isinstance(spec, dict) or set(spec) - {
                "label",
                "default_keys",
                "default_flags",
            }:
                raise TemplateError(f"{where}: expected label, default_keys, default_flags")
            categories[catalogue][name] = Category(
                name,
                _text(spec.get("label"), f"{where}.label"),
                _names(spec.get("default_keys"), f"{where}.default_keys"),
                _names(
                    spec.get("default_flags"),
                    f"{where}.default_flags",
                    FLAGS if catalogue == "supplies" else (),
                ),
            )
    known = {catalogue: set(names) for catalogue, names in categories.items()}
    raw_fields = data.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise TemplateError(f"{origin}: 'fields' is a non-empty list")
    fields, seen = [], set()
    for index, spec in enumerate(raw_fields):
        where = f"{origin}: fields[{index}]"
        if not isinstance(spec, dict) or set(spec) - {"name", "label", "description", "formula"}:
            raise TemplateError(f"{where}: expected name, label, description, formula")
        name = spec.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise TemplateError(f"{where}: 'name' must be lower-case letters, digits and _")
        if name in seen:
            raise TemplateError(f"{where}: the field name {name!r} is used twice")
        seen.add(name)
        where = f"{origin}: field {name}"
        try:
            terms = formulas.parse(spec.get("formula"), known)
        except FormulaError as error:
            raise TemplateError(f"{where}: {error}") from None
        fields.append(
            Field(
                name,
                _text(spec.get("label"), f"{where}.label"),
                _text(spec.get("description"), f"{where}.description"),
                spec["formula"].strip(),
                terms,
            )
        )
    source = data.get("source") or ""
    if not isinstance(source, str):
        raise TemplateError(f"{origin}: 'source' is text")
    not_covered = data.get("not_covered") or []
    if not isinstance(not_covered, list):
        raise TemplateError(f"{origin}: 'not_covered' is a list")
    return Template(
        key=key,
        name=_text(data.get("name"), f"{origin}: name"),
        description=_text(data.get("description") or data.get("name"), f"{origin}: description"),
        source=" ".join(source.split()),
        periods=periods,
        categories=categories,
        fields=tuple(fields),
        not_covered=tuple(
            _text(item, f"{origin}: not_covered[{i}]") for i, item in enumerate(not_covered)
        ),
    )


def load_directory(directory: Path) -> dict[str, Template]:
    """Every ``*.yaml`` template in a directory, by key, in file-name order."""
    templates: dict[str, Template] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            raise TemplateError(f"{path.name}: not valid YAML ({error})") from None
        template = parse_template(data, path.name)
        if template.key in templates:
            raise TemplateError(f"{path.name}: the key {template.key!r} is used twice")
        templates[template.key] = template
    return templates


@lru_cache(maxsize=1)
def load_templates() -> dict[str, Template]:
    """The shipped templates (read once per process; checked when the app starts)."""
    return load_directory(TEMPLATE_DIR)
