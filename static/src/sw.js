// The service worker. Built by scripts/build.mjs: bundled with esbuild, then Workbox's
// injectManifest fills self.__WB_MANIFEST with the built CSS, JS and icons. The runtime is
// our own (a few lines instead of Workbox's libraries: the offline budget has no room).
//
// - Assets: precached per build, served from the cache.
// - Pages (/log, /outbox, cards, directory, manifest): listed with revisions by
//   /offline-pages.json, kept in our own cache, served cache-first, fetched again only when
//   their revision changes.
// - Never cached: /api, /reports, /admin, sign-in and sign-out, sync responses.
// - Sign-out (POST /logout, from any page): the phone forgets who was signed in and its
//   PIN's seal, and the kept pages are fetched again as a signed-out visitor sees them.
// - The screen lock: while the phone is locked (lib/lock-state.js) every address is answered
//   with the kept lock page, online or offline, and every other request with 423; nothing
//   of a page reaches the screen. A sign-in (POST /login) that succeeds ends the lock.
import { nextHoldEnd, signedOut } from "./lib/outbox.js";
import { clearLocked, dropOldVerifiers, lockedNow, noteActive } from "./lib/lock-state.js";
import { OFFLINE, syncOutbox } from "./lib/sync.js";

const BUILD = __BUILD_ID__;
const PAGES_PREFIX = "outreach-pages-";
const PAGES = `${PAGES_PREFIX}${BUILD}`;
const ASSETS_PREFIX = "outreach-assets-";
const ASSETS = `${ASSETS_PREFIX}${BUILD}`;
const PRECACHE = new Set(self.__WB_MANIFEST.map((entry) => entry.url));
const REVISIONS_KEY = "/offline-pages.json";
const OFFLINE_COPY_HEADER = "X-Outreach-Offline-Copy";
const REFRESH_EVERY_MS = 10 * 60 * 1000;
const SYNC_TAG = "outreach-outbox";
// Shown for a navigation that fails offline, first one found.
const FALLBACKS = ["/log", "/outbox", "/cards"];
const LOCK_PAGE = "/lock";
// One safety card (not the list, not a referral card).
const CARD_PAGE = /^\/cards\/(?!referral\/)[^/]+$/;
// What a locked phone still reaches: the lock, the ways out of it, and what holds no data.
const OPEN_WHILE_LOCKED = [/^\/static\//, /^\/lock$/, /^\/login$/, /^\/logout$/, /^\/sw\.js$/, /^\/manifest\.webmanifest$/];
const NETWORK_ONLY = [
  /^\/api\//,
  /^\/reports(\/|$)/,
  /^\/admin(\/|$)/,
  /^\/login$/,
  /^\/logout$/,
  /^\/sw\.js$/,
  /^\/offline-pages\.json$/,
  /^\/directory\/staff-notes\.json$/,
];

// The language chosen last with ?lang= (kept across builds). A kept page asked for without
// ?lang= is served in it where a copy in it is kept (cards, directory), and the next refresh
// tells the server, which then keeps every page in it (the worker pages too).
// Named like the page caches, so that the kill switch clears it with them.
const LANG_CACHE = `${PAGES_PREFIX}lang`;
let languageChange = null;

async function chosenLang() {
  const stored = await (await caches.open(LANG_CACHE)).match("/lang");
  return stored ? stored.text() : "";
}

function chooseLang(lang, event) {
  languageChange = (async () => {
    await (await caches.open(LANG_CACHE)).put("/lang", new Response(lang));
    await refreshPages({ force: true }).catch(() => null);
  })().finally(() => {
    languageChange = null;
  });
  event.waitUntil(languageChange);
  return languageChange;
}

const sameOrigin = (url) => url.origin === self.location.origin;
const neverCached = (url) => NETWORK_ONLY.some((pattern) => pattern.test(url.pathname));

async function readRevisions(cache) {
  const stored = await cache.match(REVISIONS_KEY);
  if (!stored) return { checkedAt: 0, pages: {} };
  try {
    return await stored.json();
  } catch (error) {
    return { checkedAt: 0, pages: {} };
  }
}

// The page as it should be kept, or null. A redirect (to sign-in) or an error page is never
// kept in place of the page.
async function fetchPage(url) {
  const response = await fetch(url, {
    credentials: "same-origin",
    cache: "no-store",
    headers: { [OFFLINE_COPY_HEADER]: "1" },
  });
  if (!response.ok || response.redirected || response.type !== "basic") return null;
  return response;
}

let refreshing = null;
let refreshAgain = null;

// Bring the kept pages up to date with /offline-pages.json. At most every few minutes
// unless forced (language or user changed, catalogue changed, first install).
// ``user``: set when the page saw a new user signed in; a list already fetched for them
// needs no second fetch (the first visit after sign-in installs the worker with it).
function refreshPages({ force = false, user } = {}) {
  if (user !== undefined) {
    return (refreshing || Promise.resolve())
      .catch(() => null)
      .then(() => caches.open(PAGES))
      .then(readRevisions)
      .then((known) => (known.user === user ? { pages: Object.keys(known.pages).length } : refreshPages({ force: true })));
  }
  if (refreshing && force) {
    // A forced refresh asks for what the server has now. The one in flight may have read the
    // list before the change (a renamed item, say), so run once more after it; callers
    // that ask meanwhile share that second run.
    refreshAgain ??= refreshing
      .catch(() => null)
      .then(() => {
        refreshAgain = null;
        return refreshPages({ force: true });
      });
    return refreshAgain;
  }
  if (refreshing) return refreshing;
  refreshing = (async () => {
    const cache = await caches.open(PAGES);
    const known = await readRevisions(cache);
    const lang = await chosenLang();
    if (!force && (known.lang || "") === lang && Date.now() - known.checkedAt < REFRESH_EVERY_MS) {
      return { pages: Object.keys(known.pages).length, fresh: true };
    }
    const query = lang ? `?lang=${encodeURIComponent(lang)}` : "";
    const response = await fetch(`/offline-pages.json${query}`, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw new Error(`offline pages: ${response.status}`);
    const list = await response.json();
    if (list.build && BUILD && list.build !== BUILD) {
      // The server runs a newer build: its pages need the new worker's assets.
      self.registration.update();
      return { pages: Object.keys(known.pages).length, stale: true };
    }
    const next = {};
    // Pages with the same revision have the same content (a card at /cards/x and at
    // /cards/x?lang=en): fetched once, kept under each URL.
    const byRevision = new Map();
    for (const { url, revision } of list.pages) {
      byRevision.set(revision, [...(byRevision.get(revision) || []), url]);
    }
    const queue = [...byRevision.entries()];
    const keepOld = (url) => {
      if (known.pages[url]) next[url] = known.pages[url];
    };
    const work = async () => {
      while (queue.length) {
        const [revision, urls] = queue.shift();
        const missing = [];
        for (const url of urls) {
          const have = known.pages[url] === revision && (await cache.match(url, { ignoreVary: true }));
          if (have) next[url] = revision;
          else missing.push(url);
        }
        if (!missing.length) continue;
        try {
          const response = await fetchPage(missing[0]);
          if (!response) {
            missing.forEach(keepOld);
            continue;
          }
          for (const [index, url] of missing.entries()) {
            await cache.put(url, index === missing.length - 1 ? response : response.clone());
            next[url] = revision;
          }
        } catch (error) {
          missing.forEach(keepOld);
        }
      }
    };
    await Promise.all([work(), work(), work(), work()]);
    for (const url of Object.keys(known.pages)) {
      if (url in next) continue;
      // Signed out, the list leaves out worker pages: keep them for the next sign-in.
      if (!list.signed_in) next[url] = known.pages[url];
      else await cache.delete(url);
    }
    const body = JSON.stringify({ checkedAt: Date.now(), lang, user: list.user ?? null, pages: next });
    await cache.put(REVISIONS_KEY, new Response(body, { headers: { "Content-Type": "application/json" } }));
    return { pages: Object.keys(next).length };
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

// The lock page: kept, else from the network, else an empty page (never another page).
async function lockPage() {
  const kept = await (await caches.open(PAGES)).match(LOCK_PAGE, { ignoreVary: true });
  if (kept) return kept;
  try {
    const response = await fetch(LOCK_PAGE, { credentials: "same-origin", cache: "no-store" });
    if (response.ok || response.status === 423) return response;
  } catch (error) {
    // Offline, and the lock page was never kept: an empty page, with nothing of the app.
  }
  return new Response("", { status: 423, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

function lockedAnswer(request) {
  if (request.mode === "navigate") return lockPage();
  return new Response(JSON.stringify({ error: "locked" }), {
    status: 423,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}

async function fallback() {
  if (await lockedNow().catch(() => false)) return lockPage();
  const cache = await caches.open(PAGES);
  for (const url of FALLBACKS) {
    const match = await cache.match(url, { ignoreVary: true });
    if (match) return match;
  }
  return Response.error();
}

// Kept pages first; then the network; offline, the app shell.
async function pagesHandler({ url, request, event }) {
  const cache = await caches.open(PAGES);
  const navigating = request.mode === "navigate";
  // On a safety card ?lang= is the card's language, not the app's: the one kept copy holds
  // every language and shows the one asked for (static/src/pages/cards.js).
  const card = CARD_PAGE.test(url.pathname);
  const asked = card ? null : url.searchParams.get("lang");
  // ?lang= switched the language for this visitor: the kept pages follow.
  if (navigating && asked && asked !== (await chosenLang())) chooseLang(asked, event);
  const lang = navigating && !asked ? await chosenLang() : "";
  // Chosen offline: back online, the kept pages catch up before one is shown.
  if (lang && !languageChange && self.navigator.onLine && (await readRevisions(cache)).lang !== lang) {
    chooseLang(lang, event);
  }
  // Kept pages in the language being chosen are on their way; offline this ends at once.
  if (lang && languageChange) await Promise.race([languageChange, new Promise((done) => setTimeout(done, 4000))]);
  const inLang = (path) => (lang ? `${path}${path.includes("?") ? "&" : "?"}lang=${lang}` : path);
  const match = async (path) =>
    (await cache.match(inLang(path), { ignoreVary: true })) || cache.match(path, { ignoreVary: true });
  const cached = await match(card ? url.pathname : url.pathname + url.search);
  if (cached) return cached;
  try {
    return await fetch(request);
  } catch (error) {
    if (!navigating) throw error;
    return (await match(url.pathname)) || fallback();
  }
}

// Offline, a page that cannot be had falls back to a kept one; anything else is an error.
async function orFallback(request, promise) {
  try {
    return await promise;
  } catch (error) {
    return request.mode === "navigate" ? fallback() : Response.error();
  }
}

async function fromPrecache(request) {
  const cached = await caches.match(request, { cacheName: ASSETS });
  return cached || fetch(request);
}

// "Clear this device" ran: this worker is on its way out and must not write anything again.
let cleared = false;

async function signOut(event) {
  const response = await fetch(event.request);
  if (cleared) return response;
  // The server has answered (its redirect to sign-in included): the session is over here.
  await signedOut().catch(() => null);
  event.waitUntil(refreshPages({ force: true }).catch(() => null));
  return response;
}

// A sign-in that succeeded (the server redirects; a refusal shows the form again): the phone
// is no longer locked, whoever signed in.
async function signIn(event) {
  const response = await fetch(event.request);
  if (!cleared && (response.type === "opaqueredirect" || response.redirected)) await clearLocked().catch(() => null);
  return response;
}

// Locked: the lock, whatever was asked for. Otherwise ``handle``.
async function unlessLocked(request, handle) {
  if (await lockedNow().catch(() => false)) return lockedAnswer(request);
  return handle();
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (!sameOrigin(url)) return;
  if (request.method === "POST" && url.pathname === "/logout") {
    event.respondWith(signOut(event));
    return;
  }
  if (request.method === "POST" && url.pathname === "/login") {
    event.respondWith(signIn(event));
    return;
  }
  if (request.method !== "GET") return;
  if (PRECACHE.has(url.pathname)) {
    event.respondWith(orFallback(request, fromPrecache(request)));
    return;
  }
  const open = OPEN_WHILE_LOCKED.some((pattern) => pattern.test(url.pathname));
  const handle = () =>
    neverCached(url)
      ? orFallback(request, fetch(request))
      : orFallback(request, pagesHandler({ url, request, event }));
  event.respondWith(open ? handle() : unlessLocked(request, handle));
});

self.addEventListener("install", (event) => {
  event.waitUntil(
    Promise.all([
      // Every asset or none: a half-filled precache would break offline use.
      caches.open(ASSETS).then((cache) => cache.addAll([...PRECACHE])),
      // Best effort: a visitor who is not signed in still gets the public pages.
      refreshPages({ force: true }).catch(() => null),
    ]),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        const old = key.startsWith(PAGES_PREFIX) ? key !== PAGES && key !== LANG_CACHE : key.startsWith(ASSETS_PREFIX) && key !== ASSETS;
        // workbox-precache-*: what versions before this one kept.
        if (old || key.startsWith("workbox-precache")) await caches.delete(key);
      }
      // Phones from before kept a verifier of the account's password: it goes.
      await dropOldVerifiers().catch(() => null);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "CLEARED") {
    cleared = true;
  } else if (data.type === "ACTIVE") {
    // A page was touched: the idle time counts from now, on this worker's clock.
    if (!cleared) event.waitUntil(noteActive().catch(() => null));
  } else if (data.type === "SKIP_WAITING") {
    self.skipWaiting();
  } else if (data.type === "REFRESH_PAGES") {
    const port = event.ports[0];
    event.waitUntil(
      refreshPages({ force: Boolean(data.force), user: data.user }).then(
        (result) => port?.postMessage({ ok: true, ...result }),
        () => port?.postMessage({ ok: false }),
      ),
    );
  }
});

async function notifyClients() {
  for (const client of await self.clients.matchAll({ includeUncontrolled: true })) {
    client.postMessage({ type: "outbox-synced" });
  }
}

// Background Sync: the browser wakes us when the network returns, even with no page open.
self.addEventListener("sync", (event) => {
  if (event.tag !== SYNC_TAG) return;
  event.waitUntil(
    (async () => {
      const holdEnd = await nextHoldEnd();
      const wait = holdEnd ? Math.min(holdEnd - Date.now() + 50, 10_000) : 0;
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      // One try per event: the browser retries Background Sync itself, with its own backoff,
      // and a long event would delay a waiting update's activation.
      const result = await syncOutbox({ attempts: 1 });
      await notifyClients();
      // Rejecting asks the browser to try again later, with its own backoff.
      if (result.status === OFFLINE) throw new Error("sync failed; will retry");
    })(),
  );
});
