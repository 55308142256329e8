"""flask seed, user create, demo-users, demo-data."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from outreach.extensions import db
from outreach.models import Encounter
from outreach.models import User
from tests.conftest import count_rows


def test_seed_is_idempotent(app, runner):
    tables = ["supply_item", "referral_type", "zone", "card"]
    before = {t: count_rows(app, t) for t in tables}
    assert before["supply_item"] >= 15
    assert before["referral_type"] >= 12
    assert before["card"] >= 22
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "Defaults: already set up" in result.output
    assert "Cards: 0 added or revised, 0 removed." in result.output
    assert {t: count_rows(app, t) for t in tables} == before


def test_seed_catalogue_covers_the_basics(app):
    with app.app_context():
        keys = set(db.session.scalars(sa.text("SELECT key FROM supply_item")))
        referrals = set(db.session.scalars(sa.text("SELECT key FROM referral_type")))
    for key in (
        "naloxone_nasal",
        "naloxone_injectable",
        "fentanyl_test_strip",
        "sharps_container",
        "cooker",
        "cotton_filter",
        "sterile_water",
        "alcohol_swab",
        "tourniquet",
        "vitamin_c",
        "wound_care_kit",
        "safer_smoking_kit",
        "safer_snorting_kit",
        "condom",
    ):
        assert key in keys
    assert sum(1 for k in keys if k.startswith("syringe_")) >= 3
    for key in (
        "moud",
        "medical_care",
        "wound_care",
        "hiv_testing_prep",
        "hepatitis_c",
        "vaccination",
        "sti_testing",
        "mental_health",
        "housing",
        "food",
        "domestic_violence",
        "detox",
    ):
        assert key in referrals


def test_user_create_with_password(app, runner):
    result = runner.invoke(
        args=[
            "user",
            "create",
            "rosa",
            "--role",
            "supervisor",
            "--password",
            "a long enough password",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "rosa"))
        assert user.role.key == "supervisor"
        assert user.check_password("a long enough password")
        assert count_rows(app, "audit_event") == 1


def test_user_create_prompts_for_the_password(app, runner):
    result = runner.invoke(args=["user", "create", "lee"], input="another long password\n" * 2)
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "lee"))
        assert user.role.key == "worker"


def test_user_create_refuses_a_taken_name_and_a_short_password(runner):
    assert (
        runner.invoke(args=["user", "create", "kim", "--password", "long enough pw"]).exit_code == 0
    )
    taken = runner.invoke(args=["user", "create", "KIM", "--password", "long enough pw"])
    assert taken.exit_code != 0 and "taken" in taken.output
    short = runner.invoke(args=["user", "create", "jo", "--password", "short"])
    assert short.exit_code != 0 and "at least" in short.output


def test_user_create_refuses_an_unknown_role(runner):
    result = runner.invoke(args=["user", "create", "x", "--role", "boss", "--password", "p" * 12])
    assert result.exit_code != 0


def test_demo_users_prints_working_logins(app, runner):
    result = runner.invoke(args=["demo-users"])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines() if "username:" in line]
    assert [line[0] for line in lines] == ["worker", "supervisor", "admin"]
    with app.app_context():
        for line in lines:
            user = db.session.scalar(sa.select(User).where(User.username == line[2]))
            assert user.check_password(line[4])


def test_demo_data_adds_plausible_encounters(app, runner):
    result = runner.invoke(args=["demo-data", "--days", "10", "--encounters", "300", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert count_rows(app, "encounter") == 300
    assert count_rows(app, "encounter_supply") > 300
    with app.app_context():
        dates = db.session.execute(
            sa.select(sa.func.min(Encounter.local_date), sa.func.max(Encounter.local_date))
        ).one()
        assert (dates[1] - dates[0]).days <= 11


def test_seed_never_undoes_what_an_admin_changed_or_removed(app, runner, admin_client):
    """Re-keying, deactivating and reordering survive every later seed (and upgrade)."""
    from outreach.models import Zone

    with app.app_context():
        zones = db.session.scalars(sa.select(Zone).order_by(Zone.sort_order)).all()
        first, second = zones[0], zones[1]
        first.key, first.name = "north_bridge", "North bridge"
        second.active = False
        first.sort_order, second.sort_order = 500, 5
        db.session.commit()
        before = {
            (z.key, z.name, z.active, z.sort_order) for z in db.session.scalars(sa.select(Zone))
        }
        original_key = zones[0].key
    for command in (["seed"], ["upgrade"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0, result.output
    with app.app_context():
        after = {
            (z.key, z.name, z.active, z.sort_order) for z in db.session.scalars(sa.select(Zone))
        }
    assert after == before
    assert original_key == "north_bridge"
    # Phones see what the admin chose: the re-keyed zone, without the deactivated one.
    keys = [z["key"] for z in admin_client.get("/api/v1/catalog").get_json()["zones"]]
    assert "north_bridge" in keys and len(keys) == len(before) - 1


def test_seed_sets_up_a_new_program_once(make_app, tmp_path):
    from flask_migrate import upgrade

    fresh = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/new-program.sqlite")
    with fresh.app_context():
        upgrade()
        db.engine.dispose()
    first = fresh.test_cli_runner().invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert "Defaults for a new program:" in first.output
    assert count_rows(fresh, "zone") > 0


def test_upgrade_applies_migrations_and_brings_revised_cards(app, runner, tmp_path, monkeypatch):
    """A revised card, a new card and a withdrawn card all follow the code on upgrade."""
    import shutil

    from flask_migrate import downgrade

    from outreach import seeding
    from outreach.cards.content import CONTENT_DIR
    from outreach.cards.content import load_cards

    content = tmp_path / "cards"
    shutil.copytree(CONTENT_DIR, content)
    revised = content / "en" / "naloxone.md"
    revised.write_text(revised.read_text().replace("## ", "## Revised in this release: ", 1))
    shutil.copy(content / "en" / "naloxone.md", content / "en" / "naloxone-new.md")
    new = content / "en" / "naloxone-new.md"
    new.write_text(new.read_text().replace("slug: naloxone", "slug: naloxone-new"))
    withdrawn = sorted((content / "es").glob("*.md"))[0]
    withdrawn.unlink()
    monkeypatch.setattr(seeding, "load_cards", lambda: load_cards(content))
    with app.app_context():
        downgrade(revision="0001")
        db.engine.dispose()

    result = runner.invoke(args=["upgrade"])
    assert result.exit_code == 0, result.output
    assert "Cards: 2 added or revised, 1 removed." in result.output
    assert app.test_client().get("/healthz").status_code == 200  # migrations current
    page = app.test_client().get("/cards/naloxone?lang=en").get_data(as_text=True)
    assert "Revised in this release: " in page
    assert app.test_client().get("/cards/naloxone-new?lang=en").status_code == 200
    with app.app_context():
        slugs = set(db.session.scalars(sa.text("SELECT slug FROM card WHERE lang = 'es'")))
    assert withdrawn.stem not in slugs


def test_every_demo_command_refuses_in_production(make_app, database_url, monkeypatch):
    """Demo accounts with printed passwords, fake encounters in real reports and fictional
    services on public cards have no place on a real program's server."""
    from tests.live import production_env

    environ = production_env(database_url)
    for name in ("OUTREACH_ENV", "SECRET_KEY", "PARTICIPANT_CODE_KEY", "DATABASE_URL"):
        monkeypatch.setenv(name, environ[name])
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    production = make_app(
        OUTREACH_ENV="production",
        SECRET_KEY=environ["SECRET_KEY"],
        PARTICIPANT_CODE_KEY=environ["PARTICIPANT_CODE_KEY"],
        PUBLIC_URL="https://outreach.example.org",
    )
    users_before = count_rows(production, "user")
    encounters_before = count_rows(production, "encounter")
    for command in (
        ["demo-users"],
        ["demo-data", "--encounters", "5"],
        ["demo-directory"],
        ["demo-activity"],
    ):
        result = production.test_cli_runner().invoke(args=command)
        assert result.exit_code == 1, result.output
        assert "refuses to run in production" in result.output
        assert len(result.output.strip().splitlines()) == 1
    assert count_rows(production, "user") == users_before
    assert count_rows(production, "encounter") == encounters_before


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with nothing in it yet (a new site's), on the engine under test."""
    import os
    import uuid

    from tests.conftest import TEST_PG_URL
    from tests.conftest import is_postgres

    if not is_postgres():
        yield f"sqlite:///{tmp_path / 'new.sqlite'}"
        return
    name = f"outreach_empty_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(TEST_PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield sa.engine.make_url(TEST_PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()
    assert os.environ.get("TEST_DATABASE_URL")


def test_two_upgrades_at_once_one_waits_then_finds_nothing_to_do(empty_database_url, tmp_path):
    """Every app server's unit runs `flask upgrade` at start: two starting together must
    both succeed, the second after the first, never half a migration each."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTREACH_", "FLASK_"))}
    env.update(
        OUTREACH_SETTINGS="",
        OUTREACH_INSTANCE_PATH=str(tmp_path / "instance"),
        DATABASE_URL=empty_database_url,
        SECRET_KEY="two-upgrades-secret-key-0123456789abcdef",
        PARTICIPANT_CODE_KEY="two-upgrades-code-key-0123456789abcdef",
    )
    command = [sys.executable, "-m", "flask", "--app", "outreach", "upgrade"]
    processes = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=180) for process in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, err
        assert "Traceback" not in err
        assert "Database at migration" in out
    engine = sa.create_engine(empty_database_url)
    with engine.connect() as connection:
        versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        zones = connection.exec_driver_sql("SELECT COUNT(*) FROM zone").scalar()
        supplies = connection.exec_driver_sql("SELECT COUNT(*) FROM supply_item").scalar()
    engine.dispose()
    assert len(versions) == 1
    # The defaults were set up once, not twice.
    single = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "outreach", "seed"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert single.returncode == 0
    engine = sa.create_engine(empty_database_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM zone").scalar() == zones
        assert connection.exec_driver_sql("SELECT COUNT(*) FROM supply_item").scalar() == supplies
    engine.dispose()


def test_demo_activity_fills_a_fresh_database_once(app, runner, users, supervisor_client):
    """`make run` on a new machine: every report has something to show at once."""
    result = runner.invoke(args=["demo-activity", "--days", "60"])
    assert result.exit_code == 0, result.output
    counts = {t: count_rows(app, t) for t in ("encounter", "overdose_response", "stock_event")}
    assert all(counts.values()), counts
    with app.app_context():
        dates = db.session.execute(
            sa.select(sa.func.min(Encounter.local_date), sa.func.max(Encounter.local_date))
        ).one()
    assert (dates[1] - dates[0]).days >= 45
    assert supervisor_client.get("/reports").status_code == 200
    # Never over a database that already holds records.
    again = runner.invoke(args=["demo-activity"])
    assert again.exit_code == 0 and "already holds records" in again.output
    assert {t: count_rows(app, t) for t in counts} == counts


def test_demo_activity_leaves_a_database_with_real_records_alone(app, runner, sync_api):
    from tests.conftest import make_encounter

    assert sync_api.post([make_encounter()]).status_code == 200
    result = runner.invoke(args=["demo-activity"])
    assert result.exit_code == 0 and "already holds records" in result.output
    assert count_rows(app, "encounter") == 1
    assert count_rows(app, "overdose_response") == 0
