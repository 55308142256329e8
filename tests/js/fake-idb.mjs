// An in-memory stand-in for the part of idb's promise API that static/src/lib/outbox.js uses
// (openDB with upgrade and blocking callbacks; get/put/delete/count/getAll/getAllFromIndex,
// on the database and on a transaction's stores; transactions with .store, .objectStore() and
// .done; createObjectStore/deleteObjectStore/createIndex and cursors in the upgrade; deleteDB).
// It keeps IndexedDB's rules that the outbox relies on, so a test fails where a browser would:
//   - values are stored as copies (structured clone); keys must be valid IndexedDB keys;
//   - getAll lists values in primary-key order; an index lists only values with a valid key
//     at its key path, ordered by that key then by primary key;
//   - a transaction commits once it has no request left when control returns to the event
//     loop (a request made after that throws TransactionInactiveError); a readonly one refuses
//     writes; a failed request aborts it, undoing its writes (its .done rejects);
//   - stores are created and deleted only in an upgrade; a deleted store's handle fails;
//   - opening a newer version runs the upgrade (in one transaction) with the old version
//     number; the open resolves once that transaction commits, or rejects, the database left
//     as it was, if it aborts; an older version than the database's is refused;
//   - a newer version (or deleteDB) first asks the open connections to close (idb's
//     "blocking"); one still open is an error here (a browser would wait for it forever).

const databases = new Map(); // name -> { version, stores: Map(name -> Store), connections: Set }

const domError = (name, message) => new DOMException(message, name);

// A valid IndexedDB key: a number (not NaN), a string, a valid Date, or an array of keys.
function validKey(key) {
  if (typeof key === "number") return !Number.isNaN(key);
  if (typeof key === "string") return true;
  if (key instanceof Date) return !Number.isNaN(key.getTime());
  if (Array.isArray(key)) return key.every(validKey);
  return false;
}

// IndexedDB's key order: numbers < dates < strings < arrays, then by value.
const rank = (key) => (typeof key === "number" ? 1 : key instanceof Date ? 2 : typeof key === "string" ? 3 : 5);
function compare(a, b) {
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  if (Array.isArray(a)) {
    for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
      const c = compare(a[i], b[i]);
      if (c) return c;
    }
    return a.length - b.length;
  }
  const [x, y] = a instanceof Date ? [a.getTime(), b.getTime()] : [a, b];
  return x < y ? -1 : x > y ? 1 : 0;
}

const valueAt = (value, keyPath) => keyPath.split(".").reduce((v, part) => (v == null ? undefined : v[part]), value);

class Store {
  constructor(keyPath) {
    this.keyPath = keyPath;
    this.rows = new Map(); // key -> stored copy (never changed in place)
    this.indexes = new Map(); // name -> key path
  }
  sortedKeys() {
    return [...this.rows.keys()].sort(compare);
  }
}

// A transaction: its requests, whether it has finished, and how to undo it if it aborts.
class Transaction {
  constructor(entry, names, mode) {
    this.entry = entry;
    this.names = names;
    this.mode = mode;
    this.pending = new Set();
    this.finished = false;
    // An upgrade may change the stores themselves; any other transaction only its stores' rows.
    this.snapshot = snapshot(entry, mode === "versionchange" ? null : names);
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.done.catch(() => {}); // observed only by whoever awaits it
    this.scheduleCommit();
  }

  // Commit when, back at the event loop, no request is left (setImmediate runs after every
  // promise continuation has).
  scheduleCommit() {
    setImmediate(() => {
      if (!this.finished && !this.pending.size) this.finish();
    });
  }

  finish(error) {
    if (this.finished) return;
    this.finished = true;
    if (error) {
      restore(this.entry, this.snapshot);
      this.reject(error);
    } else {
      this.resolve();
    }
  }

  // A request: runs after the caller's synchronous code, like an IndexedDB request.
  request(fn, write = false) {
    if (this.finished) throw domError("TransactionInactiveError", "The transaction has finished.");
    if (write && this.mode === "readonly") throw domError("ReadOnlyError", "The transaction is read-only.");
    const promise = Promise.resolve().then(fn);
    this.pending.add(promise);
    promise.then(
      () => {
        this.pending.delete(promise);
        this.scheduleCommit();
      },
      (error) => {
        this.pending.delete(promise);
        this.finish(error);
      },
    );
    return promise;
  }
}

