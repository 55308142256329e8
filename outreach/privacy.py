"""Participant codes: normalised, then keyed-hashed. The raw code goes no further."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

MAX_CODE_LENGTH = 64
# Separators people type differently from one visit to the next ("m krtz 1987", "M-KRTZ-1987").
_SEPARATORS = re.compile(r"[\s\-_./]+")


def normalise_participant_code(code: str) -> str:
    """Fold case, width and separators so the same code typed twice hashes the same."""
    folded = unicodedata.normalize("NFKC", code).strip().upper()
    return _SEPARATORS.sub("", folded)


def participant_hash(code: str, key: str) -> str:
    """HMAC-SHA256 of the normalised code, as 64 hex characters."""
    normalised = normalise_participant_code(code)
    return hmac.new(key.encode(), normalised.encode(), hashlib.sha256).hexdigest()
