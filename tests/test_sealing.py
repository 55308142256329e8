"""The sealed participant code and the record's author, at the sync API.

Tokens here are made with the JOSE library (joserfc), as any standard client would make them;
tests/browser/test_shared_phone.py opens a token made by the phone's own WebCrypto code.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import sqlalchemy as sa
from joserfc import jwe
from joserfc.jwk import ECKey

from outreach import sealing
from outreach.extensions import db
from outreach.models import Encounter
from outreach.models import User
from outreach.privacy import participant_hash
from tests.conftest import make_encounter

CODE = "Qv-Marigold-3318"
MARKERS = [CODE, "QVMARIGOLD3318", "Marigold", "MARIGOLD"]
ALGORITHMS = ["ECDH-ES", "A256GCM"]


def seal_with_library(public_jwk: dict, text: str = CODE, kid: str | None = None) -> str:
    key = ECKey.import_key({k: public_jwk[k] for k in ("kty", "crv", "x", "y")})
    header = {"alg": "ECDH-ES", "enc": "A256GCM", "kid": kid or public_jwk["kid"]}
    return jwe.encrypt_compact(header, text.encode(), key, algorithms=ALGORITHMS)


def session_key(sync_api) -> dict:
    return sync_api.client.get("/api/v1/session").get_json()["seal_key"]


def stored_hash(app, record_id: str) -> str | None:
    with app.app_context():
        return db.session.get(Encounter, uuid.UUID(record_id)).participant_hash


def test_session_publishes_a_public_p256_key_and_the_lock_time(app, sync_api):
    body = sync_api.client.get("/api/v1/session").get_json()
    key = body["seal_key"]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and key["alg"] == "ECDH-ES"
    assert key["kid"] and key["x"] and key["y"]
    assert "d" not in key, "the private half must never be published"
    assert body["lock_after_seconds"] == 600


def test_sealed_code_opens_and_counts_like_the_plain_one(app, sync_api):
    sealed = make_encounter(participant_code_sealed=seal_with_library(session_key(sync_api)))
    plain = make_encounter(participant_code=CODE.lower().replace("-", " "))
    results = sync_api.post([sealed, plain]).get_json()["results"]
    assert [r["status"] for r in results] == ["created", "created"]
    expected = participant_hash(CODE, app.config["PARTICIPANT_CODE_KEY"])
    assert stored_hash(app, sealed["id"]) == expected
    assert stored_hash(app, plain["id"]) == expected


def _tampered(token: str) -> str:
    header, key, iv, ciphertext, tag = token.split(".")
    flipped = bytearray(base64.urlsafe_b64decode(ciphertext + "=" * (-len(ciphertext) % 4)))
    flipped[0] ^= 1
    return ".".join([header, key, iv, base64.urlsafe_b64encode(flipped).rstrip(b"=").decode(), tag])


def test_seals_the_server_cannot_open_are_rejected_per_record_without_leaking(
    app, sync_api, caplog
):
    caplog.set_level(logging.DEBUG)
    public = session_key(sync_api)
    stranger = ECKey.generate_key("P-256", private=True)
    # Sealed to a key the server never had, under the server's kid: cannot be opened.
    wrong_key = seal_with_library(
        {**stranger.as_dict(private=False), "kid": public["kid"]}, kid=public["kid"]
    )
    unknown_kid = seal_with_library(public, kid="retired-long-ago")
    header = base64.urlsafe_b64encode(
        json.dumps({"alg": "dir", "enc": "A256GCM", "kid": public["kid"]}).encode()
    )
    wrong_alg = header.rstrip(b"=").decode() + "..AAAA.AAAA.AAAA"
    bad = [
        "not a token",
        "",
        12345,
        wrong_key,
        _tampered(seal_with_library(public)),
        wrong_alg,
        "A" * 5000,
    ]
    records = [make_encounter(participant_code_sealed=token) for token in bad]
    records.append(make_encounter(participant_code_sealed=unknown_kid))
    records.append(make_encounter(participant_code=CODE, participant_code_sealed=wrong_key))
    good = make_encounter(participant_code_sealed=seal_with_library(public))
    response = sync_api.post([*records, good])
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * len(records) + ["created"]
    for result in results[:-1]:
        assert set(result["errors"]) == {"participant_code"}
        assert "again" in result["errors"]["participant_code"]
    assert "no longer" in results[len(bad)]["errors"]["participant_code"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Encounter)) == 1
    body = response.get_data(as_text=True)
    for marker in MARKERS:
        assert marker not in body
        assert marker not in caplog.text


def test_a_rotated_key_still_opens_what_phones_sealed_before(app, sync_api, runner):
    old = session_key(sync_api)
    sealed_before = seal_with_library(old)
    result = runner.invoke(args=["seal-key", "rotate"])
    assert result.exit_code == 0, result.output
    new = session_key(sync_api)
    assert new["kid"] != old["kid"]
    records = [
        make_encounter(participant_code_sealed=sealed_before),
        make_encounter(participant_code_sealed=seal_with_library(new)),
    ]
    statuses = [r["status"] for r in sync_api.post(records).get_json()["results"]]
    assert statuses == ["created", "created"]
    # Kept in the database, not in a file of this server's.
    assert not sealing.keys_path(app).exists()
    assert _stored_kids(app) == {old["kid"], new["kid"]}


def test_keys_retired_longer_than_a_record_can_wait_are_dropped(app):
    first = sealing.load_keys(app)[0]
    now = datetime.now(UTC)
    sealing.rotate(app, now=now)
    assert first.kid in {k.kid for k in sealing.load_keys(app)}
    sealing.rotate(app, now=now + sealing.KEEP_RETIRED_KEYS + timedelta(days=1))
    assert first.kid not in {k.kid for k in sealing.load_keys(app)}


def test_a_record_logged_by_another_account_is_never_stored_here(app, sync_api, users):
    mine = make_encounter(logged_by=users.worker.upper())
    theirs = make_encounter(logged_by="someone-else")
    older_phone = make_encounter()  # sends no author: accepted as before
    results = sync_api.post([mine, theirs, older_phone]).get_json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "created"]
    assert set(results[1]["errors"]) == {"logged_by"}
    with app.app_context():
        stored = {str(e.id): e.worker_id for e in db.session.scalars(sa.select(Encounter)).all()}
        worker = db.session.scalar(sa.select(User).where(User.username == users.worker))
    assert theirs["id"] not in stored
    assert stored == {mine["id"]: worker.id, older_phone["id"]: worker.id}


def test_app_processes_making_the_first_key_at_once_all_use_one_key(make_app):
    # Several gunicorn workers answer their first /api/v1/session together: each must end up
    # with the same key, or a phone could seal to a key another process replaced.
    apps = [make_app() for _ in range(6)]
    barrier = threading.Barrier(len(apps))
    kids: list[str] = []
    failures: list[BaseException] = []

    def first_use(app) -> None:
        barrier.wait()
        try:
            with app.app_context():
                kids.append(sealing.load_keys(app)[0].kid)
        except BaseException as failure:  # reported below, not lost in the thread
            failures.append(failure)

    threads = [threading.Thread(target=first_use, args=(app,)) for app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert len(kids) == len(apps) and len(set(kids)) == 1
    assert _stored_kids(apps[0]) == set(kids)


def test_a_rotation_reaches_a_running_app_without_a_restart(make_app):
    serving, operator = make_app(), make_app()
    with serving.app_context():
        before = sealing.public_jwk()["kid"]
    fresh = sealing.rotate(operator)
    with serving.app_context():
        assert sealing.public_jwk()["kid"] == fresh.kid != before


def _stored_kids(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(sealing.seal_key_table.c.kid)))


def test_two_app_servers_on_one_database_share_keys_and_rotations(make_app, tmp_path):
    """Two servers behind one proxy, each with its own instance folder: a code sealed to the
    key one handed out opens on the other, before and after a rotation made on either."""
    first = make_app(SEAL_KEYS_FILE=str(tmp_path / "one" / "seal_keys.json"))
    second = make_app(SEAL_KEYS_FILE=str(tmp_path / "two" / "seal_keys.json"))
    with first.app_context():
        from_first = sealing.public_jwk()
    with second.app_context():
        assert sealing.public_jwk()["kid"] == from_first["kid"]
        assert sealing.open_sealed_code(seal_with_library(from_first)) == CODE
    # Warm the first server's cache, then rotate on the second.
    with first.app_context():
        sealing.load_keys()
    fresh = sealing.rotate(second)
    with first.app_context():
        assert sealing.public_jwk()["kid"] == fresh.kid
        new_key = {**fresh.key.as_dict(private=False), "kid": fresh.kid}
        assert sealing.open_sealed_code(seal_with_library(new_key)) == CODE
        assert sealing.open_sealed_code(seal_with_library(from_first)) == CODE
    assert not (tmp_path / "one").exists() and not (tmp_path / "two").exists()


def test_private_keys_are_stored_wrapped_by_a_key_from_the_settings(app, make_app):
    with app.app_context():
        key = sealing.current_key()
        private = key.key.as_dict(private=True)["d"]
        rows = db.session.execute(sa.select(sealing.seal_key_table)).mappings().all()
    stored = json.dumps([{k: str(v) for k, v in row.items()} for row in rows])
    assert private not in stored
    # Another wrap key cannot open them (one server set up differently is unusable, loudly).
    stranger = make_app(SEAL_WRAP_KEY="a-different-wrap-key-0123456789abcdef")
    with stranger.app_context():
        try:
            sealing.load_keys(fresh=True)
        except sealing.KeyStoreError as error:
            assert "SEAL_WRAP_KEY" in str(error)
        else:
            raise AssertionError("a wrong wrap key opened the seal keys")


def test_upgrade_imports_an_earlier_versions_key_file(app, sync_api, runner):
    """Phones may hold codes sealed to the key an earlier version kept in seal_keys.json."""
    legacy = sealing.keys_path(app)
    old_key = ECKey.generate_key("P-256", private=True, auto_kid=True)
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_text(
        json.dumps(
            {
                "keys": [
                    {
                        "jwk": old_key.as_dict(private=True),
                        "created": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
                        "retired": None,
                    }
                ]
            }
        )
    )
    sealed_on_a_phone = seal_with_library(
        {**old_key.as_dict(private=False), "kid": str(old_key.kid)}
    )
    result = runner.invoke(args=["upgrade"])
    assert result.exit_code == 0, result.output
    assert "Seal keys: 1 imported" in result.output
    assert session_key(sync_api)["kid"] == str(old_key.kid)
    record = make_encounter(participant_code_sealed=sealed_on_a_phone)
    assert sync_api.post([record]).get_json()["results"][0]["status"] == "created"
    assert stored_hash(app, record["id"]) == participant_hash(
        CODE, app.config["PARTICIPANT_CODE_KEY"]
    )
    # A second upgrade finds nothing more to import.
    assert "imported" not in runner.invoke(args=["upgrade"]).output


def test_padded_codes_open_and_old_unpadded_ones_still_do(app, sync_api):
    """Phones pad the code to 64 bytes before sealing; older phones sent it bare."""
    key = session_key(sync_api)
    padded = b"\x00" + CODE.encode() + b"\x00" * (sealing.PADDED_BYTES - 1 - len(CODE))
    with app.app_context():
        assert sealing.open_sealed_code(seal_with_library(key, padded.decode())) == CODE
        assert sealing.open_sealed_code(seal_with_library(key, CODE)) == CODE
    records = [
        make_encounter(participant_code_sealed=seal_with_library(key, padded.decode())),
        make_encounter(participant_code_sealed=seal_with_library(key, CODE)),
    ]
    results = sync_api.post(records).get_json()["results"]
    assert [r["status"] for r in results] == ["created", "created"]
    assert stored_hash(app, records[0]["id"]) == stored_hash(app, records[1]["id"])


def test_a_padded_code_of_a_wrong_length_is_refused(app, sync_api):
    key = session_key(sync_api)
    broken = "\x00" + CODE + "\x00" * 3  # not a whole block
    with app.test_request_context():
        try:
            sealing.open_sealed_code(seal_with_library(key, broken))
        except sealing.SealError:
            pass
        else:
            raise AssertionError("a wrongly padded code was accepted")


def test_unpad_is_unambiguous():
    assert sealing.unpad(b"\x00K7" + b"\x00" * 61) == b"K7"
    assert sealing.unpad(b"K7") == b"K7"
    long_code = "é" * 40  # 80 bytes: padded to the next block
    padded = b"\x00" + long_code.encode() + b"\x00" * (128 - 81)
    assert sealing.unpad(padded).decode() == long_code
