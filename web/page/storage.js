// Where the page keeps the engine snapshot (which holds the outbox) and the
// cached artifact: IndexedDB, or memory with a clear warning when IndexedDB
// is unavailable (private modes, blocked storage). A damaged store is
// reported and replaced, never fatal.

const STORE = 'state';

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB request failed'));
  });
}

function openDatabase(name, indexedDB) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('cannot open IndexedDB'));
    req.onblocked = () => reject(new Error('IndexedDB is blocked by another connection'));
  });
}

/** A store kept in memory only: nothing survives the page. */
export function memoryStore(reason) {
  const data = new Map();
  return {
    kind: 'memory',
    reason,
    async get(key) {
      return data.get(key);
    },
    async put(key, value) {
      data.set(key, value);
    },
    async delete(key) {
      data.delete(key);
    },
    close() {},
  };
}

/**
 * Opens the store named `name`. `kind` 'memory' forces memory; otherwise
 * IndexedDB is tried and memory is the fallback, with `onWarning` told why.
 */
export async function openStore({ name = 'rekindle', kind = 'indexeddb', indexedDB = globalThis.indexedDB, onWarning = () => {} } = {}) {
  if (kind === 'memory') return memoryStore('requested');
  if (!indexedDB) {
    // Outside a browser (Node) memory is the only store there is: no warning.
    if (typeof globalThis.document === 'undefined') return memoryStore('unavailable');
    onWarning('IndexedDB is unavailable: state is kept in memory and will not survive a reload');
    return memoryStore('unavailable');
  }
  let db;
  try {
    db = await openDatabase(name, indexedDB);
  } catch (err) {
    onWarning(`IndexedDB cannot be opened (${err.message}): state is kept in memory and will not survive a reload`);
    return memoryStore('failed');
  }
  const tx = (mode) => db.transaction(STORE, mode).objectStore(STORE);
  return {
    kind: 'indexeddb',
    async get(key) {
      return request(tx('readonly').get(key));
    },
    async put(key, value) {
      return request(tx('readwrite').put(value, key));
    },
    async delete(key) {
      return request(tx('readwrite').delete(key));
    },
    close() {
      db.close();
    },
  };
}
