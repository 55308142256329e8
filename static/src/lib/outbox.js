// The outbox: encounters saved on this device, kept in IndexedDB until the server has them.
// Schema history (never edit a past step; add one and bump DB_VERSION):
//   1: "outbox" store, records keyed by their UUID.
//   2: "outbox" gains a "savedAt" index (oldest first when sending) and every record a
//      "status"; a "state" store keeps small values (last sync, zone, catalogue).
//   3: every record names who logged it ("logged_by"); older ones get the last signed-in user.
//   4: "outbox" is keyed by kind and id ("key", e.g. "encounters:6f1c…"), so one UUID used by
//      two kinds keeps both records; the records kept so far move over unchanged.
// A participant code never reaches this database: it is sealed to the server's key first.
import { deleteDB, openDB } from "idb";
import { freshId } from "./ids.js";
import { seal } from "./seal.js";

export const DB_NAME = "outreach";
export const DB_VERSION = 4;
export const ENCOUNTERS = "encounters";
export const PENDING = "pending";
export const REJECTED = "rejected";
const CHANNEL = "outreach-outbox";

let dbPromise = null;

// Where a record sits in the outbox: its kind (the sync body's key; entries without one are
// encounters) and its id. The server answers each kind apart, so two kinds may share an id.
export const keyOf = (kind, id) => `${kind || ENCOUNTERS}:${id}`;

export function upgrade(db, oldVersion, _newVersion, tx) {
  // Steps that rewrite records run after the request that starts them: each later step that
  // reads records waits for them (all inside this one upgrade transaction).
  const migrations = [];
  if (oldVersion < 1) {
    db.createObjectStore("outbox", { keyPath: "id" });
  }
  if (oldVersion < 2) {
    const outbox = tx.objectStore("outbox");
    outbox.createIndex("savedAt", "savedAt");
    db.createObjectStore("state");
    // Records from version 1 had no status: they were all waiting to be sent.
    const migrated = outbox.openCursor().then(function migrate(cursor) {
      if (!cursor) return undefined;
      const value = cursor.value;
      if (!value.status) value.status = PENDING;
      if (!value.savedAt) value.savedAt = Date.now();
      cursor.update(value);
      return cursor.continue().then(migrate);
    });
    migrations.push(migrated);
  }
  if (oldVersion < 3) {
    const migrated = tx
      .objectStore("state")
      .get("user")
      .then((user) =>
        tx
          .objectStore("outbox")
          .openCursor()
          .then(function migrate(cursor) {
            if (!cursor) return undefined;
            const value = cursor.value;
            if (user && !value.record.logged_by) {
              value.record.logged_by = user;
              cursor.update(value);
            }
            return cursor.continue().then(migrate);
          }),
      );
    migrations.push(migrated);
  }
  if (oldVersion < 4) {
    // A key path cannot change in place: the records are read, the store made anew, and each
    // record put back under its kind-and-id key.
    Promise.all(migrations)
      .then(() => tx.objectStore("outbox").getAll())
      .then((entries) => {
        db.deleteObjectStore("outbox");
        const outbox = db.createObjectStore("outbox", { keyPath: "key" });
        outbox.createIndex("savedAt", "savedAt");
        for (const entry of entries) outbox.put({ ...entry, key: keyOf(entry.kind, entry.id) });
      });
  }
}

export function database() {
  if (!dbPromise) {
    dbPromise = openDB(DB_NAME, DB_VERSION, {
      upgrade,
      // Another tab (or a new service worker) needs a newer schema: let it have the database.
      blocking() {
        dbPromise?.then((db) => db.close());
        dbPromise = null;
      },
      terminated() {
        dbPromise = null;
      },
    });
  }
  return dbPromise;
}

// Tell other tabs and the service worker that the outbox changed.
function announce() {
  if (typeof BroadcastChannel === "undefined") return;
  const channel = new BroadcastChannel(CHANNEL);
  channel.postMessage({ type: "outbox-changed" });
  channel.close();
}

export function onChange(callback) {
  if (typeof BroadcastChannel === "undefined") return () => {};
  const channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (event) => callback(event.data);
  return () => channel.close();
}

// Thrown by addRecord/replaceRecord; ``reason`` says why ("signed-out" or "no-key").
export class SaveRefused extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

// Set by the worker shell: settles who is signed in before a record is signed (a new
// worker's name replacing the last one's, or a first answer still on its way).
let settleUser = async () => {};

export function beforeSaving(settle) {
  settleUser = settle;
}

// The record as it may be kept: signed by whoever is signed in, its code sealed.
async function prepare(record) {
  await settleUser().catch(() => null);
  const user = await getState("user");
  if (!user) throw new SaveRefused("signed-out");
  const { participant_code: code, ...rest } = record;
  const kept = { ...rest, logged_by: user };
  if (code) {
    const key = await getState("sealKey");
    if (!key) throw new SaveRefused("no-key");
    kept.participant_code_sealed = await seal(code, key);
  }
  return kept;
}

// ``kind``: the sync body's key for it when it is not an encounter (entries without one are
// encounters), e.g. "overdose_responses" or "stock_events".
export async function addRecord(plain, { holdMs = 0, kind } = {}) {
  const record = await prepare(plain);
  const now = Date.now();
  const entry = {
    key: keyOf(kind, record.id),
    id: record.id,
    ...(kind && { kind }),
    record,
    status: PENDING,
    savedAt: now,
    // Not sent before this time, so "undo" can still take it back.
    holdUntil: now + holdMs,
    errors: null,
  };
  await (await database()).put("outbox", entry);
  announce();
  return entry;
}

