"""Outreach: offline-first logging, reports and safety cards for outreach programs."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from outreach import config as settings_module
from outreach.extensions import babel
from outreach.extensions import csrf
from outreach.extensions import db
from outreach.extensions import login_manager
from outreach.extensions import migrate

__all__ = ["create_app"]


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, settings file, environment variables, then ``test_config``."""
    environ = settings_module.effective_environment(os.environ)
    app = Flask(
        __name__,
        instance_path=environ.get("OUTREACH_INSTANCE_PATH") or None,
        instance_relative_config=True,
        static_folder=str(settings_module.resource_dir("static")),
        template_folder=str(settings_module.resource_dir("templates")),
    )
    instance_path = Path(app.instance_path)
    settings = settings_module.default_settings(instance_path)
    settings.update(settings_module.read_environment(environ))
    if test_config:
        settings.update(test_config)
    app.config.update(settings_module.finalise(settings, instance_path, environ))
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    _init_extensions(app)
    from outreach import web

    web.init_url_map(app)
    _register_blueprints(app)
    _register_cli(app)
    from outreach import formatting
    from outreach import logs
    from outreach.version import app_version

    # The admin footer names the running version (so does /healthz and `flask version`).
    app.jinja_env.globals["app_version"] = app_version
    formatting.init_app(app)
    web.init_app(app)
    logs.init_app(app)
    return app


def _init_extensions(app: Flask) -> None:
    from outreach import auth
    from outreach import i18n
    from outreach import ratelimit
    from outreach.database import configure_engine

    db.init_app(app)
    configure_engine(app)
    migrate.init_app(
        app,
        db,
        directory=str(settings_module.resource_dir("migrations")),
        render_as_batch=True,
        compare_type=True,
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    auth.init_login_manager(login_manager)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    ratelimit.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from outreach import pwa
    from outreach import worker
    from outreach.admin.views import bp as admin_bp
    from outreach.auth.account import bp as account_bp
    from outreach.auth.views import bp as auth_bp
    from outreach.cards.views import bp as cards_bp
    from outreach.cards.views import offline_urls as cards_offline_urls
    from outreach.directory.admin import bp as directory_admin_bp
    from outreach.directory.views import bp as directory_bp
    from outreach.directory.views import offline_urls as directory_offline_urls
    from outreach.funder.definitions import load_templates
    from outreach.funder.views import admin_bp as funder_admin_bp
    from outreach.funder.views import bp as funder_bp
    from outreach.health import bp as health_bp
    from outreach.main import bp as main_bp
    from outreach.overdoses.views import bp as overdoses_bp
    from outreach.reports.bulk_void import bp as bulk_void_bp
    from outreach.reports.views import bp as reports_bp
    from outreach.stock.views import bp as stock_bp
    from outreach.stock.views import offline_urls as stock_offline_urls
    from outreach.sync.api import bp as api_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(cards_bp)
    app.register_blueprint(directory_bp)
    app.register_blueprint(directory_admin_bp)
    app.register_blueprint(worker.bp)
    app.register_blueprint(pwa.bp)
    # Pages the service worker keeps for offline use; features add theirs here.
    pwa.init_app(app)
    pwa.register_offline_pages(app, pwa.offline_urls)
    pwa.register_offline_pages(app, worker.offline_urls)
    pwa.register_offline_pages(app, stock_offline_urls)
    pwa.register_offline_pages(app, cards_offline_urls)
    pwa.register_offline_pages(app, directory_offline_urls)
    app.register_blueprint(reports_bp)
    app.register_blueprint(bulk_void_bp)
    app.register_blueprint(overdoses_bp)
    app.register_blueprint(admin_bp)
    # Funder templates are checked at start-up: a broken file stops the app, not a report.
    load_templates()
    app.register_blueprint(funder_bp)
    app.register_blueprint(funder_admin_bp)
    app.register_blueprint(stock_bp)


def _register_cli(app: Flask) -> None:
    from outreach.cli import register

    register(app)
