// Sends the outbox to POST /api/v1/sync. Runs in pages and in the service worker alike.
// One sync at a time across tabs and the worker (Web Locks). A record leaves the outbox only
// when the server answers "created" or "duplicate" for it; anything else keeps it. A record
// whose id another account's record holds ("conflict") takes a fresh id and goes again.
// Only records the signed-in account logged are sent; the others wait for their author.
import { adoptServerBag } from "./bag.js";
import { applyResults, getState, nextHoldEnd, rememberSession, sendable, setState, signedOut } from "./outbox.js";

export const MAX_BATCH = 500; // the server's limit per request
const MAX_BODY_BYTES = 900 * 1024; // under the server's 1 MiB, with room for the envelope
const LOCK_NAME = "outreach-sync";
const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 60_000;
const ATTEMPTS_PER_RUN = 4;
// A stalled connection (a stairwell, a lift) must not hold the sync lock for minutes.
const SESSION_TIMEOUT_MS = 15_000;
const SYNC_TIMEOUT_MS = 30_000;

// Outcomes of a run, for the page to show.
export const OK = "ok";
export const OFFLINE = "offline"; // network failures or 5xx; records wait, retried later
export const AUTH = "auth"; // signed out: ask to sign in again; records kept
export const FORBIDDEN = "forbidden";
export const BUSY = "busy"; // another tab or the service worker is sending

let csrfToken = null;
let sessionUser = null;

