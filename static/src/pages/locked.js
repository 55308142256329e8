// The lock page: the only page a locked phone shows, whatever address was asked for (the
// service worker serves it from its cache, the server answers it with 423). The PIN opens the
// unlock key sealed on the phone (offline too) and hands it to the server; the password is
// checked by the server, so it needs signal. Each refusal says why, beside the field.
import { getState, setState } from "../lib/outbox.js";
import { PENDING_UNLOCK, postJson, settlePendingUnlock, tellServerLocked, unlocked } from "../lib/lock.js";
import { lockSet, setLocked } from "../lib/lock-state.js";
import { openUnlockKey } from "../lib/verifier.js";
import { t } from "../lib/ui.js";

const MAX_PIN_FAILURES = 5;
const section = document.querySelector("[data-lock]");
const form = section.querySelector("[data-lock-form]");
const input = form.querySelector("input");
const label = form.querySelector("[data-lock-label]");
const message = section.querySelector("[data-lock-message]");
const toggle = section.querySelector("[data-lock-switch]");
let usePassword = false;
let checking = false;

async function pinRecord() {
  const [lock, user] = await Promise.all([getState("lock"), getState("user")]);
  return lock && lock.v === 2 && user && lock.user === user ? lock : null;
}

function say(text) {
  message.textContent = text || "";
  input.setAttribute("aria-invalid", String(Boolean(text)));
}

async function render(text = "") {
  const lock = await pinRecord();
  const pinUsable = Boolean(lock) && lock.failures < MAX_PIN_FAILURES;
  usePassword = usePassword || !pinUsable;
  label.textContent = usePassword ? t("password") : t("pin");
  input.inputMode = usePassword ? "text" : "numeric";
  input.autocomplete = usePassword ? "current-password" : "off";
  toggle.textContent = usePassword ? t("usePin") : t("usePassword");
  toggle.hidden = !pinUsable;
  say(text || (!lock ? t("noPin") : ""));
  input.value = "";
  input.focus();
}

// Unlocked: the page asked for is loaded again (the lock page itself leads home).
function proceed() {
  // A GET of the same address (never a form sent again).
  window.location.replace(window.location.pathname === "/lock" ? "/" : window.location.pathname + window.location.search);
}

async function withPin(pin) {
  const lock = await pinRecord();
  if (!lock) return render(t("noPin"));
  const key = await openUnlockKey(pin, lock);
  if (!key) {
    lock.failures += 1;
    await setState("lock", lock);
    const left = MAX_PIN_FAILURES - lock.failures;
    if (left <= 0) usePassword = true;
    return render(left > 0 ? t("wrongPin", { n: left }) : t("pinBlocked"));
  }
  await setState("lock", { ...lock, failures: 0 });
  // The session is unlocked with the key the PIN opened; without signal, at the next contact.
  sessionStorage.setItem(PENDING_UNLOCK, key);
  if (navigator.onLine) {
    const answer = await postJson("/lock/unlock", { key });
    if (answer) sessionStorage.removeItem(PENDING_UNLOCK);
    if (answer?.status === 403) {
      usePassword = true;
      return render(t("pinServer"));
    }
  }
  await unlocked();
  proceed();
}

async function withPassword(password) {
  if (!navigator.onLine) return say(t("passwordOffline"));
  const answer = await postJson("/lock/unlock", { password }, 20_000);
  if (!answer) return say(t("passwordOffline"));
  if (answer.ok) {
    const lock = await pinRecord();
    if (lock) await setState("lock", { ...lock, failures: 0 });
    await unlocked();
    return proceed();
  }
  const body = await answer.json().catch(() => null);
  return say(body?.errors?.password || body?.message || t("serverError"));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  // One check at a time: a second tap must not race the failure count.
  if (checking) return;
  const secret = input.value;
  if (!secret) return say(t("typeSecret"));
  checking = true;
  say("");
  message.textContent = t("checking");
  try {
    await (usePassword ? withPassword(secret) : withPin(secret));
  } finally {
    checking = false;
  }
});

toggle.addEventListener("click", () => {
  usePassword = !usePassword;
  render();
});

// Signing in needs signal: offline, say so beside the link instead of doing nothing.
const switchLink = section.querySelector("[data-switch-worker]");
switchLink.href = `/login?switch=1&next=${encodeURIComponent(window.location.pathname === "/lock" ? "/" : window.location.pathname)}`;
switchLink.addEventListener("click", (event) => {
  if (navigator.onLine) return;
  event.preventDefault();
  section.querySelector("[data-switch-message]").textContent = t("switchOffline");
});

async function start() {
  // Opened offline with a PIN that opened it earlier, or a key waiting for the server.
  if (!(await lockSet().catch(() => true)) && (await settlePendingUnlock())) return proceed();
  // Shown means locked, for every tab and the service worker; the server hears it too.
  localStorage.setItem("outreach-locked", "1");
  const state = await getState("locked").catch(() => null);
  if (!state) await setLocked(false);
  if (!state?.told) tellServerLocked().catch(() => null);
  window.addEventListener("online", () => tellServerLocked().catch(() => null));
  // Unlocked in another tab: this one follows.
  window.addEventListener("storage", (event) => {
    if (event.key === "outreach-locked" && event.newValue === null) proceed();
  });
  render();
}

start();
