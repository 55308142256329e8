"""Participant codes: checked, normalised, then keyed-hashed. The raw code goes no further."""

from __future__ import annotations

import hmac
import re
import unicodedata

MAX_CODE_LENGTH = 64
# A run this long of digits (any separators between them ignored) is a phone number, or a
# full date of birth.
PHONE_DIGITS = 7
# Separators people type differently from one visit to the next ("m krtz 1987", "M-KRTZ-1987").
_SEPARATORS = re.compile(r"[\s\-_./]+")
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
DATE = "dob"
NAME = "name"

# --- What identifies a person: the same rules as static/src/lib/code-check.js -------------
# Both are checked against tests/data/participant_codes.json, so they cannot drift apart.
# They run on the code after NFKC (a full-width at sign is "@") without invisible characters, and
# on its "folded" form: accents dropped, lower case.
#
# An address spelled out: "john smith at gmail dot com", "maria (arroba) correo punto es".
_SPELLED_EMAIL = re.compile(
    r"[a-z0-9](?:[^a-z0-9]+)(?:at|arroba)(?:[^a-z0-9]+)[a-z0-9]"
    r"[\s\S]*?[^a-z0-9](?:dot|punto)(?:[^a-z0-9]+)[a-z]{2,}"
)
# Months in English and Spanish, whole or cut to their first letters.
_MONTHS = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    "|sep(?:t|tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    "|ene(?:ro)?|feb(?:rero)?|mar(?:zo)?|abr(?:il)?|mayo|jun(?:io)?|jul(?:io)?|ago(?:sto)?"
    "|sept?iembre|set(?:iembre)?|oct(?:ubre)?|nov(?:iembre)?|dic(?:iembre)?"
)
# A day, a month by name and a year, in either order: "15 MAR 1987", "15-mar-87",
# "12 de mayo de 1987", "May 12, 1987", "1987 mar 15".
_NAMED_DATE = re.compile(
    rf"(?<![a-z0-9])(?:"
    rf"[0-9]{{1,2}}[^a-z0-9]*(?:de[^a-z0-9]+)?(?:{_MONTHS})[^a-z0-9]*(?:de[^a-z0-9]+)?[0-9]{{2,4}}"
    rf"|(?:{_MONTHS})[^a-z0-9]*[0-9]{{1,2}}[^a-z0-9]+[0-9]{{2,4}}"
    rf"|[0-9]{{4}}[^a-z0-9]*(?:{_MONTHS})[^a-z0-9]*[0-9]{{1,2}}"
    rf")(?![a-z0-9])"
)
# Three numbers with any separators: day, month and year in any common order.
_NUMERIC_DATE = re.compile(
    r"(?<![0-9])([0-9]{1,4})[^a-z0-9]{1,3}([0-9]{1,2})[^a-z0-9]{1,3}([0-9]{1,4})(?![0-9])"
)
# A letter that makes a word readable as a name (names have vowels; made-up codes often not).
_VOWELS = frozenset("aeiouy")
# Inside a name: apostrophes (straight and typographic).
WORD_MARKS = "'\u2019"


def fold(text: str) -> str:
    """Lower case without accents ("José" → "jose"), for the rules that read words."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").lower()


def _is_date(day: int, month: int) -> bool:
    return 1 <= day <= 31 and 1 <= month <= 12


def _numeric_date(folded: str) -> bool:
    for match in _NUMERIC_DATE.finditer(folded):
        first, second, third = match.groups()
        a, b, c = int(first), int(second), int(third)
        if len(first) == 4:  # year, month, day
            if len(third) <= 2 and 1900 <= a <= 2099 and _is_date(c, b):
                return True
        elif (
            len(first) <= 2
            and (len(third) == 2 or (len(third) == 4 and 1900 <= c <= 2099))
            and (_is_date(a, b) or _is_date(b, a))  # day-month-year or month-day-year
        ):
            return True
    return False


def _digit_run(text: str) -> bool:
    """PHONE_DIGITS or more digits with nothing but separators (no letter) between them."""
    count = 0
    for ch in text:
        if ch.isdecimal():
            count += 1
            if count >= PHONE_DIGITS:
                return True
        elif ch.isalpha():
            count = 0
    return False


def _reads_as_name(text: str) -> bool:
    """Two or more plain words that read as a name ("JOHN SMITH", "maria.lopez", "María de
    la Cruz"): letters only, split where normalisation ignores the separators (spaces and
    -_./), two or more words of two letters or more with a vowel. A code with a number in it
    is a code ("rot ana 1" is ROT-ANA-1), and one made-up word ("KRTZ") or initials and
    consonants ("M KRTZ") are not names."""
    if any(map(str.isdecimal, text)):
        return False
    words = [word for word in _SEPARATORS.split(text) if word]
    if not all(_plain_word(word) for word in words):
        return False
    named = [
        word for word in words if sum(map(str.isalpha, word)) >= 2 and _VOWELS & set(fold(word))
    ]
    return len(named) >= 2


def _plain_word(word: str) -> bool:
    """Letters, with an apostrophe inside ("O'Brien")."""
    return any(map(str.isalpha, word)) and all(ch.isalpha() or ch in WORD_MARKS for ch in word)


def identifying_problem(code: str) -> str | None:
    """EMAIL, DATE, PHONE or NAME when the (visible, NFKC) code would identify a person."""
    folded = fold(code)
    if _EMAIL.search(code) or _SPELLED_EMAIL.search(folded):
        return EMAIL
    if _NAMED_DATE.search(folded) or _numeric_date(folded):
        return DATE
    if _digit_run(code):
        return PHONE
    if _reads_as_name(code):
        return NAME
    return None


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
    problem = identifying_problem(_visible(unicodedata.normalize("NFKC", trimmed)))
    if problem:
        return problem, None
    # The normal form of the code as given (usually the trimmed code itself).
    return None, normalised if trimmed == code else normalise_participant_code(code)


def hash_normalised_code(normalised: str, key: str) -> str:
    """HMAC-SHA256 of an already normalised code, as 64 hex characters."""
    # hmac.digest: the same HMAC in one C call (ingest hashes a code per record).
    return hmac.digest(key.encode(), normalised.encode(), "sha256").hex()


def participant_hash(code: str, key: str) -> str:
    """HMAC-SHA256 of the normalised code, as 64 hex characters."""
    return hash_normalised_code(normalise_participant_code(code), key)
