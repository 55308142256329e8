// static/src/lib/outbox.js: what a record looks like when kept (under its kind and id), which
// records are sent and in what order, how the server's answer is applied (a "conflict" takes a
// fresh id), who is signed in, and the schema upgrades 1→4.
// IndexedDB is the in-memory stand-in of fake-idb.mjs (loaded by setup.mjs).
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { openDB } from "idb";

import {
  DB_NAME,
  DB_VERSION,
  ENCOUNTERS,
  PENDING,
  REJECTED,
  SaveRefused,
  addRecord,
  applyResults,
  destroy,
  freshId,
  getRecord,
  getState,
  keyOf,
  listRecords,
  nextHoldEnd,
  rememberSession,
  removeRecord,
  replaceRecord,
  sendable,
  sentBy,
  setState,
  signedOut,
  summary,
} from "../../static/src/lib/outbox.js";
import { sealingKeyPair } from "./keys.mjs";

const OVERDOSE = "overdose_responses";
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

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
    assert.equal(entry.key, `${ENCOUNTERS}:${entry.id}`);
    assert.equal(entry.kind, undefined, "no kind: an encounter");
    assert.deepEqual(await getRecord(entry.id), entry);
    assert.deepEqual(await getRecord(entry.id, ENCOUNTERS), entry);
    assert.equal(await getRecord(entry.id, OVERDOSE), undefined);
  });

  test("one id used by two kinds keeps both records, each found, replaced and removed by kind", async () => {
    const encounter = await saveAt(1000, record({ quantity: 1 }));
    const response = await saveAt(2000, { id: encounter.id, naloxone_doses: 2 }, { kind: OVERDOSE });
    assert.equal(response.id, encounter.id);
    assert.equal(response.kind, OVERDOSE);
    assert.equal(response.key, keyOf(OVERDOSE, encounter.id));
    assert.deepEqual((await listRecords()).map((e) => e.key), [encounter.key, response.key]);
    assert.equal((await getRecord(encounter.id)).record.quantity, 1);
    assert.equal((await getRecord(encounter.id, OVERDOSE)).record.naloxone_doses, 2);

    const replaced = await replaceRecord({ ...response.record, naloxone_doses: 3 }, { kind: OVERDOSE });
    assert.equal(replaced.key, response.key);
    assert.equal((await getRecord(encounter.id, OVERDOSE)).record.naloxone_doses, 3);
    assert.equal((await getRecord(encounter.id)).record.quantity, 1, "the encounter is untouched");

    await removeRecord(encounter.id, OVERDOSE);
    assert.deepEqual(await listRecords(), [await getRecord(encounter.id)]);
    await removeRecord(encounter.id);
    assert.deepEqual(await listRecords(), []);
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
      { id: stored.id, status: "created", kind: ENCOUNTERS },
      { id: duplicate.id, status: "duplicate" },
      { id: refused.id, status: "rejected", errors: { quantity: "too many" } },
      null,
      { id: 42, status: "created" },
    ]);
    assert.deepEqual(counts, { delivered: 2, rejected: 1, renamed: 0 });
    const left = await listRecords();
    assert.deepEqual(left.map((e) => [e.id, e.status, e.errors]), [[refused.id, REJECTED, { quantity: "too many" }]]);
  });

  test("refused only because another account is signed in: it waits for its author", async () => {
    const entry = await addRecord(record());
    const counts = await applyResults([{ id: entry.id, status: "rejected", errors: { logged_by: "not you" } }]);
    assert.deepEqual(counts, { delivered: 0, rejected: 0, renamed: 0 });
    assert.equal((await getRecord(entry.id)).status, PENDING);
  });

  test("each result applies to the record of its kind only", async () => {
    const encounter = await saveAt(1000, record());
    const response = await saveAt(2000, { id: encounter.id }, { kind: OVERDOSE });
    const counts = await applyResults([
      { id: encounter.id, kind: OVERDOSE, status: "created" },
      { id: encounter.id, kind: "stock_events", status: "created" },
    ]);
    assert.deepEqual(counts, { delivered: 2, rejected: 0, renamed: 0 });
    assert.deepEqual(await listRecords(), [encounter], "the encounter with the same id stays");
    assert.equal(await getRecord(response.id, OVERDOSE), undefined);
    await applyResults([{ id: encounter.id, kind: OVERDOSE, status: "rejected", errors: { zone: "unknown" } }]);
    assert.equal((await getRecord(encounter.id)).status, PENDING, "a refusal of another kind leaves it alone");
  });

  test("a conflict (another account's record has the id): a fresh id, sent again, all else kept", async () => {
    const { publicJwk } = await sealingKeyPair();
    await setState("sealKey", publicJwk);
    const first = await saveAt(1000, record({ participant_code: "RIVER-42", quantity: 3 }));
    const clash = await saveAt(2000, record({ participant_code: "LAKE-7" }), { kind: OVERDOSE });
    const last = await saveAt(3000, record());
    const counts = await applyResults([
      { id: clash.id, kind: OVERDOSE, status: "conflict" },
      { id: first.id, status: "conflict" },
      { id: "nobody-has-this", status: "conflict" },
    ]);
    assert.deepEqual(counts, { delivered: 0, rejected: 0, renamed: 2 });
    assert.equal(await getRecord(first.id), undefined, "the old id is gone");
    assert.equal(await getRecord(clash.id, OVERDOSE), undefined);

    const [renamedFirst, renamedClash, kept] = await listRecords();
    assert.deepEqual(kept, last, "a record without a conflict is untouched");
    for (const [before, after] of [
      [first, renamedFirst],
      [clash, renamedClash],
    ]) {
      assert.match(after.id, UUID_V4);
      assert.notEqual(after.id, before.id);
      assert.equal(after.record.id, after.id, "the record sent carries the new id");
      assert.equal(after.key, keyOf(before.kind, after.id));
      // Its place in line, status, kind, author and sealed code (not sealed again) stay.
      assert.deepEqual(
        { ...after, id: before.id, key: before.key, record: { ...after.record, id: before.id } },
        before,
      );
      assert.deepEqual(await getRecord(after.id, before.kind), after);
    }
    assert.notEqual(renamedFirst.id, renamedClash.id);
    assert.deepEqual(
      (await sendable(10, "ana", 5000)).map((e) => e.id),
      [renamedFirst.id, renamedClash.id, last.id],
      "renamed records go again, in their old place",
    );
  });

  test("a fresh id is a v4 UUID, also where crypto.randomUUID is missing", () => {
    assert.match(freshId(), UUID_V4);
    Object.defineProperty(crypto, "randomUUID", { value: undefined, configurable: true });
    try {
      const ids = new Set(Array.from({ length: 50 }, () => freshId()));
      assert.equal(ids.size, 50);
      for (const id of ids) assert.match(id, UUID_V4);
    } finally {
      delete crypto.randomUUID;
    }
    assert.equal(typeof crypto.randomUUID, "function");
  });
});

