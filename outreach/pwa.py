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
import threading
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint
from flask import Flask
from flask import abort
from flask import current_app
from flask import has_request_context
from flask import jsonify
from flask import request
from flask import url_for
from flask_babel import get_locale
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
_REVISIONS_KEY = "outreach_offline_page_revisions"
_INDENTATION = re.compile(r"\n\s+")

OfflinePagesProvider = Callable[[], Iterable[str]]


def init_app(app: Flask) -> None:
    """Set up the registry and the template flag for offline copies."""
    app.extensions.setdefault(_EXTENSION_KEY, [])
    app.extensions.setdefault(_REVISIONS_KEY, RevisionCache())

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


def public_path(endpoint: str, **values) -> str:
    """A site-relative URL, inside or outside a request (for the service worker's list)."""
    if has_request_context():
        return url_for(endpoint, **values)
    adapter = current_app.url_map.bind(
        "localhost", script_name=current_app.config.get("APPLICATION_ROOT") or "/"
    )
    return adapter.build(endpoint, values)


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


class RevisionCache:
    """Page revisions already computed, valid while the content they depend on is unchanged.

    Rendering some thirty pages to hash them on every request was most of the cost of
    /offline-pages.json. A revision depends on the page's URL, who asks (account and role)
    and the language; and on the content: cards, the directory, the catalogue and the
    deployed build. ``content_stamp()`` reads a fingerprint of those (one small query), so
    a change made through any app process or server empties the cache at the next request.
    """

    def __init__(self, size: int = 4096):
        self.size = size
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._revisions: OrderedDict[tuple, str | None] = OrderedDict()

    def get(self, stamp: tuple, key: tuple, compute: Callable[[], str | None]) -> str | None:
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._revisions = stamp, OrderedDict()
            elif key in self._revisions:
                self._revisions.move_to_end(key)
                return self._revisions[key]
        revision = compute()
        with self._lock:
            if stamp == self._stamp:
                self._revisions[key] = revision
                while len(self._revisions) > self.size:
                    self._revisions.popitem(last=False)
        return revision


def content_stamp() -> tuple:
    """A fingerprint of everything kept pages show: cards, directory, catalogue, build."""
    from outreach.extensions import db
    from outreach.models import Card
    from outreach.models import DirectoryService
    from outreach.models import ReferralType
    from outreach.models import SupplyItem
    from outreach.models import Zone
    from outreach.models import directory_service_referral

    models = (Card, DirectoryService, SupplyItem, ReferralType, Zone)
    counts = db.session.execute(
        sa.select(
            *(sa.select(sa.func.count()).select_from(m).scalar_subquery() for m in models),
            *(sa.select(sa.func.max(m.updated_at)).scalar_subquery() for m in models),
            # A service's referral types can change without its own row changing.
            sa.select(sa.func.count()).select_from(directory_service_referral).scalar_subquery(),
        )
    ).one()
    return (build_id(), *counts)


def _page_revision(url: str) -> str | None:
    status, content = _render_as_visitor(url)
    return hashlib.sha256(content).hexdigest()[:20] if status == 200 else None


@bp.get("/offline-pages.json")
def offline_pages():
    """The pages this visitor can keep offline, each with a revision that changes with it."""
    cache: RevisionCache = current_app.extensions[_REVISIONS_KEY]
    stamp = content_stamp()
    visitor = (
        (current_user.get_id(), current_user.role_level) if current_user.is_authenticated else None
    )
    lang = str(get_locale() or "")
    pages = []
    for url in offline_page_urls():
        revision = cache.get(stamp, (url, visitor, lang), lambda url=url: _page_revision(url))
        if revision is not None:
            pages.append({"url": url, "revision": revision})
    # ``user``: whom the list is for, so a phone told "the user changed" can see that the
    # list it just fetched already was theirs (and not fetch it again).
    response = jsonify(
        build=build_id(),
        signed_in=bool(current_user.is_authenticated),
        user=current_user.username if current_user.is_authenticated else None,
        pages=pages,
    )
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
