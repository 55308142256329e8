// static/src/lib/lock.js and lock-state.js, the parts that need no page: the PIN the sign-in
// page handed over becomes a random unlock key sealed under the PIN's key (lib/verifier.js),
// kept only once the server has the key; no verifier of the account's password is kept, and
// an older phone's verifiers are dropped; whether the phone is locked.
// IndexedDB is the stand-in of fake-idb.mjs; sessionStorage and fetch are stubbed here.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";

import { PENDING_KEY } from "../../static/src/lib/lock-key.js";
import { adoptPin } from "../../static/src/lib/lock.js";
import { clearLocked, dropOldVerifiers, lockedNow, noteActive, setLocked } from "../../static/src/lib/lock-state.js";
import { destroy, getState, setState } from "../../static/src/lib/outbox.js";
import { derivePinKey, newSalt, openUnlockKey } from "../../static/src/lib/verifier.js";

const PIN = "482913";
const ITERATIONS = 1000; // what the sign-in page handed over; fewer than its own, for speed

// This tab's sessionStorage, and the requests sent to the server (answered by ``answer``).
const storage = new Map();
let sent = [];
let answer = async () => ({ ok: true });

beforeEach(async () => {
  await destroy();
  await setState("user", "ana");
  storage.clear();
  sent = [];
  answer = async () => ({ ok: true });
  globalThis.sessionStorage = {
    getItem: (key) => (storage.has(key) ? storage.get(key) : null),
    setItem: (key, value) => storage.set(key, String(value)),
    removeItem: (key) => storage.delete(key),
  };
  globalThis.fetch = async (url, options) => {
    sent.push({ url, body: JSON.parse(options.body) });
    return answer();
  };
});

afterEach(() => {
  delete globalThis.sessionStorage;
  delete globalThis.fetch;
});

// What pages/login.js leaves for the page after it.
async function handOver(user = "ana", pin = PIN) {
  const salt = newSalt();
  const key = pin ? await derivePinKey(pin, salt, ITERATIONS) : null;
  storage.set(PENDING_KEY, JSON.stringify({ user, salt, iterations: ITERATIONS, key }));
  return { salt, key };
}

describe("adopting the PIN after sign-in", () => {
  test("a random unlock key is sealed under the PIN's key, the server gets the key, no verifier is kept", async () => {
    const { salt, key } = await handOver();
    await adoptPin("Ana");
    assert.equal(storage.has(PENDING_KEY), false, "the handed-over key is used once");
    assert.deepEqual(sent.map((request) => request.url), ["/lock/key"]);
    const unlockKey = sent[0].body.key;
    assert.equal(Buffer.from(unlockKey, "base64url").length, 32);

    const lock = await getState("lock");
    assert.deepEqual(Object.keys(lock).sort(), ["failures", "iterations", "iv", "salt", "sealed", "user", "v"]);
    assert.deepEqual([lock.v, lock.user, lock.salt, lock.iterations, lock.failures], [2, "Ana", salt, ITERATIONS, 0]);
    assert.equal(await openUnlockKey(PIN, lock), unlockKey, "the PIN opens it offline");
    assert.equal(await openUnlockKey("482914", lock), null);
    const kept = JSON.stringify(lock);
    for (const secret of [PIN, key, unlockKey]) assert.ok(!kept.includes(secret), "kept only sealed");
  });

  test("each sign-in seals a fresh unlock key", async () => {
    await handOver();
    await adoptPin("ana");
    const first = await getState("lock");
    await handOver();
    await adoptPin("ana");
    const second = await getState("lock");
    assert.notEqual(sent[0].body.key, sent[1].body.key);
    assert.notEqual(first.sealed, second.sealed);
  });

  test("without the server's yes (refused or no answer), nothing is kept", async () => {
    answer = async () => ({ ok: false });
    await handOver();
    await adoptPin("ana");
    assert.equal(await getState("lock"), undefined);
    answer = async () => {
      throw new TypeError("Failed to fetch");
    };
    await handOver();
    await adoptPin("ana");
    assert.equal(await getState("lock"), undefined);
    assert.equal(sent.length, 2);
  });

  test("a PIN typed for someone else, no PIN, or nothing handed over: nothing sent or kept", async () => {
    await handOver("ben");
    await adoptPin("ana");
    await handOver("ana", null);
    await adoptPin("ana");
    await adoptPin("ana");
    storage.set(PENDING_KEY, "{not json");
    await adoptPin("ana");
    assert.deepEqual(sent, []);
    assert.equal(await getState("lock"), undefined);
    assert.equal(storage.has(PENDING_KEY), false);
  });
});

describe("an older phone's verifiers", () => {
  test("a verifier of the password (or of a 4-digit PIN) is dropped; a sealed unlock key stays", async () => {
    await setState("lock", { salt: "s", hash: "h", iterations: 310000 });
    await dropOldVerifiers();
    assert.equal(await getState("lock"), null);

    const sealed = { v: 2, user: "ana", salt: "s", iterations: 300000, iv: "i", sealed: "k", failures: 1 };
    await setState("lock", sealed);
    await dropOldVerifiers();
    assert.deepEqual(await getState("lock"), sealed);
  });
});

describe("whether the phone is locked", () => {
  test("nobody signed in: never; the lock set: yes until cleared; idle past the limit: yes", async () => {
    await setState("lockAfter", 300);
    await noteActive(1_000_000);
    assert.equal(await lockedNow(1_000_000 + 300_000), false);
    assert.equal(await lockedNow(1_000_000 + 300_001), true);
    await clearLocked();
    assert.equal(await lockedNow(9_999_999_999), false, "cleared: no last touch to count from");
    await setLocked(true);
    assert.equal(await lockedNow(0), true);
    await setState("user", null);
    assert.equal(await lockedNow(0), false);
  });
});
