// Several tabs of one site act as one device: every state change runs under
// a Web Lock, and each tab announces the version it wrote on a
// BroadcastChannel so the others reload the state before their next change
// and re-render their tiles. Without the APIs (old browsers), a tab runs alone.

export function createTabSync({ name, onRemoteChange = () => {} }) {
  const locks = globalThis.navigator?.locks;
  const channel = typeof globalThis.BroadcastChannel === 'function' ? new globalThis.BroadcastChannel(name) : null;
  let latest = 0;
  let chain = Promise.resolve();
  if (channel) {
    channel.onmessage = (msg) => {
      const data = msg.data;
      if (!data || typeof data.version !== 'number') return;
      latest = Math.max(latest, data.version);
      onRemoteChange(data);
    };
  }
  return {
    /** The highest version any tab announced. */
    get latest() {
      return latest;
    },
    /** Runs `fn` alone across tabs (and in order within this tab). */
    withLock(fn) {
      const run = locks ? () => locks.request(`${name}:state`, fn) : fn;
      const next = chain.then(run, run);
      chain = next.catch(() => {});
      return next;
    },
    /** Tells the other tabs a new version was written. */
    announce(message) {
      latest = Math.max(latest, message.version);
      channel?.postMessage(message);
    },
    close() {
      channel?.close();
    },
  };
}
