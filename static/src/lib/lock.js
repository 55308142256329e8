// The screen lock, on every signed-in page. After a few idle minutes (or when another tab
// locks, or the server says this session is locked) the page's content leaves the DOM at
// once, the server is told, and the page loads again: the service worker (offline) and the
// server (online) answer every address with the lock page (pages/locked.js) until it is
// unlocked. Nothing of the page stays behind, for eyes or for a screen reader.
// Offline unlock is by PIN only (lib/verifier.js); the password is checked by the server.
import { getState, setState } from "./outbox.js";
import { clearLocked, dropOldVerifiers, idleMs, lockSet, setLocked } from "./lock-state.js";
import { newUnlockKey, sealUnlockKey } from "./verifier.js";
// Written by the sign-in page (pages/login.js) for the page after it; adopted, then removed.
import { PENDING_KEY } from "./lock-key.js";

const ACTIVE_KEY = "outreach-active";
const LOCKED_KEY = "outreach-locked";
// A PIN that opened offline: the key it opened, kept in this tab until the server has it.
export const PENDING_UNLOCK = "outreach-unlock-pending";
const TELL_TIMEOUT_MS = 5000;

let ticker = null;
let limit = 600_000;
let lastWrite = 0;

// POST a JSON body to the lock API; the Response, or null without an answer.
export async function postJson(url, body, ms = TELL_TIMEOUT_MS) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
  } catch (error) {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

// Tell the server this session is locked; remembered when it could not be told.
export async function tellServerLocked() {
  const answer = navigator.onLine ? await postJson("/lock/session", {}) : null;
  await setLocked(Boolean(answer?.ok));
}

// A PIN opened the lock without signal: the server hears it at the next contact.
export async function settlePendingUnlock() {
  const key = sessionStorage.getItem(PENDING_UNLOCK);
  if (!key || !navigator.onLine) return false;
  const answer = await postJson("/lock/unlock", { key });
  if (!answer) return false;
  sessionStorage.removeItem(PENDING_UNLOCK);
  return answer.ok;
}

// The PIN's key the sign-in page derived, for the person now signed in: a random unlock key
// is sealed under it and its server half registered. Without the server, nothing is kept
// (a PIN that could open the phone but not the session would only mislead).
export async function adoptPin(user) {
  const pending = sessionStorage.getItem(PENDING_KEY);
  if (!pending) return;
  sessionStorage.removeItem(PENDING_KEY);
  try {
    const { user: typed, salt, iterations, key } = JSON.parse(pending);
    if (!key || typed !== user.toLowerCase()) return;
    const unlockKey = newUnlockKey();
    const sealed = await sealUnlockKey(key, unlockKey);
    const answer = await postJson("/lock/key", { key: unlockKey });
    if (answer?.ok) await setState("lock", { v: 2, user, salt, iterations, ...sealed, failures: 0 });
  } catch (error) {
    // Unreadable: the worker unlocks with the password, or signs in again.
  }
}

const isLocked = () => document.documentElement.dataset.locked === "true";

function touch() {
  // Not watching (signed out, or the phone was cleared): nothing to write.
  if (!ticker || isLocked()) return;
  const now = Date.now();
  localStorage.setItem(ACTIVE_KEY, String(now));
  // For the service worker, which cannot read localStorage; not on every touch.
  if (now - lastWrite > Math.min(10_000, limit / 3)) {
    lastWrite = now;
    tellWorkerActive();
  }
}

function tellWorkerActive() {
  navigator.serviceWorker?.controller?.postMessage({ type: "ACTIVE" });
}

// Lock now: the content goes from the DOM at once, then the page loads again as the lock.
export async function lockNow() {
  if (isLocked()) return;
  document.documentElement.dataset.locked = "true";
  localStorage.setItem(LOCKED_KEY, "1");
  sessionStorage.removeItem(PENDING_UNLOCK);
  document.querySelector("dialog[open]")?.close();
  document.body.replaceChildren();
  document.title = "Outreach";
  await setLocked(false).catch(() => null);
  await tellServerLocked().catch(() => null);
  // A GET of the same address (a page that answered a form is not sent again).
  window.location.replace(window.location.pathname + window.location.search);
}

function check() {
  const last = Number(localStorage.getItem(ACTIVE_KEY) || 0);
  if (localStorage.getItem(LOCKED_KEY) === "1" || (last && Date.now() - last > limit)) lockNow();
}

// Start watching for idleness on a page where someone is signed in.
// Safe to call again (after the session check): it starts once.
export async function initLock() {
  if (ticker || !(await getState("user").catch(() => null))) return;
  ticker = true;
  await dropOldVerifiers().catch(() => null);
  limit = await idleMs();
  // A page from the browser's memory (back/forward) or opened before the lock: not past it.
  if (await lockSet().catch(() => false)) {
    localStorage.setItem(LOCKED_KEY, "1");
  }
  check();
  if (isLocked()) return;
  localStorage.setItem(ACTIVE_KEY, String(Date.now()));
  tellWorkerActive();
  ticker = setInterval(check, 1000);
  for (const type of ["pointerdown", "keydown", "scroll"]) {
    document.addEventListener(type, touch, { passive: true, capture: true });
  }
  // Another tab locked: follow it.
  window.addEventListener("storage", (event) => {
    if (event.key === LOCKED_KEY && event.newValue === "1") lockNow();
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) lockSet().then((locked) => locked && lockNow());
  });
}

// Signed out or cleared: no lock (nobody's screens to guard). ``write``: false when the
// phone is being cleared (its database is about to go; nothing may open it again).
export function stopLock(write = true) {
  clearInterval(ticker);
  ticker = null;
  localStorage.removeItem(LOCKED_KEY);
  localStorage.removeItem(ACTIVE_KEY);
  sessionStorage.removeItem(PENDING_UNLOCK);
  if (write) clearLocked().catch(() => null);
}

// Unlocked (pages/locked.js): every tab may show its pages again.
export async function unlocked() {
  localStorage.removeItem(LOCKED_KEY);
  localStorage.setItem(ACTIVE_KEY, String(Date.now()));
  await clearLocked();
}