export class SyncError extends Error {
  constructor(kind, status, retryAfterMs = null) {
    super(`sync ${kind} (${status})`);
    this.kind = kind;
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

// Exponential backoff with jitter: half fixed, half random, so phones do not retry in step.
export function backoffDelay(attempt, base = BASE_DELAY_MS, cap = MAX_DELAY_MS) {
  const ceiling = Math.min(cap, base * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// fetch() that gives up after ``ms``; the caller treats that as a network failure.
async function timedFetch(url, options, ms) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    return await fetch(url, { ...options, signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}

// The server's Retry-After (seconds) on a 503 or 429, in milliseconds; null when absent.
function retryAfterMs(response) {
  const seconds = Number(response.headers.get("Retry-After"));
  return seconds > 0 ? seconds * 1000 : null;
}

// ``remember``: false when the phone is being cleared (nothing may be written any more).
async function fetchToken(remember = true) {
  let response;
  try {
    response = await timedFetch(
      "/api/v1/session",
      { credentials: "same-origin", cache: "no-store" },
      SESSION_TIMEOUT_MS,
    );
  } catch (error) {
    throw new SyncError(OFFLINE, 0);
  }
  if (response.status === 401) {
    // Signed out, here or everywhere by the server: the phone follows.
    if (remember) await signedOut();
    throw new SyncError(AUTH, 401);
  }
  if (!response.ok) throw new SyncError(OFFLINE, response.status, retryAfterMs(response));
  const body = await response.json();
  csrfToken = body.csrf_token;
  sessionUser = body.user.username;
  if (remember) {
    body.userChanged = await rememberSession(body);
    await adoptServerBag(body);
  }
  return body;
}

// Split records into requests within both the record and the byte limit.
export function batches(entries, maxRecords = MAX_BATCH, maxBytes = MAX_BODY_BYTES) {
  const out = [];
  let current = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = JSON.stringify(entry.record).length + 1;
    if (current.length && (current.length >= maxRecords || bytes + size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}

// Each record under its kind's key; the answer has one result per record under the same
// key ("results" for encounters), all matched back by kind and id.
async function post(entries) {
  const sent = { encounters: [] };
  for (const entry of entries) (sent[entry.kind || "encounters"] ||= []).push(entry.record);
  let response;
  try {
    response = await timedFetch(
      "/api/v1/sync",
      {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken || "" },
        body: JSON.stringify(sent),
      },
      SYNC_TIMEOUT_MS,
    );
  } catch (error) {
    throw new SyncError(OFFLINE, 0);
  }
  if (response.ok) {
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      throw new SyncError(OFFLINE, response.status);
    }
    if (!body || !Array.isArray(body.results)) throw new SyncError(OFFLINE, response.status);
    return Object.keys(sent).flatMap((key) =>
      (body[key === "encounters" ? "results" : key] || []).map((result) => ({ ...result, kind: key })),
    );
  }
  let code = null;
  try {
    code = (await response.json()).error;
  } catch (error) {
    // Not JSON (a proxy's error page): treated by status alone.
  }
  if (response.status === 401) {
    await signedOut();
    throw new SyncError(AUTH, 401);
  }
  if (response.status === 403 && code === "csrf") throw new SyncError("csrf", 403);
  if (response.status === 403) throw new SyncError(FORBIDDEN, 403);
  if (response.status === 413) throw new SyncError("too-large", 413);
  throw new SyncError(OFFLINE, response.status, retryAfterMs(response));
}

// Send one batch: refresh the CSRF token and retry once on a CSRF refusal.
async function sendBatch(entries) {
  if (!csrfToken) await fetchToken();
  try {
    return await post(entries);
  } catch (error) {
    if (error.kind !== "csrf") throw error;
    await fetchToken();
    try {
      return await post(entries);
    } catch (again) {
      // A second CSRF refusal right after a fresh token: the session itself is gone.
      if (again.kind === "csrf") throw new SyncError(AUTH, 403);
      throw again;
    }
  }
}

// Send everything sendable, oldest first, until nothing is left or a failure stops us.
async function drain(report, attempts) {
  let delivered = 0;
  let rejected = 0;
  let maxRecords = MAX_BATCH;
  let attempt = 0;
  // The server asked for a long wait (the account's record budget): every trigger until then
  // (a page load, coming online, the service worker) keeps the records and waits too.
  const waitUntil = (await getState("syncWaitUntil")) || 0;
  if (waitUntil > Date.now()) throw new SyncError(OFFLINE, 429, waitUntil - Date.now());
  // Who is signed in decides what may be sent: asked once per run, when something waits.
  if ((await sendable(1)).length) await fetchToken();
  for (;;) {
    const entries = await sendable(maxRecords, sessionUser);
    if (!entries.length) break;
    const [batch] = batches(entries, maxRecords);
    report({ state: "sending", remaining: entries.length });
    try {
      const results = await sendBatch(batch);
      const applied = await applyResults(results);
      delivered += applied.delivered;
      rejected += applied.rejected;
      attempt = 0;
      await setState("lastSync", Date.now());
      // Nothing matched: stop, do not spin. (Renamed records go again in the next round.)
      if (applied.delivered + applied.rejected + applied.renamed === 0) break;
    } catch (error) {
      if (error.kind === "too-large" && maxRecords > 1) {
        maxRecords = Math.max(1, Math.floor(maxRecords / 2));
        continue;
      }
      if (error.kind !== OFFLINE) throw error;
      if (error.retryAfterMs > MAX_DELAY_MS) {
        // Longer than a retry is worth holding the sync lock for: end this run; the records
        // stay and the next run starts after the wait.
        await setState("syncWaitUntil", Date.now() + error.retryAfterMs);
        throw error;
      }
      attempt += 1;
      if (attempt >= attempts) throw error;
      const wait = error.retryAfterMs ?? backoffDelay(attempt - 1);
      report({ state: "retrying", at: Date.now() + wait });
      await sleep(wait);
    }
  }
  return { delivered, rejected };
}

// Run one sync. Resolves to {status, delivered, rejected, retryAt?, holdUntil?}; never throws.
// ``attempts``: tries on network errors and 5xx before giving up until the next trigger.
export async function syncOutbox({ report = () => {}, attempts = ATTEMPTS_PER_RUN } = {}) {
  const run = async () => {
    try {
      const counts = await drain(report, attempts);
      return { status: OK, ...counts, holdUntil: await nextHoldEnd(sessionUser ?? (await getState("user"))) };
    } catch (error) {
      const status = error instanceof SyncError ? error.kind : OFFLINE;
      if (status === AUTH) csrfToken = null;
      const wait = error?.retryAfterMs ?? backoffDelay(attempts);
      const retryAt = status === OFFLINE ? Date.now() + wait : null;
      return { status, delivered: 0, rejected: 0, retryAt };
    }
  };
  if (typeof navigator !== "undefined" && navigator.locks) {
    return navigator.locks.request(LOCK_NAME, { ifAvailable: true }, async (lock) => {
      if (!lock) return { status: BUSY, delivered: 0, rejected: 0 };
      return run();
    });
  }
  return run();
}

export function forgetToken() {
  csrfToken = null;
}

// The session API also names who is signed in; used when signing out.
export async function currentSession(remember = true) {
  return fetchToken(remember);
}

export function token() {
  return csrfToken;
}
