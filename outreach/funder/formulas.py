"""The formula language of funder templates: a sum of named figures, parsed, never eval'd.

    formula  := term ("+" term)*
    term     := figure | family "[" "category" ":" category "]"

A *figure* is one of ``FIGURES``; a *family* (supplies, doses, referrals) sums one catalogue
over the entries an admin maps to the template's category. Distinct counts (participants)
are not sums of anything, so they stand alone in a formula.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# figure → what it is (docs/funder-reports.md says the same in more words).
ADDITIVE = "additive"
DISTINCT = "distinct"
FIGURES = {
    "encounters": ADDITIVE,
    "people_served": ADDITIVE,
    "syringes_collected_counted": ADDITIVE,
    "syringes_collected_estimated": ADDITIVE,
    "naloxone_reversals_reported": ADDITIVE,
    "overdose_responses": ADDITIVE,
    "overdose_reversals": ADDITIVE,
    "overdose_naloxone_doses": ADDITIVE,
    "participants": DISTINCT,
    "new_participants": DISTINCT,
}
# family → the catalogue its categories group ("supplies" or "referrals").
FAMILIES = {"supplies": "supplies", "doses": "supplies", "referrals": "referrals"}
MAX_LENGTH = 500

_TOKEN = re.compile(r"\s*(?:(?P<name>[a-z][a-z0-9_]*)|(?P<symbol>[+\[\]:]))")


class FormulaError(ValueError):
    """A formula that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Term:
    """One figure (``category`` None) or one family summed over a category."""

    name: str
    category: str | None = None

    def __str__(self) -> str:
        return self.name if self.category is None else f"{self.name}[category:{self.category}]"


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise FormulaError(f"unexpected {text[position:].lstrip()[:10]!r} in {text!r}")
        tokens.append(match.group("name") or match.group("symbol"))
        position = match.end()
    return tokens


def parse(text: str, categories: dict[str, set[str]]) -> tuple[Term, ...]:
    """The terms of a formula, checked against the figures and the template's categories.

    ``categories`` maps each catalogue ("supplies", "referrals") to its category names.
    """
    if not isinstance(text, str) or not text.strip():
        raise FormulaError("a formula must be a non-empty string")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"a formula has at most {MAX_LENGTH} characters")
    tokens = _tokens(text)
    terms: list[Term] = []
    position = 0

    def expect(what: str) -> str:
        nonlocal position
        if position >= len(tokens):
            raise FormulaError(f"{text!r} ends where {what} was expected")
        token = tokens[position]
        position += 1
        return token

    while True:
        name = expect("a figure name")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise FormulaError(f"{name!r} in {text!r} is not a figure name")
        if position < len(tokens) and tokens[position] == "[":
            position += 1
            if name not in FAMILIES:
                raise FormulaError(
                    f"{name!r} in {text!r} has no categories (those are: {', '.join(FAMILIES)})"
                )
            if expect("'category'") != "category" or expect("':'") != ":":
                raise FormulaError(f"write {name}[category:NAME] in {text!r}")
            category = expect("a category name")
            if expect("']'") != "]":
                raise FormulaError(f"missing ']' after {category!r} in {text!r}")
            known = categories.get(FAMILIES[name], set())
            if category not in known:
                raise FormulaError(
                    f"unknown {FAMILIES[name]} category {category!r} in {text!r}"
                    f" (the template declares: {', '.join(sorted(known)) or 'none'})"
                )
            terms.append(Term(name, category))
        elif name in FIGURES:
            terms.append(Term(name))
        elif name in FAMILIES:
            raise FormulaError(f"write {name}[category:NAME] in {text!r}")
        else:
            raise FormulaError(
                f"unknown figure {name!r} in {text!r} (known: {', '.join(sorted(FIGURES))})"
            )
        if position == len(tokens):
            break
        if expect("'+'") != "+":
            raise FormulaError(f"expected '+' after {terms[-1]} in {text!r}")
    distinct = [t for t in terms if t.category is None and FIGURES[t.name] == DISTINCT]
    if distinct and len(terms) > 1:
        raise FormulaError(
            f"{distinct[0].name} counts distinct people and cannot be added to anything in {text!r}"
        )
    return tuple(terms)
