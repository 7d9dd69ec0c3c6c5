// Several tabs of one site act as one device: every state change runs under
// a Web Lock, and each tab announces the version it wrote on a
// BroadcastChannel so the others take the stored state and re-render their
// tiles. The lock is what keeps the state right (the runtime reads the stored
// version inside it); the announcements only make other tabs follow sooner.
// Without the APIs (old browsers, contexts that deny them), a tab runs alone.
//
// One tab of the device sends (see electSender): the tab that holds a second
// lock, `<name>:sender`, for as long as it lives. Every tab that can send asks
// for it, with no timeout, at start; the browser grants it to one of them and,
// when that tab closes, crashes or is destroyed, to the next one waiting.
// Messages on the channel that carry no version (`{ flush }`, `{ sender }`)
// are the runtime's own (handing a flush() to the sender) and go to onMessage.

export function createTabSync({ name, onRemoteChange = () => {}, onMessage = () => {} }) {
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
  // Node's channel holds a MessagePort that keeps the process alive until close():
  // unref() lets a script that never calls destroy() end (browsers have no unref).
  try {
    if (typeof channel?.unref === 'function') channel.unref();
  } catch {
    // not Node's: nothing to release
  }
  let closed = false;
  let chain = Promise.resolve();
  if (channel) {
    channel.onmessage = (msg) => {
      const data = msg.data;
      if (closed || !data || typeof data !== 'object') return;
      if (typeof data.version !== 'number') onMessage(data);
      else onRemoteChange(data);
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

  function post(message) {
    if (closed || !channel) return false;
    try {
      channel.postMessage(message);
      return true;
    } catch {
      return false;
    }
  }

  // The sender election: null before electSender() and after resign(),
  // { sender, release() } in between.
  let election = null;

  return {
    /** Runs `fn` alone across tabs (and in order within this tab). */
    withLock(fn) {
      const run = () => locked(fn);
      const next = chain.then(run, run);
      chain = next.catch(() => {});
      return next;
    },
    /**
     * Tells the other tabs a new version was written. (A closed or broken
     * channel is ignored: the other tabs catch up at their next change.)
     */
    announce: post,
    /** Posts a message without a version to the other tabs (see onMessage); false when there is no channel. */
    post,
    /** True when the other tabs can be reached (a flush() can be handed over). */
    get connected() {
      return channel !== null && !closed;
    },
    /**
     * Asks to become the device's sender: `onElected()` is called once this
     * tab holds the sender lock, which it keeps until resign() or close().
     * Without the Locks API, or when the browser refuses the request (a
     * context that denies it, a document being unloaded), there is no
     * election and every tab sends: onElected() is called at once
     * (asynchronously).
     */
    electSender(onElected) {
      if (election || closed) return;
      let release = () => {};
      const held = new Promise((resolve) => { release = resolve; });
      const controller = new AbortController();
      const mine = {
        sender: false,
        release() {
          release();
          try { controller.abort(); } catch { /* nothing was waiting */ }
        },
      };
      election = mine;
      const current = () => election === mine && !closed;
      const elected = () => {
        if (!current() || mine.sender) return;
        mine.sender = true;
        onElected();
      };
      if (!locks) {
        Promise.resolve().then(elected);
        return;
      }
      let granted = false;
      let request;
      try {
        request = locks.request(`${name}:sender`, { signal: controller.signal }, () => {
          granted = true;
          elected();
          return held;  // kept until resign() or close(), or until the browser ends this document
        });
      } catch (err) {
        request = Promise.reject(err);
      }
      request.catch((err) => {
        // Refused before it was granted (not withdrawn by resign() or close()): send anyway.
        if (granted || !current()) return;
        if (err?.name === 'SecurityError') locks = null;
        elected();
      });
    },
    /** Gives the sender lock up (or stops waiting for it); electSender() asks again. */
    resign() {
      const mine = election;
      election = null;
      mine?.release();
    },
    /** True while this tab is the sender (or sends without an election). */
    get sender() {
      return election?.sender === true;
    },
    close() {
      closed = true;
      election?.release();
      election = null;
      channel?.close();
    },
  };
}
