"""Every audit event the app records reads as words on /admin/audit, in both languages."""

from __future__ import annotations

import re
from pathlib import Path

from outreach.admin.views import ACTION_LABELS

SOURCE = Path(__file__).resolve().parent.parent / "outreach"
# An action named where it is recorded, or by a constant (``VOID_ACTION = "..."``) or a
# row's ``"action"`` written directly (the back-dated note is inserted with its batch).
ACTIONS = (
    re.compile(r'record_audit\(\s*[^,]+,\s*"([a-z_]+\.[a-z_]+)"', re.S),
    re.compile(r'^[A-Z_]*ACTION = "([a-z_]+\.[a-z_]+)"', re.M),
    re.compile(r'"action": "([a-z_]+\.[a-z_]+)"'),
)


def test_every_recorded_action_has_words():
    recorded = {
        action
        for path in SOURCE.rglob("*.py")
        for pattern in ACTIONS
        for action in pattern.findall(path.read_text())
    }
    assert {"directory.create", "overdose_response.void", "encounter.backdated"} <= recorded
    assert recorded <= set(ACTION_LABELS), sorted(recorded - set(ACTION_LABELS))


def test_the_audit_log_never_shows_a_raw_event_name(app, admin_client):
    from outreach.auth.services import record_audit
    from outreach.extensions import db

    with app.app_context():
        for action in ("directory.create", "directory.import", "something.new"):
            record_audit(None, action, "directory_service", None, {})
        db.session.commit()
    for lang, words in (("en", "Directory service added"), ("es", "Servicio del directorio")):
        html = admin_client.get(f"/admin/audit?lang={lang}").get_data(as_text=True)
        assert words in html
        assert "directory.create" not in html and "something.new" not in html
