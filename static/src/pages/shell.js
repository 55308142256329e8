// What every worker page does: register the service worker, show the outbox count and the
// last sync, run sync at the right moments, guard sign-out and "Clear this device", show a
// signed-out state when nobody is signed in on this phone, and lock the screens when idle.
import { beforeSaving, countRecords, destroy, getState, nextHoldEnd, onChange, signedOut, summary } from "../lib/outbox.js";
import { AUTH, BUSY, FORBIDDEN, OFFLINE, OK, currentSession, forgetToken, syncOutbox, token } from "../lib/sync.js";
import { refreshOfflinePages } from "../lib/offline-pages.js";
import { choose, confirmAction, formatTime, lang, show, t } from "../lib/ui.js";
import { adoptPin, initLock, lockNow, settlePendingUnlock, stopLock } from "../lib/lock.js";
import { PENDING_KEY } from "../lib/lock-key.js";

export { refreshOfflinePages };

const SYNC_TAG = "outreach-outbox";
const PERIODIC_MS = 60_000;
const BUSY_RETRY_MS = 3000;
const SESSION_RETRY_MS = 3000;
// Cookies shared with the server (outreach/auth/__init__.py): the session's public name, and
// the note a phone that signed out without signal leaves for the server's next contact.
const REF_COOKIE = "outreach_ref";
const END_COOKIE = "outreach_end";
const END_COOKIE_DAYS = 30;

// Safari deletes a site's storage after 7 days without use; warn well before.
const WARN_AFTER_MS = 3 * 86_400_000;
let timer = null;
let running = null;
let cleared = false;
const listeners = new Set();

// Pages can react to outbox changes and sync results (the outbox list redraws itself).
/** Whether "Clear this device" ran: nothing may open the phone's database again. */
export function isCleared() {
  return cleared;
}

export function onUpdate(callback) {
  listeners.add(callback);
}

// How long ago, in words of the page's language ("3 days ago").
function ago(ms) {
  const minutes = Math.round((Date.now() - ms) / 60_000);
  const format = new Intl.RelativeTimeFormat(lang(), { numeric: "auto" });
  if (minutes < 60) return format.format(-minutes, "minute");
  if (minutes < 1440) return format.format(-Math.round(minutes / 60), "hour");
  return format.format(-Math.round(minutes / 1440), "day");
}

// Nobody signed in on this phone: no form that saves, no sign-out; the way to sign in.
function showSignedIn(user) {
  const out = user === null;
  if (out) stopLock();
  document.documentElement.dataset.signedOut = String(out);
  for (const element of document.querySelectorAll("form[data-sign-out], [data-signed-in-only], #encounter-form")) show(element, !out);
  show(document.querySelector("[data-signin-banner]"), out);
}

async function refreshCount() {
  if (cleared) return; // reading would create the database again
  let facts;
  try {
    facts = await summary();
  } catch (error) {
    return;
  }
  // One source for every count: the signed-in worker's records (everyone's when signed out).
  const count = facts.user ? facts.mine.length : facts.total;
  for (const element of document.querySelectorAll("[data-outbox-count]")) {
    element.textContent = String(count);
  }
  const others = document.querySelector("[data-outbox-others]");
  if (others) others.textContent = facts.user && facts.others ? t("othersWaiting", { n: facts.others }) : "";
  const oldest = document.querySelector("[data-oldest]");
  if (oldest) oldest.textContent = facts.oldest ? t("oldest", { ago: ago(facts.oldest) }) : "";
  show(
    document.querySelector("[data-storage-warning]"),
    !persisted && facts.oldest !== null && Date.now() - facts.oldest > WARN_AFTER_MS,
  );
  if (facts.user !== undefined) showSignedIn(facts.user);
  // The count shown is now the outbox's, not the page's placeholder.
  document.documentElement.dataset.outboxCounted = "true";
  const last = await getState("lastSync").catch(() => null);
  const lastElement = document.querySelector("[data-last-sync]");
  if (lastElement) lastElement.textContent = last ? t("lastSync", { time: formatTime(last) }) : t("never");
  for (const callback of listeners) callback(facts);
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
    showSignedIn(null);
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
  const holdEnd = await nextHoldEnd((await getState("user")) ?? null);
  if (holdEnd) schedule(Math.max(holdEnd + 50, Date.now()));
  if (!navigator.onLine) registerBackgroundSync();
}

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  // A new version installed and waits (this tab's check or another's): offer to reload.
  const offer = () => show(document.querySelector("[data-update-banner]"), true);
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
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).then((registration) => {
    if (registration.waiting && navigator.serviceWorker.controller) offer();
    registration.addEventListener("updatefound", () => {
      const installing = registration.installing;
      installing?.addEventListener("statechange", () => {
        if (installing.state === "installed" && navigator.serviceWorker.controller) offer();
      });
    });
    refreshOfflinePages(false);
  });
  document.querySelector("[data-update-reload]")?.addEventListener("click", async () => {
    const registration = await navigator.serviceWorker.getRegistration("/");
    registration?.waiting?.postMessage({ type: "SKIP_WAITING" });
  });
}

