// static/src/lib/outbox.js: what a record looks like when kept, which records are sent and in
// what order, how the server's answer is applied, who is signed in, and the schema upgrades.
// IndexedDB is the in-memory stand-in of fake-idb.mjs (loaded by setup.mjs).
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { openDB } from "idb";

import {
  DB_NAME,
  PENDING,
  REJECTED,
  SaveRefused,
  addRecord,
  applyResults,
  destroy,
  getRecord,
  getState,
  listRecords,
  nextHoldEnd,
  rememberSession,
  replaceRecord,
  sendable,
  sentBy,
  setState,
  signedOut,
  summary,
} from "../../static/src/lib/outbox.js";
import { sealingKeyPair } from "./keys.mjs";

let counter = 0;
const record = (extra = {}) => ({ id: `rec-${++counter}`, occurred_at: "2026-12-01T10:00:00+00:00", ...extra });

// Saved one after another with distinct savedAt times (Date.now() can repeat within a test).
async function saveAt(savedAt, plain, options) {
  const realNow = Date.now;
  Date.now = () => savedAt;
  try {
    return await addRecord(plain, options);
  } finally {
    Date.now = realNow;
  }
}

beforeEach(async () => {
  await destroy();
  await setState("user", "ana");
});

describe("keeping a record", () => {
  test("nobody signed in: the record is refused, not kept", async () => {
    await setState("user", null);
    await assert.rejects(addRecord(record()), (error) => error instanceof SaveRefused && error.reason === "signed-out");
    assert.deepEqual(await listRecords(), []);
  });

  test("the record is signed by whoever is signed in, whatever the form said", async () => {
    const entry = await addRecord(record({ logged_by: "someone-else" }));
    assert.equal(entry.record.logged_by, "ana");
    assert.equal(entry.status, PENDING);
    assert.deepEqual(await getRecord(entry.id), entry);
  });

  test("a participant code is kept only sealed, never as typed", async () => {
    const { publicJwk } = await sealingKeyPair();
    await setState("sealKey", publicJwk);
    const entry = await addRecord(record({ participant_code: "RIVER-42" }));
    assert.equal(entry.record.participant_code, undefined);
    assert.equal(entry.record.participant_code_sealed.split(".").length, 5);
    assert.ok(!JSON.stringify(await listRecords()).includes("RIVER-42"));
  });

  test("a code with no sealing key yet is refused rather than kept readable", async () => {
    await assert.rejects(addRecord(record({ participant_code: "RIVER-42" })), (error) => error.reason === "no-key");
    assert.deepEqual(await listRecords(), []);
  });

  test("replacing keeps the place in line, sends again and forgets the refusal", async () => {
    const first = await saveAt(1000, record({ quantity: 1 }));
    await applyResults([{ id: first.id, status: "rejected", errors: { quantity: "too many" } }]);
    const replaced = await replaceRecord({ ...first.record, quantity: 2 });
    assert.equal(replaced.savedAt, 1000);
    assert.equal(replaced.status, PENDING);
    assert.equal(replaced.errors, null);
    assert.equal(replaced.record.quantity, 2);
    assert.equal(await replaceRecord(record()), null, "nothing to replace: nothing added");
    assert.equal((await listRecords()).length, 1);
  });
});

describe("what is sent, and in what order", () => {
  test("oldest first, up to the limit", async () => {
    const c = await saveAt(3000, record());
    const a = await saveAt(1000, record());
    const b = await saveAt(2000, record());
    const ids = (entries) => entries.map((entry) => entry.id);
    assert.deepEqual(ids(await sendable(10, "ana", 5000)), [a.id, b.id, c.id]);
    assert.deepEqual(ids(await sendable(2, "ana", 5000)), [a.id, b.id]);
  });

  test("a record in its undo window waits, and nextHoldEnd says until when", async () => {
    const held = await saveAt(1000, record(), { holdMs: 8000 });
    const ready = await saveAt(2000, record());
    assert.deepEqual((await sendable(10, "ana", 5000)).map((e) => e.id), [ready.id]);
    assert.deepEqual((await sendable(10, "ana", 9000)).map((e) => e.id), [held.id, ready.id]);
    assert.equal(await nextHoldEnd("ana"), 2000);
    await applyResults([{ id: ready.id, status: "created" }]);
    assert.equal(await nextHoldEnd("ana"), 9000);
    await applyResults([{ id: held.id, status: "duplicate" }]);
    assert.equal(await nextHoldEnd("ana"), null);
  });

  test("refused records and another worker's records are not sent by this one", async () => {
    const refused = await saveAt(1000, record());
    await applyResults([{ id: refused.id, status: "rejected", errors: { zone: "unknown" } }]);
    await setState("user", "ben");
    const bens = await saveAt(2000, record());
    assert.deepEqual((await sendable(10, "ben", 5000)).map((e) => e.id), [bens.id]);
    assert.deepEqual(await sendable(10, "ana", 5000), []);
    assert.equal((await sendable(10, undefined, 5000)).length, 1, "undefined user: any pending record");
  });

  test("a record from before logged_by existed may be sent by whoever is signed in", () => {
    assert.equal(sentBy({ record: {} }, "ana"), true);
    assert.equal(sentBy({ record: { logged_by: "ben" } }, "ana"), false);
    assert.equal(sentBy({ record: { logged_by: "ben" } }, undefined), true);
  });
});

