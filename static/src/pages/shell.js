// What every worker page does: register the service worker, show the outbox count and the
// last sync, run sync at the right moments, and guard sign-out and "Clear this device".
import { Workbox } from "workbox-window";
import { countRecords, destroy, getState, nextHoldEnd, onChange, setState } from "../lib/outbox.js";
import { AUTH, BUSY, FORBIDDEN, OFFLINE, OK, currentSession, forgetToken, syncOutbox, token } from "../lib/sync.js";
import { refreshOfflinePages } from "../lib/offline-pages.js";
import { choose, confirmAction, formatTime, show, t } from "../lib/ui.js";

export { refreshOfflinePages };

const SYNC_TAG = "outreach-outbox";
const PERIODIC_MS = 60_000;
const BUSY_RETRY_MS = 3000;

let workbox = null;
let timer = null;
let running = null;
let cleared = false;
const listeners = new Set();

// Pages can react to outbox changes and sync results (the outbox list redraws itself).
export function onUpdate(callback) {
  listeners.add(callback);
}

async function refreshCount() {
  if (cleared) return; // reading would create the database again
  let count = 0;
  try {
    count = await countRecords();
  } catch (error) {
    return;
  }
  for (const element of document.querySelectorAll("[data-outbox-count]")) {
    element.textContent = String(count);
  }
  // The count shown is now the outbox's, not the page's placeholder.
  document.documentElement.dataset.outboxCounted = "true";
  const last = await getState("lastSync").catch(() => null);
  const lastElement = document.querySelector("[data-last-sync]");
  if (lastElement) lastElement.textContent = last ? t("lastSync", { time: formatTime(last) }) : t("never");
  for (const callback of listeners) callback();
}

function message(text) {
  const element = document.querySelector("[data-sync-message]");
  if (element) element.textContent = text || "";
}

function schedule(at) {
  clearTimeout(timer);
  timer = setTimeout(() => requestSync(), Math.max(0, at - Date.now()));
}

async function registerBackgroundSync() {
  try {
    const registration = await navigator.serviceWorker?.getRegistration("/");
    await registration?.sync?.register(SYNC_TAG);
  } catch (error) {
    // Background Sync is missing or refused: the page's own triggers still run.
  }
}

function showResult(result) {
  const banner = document.querySelector("[data-signin-banner]");
  show(banner, result.status === AUTH);
  if (result.status === OK) {
    message(result.rejected ? t("rejectedWaiting", { n: result.rejected }) : result.delivered ? t("sent") : "");
    // Never sooner than a second: a server answering without matching results cannot spin us.
    if (result.holdUntil) schedule(Math.max(result.holdUntil + 50, Date.now() + 1000));
  } else if (result.status === OFFLINE) {
    message(navigator.onLine && result.retryAt ? t("retrying", { time: formatTime(result.retryAt) }) : t("offline"));
    if (result.retryAt && navigator.onLine) schedule(result.retryAt);
    registerBackgroundSync();
  } else if (result.status === FORBIDDEN) {
    message(t("forbidden"));
  } else if (result.status === BUSY) {
    schedule(Date.now() + BUSY_RETRY_MS);
  } else if (result.status === AUTH) {
    message("");
  }
}

// Send what waits. Safe to call often: one run at a time here, one across tabs (Web Locks).
export function requestSync() {
  if (cleared) return Promise.resolve({ status: OK });
  if (running) return running;
  running = (async () => {
    if (!navigator.onLine) {
      message(t("offline"));
      registerBackgroundSync();
      return { status: OFFLINE };
    }
    const result = await syncOutbox({
      report: (progress) => {
        if (progress.state === "sending") message(t("sending"));
        if (progress.state === "retrying") message(t("retrying", { time: formatTime(progress.at) }));
      },
    });
    showResult(result);
    await refreshCount();
    return result;
  })().finally(() => {
    running = null;
  });
  return running;
}

// After a save: send once the undo window has passed, or when the network returns.
export async function afterSave() {
  await refreshCount();
  const holdEnd = await nextHoldEnd();
  if (holdEnd) schedule(Math.max(holdEnd + 50, Date.now()));
  if (!navigator.onLine) registerBackgroundSync();
}

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  workbox = new Workbox("/sw.js", { scope: "/" });
  // A new version installed and waits (this tab's check or another's): offer to reload.
  workbox.addEventListener("waiting", () => show(document.querySelector("[data-update-banner]"), true));
  // When a new worker takes over a page that already had one, reload into the new version.
  // (The very first worker also claims this page; that needs no reload.)
  let hadController = Boolean(navigator.serviceWorker.controller);
  let reloading = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (hadController && !reloading) {
      reloading = true;
      window.location.reload();
    }
    hadController = true;
  });
  workbox.register().then(() => refreshOfflinePages(false));
  document.querySelector("[data-update-reload]")?.addEventListener("click", async () => {
    const registration = await navigator.serviceWorker.getRegistration("/");
    registration?.waiting?.postMessage({ type: "SKIP_WAITING" });
  });
}

