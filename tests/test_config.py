"""create_app(): defaults, environment, test mapping, generated secrets."""

from __future__ import annotations

import stat

import pytest

from outreach import create_app
from outreach.config import normalise_database_url


def test_defaults_apply(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(tmp_path))
    for name in ("DATABASE_URL", "PROGRAM_TIMEZONE", "SUPPRESSION_THRESHOLD", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = create_app()
    assert app.config["PROGRAM_TIMEZONE"] == "UTC"
    assert app.config["SUPPRESSION_THRESHOLD"] == 11
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'outreach.sqlite'}"


def test_environment_overrides_defaults_and_test_config_overrides_both(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PROGRAM_TIMEZONE", "America/Chicago")
    monkeypatch.setenv("SUPPRESSION_THRESHOLD", "5")
    app = create_app({"SUPPRESSION_THRESHOLD": 20})
    assert app.config["PROGRAM_TIMEZONE"] == "America/Chicago"
    assert app.config["SUPPRESSION_THRESHOLD"] == 20


def test_secrets_are_generated_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("PARTICIPANT_CODE_KEY", raising=False)
    first = create_app()
    second = create_app()
    assert len(first.config["SECRET_KEY"]) == 64
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert first.config["PARTICIPANT_CODE_KEY"] == second.config["PARTICIPANT_CODE_KEY"]
    assert first.config["SECRET_KEY"] != first.config["PARTICIPANT_CODE_KEY"]
    for name in ("secret_key", "participant_code_key"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600


def test_given_secrets_are_used_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SECRET_KEY": "s" * 40, "PARTICIPANT_CODE_KEY": "p" * 40})
    assert app.config["SECRET_KEY"] == "s" * 40
    assert not (tmp_path / "secret_key").exists()


def test_unknown_time_zone_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ValueError, match="PROGRAM_TIMEZONE"):
        create_app({"PROGRAM_TIMEZONE": "Mars/Olympus"})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_use_psycopg3(url, expected):
    assert normalise_database_url(url) == expected


def test_pages_carry_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_setting_that_is_not_a_number_is_named_in_the_error():
    from outreach.config import ConfigurationError
    from outreach.config import read_environment

    with pytest.raises(ConfigurationError, match="SUPPRESSION_THRESHOLD must be a whole number"):
        read_environment({"SUPPRESSION_THRESHOLD": "ten"})
