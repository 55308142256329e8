"""The participant code sealed on the phone: keys, their publication, and opening a seal.

A phone encrypts the participant code to the server's public key when the record is saved
(JWE compact serialisation, ``alg`` ECDH-ES, ``enc`` A256GCM, curve P-256), so nothing on the
phone can read it back. The server opens the seal here and hands the code to the same
normalise-and-HMAC step as a plain ``participant_code``; the code itself goes nowhere else.

The keys live in the database (table ``seal_key``), so every app server of a site uses the
same keys with nothing to copy, a rotation made on one reaches all of them, and a database
backup restores them. Each private key is stored wrapped: AES-256-GCM under a key derived
(HKDF-SHA256) from ``SEAL_WRAP_KEY``, or from ``SECRET_KEY`` when that is not set, so the
database alone cannot open a code. A ``seal_keys.json`` left by an earlier version (in the
instance folder, or ``SEAL_KEYS_FILE``) is imported on first use, so codes phones sealed to
it still open. ``flask seal-key rotate`` makes a new key for phones to use and keeps the old
private keys: a phone may hold a record sealed to an old key until it next syncs, and the
server accepts a record up to ``MAX_AGE`` old, so a key is dropped only once it has been
retired for longer than that.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import click
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from outreach.database import write_transaction
from outreach.extensions import db

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


seal_key_table = sa.Table(
    "seal_key",
    db.metadata,
    sa.Column("kid", sa.String(100), primary_key=True),
    # The public half as a JWK (what phones seal to).
    sa.Column("public_jwk", sa.Text, nullable=False),
    # base64url(nonce ‖ AES-256-GCM(private JWK)), the kid as associated data.
    sa.Column("wrapped_private_key", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("retired_at", sa.DateTime, nullable=True),
)
# How long a server trusts its copy of the keys before reading them again; a kid it does not
# know is looked up at once, so a key rotated on another server opens here immediately.
CACHE_SECONDS = 10
# Any number: the lock two servers take to make the first key or rotate (PostgreSQL).
_KEY_LOCK = 0x5EA1_0009
_WRAP_INFO = b"outreach seal-key wrap v1"


class KeyStoreError(RuntimeError):
    """The seal keys cannot be used (wrong wrap key, unreadable legacy file, no database)."""


def keys_path(app: Flask) -> Path:
    """Where an earlier version kept the keys (imported once into the database)."""
    configured = app.config.get("SEAL_KEYS_FILE")
    return Path(configured) if configured else Path(app.instance_path) / KEYS_FILENAME


def _wrapping_key(app: Flask) -> AESGCM:
    secret = app.config.get("SEAL_WRAP_KEY") or app.config["SECRET_KEY"]
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_WRAP_INFO).derive(
        secret.encode("utf-8")
    )
    return AESGCM(derived)


def _wrap(app: Flask, kid: str, private_jwk: dict) -> str:
    nonce = os.urandom(12)
    sealed = _wrapping_key(app).encrypt(nonce, json.dumps(private_jwk).encode(), kid.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def _unwrap(app: Flask, kid: str, wrapped: str) -> dict:
    raw = base64.urlsafe_b64decode(wrapped)
    try:
        plain = _wrapping_key(app).decrypt(raw[:12], raw[12:], kid.encode())
    except InvalidTag:
        raise KeyStoreError(
            "the seal keys were wrapped with another SEAL_WRAP_KEY/SECRET_KEY than this "
            "server's: give every server the same one"
        ) from None
    return json.loads(plain)


def _naive_utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment is not None else None


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None else None


def _new_key(now: datetime | None = None) -> SealKey:
    return SealKey(ECKey.generate_key(CURVE, private=True, auto_kid=True), now or datetime.now(UTC))


def _row(app: Flask, key: SealKey) -> dict:
    return {
        "kid": key.kid,
        "public_jwk": json.dumps(key.key.as_dict(private=False)),
        "wrapped_private_key": _wrap(app, key.kid, key.key.as_dict(private=True)),
        "created_at": _naive_utc(key.created),
        "retired_at": _naive_utc(key.retired),
    }


def _read_legacy_file(path: Path) -> list[SealKey]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise KeyStoreError(f"cannot read the old seal key file {path}: {error}") from None
    return [
        SealKey(
            ECKey.import_key(entry["jwk"]),
            datetime.fromisoformat(entry["created"]),
            datetime.fromisoformat(entry["retired"]) if entry.get("retired") else None,
        )
        for entry in data["keys"]
    ]


@contextlib.contextmanager
def _key_transaction():
    """One writer at a time across every server: the first key is made once, and two
    rotations never leave two current keys."""
    with write_transaction() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _KEY_LOCK})
        yield connection


def _stored_rows(connection: sa.Connection) -> list[sa.Row]:
    return connection.execute(
        sa.select(seal_key_table).order_by(
            seal_key_table.c.retired_at.is_not(None), seal_key_table.c.created_at.desc()
        )
    ).all()


def _ensure_keys(app: Flask) -> None:
    """Import an earlier version's key file, or make the first key, when none is stored."""
    with _key_transaction() as connection:
        if _stored_rows(connection):
            return
        legacy = keys_path(app)
        keys = _read_legacy_file(legacy) if legacy.exists() else [_new_key()]
        if not any(key.retired is None for key in keys):
            keys.insert(0, _new_key())
        connection.execute(seal_key_table.insert(), [_row(app, key) for key in keys])