// ``kind``: as for addRecord (none: an encounter).
export async function replaceRecord(plain, { holdMs = 0, kind } = {}) {
  const record = await prepare(plain);
  const db = await database();
  const tx = db.transaction("outbox", "readwrite");
  const existing = await tx.store.get(keyOf(kind, record.id));
  if (!existing) {
    await tx.done;
    return null;
  }
  const entry = { ...existing, record, status: PENDING, errors: null, holdUntil: Date.now() + holdMs };
  await tx.store.put(entry);
  await tx.done;
  announce();
  return entry;
}

// ``kind``: as for addRecord (none: an encounter).
export async function getRecord(id, kind) {
  return (await database()).get("outbox", keyOf(kind, id));
}

export async function removeRecord(id, kind) {
  await (await database()).delete("outbox", keyOf(kind, id));
  announce();
}

export async function listRecords() {
  return (await database()).getAllFromIndex("outbox", "savedAt");
}

export async function countRecords() {
  return (await database()).count("outbox");
}

// Whether ``user`` may send this record: they logged it (records from before "logged_by"
// belong to whoever is signed in). ``user`` undefined: any record.
export const sentBy = (entry, user) => user === undefined || !entry.record.logged_by || entry.record.logged_by === user;

// The one count every worker screen shows: the signed-in user's records on this phone
// (waiting or refused), the others' apart, and how long the oldest has waited.
export async function summary() {
  const [all, user] = await Promise.all([listRecords(), getState("user")]);
  const mine = user ? all.filter((entry) => sentBy(entry, user)) : all;
  return {
    user,
    mine,
    others: all.length - mine.length,
    total: all.length,
    oldest: all.length ? all[0].savedAt : null,
  };
}

// The oldest records ``user`` can send: waiting, and past their undo window.
export async function sendable(limit, user, now = Date.now()) {
  const all = await listRecords();
  return all
    .filter((entry) => entry.status === PENDING && (entry.holdUntil || 0) <= now && sentBy(entry, user))
    .slice(0, limit);
}

// When the next waiting record can be sent (possibly already past), or null when none waits.
// Past times count too: a hold can end between a sync's last look and this call.
export async function nextHoldEnd(user) {
  const all = await listRecords();
  const holds = all.filter((e) => e.status === PENDING && sentBy(e, user)).map((e) => e.holdUntil || 0);
  return holds.length ? Math.min(...holds) : null;
}

// The outbox makes new ids with the same maker as the forms (a renamed record too).
export { freshId };

// Apply the server's answer (each result carries the ``kind`` it was answered under): drop
// what it stored, mark what it refused, and give a record whose id another account's record
// holds ("conflict") a fresh id, so it goes again by itself (its sealed code and all else
// unchanged). Resolves to the counts of each.
export async function applyResults(results) {
  const db = await database();
  const tx = db.transaction("outbox", "readwrite");
  let delivered = 0;
  let rejected = 0;
  let renamed = 0;
  for (const result of results) {
    if (!result || typeof result.id !== "string") continue;
    const key = keyOf(result.kind, result.id);
    if (result.status === "created" || result.status === "duplicate") {
      await tx.store.delete(key);
      delivered += 1;
    } else if (result.status === "conflict") {
      const entry = await tx.store.get(key);
      if (entry) {
        const id = freshId();
        await tx.store.delete(key);
        await tx.store.put({ ...entry, key: keyOf(entry.kind, id), id, record: { ...entry.record, id } });
        renamed += 1;
      }
    } else if (result.status === "rejected") {
      const entry = await tx.store.get(key);
      // Refused only because another account is signed in: it waits for its author.
      const foreign = Object.keys(result.errors || {}).join() === "logged_by";
      if (entry && !foreign) {
        entry.status = REJECTED;
        entry.errors = result.errors || {};
        await tx.store.put(entry);
        rejected += 1;
      }
    }
  }
  await tx.done;
  announce();
  return { delivered, rejected, renamed };
}

export async function getState(key) {
  return (await database()).get("state", key);
}

export async function setState(key, value) {
  await (await database()).put("state", value, key);
}

// What the server says about this session: who is signed in, the seal key, the lock's time.
// A different person than before: the last one's unlock verifier goes (their records stay).
// Resolves to whether the person changed.
export async function rememberSession(session) {
  const tx = (await database()).transaction("state", "readwrite");
  const user = session.user.username;
  const previous = await tx.store.get("user");
  if (previous !== user) {
    await tx.store.put(user, "user");
    await tx.store.delete("lock");
  }
  if (session.seal_key) await tx.store.put(session.seal_key, "sealKey");
  if (session.lock_after_seconds) await tx.store.put(session.lock_after_seconds, "lockAfter");
  await tx.done;
  return previous !== user;
}

// Signed out (here, or everywhere by the server): nobody is signed in on this phone and the
// unlock verifier goes. Waiting records stay for their author.
export async function signedOut() {
  const tx = (await database()).transaction("state", "readwrite");
  await tx.store.put(null, "user");
  await tx.store.delete("lock");
  await tx.done;
  announce();
}

// "Clear this device": the whole database goes.
export async function destroy() {
  if (dbPromise) {
    (await dbPromise).close();
    dbPromise = null;
  }
  await deleteDB(DB_NAME);
  announce();
}
