"""flask seed, user create, demo-users, demo-data."""

from __future__ import annotations

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
    assert "supply items: 0 added" in result.output
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
