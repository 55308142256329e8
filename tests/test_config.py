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


def test_every_configuration_error_is_one_type(tmp_path, monkeypatch):
    """Bad values raise ConfigurationError (still a ValueError for older callers)."""
    from outreach.config import ConfigurationError

    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(tmp_path))
    for bad in ({"PROGRAM_TIMEZONE": "Mars/Olympus"}, {"SUPPRESSION_THRESHOLD": 1}):
        with pytest.raises(ConfigurationError):
            create_app(bad)


def _settings_file(tmp_path, **values) -> str:
    path = tmp_path / "outreach.env"
    lines = ["# the service's settings", ""] + [f"{k}={v}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_the_settings_file_named_by_outreach_settings_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("PROGRAM_TIMEZONE", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    database = tmp_path / "from-file.sqlite"
    monkeypatch.setenv(
        "OUTREACH_SETTINGS",
        _settings_file(
            tmp_path, DATABASE_URL=f"sqlite:///{database}", PROGRAM_TIMEZONE='"America/Denver"'
        ),
    )
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{database}"
    assert app.config["PROGRAM_TIMEZONE"] == "America/Denver"
    # The environment still wins over the file.
    monkeypatch.setenv("PROGRAM_TIMEZONE", "Europe/Madrid")
    assert create_app().config["PROGRAM_TIMEZONE"] == "Europe/Madrid"


def test_the_documented_settings_path_is_read_when_present(tmp_path, monkeypatch):
    from outreach import config

    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("OUTREACH_SETTINGS", raising=False)
    monkeypatch.delenv("SUPPRESSION_THRESHOLD", raising=False)
    monkeypatch.setattr(
        config,
        "DEFAULT_SETTINGS_FILE",
        config.Path(_settings_file(tmp_path, SUPPRESSION_THRESHOLD=7)),
    )
    assert create_app().config["SUPPRESSION_THRESHOLD"] == 7


def _without_read_override() -> list[str]:
    """A command prefix under which file permissions hold for this user.

    root reads any file through the CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH capabilities.
    Dropping those two (rather than switching to another user such as nobody) keeps root's
    own access to the checkout and its virtualenv, which another user cannot read when the
    clone sits in /root or a private `mktemp -d` folder, while a mode-000 file stays closed.
    """
    import os
    import shutil

    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("root with no setpriv(1): cannot make a file unreadable to root")
    dropped = "-dac_override,-dac_read_search"
    return ["setpriv", f"--inh-caps={dropped}", f"--bounding-set={dropped}"]


@pytest.mark.parametrize("problem", ["missing", "unreadable", "malformed"])
def test_a_settings_file_that_cannot_be_read_stops_every_command(tmp_path, problem):
    """No quiet fallback to a development database: one line, exit 1, no traceback."""
    import os
    import subprocess
    import sys

    path = tmp_path / "outreach.env"
    if problem == "unreadable":
        path.write_text("OUTREACH_ENV=production\n")
        path.chmod(0o000)
    elif problem == "malformed":
        path.write_text("OUTREACH_ENV production\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "FLASK_"))}
    env.update(OUTREACH_SETTINGS=str(path), OUTREACH_INSTANCE_PATH=str(tmp_path / "instance"))
    command = _without_read_override() if problem == "unreadable" else []
    if problem == "unreadable":
        # The file must really be unreadable to the command, or this test proves nothing.
        probe = subprocess.run(
            [*command, sys.executable, "-c", "import sys; open(sys.argv[1])", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "PermissionError" in probe.stderr, probe.stderr
    flask = [sys.executable, "-m", "flask", "--app", "outreach"]
    for args in (["db", "upgrade"], ["seed"], ["backup", str(tmp_path / "b.sqlite")]):
        result = subprocess.run(
            [*command, *flask, *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert str(path) in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        if problem == "unreadable":
            assert "permission denied" in result.stderr
    assert not (tmp_path / "instance").exists() or not any((tmp_path / "instance").iterdir())


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_KEY", "x" * 64),
        ("SECRET_KEY", "ab" * 20),
        ("SECRET_KEY", "0123456789abcdef" * 2),
        ("SECRET_KEY", "short-but-random-9f3k"),
        ("SECRET_KEY", "replace-with-64-hex-characters"),
        ("PARTICIPANT_CODE_KEY", "k" * 40),
        ("PARTICIPANT_CODE_KEY", "participant"),
    ],
)
def test_production_refuses_a_weak_secret_and_says_how_to_make_one(
    tmp_path, monkeypatch, name, value
):
    from outreach.config import ConfigurationError

    monkeypatch.setenv("OUTREACH_ENV", "production")
    monkeypatch.setenv("OUTREACH_SETTINGS", "")
    monkeypatch.setenv("SECRET_KEY", "9c1f2e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d")
    monkeypatch.setenv("PARTICIPANT_CODE_KEY", "f0e1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/p.sqlite")
    monkeypatch.setenv("PUBLIC_URL", "https://outreach.example.org")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(tmp_path))
    create_app()  # the strong pair starts
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as refused:
        create_app()
    assert f"{name} is weak" in refused.value.message
    assert "secrets.token_hex(32)" in refused.value.message


def test_production_without_database_url_refuses_every_command_in_one_line(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "FLASK_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        OUTREACH_SETTINGS=_settings_file(
            tmp_path,
            OUTREACH_ENV="production",
            SECRET_KEY="9c1f2e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d",
            PARTICIPANT_CODE_KEY="f0e1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d",
            PUBLIC_URL="https://outreach.example.org",
        ),
        OUTREACH_INSTANCE_PATH=str(tmp_path / "instance"),
    )
    for args in (["db", "upgrade"], ["seed"], ["upgrade"], ["restore", "--yes", __file__]):
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "outreach", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1, result.stderr
        assert result.stderr.strip().splitlines() == [
            "Error: Refusing to start in production: DATABASE_URL must be set in the settings "
            "file or the environment"
        ]
    assert not (tmp_path / "instance" / "outreach.sqlite").exists()


def _run_flask(env: dict, *args: str):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "outreach", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _clean_environ(tmp_path) -> dict:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "FLASK_"))}
    env.pop("DATABASE_URL", None)
    env.update(OUTREACH_INSTANCE_PATH=str(tmp_path / "instance"), OUTREACH_SETTINGS="")
    return env