let persisted = true;

// Ask the browser to keep this app's storage; say so when it may not, and how iPhones keep it.
async function askForPersistentStorage() {
  const iphone = /iPhone|iPad|iPod/.test(navigator.userAgent) && !navigator.standalone;
  show(document.querySelector("[data-install-hint]"), iphone);
  if (!navigator.storage?.persisted) return;
  persisted = await navigator.storage.persisted();
  if (!persisted && navigator.storage.persist) {
    persisted = await navigator.storage.persist().catch(() => false);
  }
  const status = document.querySelector("[data-storage-status]");
  if (status) status.textContent = persisted ? t("persistent") : t("mayEvict");
  refreshCount();
}

// Someone else just signed in on this phone (the sign-in page left the name typed, for the
// lock): until the server says who it is, the name kept from before must not sign records.
async function forgetAnotherUser() {
  try {
    const typed = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null")?.user;
    const kept = await getState("user");
    if (typed && kept && typed !== kept.toLowerCase()) await signedOut();
  } catch (error) {
    // Nothing readable was left: the session's answer decides, as before.
  }
}

// Who is signed in decides what this phone may do. A different person: the pages kept offline
// are fetched again. Signed out (here, or everywhere by the server): the signed-out state.
// Until the phone has heard who is signed in, it cannot save a record under anyone: a first
// answer lost to a weak signal is asked for again soon, not only at the next page load.
const sessionRetry = { timer: null, delay: SESSION_RETRY_MS };

