"""Command-line tasks: upgrade, seed, user create, backup, restore, demo-users, demo-data…"""

from __future__ import annotations

import functools
import secrets
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask
from flask import current_app
from flask.cli import AppGroup
from flask.cli import with_appcontext

from outreach import seeding
from outreach.auth import find_user
from outreach.auth import services as auth_services
from outreach.extensions import db
from outreach.models import Role

user_cli = AppGroup("user", help="Manage staff accounts.")
ROLE_CHOICES = click.Choice([role.key for role in Role])


def development_only(command):
    """Refuse a demo command in production: demo accounts with printed passwords, fake
    encounters in real reports and fictional services on public cards do harm there."""

    @functools.wraps(command)
    def guarded(*args, **kwargs):
        if current_app.config.get("OUTREACH_ENV") == "production":
            name = click.get_current_context().info_name
            raise click.ClickException(
                f"'{name}' adds demonstration data and refuses to run in production"
            )
        return command(*args, **kwargs)

    return guarded


def database_error_line(error: BaseException) -> str | None:
    """One line for a database that cannot be reached or used, or None for other errors.

    A typo in DATABASE_URL (host, port, role, database name, password) surfaces only when a
    command first connects; the driver's own first line names what is wrong.
    """
    from outreach.backup import describe_database

    if not isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
        return None
    reason = next((line.strip() for line in str(error.orig).splitlines() if line.strip()), "")
    where = describe_database(_cli_database_url) if _cli_database_url else "the database"
    return f"Error: cannot use {where}: {reason or type(error.orig).__name__}"


# The database the commands of this process use (set by register(), read by the hook after
# the app context is gone).
_cli_database_url: str | None = None


def _install_database_error_hook(app: Flask) -> None:
    """Every command, the app's own and Flask-Migrate's, ends with one line on a database
    it cannot use instead of a traceback (exit status 1, as for any uncaught error)."""
    global _cli_database_url
    _cli_database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    previous = sys.excepthook
    if getattr(previous, "outreach_database_errors", False):
        return

    def hook(kind, error, trace):
        line = database_error_line(error) if isinstance(error, Exception) else None
        if line is None:
            previous(kind, error, trace)
        else:
            print(line, file=sys.stderr)

    hook.outreach_database_errors = True
    sys.excepthook = hook


