"""Participant codes: normalised, keyed-hashed, and never stored, logged or echoed raw."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import Encounter
from outreach.privacy import normalise_participant_code
from outreach.privacy import participant_hash
from tests.conftest import is_postgres
from tests.conftest import make_encounter

RAW_CODE = "Zq-Xylophone-4471"
MARKERS = ["Zq-Xylophone-4471", "ZQXYLOPHONE4471", "Xylophone", "XYLOPHONE"]


def _database_text(app) -> str:
    """Everything the database holds, as text, for searching."""
    with app.app_context():
        if is_postgres():
            parts = []
            for table in db.metadata.sorted_tables:
                rows = db.session.execute(sa.text(f'SELECT t::text FROM "{table.name}" t'))
                parts.extend(row[0] for row in rows)
            return "\n".join(parts)
        database = Path(db.engine.url.database)
        db.session.remove()
        db.engine.dispose()
        blobs = [p.read_bytes() for p in database.parent.glob(database.name + "*")]
        return "\n".join(b.decode("latin-1") for b in blobs)


def test_normalising_ignores_case_spaces_and_separators():
    assert normalise_participant_code(" m krtz 1987 ") == "MKRTZ1987"
    assert normalise_participant_code("M-KRTZ-1987") == "MKRTZ1987"
    assert normalise_participant_code("m.krtz_1987") == "MKRTZ1987"
    # Full-width characters typed on some keyboards fold to the same code.
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "MKRTZ1987")
    assert normalise_participant_code(full_width) == "MKRTZ1987"


def test_hash_is_keyed_and_stable():
    assert participant_hash("M-KRTZ-1987", "k1") == participant_hash("mkrtz 1987", "k1")
    assert participant_hash("M-KRTZ-1987", "k1") != participant_hash("M-KRTZ-1987", "k2")
    assert len(participant_hash("x", "k1")) == 64


def test_same_code_typed_differently_counts_as_one_participant(app, sync_api):
    records = [
        make_encounter(participant_code="M-KRTZ-1987"),
        make_encounter(participant_code="mkrtz 1987"),
    ]
    sync_api.post(records)
    with app.app_context():
        hashes = set(db.session.scalars(sa.select(Encounter.participant_hash)))
    assert hashes == {participant_hash("M-KRTZ-1987", app.config["PARTICIPANT_CODE_KEY"])}


def test_raw_code_is_never_stored_logged_or_returned(app, sync_api, caplog):
    caplog.set_level(logging.DEBUG)
    good = make_encounter(participant_code=RAW_CODE)
    # A rejected record carrying the code must not echo it in its errors either.
    bad = make_encounter(participant_code=RAW_CODE, supplies={"nope": 1})
    too_long = make_encounter(participant_code=RAW_CODE * 5)
    response = sync_api.post([good, bad, too_long])
    body = response.get_data(as_text=True)
    statuses = [r["status"] for r in response.get_json()["results"]]
    assert statuses == ["created", "rejected", "rejected"]

    with app.app_context():
        stored = db.session.get(Encounter, uuid.UUID(good["id"]))
        assert stored.participant_hash == participant_hash(
            RAW_CODE, app.config["PARTICIPANT_CODE_KEY"]
        )
    stored_text = _database_text(app)
    for marker in MARKERS:
        assert marker not in body
        assert marker not in caplog.text
        assert marker.lower() not in stored_text.lower()
    assert stored.participant_hash in stored_text  # the search did read the data


def test_schema_has_no_columns_for_identifying_data(app):
    forbidden = ("name", "birth", "dob", "phone", "address", "email", "photo", "gps", "lat", "lon")
    forbidden += ("ip", "note", "comment", "description")
    encounter_tables = ["encounter", "encounter_supply", "encounter_referral"]
    for table_name in encounter_tables:
        columns = [c.name for c in db.metadata.tables[table_name].columns]
        for column in columns:
            words = column.split("_")
            assert not any(word in forbidden for word in words), (table_name, column)
