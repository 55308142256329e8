"""The installable app: service worker, web app manifest, and the pages kept for offline use.

Pages are server-rendered, so the service worker cannot know their content at build time.
It asks ``/offline-pages.json`` for the list of page URLs with a revision each (a hash of the
page as this visitor would get it) and fetches again only the pages whose revision changed.
Features add their pages with ``register_offline_pages(app, provider)``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint
from flask import Flask
from flask import abort
from flask import current_app
from flask import jsonify
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.test import EnvironBuilder
from werkzeug.test import run_wsgi_app

bp = Blueprint("pwa", __name__)

# Sent by the service worker when it fetches a page to keep offline. Such a copy leaves out
# whatever belongs to one moment of one session (flashed messages, CSRF tokens).
OFFLINE_COPY_HEADER = "X-Outreach-Offline-Copy"
# Never kept offline, whatever a provider lists: staff data and the live API.
NEVER_OFFLINE = ("/reports", "/admin", "/api", "/login", "/logout")
THEME_COLOR = "#0f5c4d"
BACKGROUND_COLOR = "#f7f8f6"
_EXTENSION_KEY = "outreach_offline_pages"
_INDENTATION = re.compile(r"\n\s+")

OfflinePagesProvider = Callable[[], Iterable[str]]


def init_app(app: Flask) -> None:
    """Set up the registry and the template flag for offline copies."""
    app.extensions.setdefault(_EXTENSION_KEY, [])

    @app.context_processor
    def _offline_copy_flag() -> dict:
        return {"offline_copy": is_offline_copy()}

    @app.after_request
    def _compact_offline_page(response):
        # Every phone downloads each kept page; template indentation is a few percent of it
        # even after gzip. Kept pages hold no <pre> or <textarea>, where spaces would matter.
        view = app.view_functions.get(request.endpoint or "")
        if (
            getattr(view, "offline_page", False)
            and response.mimetype == "text/html"
            and not response.direct_passthrough
        ):
            response.set_data(_INDENTATION.sub("\n", response.get_data(as_text=True)))
        return response


def register_offline_pages(app: Flask, provider: OfflinePagesProvider) -> None:
    """Add a callable that returns page URLs the service worker keeps for offline use.

    Providers run inside a request, so they may use ``url_for``; a URL this visitor cannot
    open (a redirect to sign-in, a 403) is left out of their list automatically.
    """
    providers = app.extensions.setdefault(_EXTENSION_KEY, [])
    if provider not in providers:
        providers.append(provider)


def offline_page(view: Callable) -> Callable:
    """Mark a view whose page is kept offline: it must hold nothing private or per-session.

    Such pages are answered with ``Cache-Control: private, no-cache`` for signed-in staff
    instead of ``no-store`` (see outreach/web.py).
    """
    view.offline_page = True
    return view


def is_offline_copy() -> bool:
    """Whether the service worker is fetching this page to keep it offline."""
    return request.headers.get(OFFLINE_COPY_HEADER) == "1"


def offline_page_urls() -> list[str]:
    """Every URL the providers list, without duplicates or never-offline paths."""
    urls: list[str] = []
    for provider in current_app.extensions.get(_EXTENSION_KEY, []):
        for url in provider():
            if url not in urls and is_cacheable_path(url):
                urls.append(url)
    return urls


def is_cacheable_path(url: str) -> bool:
    """False for reports, admin, API and sign-in pages: never kept by the service worker."""
    path = urlsplit(url).path
    if urlsplit(url).netloc or not path.startswith("/"):
        return False
    return not any(path == p or path.startswith(p + "/") for p in NEVER_OFFLINE)


def build_id() -> str:
    """The id of the built front end (changes with every asset and service worker build)."""
    path = _dist_dir() / "build.json"
    try:
        return str(json.loads(path.read_text())["build"])
    except (OSError, ValueError, KeyError):
        return ""


def _dist_dir() -> Path:
    return Path(current_app.static_folder) / "dist"


def _render_as_visitor(url: str) -> tuple[int, bytes]:
    """Render ``url`` inside this process as the current visitor would get it offline."""
    parts = urlsplit(url)
    headers = {OFFLINE_COPY_HEADER: "1"}
    for name in ("Cookie", "Accept-Language", "User-Agent"):
        if name in request.headers:
            headers[name] = request.headers[name]
    # A language chosen by this very request (its cookie comes with the answer) comes first.
    if request.args.get("lang") in current_app.config["LANGUAGES"]:
        headers["Cookie"] = f"lang={request.args['lang']}; {headers.get('Cookie', '')}"
    builder = EnvironBuilder(
        path=parts.path,
        query_string=parts.query,
        base_url=request.host_url,
        headers=headers,
        environ_base={"REMOTE_ADDR": request.remote_addr or ""},
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    app = current_app._get_current_object()
    # The bare Flask app, past any middleware: this is not a request from the network. A
    # fresh app context gives the page its own ``g``: otherwise it would share this
    # request's, with its cached language and user, and every language would look alike.
    with app.app_context():
        body, status, _headers = run_wsgi_app(
            lambda env, start: Flask.wsgi_app(app, env, start), environ, buffered=True
        )
    content = b"".join(body)
    if hasattr(body, "close"):
        body.close()
    return int(status.split(" ", 1)[0]), content


@bp.get("/offline-pages.json")
def offline_pages():
    """The pages this visitor can keep offline, each with a revision that changes with it."""
    pages = []
    for url in offline_page_urls():
        status, content = _render_as_visitor(url)
        if status == 200:
            pages.append({"url": url, "revision": hashlib.sha256(content).hexdigest()[:20]})
    response = jsonify(build=build_id(), signed_in=bool(current_user.is_authenticated), pages=pages)
    # The list depends on who asks; never shared or stored by a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/sw.js")
def service_worker():
    """The service worker, at the root so that its scope is the whole site."""
    path = _dist_dir() / "sw.js"
    if not path.is_file():
        abort(404)
    body = path.read_bytes()
    response = current_app.response_class(body, mimetype="text/javascript")
    # An ETag lets the browser's update check end in a bodiless 304 when nothing changed.
    response.set_etag(hashlib.sha256(body).hexdigest()[:20])
    response.make_conditional(request)
    # Browsers check for a new worker on navigation; it must never come from a stale cache.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """Web app manifest: installable, opens on the logging page."""

    def icon(name: str, size: int, purpose: str = "any") -> dict:
        return {
            "src": url_for("static", filename=f"icons/{name}"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": purpose,
        }

    body = {
        "name": _("Outreach"),
        "short_name": _("Outreach"),
        "description": _("Log supplies and referrals, with or without signal."),
        "id": "/log",
        "start_url": "/log",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": [
            icon("icon-192.png", 192),
            icon("icon-512.png", 512),
            icon("icon-maskable-512.png", 512, "maskable"),
        ],
    }
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json"
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


def offline_urls() -> list[str]:
    """The manifest is kept too, so an installed app starts without a network."""
    return [url_for("pwa.manifest")]