async function checkSession() {
  clearTimeout(sessionRetry.timer);
  if (!navigator.onLine) return;
  try {
    // A PIN opened the lock without signal: the server hears it before anything else.
    await settlePendingUnlock();
    const session = await currentSession();
    sessionRetry.delay = SESSION_RETRY_MS;
    await adoptPin(session.user.username);
    if (session.userChanged) refreshOfflinePages(true, session.user.username);
    initLock();
  } catch (error) {
    if (error.kind === AUTH) showSignedIn(null);
    // The server knows this session is locked (another tab, or locked without signal).
    else if (error.status === 423) lockNow();
    else if (!(await getState("user").catch(() => null))) {
      sessionRetry.timer = setTimeout(checkSession, sessionRetry.delay);
      sessionRetry.delay = Math.min(sessionRetry.delay * 2, PERIODIC_MS);
    }
  }
  refreshCount();
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// "Send, then sign out": everything this worker logged goes first, the records still in their
// undo window too (signing out ends it), and a sync another tab is running is waited for.
// Resolves to what is left and why, so the answer the worker reads is the true one.
async function sendBeforeSignOut() {
  const user = (await getState("user").catch(() => null)) ?? null;
  const holdEnd = await nextHoldEnd(user).catch(() => null);
  if (holdEnd && holdEnd > Date.now()) {
    message(t("sending"));
    await sleep(Math.min(holdEnd - Date.now() + 100, 10_000));
  }
  let result = { status: OK };
  for (let round = 0; round < 5; round += 1) {
    result = await requestSync();
    if (result.status === BUSY) {
      await sleep(1000);
      continue;
    }
    // A run already under way when asked may have missed the last records: once more.
    const pending = (await summary().catch(() => ({ mine: [] }))).mine.filter((entry) => entry.status !== "rejected");
    if (result.status !== OK || !pending.length || !result.delivered) break;
  }
  const mine = (await summary().catch(() => ({ mine: [] }))).mine;
  const rejected = mine.filter((entry) => entry.status === "rejected").length;
  return { left: mine.length, rejected, status: result.status };
}

function whyNotSent({ left, rejected, status }) {
  if (rejected === left) return t("notSentRejected", { n: rejected });
  if (status === OFFLINE) return t("notSentOffline", { n: left });
  return t("notSentOther", { n: left });
}

async function signOut(form) {
  const waiting = (await summary().catch(() => ({ mine: [] }))).mine.length;
  const online = navigator.onLine;
  if (waiting > 0) {
    const choices = [
      ...(online ? [{ label: t("sendThenSignOut"), value: "send", kind: "primary" }] : []),
      { label: t("signOutAnyway"), value: "leave" },
      { label: t("cancel"), value: "" },
    ];
    const choice = await choose(t(online ? "signOutWaiting" : "signOutWaitingOffline", { n: waiting }), choices);
    if (!choice) return;
    if (choice === "send") {
      const outcome = await sendBeforeSignOut();
      if (outcome.left > 0) {
        const go = await confirmAction(`${whyNotSent(outcome)} ${t("signOutLeft", { n: outcome.left })}`, t("signOutAnyway"));
        if (!go) {
          // Nothing was signed out: say so, and what still waits.
          message(`${whyNotSent(outcome)} ${t("stillSignedIn")}`);
          return;
        }
      } else {
        message(t("sentSigningOut"));
      }
    }
  }
  if (navigator.onLine && (await signOutOnline(form))) return;
  await signOutHere();
}

// Signed in on the server still: sign out there (its redirect leads to the sign-in page).
// False when the server cannot be reached, so the phone signs out without it.
async function signOutOnline(form) {
  try {
    forgetToken();
    await currentSession();
  } catch (error) {
    if (error.kind !== AUTH) return false;
    // Already signed out on the server: just go to the sign-in page.
    window.location.assign("/login");
    return true;
  }
  let input = form.querySelector('input[name="csrf_token"]');
  if (!input) {
    input = document.createElement("input");
    input.type = "hidden";
    input.name = "csrf_token";
    form.append(input);
  }
  input.value = token();
  await signedOut().catch(() => null);
  form.submit();
  return true;
}

// Leave a note for the server, in a cookie of the phone's own: whatever request reaches it
// next (a page, a sync, a script) carries it, and the session it names ends before that
// request sees anything; the server then drops the note.
function noteSessionEnded() {
  const ref = document.cookie.match(new RegExp(`(?:^|; )${REF_COOKIE}=([^;]*)`))?.[1] || "*";
  const secure = window.location.protocol === "https:" ? "; secure" : "";
  document.cookie = `${END_COOKIE}=${ref}; path=/; max-age=${END_COOKIE_DAYS * 86_400}; samesite=strict${secure}`;
}

// Without signal: signed out on this phone at once. Records stay for their author.
async function signOutHere() {
  noteSessionEnded();
  forgetToken();
  await signedOut().catch(() => null);
  showSignedIn(null);
  message(t("signedOutHere"));
  refreshCount();
}

// "Clear this device": records, saved pages, settings and the service worker all go.
export async function clearDevice() {
  // Everyone's records: clearing removes them all.
  const waiting = await countRecords().catch(() => 0);
  if (!(await confirmAction(t("clearConfirm", { n: waiting }), t("clearDevice")))) return false;
  cleared = true;
  clearTimeout(timer);
  // The session ends at the server's next contact, with or without signal now.
  noteSessionEnded();
  stopLock(false);
  navigator.serviceWorker?.controller?.postMessage({ type: "CLEARED" });
  await destroy();
  if (window.caches) {
    for (const key of await caches.keys()) await caches.delete(key);
  }
  if (navigator.serviceWorker) {
    for (const registration of await navigator.serviceWorker.getRegistrations()) await registration.unregister();
  }
  localStorage.clear();
  sessionStorage.clear();
  message(t(navigator.onLine ? "cleared" : "clearedOffline"));
  // Online, the next request ends the session (the note above) and shows the sign-in page.
  if (navigator.onLine) window.location.assign("/login");
  return true;
}

// A record saved in the moment after sign-in, before the phone has heard who is signed in,
// waits for that answer (a few seconds at most) instead of being refused as "signed out".
const ASK_AT_SAVE_MS = 5000;

async function settleUser(forgotten) {
  await forgotten;
  if ((await getState("user")) || !navigator.onLine) return;
  // The wait can last seconds on a weak signal: say why Save is not done yet.
  message(t("checkingSignIn"));
  const gaveUp = new Promise((done) => setTimeout(done, ASK_AT_SAVE_MS));
  // The same path as every page load, so a new worker's pages and lock follow too.
  await Promise.race([checkSession(), gaveUp]);
  message("");
}

export function initShell() {
  const forgotten = forgetAnotherUser();
  beforeSaving(() => settleUser(forgotten));
  registerServiceWorker();
  refreshCount();
  initLock();
  askForPersistentStorage();
  onChange(() => refreshCount());
  navigator.serviceWorker?.addEventListener("message", (event) => {
    if (event.data?.type === "outbox-synced") refreshCount();
  });
  window.addEventListener("online", () => {
    message("");
    // Back in reach of the server: it may have signed this worker out everywhere meanwhile.
    checkSession().then(() => requestSync());
    refreshOfflinePages(false);
  });
  window.addEventListener("offline", () => message(t("offline")));
  setInterval(() => {
    if (document.visibilityState === "visible") requestSync();
  }, PERIODIC_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") requestSync();
  });
  // Signing in needs signal: offline, "Another worker? Sign in" says so beside the link, and
  // what happens to this worker's waiting records, instead of doing nothing.
  document.querySelector("a.switch-worker")?.addEventListener("click", async (event) => {
    if (navigator.onLine) return;
    event.preventDefault();
    const waiting = (await summary().catch(() => ({ mine: [] }))).mine.length;
    const note = document.querySelector("[data-switch-message]");
    if (note) note.textContent = waiting ? t("switchOfflineWaiting", { n: waiting }) : t("switchOffline");
  });
  const signOutForm = document.querySelector("form[data-sign-out]");
  signOutForm?.addEventListener("submit", (event) => {
    event.preventDefault();
    signOut(signOutForm);
  });
  forgotten
    .then(checkSession)
    .then(() => requestSync());
}
