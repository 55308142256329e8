"""The participant code sealed on the phone: keys, their publication, and opening a seal.

A phone encrypts the participant code to the server's public key when the record is saved
(JWE compact serialisation, ``alg`` ECDH-ES, ``enc`` A256GCM, curve P-256), so nothing on the
phone can read it back. The server opens the seal here and hands the code to the same
normalise-and-HMAC step as a plain ``participant_code``; the code itself goes nowhere else.

Keys live in the instance folder (``seal_keys.json``, owner-only) unless ``SEAL_KEYS_FILE``
names another path (every server of one site must read the same file). ``flask seal-key
rotate`` makes a new key for phones to use and keeps the old private keys: a phone may hold a
record sealed to an old key until it next syncs, and the server accepts a record up to
``MAX_AGE`` old, so a key is dropped only once it has been retired for longer than that.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import click
from flask import Flask
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

# The field of the sync contract that carries the sealed code (DESIGN-compatible name).
SEALED_FIELD = "participant_code_sealed"
ALGORITHM = "ECDH-ES"
ENCRYPTION = "A256GCM"
CURVE = "P-256"
# A sealed code of 64 characters is about 450 characters long; anything far longer is junk.
MAX_TOKEN_LENGTH = 2048
# A record older than this is refused anyway (outreach.sync.validation.MAX_AGE), so a key
# retired for longer can hold nothing the server would still accept.
KEEP_RETIRED_KEYS = timedelta(days=367)
KEYS_FILENAME = "seal_keys.json"
_EXTENSION_KEY = "outreach_seal_keys"


class SealError(ValueError):
    """A sealed code the server cannot open; ``message`` is for the worker, translated."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class SealKey:
    key: ECKey
    created: datetime
    retired: datetime | None = None

    @property
    def kid(self) -> str:
        return str(self.key.kid)


def keys_path(app: Flask) -> Path:
    configured = app.config.get("SEAL_KEYS_FILE")
    return Path(configured) if configured else Path(app.instance_path) / KEYS_FILENAME


def _new_key() -> SealKey:
    return SealKey(ECKey.generate_key(CURVE, private=True, auto_kid=True), datetime.now(UTC))


def _read(path: Path) -> list[SealKey]:
    data = json.loads(path.read_text())
    return [
        SealKey(
            ECKey.import_key(entry["jwk"]),
            datetime.fromisoformat(entry["created"]),
            datetime.fromisoformat(entry["retired"]) if entry.get("retired") else None,
        )
        for entry in data["keys"]
    ]


def _write(path: Path, keys: list[SealKey], *, first: bool = False) -> None:
    """Write the key file atomically, owner-only. ``first``: only if no file exists yet.

    Several app processes may make the first key at once: each writes its own temporary
    file, and only one can link it into place, so every process ends up with the same key
    (a phone must never seal to a key another process replaced).
    """
    body = {
        "keys": [
            {
                "jwk": key.key.as_dict(private=True),
                "created": key.created.isoformat(),
                "retired": key.retired.isoformat() if key.retired else None,
            }
            for key in keys
        ]
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp makes the file 0600, like the other instance secrets: these keys open codes.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".seal_keys.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(body, handle, indent=2)
        if first:
            os.link(temporary, path)  # FileExistsError when another process won
        else:
            os.replace(temporary, path)
            temporary = None
    finally:
        if temporary is not None:
            os.unlink(temporary)


def load_keys(app: Flask | None = None) -> list[SealKey]:
    """The seal keys, newest first; made on first use when the file does not exist.

    Read again whenever the file changes, so a rotation made by ``flask seal-key rotate``
    reaches running app servers without a restart.
    """
    app = app or current_app._get_current_object()
    path = keys_path(app)
    if not path.exists():
        # Another process may make it first: then its key is the one used.
        with contextlib.suppress(FileExistsError):
            _write(path, [_new_key()], first=True)
    stamp = path.stat().st_mtime_ns
    cached = app.extensions.get(_EXTENSION_KEY)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    keys = _read(path)
    app.extensions[_EXTENSION_KEY] = (stamp, keys)
    return keys


def current_key() -> SealKey:
    return next(key for key in load_keys() if key.retired is None)


def check_key_store() -> None:
    """Raise when the seal keys cannot be read: every phone's session call would fail."""
    current_key()


def public_jwk() -> dict:
    """The key phones seal to, as a public JWK with its ``kid``."""
    key = current_key()
    return {
        **key.key.as_dict(private=False),
        "kid": key.kid,
        "alg": ALGORITHM,
        "use": "enc",
    }


def rotate(app: Flask, now: datetime | None = None) -> SealKey:
    """Make a new current key; retire the old one; drop keys retired long enough ago."""
    now = now or datetime.now(UTC)
    keys = list(load_keys(app))
    for key in keys:
        if key.retired is None:
            key.retired = now
    fresh = _new_key()
    kept = [k for k in keys if k.retired is None or now - k.retired <= KEEP_RETIRED_KEYS]
    keys = [fresh, *kept]
    _write(keys_path(app), keys)
    return fresh


def _kid_of(token: str) -> str | None:
    """The ``kid`` of a compact JWE's protected header, without trusting anything else."""
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeError, binascii.Error):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def open_sealed_code(token: object) -> str:
    """The participant code inside a sealed token; raises SealError with a worker's message."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise SealError(_("The participant code could not be read. Type it again and save."))
    kid = _kid_of(token)
    if kid is None:
        raise SealError(_("The participant code could not be read. Type it again and save."))
    key = next((k for k in load_keys() if k.kid == kid), None)
    if key is None:
        raise SealError(
            _(
                "This phone protected the participant code with a key the server no longer "
                "has. Type the code again and save."
            )
        )
    try:
        opened = jwe.decrypt_compact(token, key.key, algorithms=[ALGORITHM, ENCRYPTION])
        header = opened.protected
        if header.get("alg") != ALGORITHM or header.get("enc") != ENCRYPTION:
            raise ValueError("unexpected algorithm")
        return (opened.plaintext or b"").decode("utf-8")
    except (JoseError, ValueError, UnicodeError, TypeError, KeyError) as error:
        # Never the token or the error text in a message: either might hint at the code.
        raise SealError(
            _("The participant code could not be read. Type it again and save.")
        ) from error


def participant_code_of(raw: dict, errors: dict) -> object:
    """What the record says the participant code is: the opened seal, else the plain field.

    A seal the server cannot open is reported under ``participant_code``, the field the
    worker types again.
    """
    sealed = raw.get(SEALED_FIELD)
    if sealed is None:
        return raw.get("participant_code")
    if raw.get("participant_code") not in (None, ""):
        errors["participant_code"] = _(
            "The record has the participant code twice. Type it again and save."
        )
        return None
    try:
        return open_sealed_code(sealed)
    except SealError as error:
        errors["participant_code"] = error.message
        return None


seal_key_cli = AppGroup("seal-key", help="The key phones use to seal participant codes.")


@seal_key_cli.command("rotate")
def rotate_command() -> None:
    """Make a new seal key; old keys stay until no phone can hold a record sealed to them."""
    fresh = rotate(current_app._get_current_object())
    click.echo(f"New seal key {fresh.kid}. Phones pick it up when they next reach the server.")


@seal_key_cli.command("show")
def show_command() -> None:
    """List the seal keys (ids and dates only)."""
    for key in load_keys():
        state = f"retired {key.retired:%Y-%m-%d}" if key.retired else "current"
        click.echo(f"{key.kid}  created {key.created:%Y-%m-%d}  {state}")
