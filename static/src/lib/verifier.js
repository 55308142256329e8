// The PIN's seal. The phone keeps no verifier of the account's password: only a random key,
// sealed (AES-GCM) under a key derived from the PIN (PBKDF2-SHA256, many iterations, random
// salt). Opening the seal unlocks the phone offline; handing the key to the server unlocks
// the session (outreach/auth/lock.py). A wrong PIN fails to open it.
// What this protects against: a person who picks up the phone (5 tries, then only the
// password, checked by the server). What it does not: a forensic copy of the phone's storage,
// where a 6-digit PIN falls to a patient search. Participant codes stay sealed to the server
// either way (lib/seal.js).
import { base64url } from "./seal.js";

// About a third of a second on a mid-range phone: slow to guess, quick enough to unlock.
export const ITERATIONS = 300_000;
// New PINs: 6 to 12 digits.
export const PIN_PATTERN = /^\d{6,12}$/;

function fromBase64url(text) {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

// The PIN's key (raw, base64url) for this salt; the sign-in page derives it while the worker
// types and hands it to the next page, which seals the unlock key under it.
export async function derivePinKey(pin, salt, iterations = ITERATIONS) {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(pin), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt: fromBase64url(salt), iterations },
    material,
    256,
  );
  return base64url(bits);
}

export function newSalt() {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

export function newUnlockKey() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

const aesKey = (raw) => crypto.subtle.importKey("raw", fromBase64url(raw), "AES-GCM", false, ["encrypt", "decrypt"]);

// Seal ``unlockKey`` under the PIN's key: {iv, sealed}.
export async function sealUnlockKey(pinKey, unlockKey) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await aesKey(pinKey), fromBase64url(unlockKey));
  return { iv: base64url(iv), sealed: base64url(sealed) };
}

// The unlock key, or null when ``pin`` is not the PIN it was sealed under.
export async function openUnlockKey(pin, record) {
  if (!pin || !record?.sealed) return null;
  try {
    const pinKey = await derivePinKey(pin, record.salt, record.iterations);
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64url(record.iv) },
      await aesKey(pinKey),
      fromBase64url(record.sealed),
    );
    return base64url(plain);
  } catch (error) {
    return null;
  }
}
