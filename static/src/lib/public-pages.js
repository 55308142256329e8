// Public pages (cards, directory) register the service worker too, so a participant who
// scanned a card's QR code, or a worker who is signed out, keeps them for use offline.
// Worker pages do more (outbox, sync, updates) in pages/shell.js.
import { refreshOfflinePages } from "./offline-pages.js";

export async function keepOffline() {
  if (typeof navigator === "undefined" || !("serviceWorker" in navigator) || !window.isSecureContext) return;
  try {
    await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    await refreshOfflinePages(false);
  } catch (error) {
    // No service worker (private mode, storage refused): the page still works online.
  }
}