describe("who is signed in", () => {
  // The "lock" state: the unlock key sealed under the last person's PIN (lib/lock.js).
  const sealedUnlock = { v: 2, user: "ana", salt: "s", iterations: 300000, iv: "i", sealed: "k", failures: 0 };

  test("a new person replaces the last one's sealed unlock key; their records stay", async () => {
    await addRecord(record());
    await setState("lock", sealedUnlock);
    assert.equal(await rememberSession({ user: { username: "ana" }, seal_key: { kid: "k1" } }), false);
    assert.deepEqual(await getState("lock"), sealedUnlock);
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

  test("signing out forgets who and the sealed unlock key, keeps the records", async () => {
    await addRecord(record());
    await setState("lock", sealedUnlock);
    await signedOut();
    assert.equal(await getState("user"), null);
    assert.equal(await getState("lock"), undefined);
    assert.equal((await listRecords()).length, 1);
  });
});

describe("schema upgrades", () => {
  // The database as an older version of the app left it (its connection closed, as the app's
  // own would be on a newer version's request).
  async function olderDatabase(version, upgrade, fill) {
    await destroy();
    const old = await openDB(DB_NAME, version, { upgrade });
    await fill(old);
    old.close();
  }
  const v2Stores = (db) => {
    db.createObjectStore("outbox", { keyPath: "id" }).createIndex("savedAt", "savedAt");
    db.createObjectStore("state");
  };

  test("version 1 records become pending, get a savedAt, and move to their kind-and-id key", async () => {
    await olderDatabase(
      1,
      (db) => db.createObjectStore("outbox", { keyPath: "id" }),
      (v1) => v1.put("outbox", { id: "old-1", record: { id: "old-1" } }),
    );
    const before = Date.now();
    const entries = await listRecords(); // opens the current version: steps 2 to 4 run
    assert.equal(entries.length, 1);
    assert.equal(entries[0].status, PENDING);
    assert.ok(entries[0].savedAt >= before);
    assert.equal(entries[0].key, keyOf(ENCOUNTERS, "old-1"));
    // No user was known when step 3 ran: the record stays unsigned (anyone may send it).
    assert.equal(entries[0].record.logged_by, undefined);
    assert.deepEqual(await getRecord("old-1"), entries[0]);
  });

  test("version 2 records get the name of the user signed in when they were saved", async () => {
    await olderDatabase(2, v2Stores, async (v2) => {
      await v2.put("state", "carla", "user");
      await v2.put("outbox", { id: "old-2", record: { id: "old-2" }, status: PENDING, savedAt: 5 });
      await v2.put("outbox", { id: "old-3", record: { id: "old-3", logged_by: "dan" }, status: PENDING, savedAt: 6 });
    });
    const entries = await listRecords();
    assert.deepEqual(entries.map((e) => e.record.logged_by), ["carla", "dan"]);
    assert.deepEqual(entries.map((e) => e.key), [keyOf(ENCOUNTERS, "old-2"), keyOf(ENCOUNTERS, "old-3")]);
  });

  test("version 3 records move unchanged under their kind and id; the state stays", async () => {
    const kept = [
      { id: "e-1", record: { id: "e-1", logged_by: "ana" }, status: PENDING, savedAt: 30, holdUntil: 30, errors: null },
      {
        id: "o-1",
        kind: OVERDOSE,
        record: { id: "o-1", logged_by: "ben" },
        status: REJECTED,
        savedAt: 10,
        holdUntil: 10,
        errors: { zone: "unknown" },
      },
      { id: "e-2", record: { id: "e-2", logged_by: "ana" }, status: PENDING, savedAt: 20, holdUntil: 20, errors: null },
    ];
    await olderDatabase(3, v2Stores, async (v3) => {
      await v3.put("state", "ana", "user");
      await v3.put("state", { kid: "k1" }, "sealKey");
      for (const entry of kept) await v3.put("outbox", entry);
    });
    const entries = await listRecords();
    // Oldest first still: the new store has its savedAt index.
    assert.deepEqual(entries.map((e) => e.id), ["o-1", "e-2", "e-1"]);
    for (const entry of entries) {
      const { key, ...rest } = entry;
      assert.equal(key, keyOf(entry.kind, entry.id));
      assert.deepEqual(rest, kept.find((old) => old.id === entry.id), "nothing else changes");
    }
    assert.equal((await getRecord("o-1", OVERDOSE)).status, REJECTED);
    assert.equal(await getRecord("o-1"), undefined, "not an encounter");
    assert.equal(await getState("user"), "ana");
    assert.deepEqual(await getState("sealKey"), { kid: "k1" });
    // And the new key at work: the same id under another kind is a second record.
    await addRecord({ id: "e-1" }, { kind: OVERDOSE });
    assert.equal((await listRecords()).length, 4);
  });

  test("the current version is 4; opening it again runs no step and leaves the records be", async () => {
    assert.equal(DB_VERSION, 4);
    const entry = await addRecord(record());
    let ran = false;
    const db = await openDB(DB_NAME, DB_VERSION, {
      upgrade() {
        ran = true;
      },
    });
    assert.equal(ran, false);
    assert.deepEqual(await db.getAll("outbox"), [entry]);
    db.close();
  });
});
