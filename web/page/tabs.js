// Several tabs of one site act as one device: every state change runs under
// a Web Lock, and each tab announces the version it wrote on a
// BroadcastChannel so the others take the stored state and re-render their
// tiles. The lock is what keeps the state right (the runtime reads the stored
// version inside it); the announcements only make other tabs follow sooner.
// Without the APIs (old browsers, contexts that deny them), a tab runs alone.

export function createTabSync({ name, onRemoteChange = () => {} }) {
  let locks = null;
  try {
    locks = globalThis.navigator?.locks ?? null;
  } catch {
    locks = null;
  }
  let channel = null;
  try {
    if (typeof globalThis.BroadcastChannel === 'function') channel = new globalThis.BroadcastChannel(name);
  } catch {
    channel = null;  // e.g. an opaque origin
  }
  let latest = 0;
  let closed = false;
  let chain = Promise.resolve();
  if (channel) {
    channel.onmessage = (msg) => {
      const data = msg.data;
      if (closed || !data || typeof data.version !== 'number') return;
      latest = Math.max(latest, data.version);
      onRemoteChange(data);
    };
  }

  // Runs fn under the cross-tab lock. When the Locks API refuses the request
  // itself, fn runs without it: from then on for a SecurityError (a context
  // that denies the API), this once otherwise (e.g. a document being unloaded).
  function locked(fn) {
    if (!locks) return fn();
    let started = false;
    return locks.request(`${name}:state`, () => {
      started = true;
      return fn();
    }).catch((err) => {
      if (started) throw err;
      if (err?.name === 'SecurityError') locks = null;
      return fn();
    });
  }

  return {
    /** The highest version any tab announced. */
    get latest() {
      return latest;
    },
    /** Runs `fn` alone across tabs (and in order within this tab). */
    withLock(fn) {
      const run = () => locked(fn);
      const next = chain.then(run, run);
      chain = next.catch(() => {});
      return next;
    },
    /** Tells the other tabs a new version was written. */
    announce(message) {
      latest = Math.max(latest, message.version);
      if (closed) return;
      try {
        channel?.postMessage(message);
      } catch {
        // a closed or broken channel: the other tabs catch up at their next change
      }
    },
    close() {
      closed = true;
      channel?.close();
    },
  };
}
