// The outbox: encounters saved on this device, kept in IndexedDB until the server has them.
// Schema history (never edit a past step; add one and bump DB_VERSION):
//   1: "outbox" store, records keyed by their UUID.
//   2: "outbox" gains a "savedAt" index (oldest first when sending) and every record a
//      "status"; a "state" store keeps small values (last sync, zone, catalogue).
import { deleteDB, openDB } from "idb";

export const DB_NAME = "outreach";
export const DB_VERSION = 2;
export const PENDING = "pending";
export const REJECTED = "rejected";
const CHANNEL = "outreach-outbox";

let dbPromise = null;

export function upgrade(db, oldVersion, _newVersion, tx) {
  if (oldVersion < 1) {
    db.createObjectStore("outbox", { keyPath: "id" });
  }
  if (oldVersion < 2) {
    const outbox = tx.objectStore("outbox");
    outbox.createIndex("savedAt", "savedAt");
    db.createObjectStore("state");
    // Records from version 1 had no status: they were all waiting to be sent.
    outbox.openCursor().then(function migrate(cursor) {
      if (!cursor) return undefined;
      const value = cursor.value;
      if (!value.status) value.status = PENDING;
      if (!value.savedAt) value.savedAt = Date.now();
      cursor.update(value);
      return cursor.continue().then(migrate);
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

export async function addRecord(record, { holdMs = 0 } = {}) {
  const now = Date.now();
  const entry = {
    id: record.id,
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

export async function replaceRecord(record, { holdMs = 0 } = {}) {
  const db = await database();
  const tx = db.transaction("outbox", "readwrite");
  const existing = await tx.store.get(record.id);
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

export async function getRecord(id) {
  return (await database()).get("outbox", id);
}

export async function removeRecord(id) {
  await (await database()).delete("outbox", id);
  announce();
}

export async function listRecords() {
  return (await database()).getAllFromIndex("outbox", "savedAt");
}

export async function countRecords() {
  return (await database()).count("outbox");
}

// The oldest records ready to send: waiting, and past their undo window.
export async function sendable(limit, now = Date.now()) {
  const all = await listRecords();
  return all.filter((entry) => entry.status === PENDING && (entry.holdUntil || 0) <= now).slice(0, limit);
}

// When the next waiting record can be sent (possibly already past), or null when none waits.
// Past times count too: a hold can end between a sync's last look and this call.
export async function nextHoldEnd() {
  const all = await listRecords();
  const holds = all.filter((e) => e.status === PENDING).map((e) => e.holdUntil || 0);
  return holds.length ? Math.min(...holds) : null;
}

// Apply the server's answer: drop what it stored, mark what it refused.
export async function applyResults(results) {
  const db = await database();
  const tx = db.transaction("outbox", "readwrite");
  let delivered = 0;
  let rejected = 0;
  for (const result of results) {
    if (!result || typeof result.id !== "string") continue;
    if (result.status === "created" || result.status === "duplicate") {
      await tx.store.delete(result.id);
      delivered += 1;
    } else if (result.status === "rejected") {
      const entry = await tx.store.get(result.id);
      if (entry) {
        entry.status = REJECTED;
        entry.errors = result.errors || {};
        await tx.store.put(entry);
        rejected += 1;
      }
    }
  }
  await tx.done;
  announce();
  return { delivered, rejected };
}

export async function getState(key) {
  return (await database()).get("state", key);
}

export async function setState(key, value) {
  await (await database()).put("state", value, key);
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
