// Verifiers for unlocking the phone offline: PBKDF2-SHA256 with many iterations and a random
// salt. The phone keeps the verifier, never the PIN or password it came from.
import { base64url } from "./seal.js";

// About a third of a second on a mid-range phone: slow to guess, quick enough to unlock.
export const ITERATIONS = 300_000;
export const PIN_PATTERN = /^\d{4,8}$/;

async function derive(secret, salt, iterations) {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, material, 256);
  return base64url(bits);
}

export async function makeVerifier(secret) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return { salt: base64url(salt), iterations: ITERATIONS, hash: await derive(secret, salt, ITERATIONS) };
}

function fromBase64url(text) {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export async function checkVerifier(secret, verifier) {
  if (!verifier || !secret) return false;
  const hash = await derive(secret, fromBase64url(verifier.salt), verifier.iterations);
  return hash === verifier.hash;
}
