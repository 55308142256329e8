"""Participant codes: checked, normalised, then keyed-hashed. The raw code goes no further."""

from __future__ import annotations

import hmac
import re
import unicodedata

MAX_CODE_LENGTH = 64
# A run this long of digits (separators ignored) is a phone number, or a full date of birth.
PHONE_DIGITS = 7
# Separators people type differently from one visit to the next ("m krtz 1987", "M-KRTZ-1987").
_SEPARATORS = re.compile(r"[\s\-_./]+")
_PHONE_PUNCTUATION = re.compile(r"[()+]")
_DIGIT_RUN = re.compile(rf"\d{{{PHONE_DIGITS},}}")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]{2,}")
# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt) that are not format (Cf)
# characters already: combining grapheme joiner, Hangul fillers, variation selectors, ...
_DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
# Problems a code can have, named for the messages in outreach.encounters.contract.
TOO_LONG = "too_long"
UNREADABLE = "unreadable"
NO_LETTER_OR_DIGIT = "no_letter_or_digit"
EMAIL = "email"
PHONE = "phone"


def _visible(text: str) -> str:
    """``text`` without invisible characters: default-ignorable, format (Cf) and control."""
    if text.isascii() and text.isprintable():
        return text
    kept = "".join(
        ch
        for ch in _DEFAULT_IGNORABLE.sub("", text)
        if ch.isspace() or unicodedata.category(ch) not in ("Cf", "Cc")
    )
    # Removing a character can bring a letter and its combining mark together.
    return unicodedata.normalize("NFKC", kept) if kept != text else text


def normalise_participant_code(code: str) -> str:
    """Fold case, width, separators and invisible characters so the same code typed twice
    hashes the same."""
    folded = _visible(unicodedata.normalize("NFKC", code)).strip().upper()
    return _SEPARATORS.sub("", folded)


def participant_code_problem(code: str) -> str | None:
    """Why a (non-blank) code cannot be used, or None; see the names above."""
    return checked_participant_code(code)[0]


def checked_participant_code(code: str) -> tuple[str | None, str | None]:
    """(why a non-blank code cannot be used, None) or (None, its normalised form): the check
    and the normalisation in one pass, since the check normalises the code anyway."""
    trimmed = code.strip()
    if len(trimmed) > MAX_CODE_LENGTH:
        return TOO_LONG, None
    # ASCII holds no surrogates: the per-character scan is for the rest.
    if not trimmed.isascii() and any("\ud800" <= ch <= "\udfff" for ch in trimmed):
        return UNREADABLE, None
    normalised = normalise_participant_code(trimmed)
    if not any(map(str.isalnum, normalised)):
        return NO_LETTER_OR_DIGIT, None
    if "@" in trimmed and _EMAIL.search(unicodedata.normalize("NFKC", trimmed)):
        return EMAIL, None
    if _DIGIT_RUN.search(_PHONE_PUNCTUATION.sub("", normalised)):
        return PHONE, None
    # The normal form of the code as given (usually the trimmed code itself).
    return None, normalised if trimmed == code else normalise_participant_code(code)


def hash_normalised_code(normalised: str, key: str) -> str:
    """HMAC-SHA256 of an already normalised code, as 64 hex characters."""
    # hmac.digest: the same HMAC in one C call (ingest hashes a code per record).
    return hmac.digest(key.encode(), normalised.encode(), "sha256").hex()


def participant_hash(code: str, key: str) -> str:
    """HMAC-SHA256 of the normalised code, as 64 hex characters."""
    return hash_normalised_code(normalise_participant_code(code), key)
