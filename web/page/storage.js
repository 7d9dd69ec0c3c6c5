// Where the page keeps its state (the engine snapshot, which holds the
// outbox, and the journal of changes written since it; web/page/rekindle.js)
// and the cached artifact: IndexedDB, or memory with a clear warning when
// IndexedDB is unavailable (private modes, blocked storage, sandboxed frames).
// A damaged store is reported and replaced, never fatal: a database without
// our object store is upgraded to have one, and a connection another tab asks
// to close is closed and reopened on the next use.

import { describe } from './common.js';

const STORE = 'state';
const OPEN_TIMEOUT_MS = 5000;


function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

// Opens `name` (at `version` when given, creating the object store in the
// upgrade). Gives up after OPEN_TIMEOUT_MS; a connection that opens later is closed.
function openDatabase(name, indexedDB, version) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new Error(`no answer within ${OPEN_TIMEOUT_MS} ms`));
    }, OPEN_TIMEOUT_MS);
    const req = version === undefined ? indexedDB.open(name) : indexedDB.open(name, version);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
    };
    req.onsuccess = () => {
      clearTimeout(timer);
      if (settled) req.result.close();
      else resolve(req.result);
      settled = true;
    };
    req.onerror = () => {
      clearTimeout(timer);
      settled = true;
      reject(req.error ?? new Error('cannot open IndexedDB'));
    };
    // An upgrade waits while another tab holds an older connection; ours
    // close on `versionchange`, so the wait ends (or the timeout does).
    req.onblocked = () => {};
  });
}

// A connection whose database has our object store: one made by something
// else (or damaged) without it is upgraded to add it.
async function connect(name, indexedDB) {
  let db = await openDatabase(name, indexedDB);
  if (!db.objectStoreNames.contains(STORE)) {
    const next = db.version + 1;
    db.close();
    db = await openDatabase(name, indexedDB, next);
  }
  return db;
}

/** A store kept in memory only: nothing survives the page. */
export function memoryStore() {
  const data = new Map();
  return {
    kind: 'memory',
    async get(key) {
      return data.get(key);
    },
    async getMany(keys) {
      return keys.map((key) => data.get(key));
    },
    async put(key, value) {
      data.set(key, value);
    },
    async putAll(entries, { deletePrefix } = {}) {
      if (deletePrefix !== undefined) {
        for (const key of [...data.keys()]) if (typeof key === 'string' && key.startsWith(deletePrefix)) data.delete(key);
      }
      for (const [key, value] of entries) data.set(key, value);
    },
    async delete(key) {
      data.delete(key);
    },
    close() {},
  };
}

const FALLBACK = 'state is kept in memory and will not survive a reload';

/**
 * Opens the store named `name`. `kind` 'memory' forces memory; otherwise
 * IndexedDB is tried and memory is the fallback, with `onWarning` told why.
 * `indexedDB` defaults to the page's (tests pass their own).
 */
export async function openStore({ name = 'rekindle', kind = 'indexeddb', indexedDB, onWarning = () => {} } = {}) {
  if (kind === 'memory') return memoryStore();
  let idb = indexedDB;
  if (idb === undefined) {
    try {
      idb = globalThis.indexedDB;
    } catch (err) {
      // Reading the property throws where storage is denied (sandboxed frames, some privacy settings).
      onWarning(`IndexedDB is not allowed here (${describe(err)}): ${FALLBACK}`);
      return memoryStore();
    }
  }
  if (!idb || typeof idb.open !== 'function') {
    // Outside a browser (Node) memory is the only store there is: no warning.
    if (typeof globalThis.document === 'undefined') return memoryStore();
    onWarning(`IndexedDB is unavailable: ${FALLBACK}`);
    return memoryStore();
  }
  let db;
  try {
    db = await connect(name, idb);
  } catch (err) {
    onWarning(`IndexedDB cannot be opened (${describe(err)}): ${FALLBACK}`);
    return memoryStore();
  }
  let closed = false;
  const watch = (conn) => {
    // Another tab upgrades the database: let it, and reconnect on the next use.
    conn.onversionchange = () => {
      conn.close();
      if (db === conn) db = null;
    };
    return conn;
  };
  watch(db);
  async function database() {
    if (closed) throw new Error('the store is closed');
    if (db === null) db = watch(await connect(name, idb));
    return db;
  }
  async function objectStore(mode) {
    return (await database()).transaction(STORE, mode).objectStore(STORE);
  }
  return {
    kind: 'indexeddb',
    async get(key) {
      return request((await objectStore('readonly')).get(key));
    },
    /** The values of `keys` (undefined where there is none), read in one transaction. */
    async getMany(keys) {
      const store = await objectStore('readonly');
      return Promise.all(keys.map((key) => request(store.get(key))));
    },
    async put(key, value) {
      return this.putAll([[key, value]]);
    },
    /**
     * Writes every [key, value] in one transaction, after deleting every
     * string key that starts with `deletePrefix` (when given); resolves once
     * it committed. All or nothing: a write refused at once (e.g. over the
     * quota) aborts the transaction, so the deletions are not kept either.
     */
    async putAll(entries, { deletePrefix } = {}) {
      const conn = await database();
      return new Promise((resolve, reject) => {
        const tx = conn.transaction(STORE, 'readwrite');
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error ?? new Error('IndexedDB write failed'));
        tx.onabort = () => reject(tx.error ?? new Error('IndexedDB write was aborted'));
        try {
          const store = tx.objectStore(STORE);
          // The string keys from the prefix to the prefix followed by the
          // highest UTF-16 unit: the keys that start with the prefix.
          if (deletePrefix !== undefined) store.delete(IDBKeyRange.bound(deletePrefix, `${deletePrefix}\uffff`));
          for (const [key, value] of entries) store.put(value, key);
        } catch (err) {
          try {
            tx.abort();
          } catch {
            // already finished
          }
          reject(err);
          return;
        }
        // Commit now rather than when the task ends: it matters on pagehide.
        tx.commit?.();
      });
    },
    async delete(key) {
      return request((await objectStore('readwrite')).delete(key));
    },
    close() {
      closed = true;
      db?.close();
      db = null;
    },
  };
}