def _report_seed(counts: dict[str, int]) -> None:
    if counts["supply items"] or counts["referral types"] or counts["zones"]:
        click.echo(
            f"Defaults for a new program: {counts['supply items']} supply items, "
            f"{counts['referral types']} referral types, {counts['zones']} zones."
        )
    else:
        click.echo("Defaults: already set up (the catalogue stays as the admins keep it).")
    click.echo(f"Cards: {counts['cards']} added or revised, {counts['cards removed']} removed.")


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Defaults for a new program (once only) and the shipped cards (always); safe to rerun."""
    _report_seed(seeding.seed_all())


@click.command("upgrade")
@with_appcontext
def upgrade_command() -> None:
    """After installing a new version: apply migrations, then the shipped content."""
    from flask_migrate import upgrade

    from outreach import sealing
    from outreach.database import upgrade_lock

    def waiting() -> None:
        click.echo("Another 'flask upgrade' is running on this database: waiting for it.")

    # Every app server's unit runs this at start: two at once must not race the migrations.
    with upgrade_lock(db.engine, on_wait=waiting):
        upgrade()
        _report_seed(seeding.seed_all())
        imported = sealing.import_key_file(current_app._get_current_object())
    if imported:
        click.echo(
            f"Seal keys: {imported} imported from {sealing.keys_path(current_app)} into the "
            f"database (every app server now uses them; the file is no longer read)."
        )
    click.echo(f"Database at migration {_head_revision()}, content up to date.")


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
@development_only
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
@development_only
def demo_data_command(days: int, encounters: int, random_seed: int | None) -> None:
    """Add realistic synthetic encounters spread over the last N days."""
    from outreach import demo

    if db.session.scalar(sa.select(sa.func.count()).select_from(sa.text("supply_item"))) == 0:
        raise click.ClickException("Run 'flask --app outreach seed' first.")
    with click.progressbar(length=encounters, label="Adding encounters") as bar:
        added = demo.generate(days, encounters, random_seed, progress=bar.update)
    click.echo(f"Added {added} encounters over {days} days.")


@click.command("demo-activity")
@with_appcontext
@development_only
@click.option("--days", type=click.IntRange(7, 366), default=90, show_default=True)
def demo_activity_command(days: int) -> None:
    """A fresh database's first look: months of demo encounters, overdose responses and bag
    events, so every report has something to show. Never over a database holding records."""
    from outreach import demo

    if db.session.scalar(sa.select(sa.func.count()).select_from(sa.text("supply_item"))) == 0:
        raise click.ClickException("Run 'flask --app outreach seed' first.")
    if demo.holds_records():
        click.echo("Demo activity: the database already holds records; left as it is.")
        return
    counts = demo.fill_fresh_database(days=days)
    summary = ", ".join(f"{count} {name}" for name, count in counts.items())
    click.echo(f"Demo activity over the last {days} days: {summary}.")


def _live_database_url() -> str:
    # The engine's URL, not the setting: Flask-SQLAlchemy places a relative SQLite path in
    # the instance folder, and a backup must copy the file the app really writes.
    return db.engine.url.render_as_string(hide_password=False)


def _known_revisions() -> set[str]:
    """Every migration this code knows (a backup at any of them can be upgraded)."""
    from alembic.script import ScriptDirectory

    directory = current_app.extensions["migrate"].directory
    return {script.revision for script in ScriptDirectory(directory).walk_revisions()}


@click.command("backup")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(destination: Path) -> None:
    """Copy the live database to DESTINATION (SQLite file, or pg_dump custom format), 0600."""
    from outreach import backup

    try:
        info = backup.backup(_live_database_url(), destination, _known_revisions())
    except backup.BackupError as error:
        raise click.ClickException(f"Backup failed: {error}") from None
    note = " (empty: no accounts, catalogue or records)" if info.empty else ""
    click.echo(f"Backup written to {destination} ({info.summary()}){note}")


@click.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--allow-empty", is_flag=True, help="Accept a backup holding no data.")
@click.option(
    "--safety-copy-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the live database is copied first (default: the instance folder).",
)
@click.option(
    "--no-safety-copy", is_flag=True, help="Do not copy the live database first (damaged)."
)
@click.option(
    "--force",
    is_flag=True,
    help="Restore even while app servers use the database (their newer records are then "
    "only in the safety copy).",
)
@with_appcontext
def restore_command(
    source: Path,
    yes: bool,
    allow_empty: bool,
    safety_copy_dir: Path | None,
    no_safety_copy: bool,
    force: bool,
) -> None:
    """Replace the database with the backup SOURCE. Stop the app servers first."""
    from outreach import backup

    live_url = _live_database_url()
    target = backup.describe_database(live_url)
    engine = db.engine.url.get_backend_name()
    known = _known_revisions()
    try:
        info = backup.inspect_backup(source, engine, known)
        backup.check_schema(source, info, live_url)
    except backup.BackupError as error:
        raise click.ClickException(f"Restore refused: {error}") from None
    if info.empty and not allow_empty:
        raise click.ClickException(
            f"Restore refused: {source} holds no accounts, catalogue or records "
            f"(--allow-empty restores it anyway)"
        )
    db.session.remove()
    db.engine.dispose()
    serving = backup.serving_from(live_url)
    if serving and not force:
        raise click.ClickException(
            f"Restore refused: the app is serving from {target} ({serving}); stop every app "
            f"server first, or --force (records synced since the backup then exist only in "
            f"the safety copy)"
        )
    if serving:
        click.echo(
            f"Warning: the app is serving from {target} ({serving}): records synced since "
            f"the backup will exist only in the safety copy."
        )
    click.echo(f"Backup: {source} ({info.summary()})")
    click.echo(f"This replaces everything in {target} with the backup.")
    if not yes:
        click.confirm("Continue?", abort=True)
    db.session.remove()
    db.engine.dispose()
    safety_copy = None
    if not no_safety_copy:
        directory = safety_copy_dir or Path(current_app.instance_path) / "safety-copies"
        safety_copy = backup.safety_copy_path(directory, engine)
        try:
            backup.backup(live_url, safety_copy, known)
        except backup.BackupError as error:
            raise click.ClickException(
                f"Restore stopped before changing anything: the safety copy of {target} "
                f"failed ({error}); --no-safety-copy skips it"
            ) from None
        from outreach.config import keep_folder_owner

        keep_folder_owner(safety_copy.parent)
        keep_folder_owner(safety_copy)
        click.echo(f"Safety copy of the current database: {safety_copy}")
    try:
        backup.restore(live_url, source)
    except backup.BackupError as error:
        raise click.ClickException(f"Restore failed: {error}") from None
    click.echo(f"Restored {target} from {source}.")
    if info.revision != _head_revision():
        click.echo("The backup is from an older version: run 'flask --app outreach upgrade'.")


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(current_app.extensions["migrate"].directory).get_current_head()


@click.command("demo-directory")
@with_appcontext
@development_only
def demo_directory_command() -> None:
    """Add fictional referral services for demos (idempotent; not part of seed)."""
    from outreach.directory.demo import add_demo_services

    if db.session.scalar(sa.select(sa.func.count()).select_from(sa.text("referral_type"))) == 0:
        raise click.ClickException("Run 'flask --app outreach seed' first.")
    added = add_demo_services()
    click.echo(f"Demo directory: {added} services added.")


@click.command("version")
def version_command() -> None:
    """The running version of Outreach (as /healthz and the admin footer show it)."""
    from outreach.version import app_version

    click.echo(f"Outreach {app_version()}")


def register(app: Flask) -> None:
    _install_database_error_hook(app)
    app.cli.add_command(version_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(upgrade_command)
    app.cli.add_command(user_cli)
    app.cli.add_command(demo_users_command)
    app.cli.add_command(demo_data_command)
    app.cli.add_command(demo_activity_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(demo_directory_command)
    from outreach.sealing import seal_key_cli

    app.cli.add_command(seal_key_cli)
