// The sign-in page: the optional PIN for unlocking this phone offline. The PIN's key is
// derived here (PBKDF2) while the worker types and handed to the next page in this tab's
// sessionStorage, which seals a random unlock key under it (lib/lock.js). The PIN has no name,
// so it is never sent to the server, and nothing is derived from the password.
import { PENDING_KEY } from "../lib/lock-key.js";
import { ITERATIONS, PIN_PATTERN, derivePinKey, newSalt } from "../lib/verifier.js";

const form = document.querySelector("form[data-login]");
const pin = document.getElementById("unlock-pin");
const pinError = document.getElementById("unlock-pin-error");
let derived = null;
// This page shows again after a failed sign-in: what a failed attempt left is dropped.
sessionStorage.removeItem(PENDING_KEY);

// Say why the PIN is refused, beside it (and let go of the message once it is fixed).
function pinProblem(text) {
  pin.setAttribute("aria-invalid", String(Boolean(text)));
  pinError.textContent = text;
  pinError.hidden = !text;
}

if (form && pin && pinError && window.crypto?.subtle) {
  let timer = null;
  const salt = newSalt();
  pin.addEventListener("input", () => {
    clearTimeout(timer);
    derived = null;
    if (pin.getAttribute("aria-invalid") === "true" && PIN_PATTERN.test(pin.value)) pinProblem("");
    const value = pin.value;
    if (!PIN_PATTERN.test(value)) return;
    timer = setTimeout(async () => {
      const key = await derivePinKey(value, salt);
      if (pin.value === value) derived = { value, key };
    }, 150);
  });
  const handOver = (key) =>
    sessionStorage.setItem(
      PENDING_KEY,
      JSON.stringify({ user: form.elements.username.value.trim().toLowerCase(), salt, iterations: ITERATIONS, key }),
    );
  form.addEventListener("submit", (event) => {
    const code = pin.value;
    if (code && !PIN_PATTERN.test(code)) {
      event.preventDefault();
      pinProblem(pinError.dataset.message);
      pin.focus();
      return;
    }
    // Who signs in is named even without a PIN: the page after it must not take this worker
    // for the one signed in before (pages/shell.js).
    if (!code || derived?.value === code) {
      handOver(code ? derived.key : null);
      return;
    }
    event.preventDefault();
    derivePinKey(code, salt)
      .then(handOver, () => handOver(null))
      .finally(() => form.submit());
  });
}