def import_key_file(app: Flask) -> int:
    """Bring the keys of an earlier version's seal_keys.json into the database (once);
    how many were added. Keys already stored stay as they are."""
    legacy = keys_path(app)
    if not legacy.exists():
        return 0
    keys = _read_legacy_file(legacy)
    with app.app_context(), _key_transaction() as connection:
        stored = {row.kid for row in _stored_rows(connection)}
        has_current = connection.execute(
            sa.select(sa.func.count())
            .select_from(seal_key_table)
            .where(seal_key_table.c.retired_at.is_(None))
        ).scalar_one()
        added = []
        for key in keys:
            if key.kid in stored:
                continue
            if key.retired is None and has_current:
                # The database already has a current key (made before the import): the
                # file's key keeps opening codes, as a retired one.
                key.retired = datetime.now(UTC)
            added.append(_row(app, key))
        if added:
            connection.execute(seal_key_table.insert(), added)
    forget_cached_keys(app)
    return len(added)


def forget_cached_keys(app: Flask) -> None:
    app.extensions.pop(_EXTENSION_KEY, None)


def load_keys(app: Flask | None = None, *, fresh: bool = False) -> list[SealKey]:
    """The seal keys, current first, then retired ones newest first.

    Read from the database, at most CACHE_SECONDS old (``fresh``: read now), so a rotation
    made on any server reaches this one without a restart.
    """
    app = app or current_app._get_current_object()
    cached = app.extensions.get(_EXTENSION_KEY)
    now = time.monotonic()
    if cached is not None and not fresh and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    with app.app_context():
        with db.engine.connect() as connection:
            rows = _stored_rows(connection)
        if not rows:
            _ensure_keys(app)
            with db.engine.connect() as connection:
                rows = _stored_rows(connection)
    keys = [
        SealKey(
            ECKey.import_key(_unwrap(app, row.kid, row.wrapped_private_key)),
            _aware(row.created_at),
            _aware(row.retired_at),
        )
        for row in rows
    ]
    app.extensions[_EXTENSION_KEY] = (now, keys)
    return keys


def current_key(*, fresh: bool = False) -> SealKey:
    return next(key for key in load_keys(fresh=fresh) if key.retired is None)


def check_key_store() -> None:
    """Raise when the seal keys cannot be used: every phone's session call would fail."""
    keys = load_keys(fresh=True)
    if not any(key.retired is None for key in keys):
        raise KeyStoreError("no current seal key")


def public_jwk() -> dict:
    """The key phones seal to, as a public JWK with its ``kid``.

    Read now, not from the cache: a phone must never be handed a key rotated away.
    """
    key = current_key(fresh=True)
    return {
        **key.key.as_dict(private=False),
        "kid": key.kid,
        "alg": ALGORITHM,
        "use": "enc",
    }


def rotate(app: Flask, now: datetime | None = None) -> SealKey:
    """Make a new current key; retire the old one; drop keys retired long enough ago."""
    now = now or datetime.now(UTC)
    load_keys(app, fresh=True)  # makes or imports the first key when there is none
    fresh = _new_key(now)
    with app.app_context(), _key_transaction() as connection:
        table = seal_key_table
        connection.execute(
            table.update().where(table.c.retired_at.is_(None)).values(retired_at=_naive_utc(now))
        )
        connection.execute(
            table.delete().where(table.c.retired_at < _naive_utc(now - KEEP_RETIRED_KEYS))
        )
        connection.execute(table.insert(), [_row(app, fresh)])
    forget_cached_keys(app)
    return fresh


def _find_key(kid: str) -> SealKey | None:
    key = next((k for k in load_keys() if k.kid == kid), None)
    if key is None:
        # Rotated on another server since this one last read the keys.
        key = next((k for k in load_keys(fresh=True) if k.kid == kid), None)
    return key


def _kid_of(token: str) -> str | None:
    """The ``kid`` of a compact JWE's protected header, without trusting anything else."""
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeError, binascii.Error):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


# Phones pad the code before sealing (static/src/lib/seal.js) so every sealed code has the
# same length: a 0x00 marker byte, the code, then 0x00 bytes to a multiple of PADDED_BYTES.
PADDED_BYTES = 64


def unpad(plaintext: bytes) -> bytes:
    """The code inside a padded plaintext; an older phone's bare code as it is.

    A code never starts with NUL (validation refuses control characters), so the marker
    byte tells the two apart without guessing.
    """
    if not plaintext.startswith(b"\x00"):
        return plaintext
    if len(plaintext) % PADDED_BYTES:
        raise ValueError("padded code of the wrong length")
    return plaintext[1:].rstrip(b"\x00")


def open_sealed_code(token: object) -> str:
    """The participant code inside a sealed token; raises SealError with a worker's message."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise SealError(_("The participant code could not be read. Type it again and save."))
    kid = _kid_of(token)
    if kid is None:
        raise SealError(_("The participant code could not be read. Type it again and save."))
    key = _find_key(kid)
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
        return unpad(opened.plaintext or b"").decode("utf-8")
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
    for key in load_keys(fresh=True):
        state = f"retired {key.retired:%Y-%m-%d}" if key.retired else "current"
        click.echo(f"{key.kid}  created {key.created:%Y-%m-%d}  {state}")