describe("the server's answer", () => {
  test("stored and duplicate records go, refused ones stay marked with their errors", async () => {
    const stored = await addRecord(record());
    const duplicate = await addRecord(record());
    const refused = await addRecord(record());
    const counts = await applyResults([
      { id: stored.id, status: "created" },
      { id: duplicate.id, status: "duplicate" },
      { id: refused.id, status: "rejected", errors: { quantity: "too many" } },
      null,
      { id: 42, status: "created" },
    ]);
    assert.deepEqual(counts, { delivered: 2, rejected: 1 });
    const left = await listRecords();
    assert.deepEqual(left.map((e) => [e.id, e.status, e.errors]), [[refused.id, REJECTED, { quantity: "too many" }]]);
  });

  test("refused only because another account is signed in: it waits for its author", async () => {
    const entry = await addRecord(record());
    const counts = await applyResults([{ id: entry.id, status: "rejected", errors: { logged_by: "not you" } }]);
    assert.deepEqual(counts, { delivered: 0, rejected: 0 });
    assert.equal((await getRecord(entry.id)).status, PENDING);
  });
});

describe("who is signed in", () => {
  test("a new person replaces the last one's unlock verifier; their records stay", async () => {
    await addRecord(record());
    await setState("lock", { salt: "s", hash: "h" });
    assert.equal(await rememberSession({ user: { username: "ana" }, seal_key: { kid: "k1" } }), false);
    assert.deepEqual(await getState("lock"), { salt: "s", hash: "h" });
    assert.deepEqual(await getState("sealKey"), { kid: "k1" });
    assert.equal(await rememberSession({ user: { username: "ben" }, lock_after_seconds: 300 }), true);
    assert.equal(await getState("user"), "ben");
    assert.equal(await getState("lock"), undefined);
    assert.equal(await getState("lockAfter"), 300);
    assert.equal((await listRecords()).length, 1);
  });

  test("the summary counts the signed-in worker's records apart from the others'", async () => {
    await saveAt(1000, record());
    await setState("user", "ben");
    await saveAt(2000, record());
    await saveAt(3000, record());
    const { user, mine, others, total, oldest } = await summary();
    assert.deepEqual([user, mine.length, others, total, oldest], ["ben", 2, 1, 3, 1000]);
  });

  test("signing out forgets who and the verifier, keeps the records", async () => {
    await addRecord(record());
    await setState("lock", { hash: "h" });
    await signedOut();
    assert.equal(await getState("user"), null);
    assert.equal(await getState("lock"), undefined);
    assert.equal((await listRecords()).length, 1);
  });
});

describe("schema upgrades", () => {
  test("version 1 records become pending, get a savedAt and the last user's name", async () => {
    await destroy();
    const v1 = await openDB(DB_NAME, 1, {
      upgrade(db) {
        db.createObjectStore("outbox", { keyPath: "id" });
      },
    });
    await v1.put("outbox", { id: "old-1", record: { id: "old-1" } });
    const before = Date.now();
    const entries = await listRecords(); // opens version 3: steps 2 and 3 run
    assert.equal(entries.length, 1);
    assert.equal(entries[0].status, PENDING);
    assert.ok(entries[0].savedAt >= before);
    // No user was known when step 3 ran: the record stays unsigned (anyone may send it).
    assert.equal(entries[0].record.logged_by, undefined);
  });

  test("version 2 records get the name of the user signed in when they were saved", async () => {
    await destroy();
    const v2 = await openDB(DB_NAME, 2, {
      upgrade(db) {
        db.createObjectStore("outbox", { keyPath: "id" }).createIndex("savedAt", "savedAt");
        db.createObjectStore("state");
      },
    });
    await v2.put("state", "carla", "user");
    await v2.put("outbox", { id: "old-2", record: { id: "old-2" }, status: PENDING, savedAt: 5 });
    await v2.put("outbox", { id: "old-3", record: { id: "old-3", logged_by: "dan" }, status: PENDING, savedAt: 6 });
    const entries = await listRecords();
    assert.deepEqual(entries.map((e) => e.record.logged_by), ["carla", "dan"]);
  });
});