async function askForPersistentStorage() {
  if (!navigator.storage?.persisted) return null;
  let persisted = await navigator.storage.persisted();
  if (!persisted && navigator.storage.persist) {
    persisted = await navigator.storage.persist().catch(() => false);
  }
  const status = document.querySelector("[data-storage-status]");
  if (status) status.textContent = persisted ? t("persistent") : t("mayEvict");
  return persisted;
}

// When a different person signs in on this phone, the pages kept offline are fetched again.
async function checkSession() {
  if (!navigator.onLine) return;
  try {
    const session = await currentSession();
    const previous = await getState("user");
    if (previous !== session.user.username) {
      await setState("user", session.user.username);
      if (previous) refreshOfflinePages(true);
    }
  } catch (error) {
    if (error.kind === AUTH) show(document.querySelector("[data-signin-banner]"), true);
  }
}

async function signOut(form) {
  const waiting = await countRecords().catch(() => 0);
  if (!navigator.onLine) {
    message(t("signOutOffline"));
    return;
  }
  if (waiting > 0) {
    const choice = await choose(t("signOutWaiting", { n: waiting }), [
      { label: t("sendThenSignOut"), value: "send", kind: "primary" },
      { label: t("signOutAnyway"), value: "leave" },
      { label: t("cancel"), value: "" },
    ]);
    if (!choice) return;
    if (choice === "send") {
      await requestSync();
      const left = await countRecords().catch(() => 0);
      if (left > 0) {
        const go = await confirmAction(`${t("notAllSent")} ${t("signOutWaiting", { n: left })}`, t("signOutAnyway"));
        if (!go) return;
      }
    }
  }
  try {
    forgetToken();
    await currentSession();
  } catch (error) {
    // Already signed out on the server: just go to the sign-in page.
    window.location.assign("/login");
    return;
  }
  let input = form.querySelector('input[name="csrf_token"]');
  if (!input) {
    input = document.createElement("input");
    input.type = "hidden";
    input.name = "csrf_token";
    form.append(input);
  }
  input.value = token();
  form.submit();
}

// "Clear this device": records, saved pages, settings and the service worker all go.
export async function clearDevice() {
  const waiting = await countRecords().catch(() => 0);
  if (!(await confirmAction(t("clearConfirm", { n: waiting }), t("clearDevice")))) return false;
  cleared = true;
  clearTimeout(timer);
  await destroy();
  if (window.caches) {
    for (const key of await caches.keys()) await caches.delete(key);
  }
  if (navigator.serviceWorker) {
    for (const registration of await navigator.serviceWorker.getRegistrations()) await registration.unregister();
  }
  localStorage.clear();
  sessionStorage.clear();
  message(t("cleared"));
  const form = document.querySelector("form[data-sign-out]");
  if (form && navigator.onLine) {
    try {
      forgetToken();
      await currentSession();
      let input = form.querySelector('input[name="csrf_token"]');
      if (!input) {
        input = document.createElement("input");
        input.type = "hidden";
        input.name = "csrf_token";
        form.append(input);
      }
      input.value = token();
      form.submit();
    } catch (error) {
      window.location.assign("/login");
    }
  }
  return true;
}

export function initShell() {
  registerServiceWorker();
  refreshCount();
  askForPersistentStorage();
  onChange(() => refreshCount());
  navigator.serviceWorker?.addEventListener("message", (event) => {
    if (event.data?.type === "outbox-synced") refreshCount();
  });
  window.addEventListener("online", () => {
    message("");
    requestSync();
    refreshOfflinePages(false);
  });
  window.addEventListener("offline", () => message(t("offline")));
  setInterval(() => {
    if (document.visibilityState === "visible") requestSync();
  }, PERIODIC_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") requestSync();
  });
  const signOutForm = document.querySelector("form[data-sign-out]");
  signOutForm?.addEventListener("submit", (event) => {
    event.preventDefault();
    signOut(signOutForm);
  });
  checkSession().then(() => requestSync());
}
