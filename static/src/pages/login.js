// The sign-in page: the optional PIN, and a verifier of the password, for unlocking this
// phone offline. Both are derived here (PBKDF2) while the worker types and handed to the next
// page in this tab's sessionStorage; the PIN has no name, so it is never sent to the server.
// Signing in never waits for the password's verifier (without it, the lock asks to sign in
// again); it waits a moment for the PIN's only when the PIN was typed at the last instant.
import { PENDING_KEY } from "../lib/lock-key.js";
import { PIN_PATTERN, makeVerifier } from "../lib/verifier.js";

const form = document.querySelector("form[data-login]");
const pin = document.getElementById("unlock-pin");
const derived = {};
// This page shows again after a failed sign-in: what a failed attempt left is dropped.
sessionStorage.removeItem(PENDING_KEY);

// Derive a verifier for the field's value once typing pauses; keep it only if still current.
function watch(input, name) {
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    delete derived[name];
    const value = input.value;
    timer = setTimeout(async () => {
      const verifier = await makeVerifier(value);
      if (input.value === value) derived[name] = { value, verifier };
      document.documentElement.dataset.unlockReady = String(Boolean(derived.password));
    }, 150);
  });
}

const current = (name, input) => (derived[name]?.value === input.value ? derived[name].verifier : null);

function handOver(pinVerifier) {
  const verifiers = {
    user: form.elements.username.value.trim().toLowerCase(),
    password: current("password", form.elements.password),
    pin: pinVerifier,
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(verifiers));
}

if (form && pin && window.crypto?.subtle) {
  watch(form.elements.password, "password");
  watch(pin, "pin");
  form.addEventListener("submit", (event) => {
    const code = pin.value;
    if (code && !PIN_PATTERN.test(code)) {
      event.preventDefault();
      pin.setAttribute("aria-invalid", "true");
      pin.focus();
      return;
    }
    if (!code || current("pin", pin)) {
      handOver(code ? current("pin", pin) : null);
      return;
    }
    event.preventDefault();
    makeVerifier(code).then(handOver, () => null).finally(() => form.submit());
  });
}
