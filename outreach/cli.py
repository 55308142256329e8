"""Command-line tasks: seed, user create, demo-users, demo-data, demo-directory."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup
from flask.cli import with_appcontext

from outreach import seeding
from outreach.auth import find_user
from outreach.auth import services as auth_services
from outreach.extensions import db
from outreach.models import Role

user_cli = AppGroup("user", help="Manage staff accounts.")
ROLE_CHOICES = click.Choice([role.key for role in Role])


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Load the default catalogue, referral types, example zones and cards (idempotent)."""
    counts = seeding.seed_all()
    for name, added in counts.items():
        click.echo(f"{name}: {added} added or updated")


@user_cli.command("create")
@click.argument("username")
@click.option("--role", type=ROLE_CHOICES, default="worker", show_default=True)
@click.option("--password", help="Prompted for (hidden) when omitted.")
def user_create(username: str, role: str, password: str | None) -> None:
    """Create a staff account."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = auth_services.create_user(username, Role.from_key(role), password)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Created {user.username} ({user.role.key}).")


@click.command("demo-users")
@with_appcontext
def demo_users_command() -> None:
    """Create or reset the three demo accounts with new random passwords, and print them."""
    click.echo("Demo logins (new passwords each time this runs):")
    for role in Role:
        username = f"demo-{role.key}"
        password = secrets.token_urlsafe(9)
        user = find_user(username)
        if user is None:
            user = auth_services.create_user(username, role, password)
        else:
            user.set_password(password)
            user.role = role
            user.active = True
            user.failed_logins = 0
            db.session.commit()
        click.echo(f"  {role.key:<10} username: {username:<16} password: {password}")


@click.command("demo-data")
@with_appcontext
@click.option("--days", type=click.IntRange(1, 366), default=90, show_default=True)
@click.option("--encounters", type=click.IntRange(1, 5_000_000), default=2000, show_default=True)
@click.option("--seed", "random_seed", type=int, default=None, help="Repeatable output.")
def demo_data_command(days: int, encounters: int, random_seed: int | None) -> None:
    """Add realistic synthetic encounters spread over the last N days."""
    from outreach import demo

    if db.session.scalar(sa.select(sa.func.count()).select_from(sa.text("supply_item"))) == 0:
        raise click.ClickException("Run 'flask --app outreach seed' first.")
    with click.progressbar(length=encounters, label="Adding encounters") as bar:
        added = demo.generate(days, encounters, random_seed, progress=bar.update)
    click.echo(f"Added {added} encounters over {days} days.")


def _live_database_url() -> str:
    # The engine's URL, not the setting: Flask-SQLAlchemy places a relative SQLite path in
    # the instance folder, and a backup must copy the file the app really writes.
    return db.engine.url.render_as_string(hide_password=False)


@click.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(destination: Path) -> None:
    """Copy the live database to DESTINATION (SQLite file, or pg_dump custom format)."""
    from outreach import backup

    try:
        backup.backup(_live_database_url(), destination)
    except (OSError, subprocess.CalledProcessError, ValueError) as error:
        raise click.ClickException(f"Backup failed: {error}") from error
    click.echo(f"Backup written to {destination}")


@click.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(source: Path, yes: bool) -> None:
    """Replace the database with the backup SOURCE. Stop the app servers first."""
    from outreach import backup

    if not yes:
        click.confirm(
            "This replaces everything in the database with the backup. Continue?", abort=True
        )
    db.engine.dispose()
    try:
        backup.restore(_live_database_url(), source)
    except (OSError, subprocess.CalledProcessError, ValueError) as error:
        raise click.ClickException(f"Restore failed: {error}") from error
    click.echo(f"Restored from {source}. Run 'flask --app outreach db upgrade' if it is older.")


@click.command("demo-directory")
@with_appcontext
def demo_directory_command() -> None:
    """Add fictional referral services for demos (idempotent; not part of seed)."""
    from outreach.directory.demo import add_demo_services

    if db.session.scalar(sa.select(sa.func.count()).select_from(sa.text("referral_type"))) == 0:
        raise click.ClickException("Run 'flask --app outreach seed' first.")
    added = add_demo_services()
    click.echo(f"Demo directory: {added} services added.")


def register(app: Flask) -> None:
    app.cli.add_command(seed_command)
    app.cli.add_command(user_cli)
    app.cli.add_command(demo_users_command)
    app.cli.add_command(demo_data_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(demo_directory_command)
    from outreach.sealing import seal_key_cli

    app.cli.add_command(seal_key_cli)
