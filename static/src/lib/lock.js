// The screen lock: after a few idle minutes the worker pages hide behind a PIN (or password)
// check, made offline against verifiers kept on the phone (lib/verifier.js). The lock guards
// the screens only; records keep syncing underneath, and participant codes are sealed anyway.
import { getState, setState } from "./outbox.js";
import { show, t } from "./ui.js";
import { checkVerifier } from "./verifier.js";
// Written by the sign-in page (pages/login.js) for the page after it; adopted, then removed.
import { PENDING_KEY } from "./lock-key.js";

const ACTIVE_KEY = "outreach-active";
const LOCKED_KEY = "outreach-locked";
const MAX_PIN_FAILURES = 5;
const DEFAULT_IDLE_SECONDS = 600;

let idleMs = DEFAULT_IDLE_SECONDS * 1000;
let ticker = null;
let hidden = [];
let usePassword = false;

const section = () => document.querySelector("[data-lock]");
const locked = () => localStorage.getItem(LOCKED_KEY) === "1";

// The verifiers the sign-in page made, kept if they are for the person now signed in.
export async function adoptVerifiers(user) {
  const pending = sessionStorage.getItem(PENDING_KEY);
  if (!pending) return;
  sessionStorage.removeItem(PENDING_KEY);
  try {
    const { user: typed, pin, password } = JSON.parse(pending);
    if (typed === user.toLowerCase()) await setState("lock", { user, pin, password, failures: 0 });
  } catch (error) {
    // Unreadable: the worker unlocks by signing in again.
  }
}

async function verifiers() {
  const [lock, user] = await Promise.all([getState("lock"), getState("user")]);
  return lock && user && lock.user === user ? lock : null;
}

function touch() {
  // Not watching (signed out, or the phone was cleared): nothing to write.
  if (ticker && !locked()) localStorage.setItem(ACTIVE_KEY, String(Date.now()));
}

async function render(message = "") {
  const element = section();
  const lock = await verifiers();
  usePassword = usePassword || !lock?.pin || lock.failures >= MAX_PIN_FAILURES;
  element.querySelector("[data-lock-message]").textContent = message;
  element.querySelector("[data-lock-label]").textContent = usePassword ? t("password") : t("pin");
  const input = element.querySelector("input");
  input.inputMode = usePassword ? "text" : "numeric";
  show(element.querySelector("[data-lock-form]"), Boolean(lock));
  show(element.querySelector("[data-lock-password]"), Boolean(lock) && !usePassword);
  show(element.querySelector("[data-lock-none]"), !lock);
  input.value = "";
  input.focus();
}

// Hide everything but the lock: the header, and the page's own content.
function lock() {
  const element = section();
  if (!element || document.documentElement.dataset.locked === "true") return;
  localStorage.setItem(LOCKED_KEY, "1");
  document.documentElement.dataset.locked = "true";
  document.querySelector("dialog[open]")?.close();
  const main = element.parentElement;
  const others = [...document.body.children, ...main.children].filter((node) => node !== main && node !== element);
  hidden = others.filter((node) => !node.hidden && node.tagName !== "SCRIPT");
  for (const node of hidden) show(node, false);
  show(element, true);
  usePassword = false;
  render();
}

function unlock() {
  localStorage.removeItem(LOCKED_KEY);
  touch();
  if (document.documentElement.dataset.locked !== "true") return;
  document.documentElement.dataset.locked = "false";
  for (const node of hidden) show(node, true);
  hidden = [];
  show(section(), false);
}

let checking = false;

async function tryUnlock(event) {
  event.preventDefault();
  // One check at a time: a second tap must not race the failure count.
  if (checking) return;
  checking = true;
  try {
    const input = section().querySelector("input");
    const lock = await verifiers();
    if (!lock) return;
    const secret = input.value;
    if (await checkVerifier(secret, usePassword ? lock.password : lock.pin)) {
      await setState("lock", { ...lock, failures: 0 });
      unlock();
      return;
    }
    if (!usePassword) lock.failures += 1;
    await setState("lock", lock);
    const left = MAX_PIN_FAILURES - lock.failures;
    render(usePassword ? t("wrongPassword") : left > 0 ? t("wrongPin", { n: left }) : t("pinBlocked"));
  } finally {
    checking = false;
  }
}

function check() {
  const last = Number(localStorage.getItem(ACTIVE_KEY) || 0);
  if (locked() || (last && Date.now() - last > idleMs)) lock();
}

// Start watching for idleness on a page where someone is signed in.
// Safe to call again (after the session check): it starts once.
export async function initLock() {
  const element = section();
  if (ticker || !element || !(await getState("user").catch(() => null))) return;
  ticker = true;
  idleMs = ((await getState("lockAfter")) || DEFAULT_IDLE_SECONDS) * 1000;
  check();
  touch();
  ticker = setInterval(check, 1000);
  if (element.dataset.wired) return;
  element.dataset.wired = "true";
  for (const type of ["pointerdown", "keydown", "scroll"]) {
    document.addEventListener(type, touch, { passive: true, capture: true });
  }
  // Another tab locked or unlocked: follow it.
  window.addEventListener("storage", (event) => {
    if (event.key !== LOCKED_KEY) return;
    if (event.newValue === "1") lock();
    else unlock();
  });
  element.querySelector("[data-lock-form]").addEventListener("submit", tryUnlock);
  element.querySelector("[data-lock-password]").addEventListener("click", () => {
    usePassword = true;
    render();
  });
}

// Signed out or cleared: no lock (nobody's screens to guard).
export function stopLock() {
  clearInterval(ticker);
  ticker = null;
  localStorage.removeItem(LOCKED_KEY);
  localStorage.removeItem(ACTIVE_KEY);
  unlock();
}
