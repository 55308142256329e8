// An in-memory stand-in for the part of idb's promise API that static/src/lib/outbox.js uses
// (openDB with an upgrade callback, get/put/delete/count/getAllFromIndex, transactions with
// .store and .done, cursors in the upgrade, deleteDB). It keeps IndexedDB's rules that the
// outbox relies on: values are stored as copies (structured clone); an index lists only
// values that have its key, ordered by that key then by primary key; opening a newer version
// runs the upgrade with the old version number, and the open waits for the upgrade's work.

const databases = new Map(); // name -> { version, stores: Map(name -> Store) }

const compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

class Store {
  constructor(keyPath) {
    this.keyPath = keyPath;
    this.rows = new Map();
    this.indexes = new Map();
  }
}

// Every request made during an upgrade, so openDB resolves only once they have all settled.
class Work {
  constructor() {
    this.pending = new Set();
  }
  track(promise) {
    this.pending.add(promise);
    promise.finally(() => this.pending.delete(promise)).catch(() => {});
    return promise;
  }
  async settled() {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }
}

function storeApi(store, work) {
  const run = (fn) => work.track(Promise.resolve().then(fn));
  const keyOf = (value, key) => (store.keyPath ? value[store.keyPath] : key);
  const api = {
    get: (key) => run(() => (store.rows.has(key) ? structuredClone(store.rows.get(key)) : undefined)),
    put: (value, key) =>
      run(() => {
        const primary = keyOf(value, key);
        if (primary === undefined) throw new Error("put without a key");
        store.rows.set(primary, structuredClone(value));
        return primary;
      }),
    delete: (key) => run(() => void store.rows.delete(key)),
    count: () => run(() => store.rows.size),
    createIndex: (name, keyPath) => void store.indexes.set(name, keyPath),
    openCursor: () => run(() => cursorAt([...store.rows.keys()].sort(compare), 0)),
  };
  function cursorAt(keys, position) {
    if (position >= keys.length) return null;
    const key = keys[position];
    return {
      key,
      value: structuredClone(store.rows.get(key)),
      update: (value) => run(() => void store.rows.set(key, structuredClone(value))),
      continue: () => run(() => cursorAt(keys, position + 1)),
    };
  }
  return api;
}

function databaseApi(entry, work) {
  const store = (name) => {
    const found = entry.stores.get(name);
    if (!found) throw new Error(`no object store ${name}`);
    return storeApi(found, work);
  };
  return {
    createObjectStore(name, options = {}) {
      entry.stores.set(name, new Store(options.keyPath));
      return store(name);
    },
    get: (name, key) => store(name).get(key),
    put: (name, value, key) => store(name).put(value, key),
    delete: (name, key) => store(name).delete(key),
    count: (name) => store(name).count(),
    async getAllFromIndex(name, index) {
      const found = entry.stores.get(name);
      const keyPath = found.indexes.get(index);
      if (!keyPath) throw new Error(`no index ${index} on ${name}`);
      return [...found.rows.entries()]
        .filter(([, value]) => value[keyPath] !== undefined)
        .sort(([a, x], [b, y]) => compare(x[keyPath], y[keyPath]) || compare(a, b))
        .map(([, value]) => structuredClone(value));
    },
    transaction(name) {
      const local = new Work();
      return {
        store: storeApi(entry.stores.get(name), local),
        objectStore: (other) => storeApi(entry.stores.get(other), local),
        get done() {
          return local.settled();
        },
      };
    },
    close() {},
  };
}

export async function openDB(name, version, { upgrade } = {}) {
  const entry = databases.get(name) || { version: 0, stores: new Map() };
  databases.set(name, entry);
  if (version > entry.version) {
    const work = new Work();
    const db = databaseApi(entry, work);
    const tx = { objectStore: (store) => storeApi(entry.stores.get(store), work) };
    upgrade?.(db, entry.version, version, tx);
    await work.settled();
    entry.version = version;
  }
  return databaseApi(entry, new Work());
}

export async function deleteDB(name) {
  databases.delete(name);
}