// ``names``: the stores whose rows to keep (null: the whole database, for an upgrade).
function snapshot(entry, names) {
  const stores = [...entry.stores].filter(([name]) => !names || names.includes(name));
  return {
    whole: !names,
    version: entry.version,
    stores: stores.map(([name, store]) => [name, store, new Map(store.rows), new Map(store.indexes)]),
  };
}

function restore(entry, saved) {
  if (saved.whole) {
    entry.version = saved.version;
    entry.stores.clear();
  }
  for (const [name, store, rows, indexes] of saved.stores) {
    store.rows = rows;
    store.indexes = indexes;
    entry.stores.set(name, store);
  }
}

function storeApi(entry, name, tx) {
  const store = entry.stores.get(name);
  if (!store || !tx.names.includes(name)) throw domError("NotFoundError", `no object store ${name} in this transaction`);
  const live = () => {
    if (entry.stores.get(name) !== store) throw domError("InvalidStateError", `object store ${name} was deleted`);
  };
  const read = (fn) => {
    live();
    return tx.request(fn);
  };
  const write = (fn) => {
    live();
    return tx.request(fn, true);
  };
  const all = (count) => {
    const keys = store.sortedKeys();
    return (count ? keys.slice(0, count) : keys).map((key) => structuredClone(store.rows.get(key)));
  };
  const only = (query) => {
    if (query !== undefined && query !== null) throw new Error("the stand-in supports no query here");
  };
  function cursorAt(keys, position) {
    if (position >= keys.length) return null;
    const key = keys[position];
    return {
      key,
      primaryKey: key,
      value: structuredClone(store.rows.get(key)),
      update: (value) =>
        write(() => {
          if (store.keyPath && valueAt(value, store.keyPath) !== key) throw domError("DataError", "update changes the key");
          store.rows.set(key, structuredClone(value));
        }),
      delete: () => write(() => void store.rows.delete(key)),
      continue: () => read(() => cursorAt(keys, position + 1)),
    };
  }
  return {
    name,
    keyPath: store.keyPath ?? null,
    get: (key) =>
      read(() => {
        if (!validKey(key)) throw domError("DataError", `not a valid key: ${String(key)}`);
        return store.rows.has(key) ? structuredClone(store.rows.get(key)) : undefined;
      }),
    getAll: (query, count) =>
      read(() => {
        only(query);
        return all(count);
      }),
    getAllKeys: (query, count) =>
      read(() => {
        only(query);
        const keys = store.sortedKeys();
        return count ? keys.slice(0, count) : keys;
      }),
    put: (value, key) =>
      write(() => {
        if (store.keyPath && key !== undefined) throw domError("DataError", "a key given to a store with a key path");
        const primary = store.keyPath ? valueAt(value, store.keyPath) : key;
        if (!validKey(primary)) throw domError("DataError", `put without a valid key: ${String(primary)}`);
        store.rows.set(primary, structuredClone(value));
        return primary;
      }),
    delete: (key) => write(() => void store.rows.delete(key)),
    clear: () => write(() => void store.rows.clear()),
    count: (query) =>
      read(() => {
        only(query);
        return store.rows.size;
      }),
    createIndex(indexName, keyPath) {
      if (tx.mode !== "versionchange") throw domError("InvalidStateError", "createIndex outside an upgrade");
      if (store.indexes.has(indexName)) throw domError("ConstraintError", `index ${indexName} exists`);
      store.indexes.set(indexName, keyPath);
    },
    getAllFromIndex: (indexName) =>
      read(() => {
        const keyPath = store.indexes.get(indexName);
        if (!keyPath) throw domError("NotFoundError", `no index ${indexName} on ${name}`);
        return [...store.rows.entries()]
          .filter(([, value]) => validKey(valueAt(value, keyPath)))
          .sort(([a, x], [b, y]) => compare(valueAt(x, keyPath), valueAt(y, keyPath)) || compare(a, b))
          .map(([, value]) => structuredClone(value));
      }),
    openCursor: (query) =>
      read(() => {
        only(query);
        return cursorAt(store.sortedKeys(), 0);
      }),
  };
}

