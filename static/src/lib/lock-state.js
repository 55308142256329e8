// Whether this phone is locked, kept in IndexedDB so that the service worker knows it too:
// while locked it answers every address with the lock page (sw.js), online or offline.
// Locked means: someone is signed in, and the lock was set (idle, another tab, the server
// said so) or nobody has touched a page for longer than the idle time.
import { getState, setState } from "./outbox.js";

const DEFAULT_IDLE_SECONDS = 600;

export async function idleMs() {
  return ((await getState("lockAfter").catch(() => null)) || DEFAULT_IDLE_SECONDS) * 1000;
}

export async function lockedNow(now = Date.now()) {
  const [user, locked, last] = await Promise.all([getState("user"), getState("locked"), getState("lastActive")]);
  if (!user) return false;
  if (locked) return true;
  return Boolean(last) && now - last > (await idleMs());
}

// The lock set (by idle, another tab or the server), without the service worker's idle
// reckoning: what pages ask, on their own clock.
export const lockSet = async () => Boolean(await getState("locked"));

export async function setLocked(told = false) {
  await setState("locked", { at: Date.now(), told });
}

export async function clearLocked() {
  await setState("locked", null);
  await setState("lastActive", null);
}

// Written by the service worker only, on its own clock, when a page says it was touched: a
// page's clock may differ from the worker's (a test's fake clock, a page left open across a
// clock change), and mixing the two would lock a phone in use.
export const noteActive = (now = Date.now()) => setState("lastActive", now);

// Phones from before this version kept a PBKDF2 verifier of the account's password (and one
// of a 4-digit PIN): both go. Such a phone unlocks with the password, online, or by signing
// in again, which sets a new PIN.
export async function dropOldVerifiers() {
  const lock = await getState("lock");
  if (lock && lock.v !== 2) await setState("lock", null);
}
