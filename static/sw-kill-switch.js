// Kill switch for a broken service worker release: a no-op worker served in place of /sw.js.
// It takes over at once, deletes the cached pages and assets, and has no fetch handler, so
// every request goes to the network as if there were no service worker. It never touches
// IndexedDB: records waiting in the outbox stay on the phone and the page's own sync sends
// them. A later working release replaces it through the browser's normal update check.
// See README "Service worker kill switch".
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith("outreach-") || key.startsWith("workbox-")) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});