function transactionApi(entry, names, mode) {
  const list = Array.isArray(names) ? names : [names];
  const tx = new Transaction(entry, list, mode);
  return {
    tx,
    mode,
    objectStoreNames: list,
    store: list.length === 1 ? storeApi(entry, list[0], tx) : undefined,
    objectStore: (other) => storeApi(entry, other, tx),
    get done() {
      return tx.done;
    },
    abort() {
      tx.finish(domError("AbortError", "The transaction was aborted."));
    },
  };
}

class Connection {
  constructor(entry, callbacks) {
    this.entry = entry;
    this.callbacks = callbacks;
    this.closed = false;
    entry.connections.add(this);
  }
  get version() {
    return this.entry.version;
  }
  get objectStoreNames() {
    return [...this.entry.stores.keys()].sort();
  }
  close() {
    this.closed = true;
    this.entry.connections.delete(this);
  }
  open() {
    if (this.closed) throw domError("InvalidStateError", "The database connection is closed.");
  }
  transaction(names, mode = "readonly") {
    this.open();
    const list = Array.isArray(names) ? names : [names];
    for (const name of list) {
      if (!this.entry.stores.has(name)) throw domError("NotFoundError", `no object store ${name}`);
    }
    return transactionApi(this.entry, names, mode);
  }
  // idb's shortcuts: one request in a transaction of its own; a write resolves once committed.
  async shortcut(name, method, write, ...args) {
    const tx = this.transaction(name, write ? "readwrite" : "readonly");
    const [result] = await Promise.all([tx.store[method](...args), write && tx.done]);
    return result;
  }
  get(name, key) {
    return this.shortcut(name, "get", false, key);
  }
  getAll(name, query, count) {
    return this.shortcut(name, "getAll", false, query, count);
  }
  getAllFromIndex(name, index) {
    return this.shortcut(name, "getAllFromIndex", false, index);
  }
  count(name, query) {
    return this.shortcut(name, "count", false, query);
  }
  put(name, value, key) {
    return this.shortcut(name, "put", true, value, key);
  }
  delete(name, key) {
    return this.shortcut(name, "delete", true, key);
  }
  clear(name) {
    return this.shortcut(name, "clear", true);
  }
}

// The database as the upgrade callback sees it: a connection that may also add and drop stores.
function upgradeApi(connection, upgradeTx) {
  const entry = connection.entry;
  return Object.assign(Object.create(connection), {
    createObjectStore(name, options = {}) {
      if (upgradeTx.tx.finished) throw domError("InvalidStateError", "the upgrade has finished");
      if (entry.stores.has(name)) throw domError("ConstraintError", `object store ${name} exists`);
      entry.stores.set(name, new Store(options.keyPath));
      upgradeTx.tx.names.push(name);
      return storeApi(entry, name, upgradeTx.tx);
    },
    deleteObjectStore(name) {
      if (upgradeTx.tx.finished) throw domError("InvalidStateError", "the upgrade has finished");
      if (!entry.stores.delete(name)) throw domError("NotFoundError", `no object store ${name}`);
    },
  });
}

// Ask the open connections to close (idb's "blocking" callback), then insist that they did.
async function closeOthers(entry, newVersion) {
  for (const connection of [...entry.connections]) connection.callbacks.blocking?.(entry.version, newVersion);
  await new Promise((resolve) => setImmediate(resolve));
  if (entry.connections.size) {
    throw new Error(`fake-idb: ${entry.connections.size} connection(s) still open, a browser would wait for ever`);
  }
}

export async function openDB(name, version, callbacks = {}) {
  const entry = databases.get(name) || { version: 0, stores: new Map(), connections: new Set() };
  databases.set(name, entry);
  if (version < entry.version) throw domError("VersionError", `version ${version} is older than ${entry.version}`);
  const connection = new Connection(entry, callbacks);
  if (version > entry.version) {
    entry.connections.delete(connection);
    await closeOthers(entry, version);
    entry.connections.add(connection);
    const oldVersion = entry.version;
    const upgradeTx = transactionApi(entry, [...entry.stores.keys()], "versionchange");
    entry.version = version;
    try {
      callbacks.upgrade?.(upgradeApi(connection, upgradeTx), oldVersion, version, upgradeTx);
    } catch (error) {
      upgradeTx.tx.finish(error);
    }
    try {
      await upgradeTx.done;
    } catch (error) {
      connection.close();
      throw error;
    }
  }
  return connection;
}

export async function deleteDB(name) {
  const entry = databases.get(name);
  if (!entry) return;
  await closeOthers(entry, null);
  databases.delete(name);
}