def _assert_one_line_refusal(result, *fragments: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("written", "wanted"),
    [
        ("DATABSE_URL", "DATABASE_URL"),
        ("OUTREACH_EMV", "OUTREACH_ENV"),
        ("SECRETKEY", "SECRET_KEY"),
    ],
)
def test_an_unknown_name_in_the_settings_file_stops_every_command(tmp_path, written, wanted):
    """A misspelt setting is never ignored: one line naming it, with a "did you mean"."""
    env = _clean_environ(tmp_path)
    env["OUTREACH_SETTINGS"] = _settings_file(
        tmp_path, **{written: "production"}, PROGRAM_TIMEZONE="UTC"
    )
    for args in (["seed"], ["upgrade"], ["db", "upgrade"]):
        result = _run_flask(env, *args)
        _assert_one_line_refusal(result, written, f"did you mean {wanted}?")
    assert not (tmp_path / "instance" / "outreach.sqlite").exists()


@pytest.mark.parametrize(
    ("name", "wanted"),
    [("OUTREACH_EMV", "OUTREACH_ENV"), ("DATABSE_URL", "DATABASE_URL"), ("OUTREACH_FOO", None)],
)
def test_a_misspelt_setting_in_the_environment_is_refused(tmp_path, monkeypatch, name, wanted):
    """OUTREACH_EMV=production must not run production as development (no Secure cookies)."""
    from outreach.config import ConfigurationError

    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("OUTREACH_SETTINGS", "")
    monkeypatch.setenv(name, "production")
    with pytest.raises(ConfigurationError) as refused:
        create_app()
    assert name in refused.value.message
    if wanted:
        assert f"did you mean {wanted}?" in refused.value.message


def test_other_programs_variables_in_the_environment_are_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("OUTREACH_SETTINGS", "")
    for name in ("TEST_DATABASE_URL", "PGHOST", "SECRET_KEY_FOR_SOMETHING_ELSE", "HOME"):
        monkeypatch.setenv(name, "x")
    create_app({"SECRET_KEY": "s" * 40, "PARTICIPANT_CODE_KEY": "p" * 40})


def test_every_default_setting_is_known_and_read_from_the_settings_file(tmp_path, monkeypatch):
    """Settings added to the defaults are known (and read) with no second list to update."""
    from outreach import config

    real_defaults = config.default_settings

    def with_a_new_setting(instance_path):
        return {**real_defaults(instance_path), "RECORDS_PER_HOUR_EXAMPLE": 100}

    monkeypatch.setattr(config, "default_settings", with_a_new_setting)
    monkeypatch.setenv("OUTREACH_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv(
        "OUTREACH_SETTINGS",
        _settings_file(tmp_path, RECORDS_PER_HOUR_EXAMPLE=7, LOGIN_MAX_FAILURES=9),
    )
    app = create_app()
    assert app.config["RECORDS_PER_HOUR_EXAMPLE"] == 7
    assert app.config["LOGIN_MAX_FAILURES"] == 9


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("postgresql+psycopg3://outreach@127.0.0.1/outreach", "did you mean postgresql+psycopg?"),
        ("postgress://outreach@127.0.0.1/outreach", "'postgress'"),
        ("sqlite:////nonexistent-folder/outreach.sqlite", "cannot use the SQLite database"),
        ("postgresql+psycopg://outreach@127.0.0.1:1/outreach", "cannot use the PostgreSQL"),
    ],
)
def test_database_url_typos_stop_commands_in_one_line(tmp_path, url, fragment):
    env = _clean_environ(tmp_path)
    env["DATABASE_URL"] = url
    _assert_one_line_refusal(_run_flask(env, "upgrade"), fragment)


@pytest.mark.postgres_only
@pytest.mark.parametrize("part", ["role", "database"])
def test_a_wrong_role_or_database_name_stops_commands_in_one_line(tmp_path, part):
    import os

    import sqlalchemy as sa

    url = sa.engine.make_url(os.environ["TEST_DATABASE_URL"])
    url = url.set(username="no_such_role") if part == "role" else url.set(database="no_such_db")
    env = _clean_environ(tmp_path)
    env["DATABASE_URL"] = url.render_as_string(hide_password=False)
    _assert_one_line_refusal(_run_flask(env, "upgrade"), "cannot use the PostgreSQL", "no_such")


@pytest.mark.skipif(__import__("os").geteuid() != 0, reason="needs root to run as root")
def test_a_command_run_as_root_leaves_shared_files_to_the_folders_owner(tmp_path):
    """`sudo flask …` must not leave a root-only file the service's user cannot read."""
    import os

    from outreach.config import instance_secret

    instance = tmp_path / "instance"
    instance.mkdir()
    os.chown(instance, 65534, 65534)
    instance_secret(instance, "secret_key")
    made = (instance / "secret_key").stat()
    assert (made.st_uid, made.st_gid) == (65534, 65534)
    assert stat.S_IMODE(made.st_mode) == 0o600
