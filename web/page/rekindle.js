// The page runtime: the engine plus what a page needs around it — storage,
// one deadline timer, tiles, automatic collection, transport to the server,
// consent and several tabs acting as one device. `index.js` exports it as
// `createRekindle` for browsers.
import { createWithModule, RekindleOptionsError, RekindleArtifactError } from '../runtime.js';
import { openStore } from './storage.js';
import { createTabSync } from './tabs.js';
import { Transport } from './transport.js';
import { Tiles } from './tiles.js';
import { startAutoTrack } from './autotrack.js';

const OPTIONS = new Set([
  'endpoint', 'artifact', 'artifactUrl', 'consent', 'deviceId', 'storage', 'autoTrack', 'render',
  'wasmUrl', 'wasmBinary', 'writeKey', 'now', 'onError', 'name',
]);
const CONSENT_STATES = new Set(['granted', 'denied', 'pending']);
const MAX_TIMER_MS = 2 ** 31 - 1;

function validate(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new RekindleOptionsError('options', 'must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw new RekindleOptionsError(key, 'is not a known option');
  }
  const { endpoint, artifact, artifactUrl, consent, storage, autoTrack, onError, now } = options;
  if (endpoint !== undefined) {
    try {
      const url = new URL(endpoint, globalThis.location?.href);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      throw new RekindleOptionsError('endpoint', 'must be an http(s) URL or a path such as "/rekindle"');
    }
  }
  if (artifact !== undefined && artifactUrl !== undefined) {
    throw new RekindleOptionsError('artifact', 'and "artifactUrl" cannot both be given');
  }
  if (artifact !== undefined && (artifact === null || typeof artifact !== 'object' || Array.isArray(artifact))) {
    throw new RekindleOptionsError('artifact', 'must be a campaign artifact object');
  }
  if (artifactUrl !== undefined && typeof artifactUrl !== 'string' && !(artifactUrl instanceof URL)) {
    throw new RekindleOptionsError('artifactUrl', 'must be a URL string');
  }
  if (consent !== undefined) {
    if (consent === null || typeof consent !== 'object' || Array.isArray(consent)) {
      throw new RekindleOptionsError('consent', 'must be an object of purpose: "granted" | "denied" | "pending"');
    }
    for (const [purpose, state] of Object.entries(consent)) {
      if (!CONSENT_STATES.has(state)) throw new RekindleOptionsError('consent', `has "${purpose}": "${state}"; use granted, denied or pending`);
    }
  }
  if (storage !== undefined && storage !== 'indexeddb' && storage !== 'memory') {
    throw new RekindleOptionsError('storage', 'must be "indexeddb" or "memory"');
  }
  if (autoTrack !== undefined && typeof autoTrack !== 'boolean' && (autoTrack === null || typeof autoTrack !== 'object')) {
    throw new RekindleOptionsError('autoTrack', 'must be a boolean or { pageViews, history, commerce }');
  }
  if (onError !== undefined && typeof onError !== 'function') throw new RekindleOptionsError('onError', 'must be a function');
  if (now !== undefined && typeof now !== 'function') throw new RekindleOptionsError('now', 'must be a function returning milliseconds');
}

function stableDeviceId(name) {
  const key = `${name}.deviceId`;
  try {
    const known = globalThis.localStorage?.getItem(key);
    if (known) return known;
    const id = globalThis.crypto.randomUUID();
    globalThis.localStorage?.setItem(key, id);
    return id;
  } catch {
    return globalThis.crypto.randomUUID();
  }
}

/** Creates the page runtime; resolves once state is restored and tiles are rendered. */
export async function createPageRekindle(options = {}, moduleOptions = {}) {
  validate(options);
  const name = options.name ?? 'rekindle';
  const now = options.now ?? (() => Date.now());
  const report = (error) => {
    if (options.onError) options.onError(error);
    else console.warn(`rekindle: ${error.message}`);
  };
  const deviceId = options.deviceId ?? stableDeviceId(name);
  const store = await openStore({ name: `${name}:${deviceId}`, kind: options.storage ?? 'indexeddb', onWarning: (m) => console.warn(`rekindle: ${m}`) });
  const engine = await createWithModule({ deviceId, now }, moduleOptions);
  const listeners = new Map();
  let version = 0;
  let destroyed = false;
  let timer = null;
  let saveTimer = null;
  let peers = false;

  function emit(effects) {
    for (const effect of effects) {
      for (const handler of [...(listeners.get(effect.type) ?? []), ...(listeners.get('*') ?? [])]) {
        try {
          handler(effect);
        } catch (err) {
          report(new Error(`an "${effect.type}" handler threw: ${err.message}`));
        }
      }
    }
  }

  // State in storage: the engine snapshot (profile, history, journeys, outbox) and a version.
  async function reload() {
    let saved;
    try {
      saved = await store.get('snapshot');
    } catch (err) {
      report(new Error(`stored state cannot be read (${err.message}); starting fresh`));
      return;
    }
    if (!saved || saved.version <= version) return;
    const restored = engine.restore(saved.snapshot);
    if (!restored.ok) {
      report(new Error(`stored state is damaged (${restored.errors.map((e) => `${e.path}: ${e.reason}`).join('; ')}); it is replaced`));
      await store.delete('snapshot').catch(() => {});
      return;
    }
    version = saved.version;
  }

  async function save() {
    clearTimeout(saveTimer);
    saveTimer = null;
    try {
      await store.put('snapshot', { version, snapshot: engine.snapshot(), savedAt: now() });
    } catch (err) {
      report(new Error(`state cannot be saved (${err.message}); it is kept in memory`));
    }
  }

  function scheduleSave() {
    if (saveTimer === null) saveTimer = setTimeout(save, 250);
  }

  const sync = createTabSync({
    name: `${name}:${deviceId}`,
    onRemoteChange(message) {
      peers = true;
      if (message.hello) {
        sync.announce({ version, here: true });
        return;
      }
      if (message.version > version) {
        // Another tab changed the state: take it, and show what it decided.
        sync.withLock(async () => {
          await reload();
          render();
          armTimer();
        });
      }
    },
  });

  // Every change runs alone across tabs, on the latest state, and is saved
  // before the lock is released when other tabs are open.
  function change(fn) {
    if (destroyed) return Promise.reject(new Error('rekindle: used after destroy()'));
    return sync.withLock(async () => {
      if (sync.latest > version) await reload();
      const result = fn();
      version += 1;
      if (peers) await save();
      else scheduleSave();
      sync.announce({ version });
      emit(result.effects ?? []);
      if ((result.effects ?? []).some((e) => e.type === 'offer.show' || e.type === 'offer.withdraw' || e.type === 'consent.changed')) render();
      armTimer();
      transport?.schedule();
      return result;
    });
  }

  // One timer, for the engine's next deadline.
  function armTimer() {
    clearTimeout(timer);
    timer = null;
    if (destroyed) return;
    const next = engine.nextDeadline();
    if (next === null) return;
    timer = setTimeout(() => change(() => engine.advance(now())), Math.min(Math.max(next - now(), 0), MAX_TIMER_MS));
  }

  const tiles = typeof document !== 'undefined' && options.render !== false
    ? new Tiles({
      onFeedback(kind, info) {
        const propositions = [{ id: info.proposition, scope: info.placement }];
        const type = kind === 'display' ? 'decisioning.propositionDisplay' : 'decisioning.propositionInteract';
        const fields = { _experience: { decisioning: { propositions } } };
        if (kind !== 'display') fields.data = { action: kind, offer: info.offer };
        api.track(type, fields);
      },
    })
    : null;

  function render() {
    if (!tiles || destroyed) return;
    for (const placement of tiles.placements()) tiles.render(placement, engine.decide(placement));
  }

  const transport = options.endpoint
    ? new Transport({
      endpoint: options.endpoint,
      deviceId,
      writeKey: options.writeKey,
      source: {
        pending: (max, bytes) => engine.pending(max, bytes),
        ack: (ids) => {
          const n = engine.ack(ids);
          if (n > 0) {
            version += 1;
            scheduleSave();
          }
          return n;
        },
      },
      onError: (e) => report(new Error(`delivery: ${e.reason ?? e.kind}${e.ids ? ` (${e.ids.length} record(s))` : ''}`)),
    })
    : null;

  async function loadArtifactFromUrl() {
    const url = String(options.artifactUrl);
    const cached = await store.get('artifact').catch(() => undefined);
    if (cached?.text) {
      const r = engine.loadArtifact(cached.text);
      if (!r.ok) report(new Error('the cached artifact is invalid; waiting for the server'));
    }
    try {
      const res = await fetch(url, { headers: cached?.etag ? { 'If-None-Match': cached.etag } : {} });
      if (res.status === 304) return;
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const text = await res.text();
      const r = await change(() => engine.loadArtifact(text));
      if (!r.ok) {
        report(new RekindleArtifactError(r.errors));
        return;
      }
      await store.put('artifact', { etag: res.headers.get('ETag'), text });
    } catch (err) {
      report(new Error(`the artifact cannot be fetched from ${url} (${err.message}); using the last good one`));
    }
  }

  const api = {
    version: engine.version,
    deviceId,
    storage: store.kind,

    /** Tracks an event: an event type and XDM fields (id and timestamp generated). */
    track(eventType, fields = {}) {
      return change(() => engine.track(eventType, fields));
    },
    /** Links a known id to this visitor. */
    identify(namespace, id) {
      return change(() => engine.identify(namespace, id));
    },
    /** Records the visitor's consent decisions. */
    setConsent(purposes) {
      return change(() => engine.setConsent(purposes));
    },
    /** Sets profile attributes. */
    setAttributes(attributes) {
      return change(() => engine.setAttributes(attributes));
    },
    /** The best offer for a placement now, or null. */
    decide(placement) {
      return engine.decide(placement);
    },
    /** Renders every [data-rk-placement] element from the current decisions. */
    render,
    /** Calls `handler(effect)` for each effect of that type ('*' for all); returns an unsubscribe function. */
    on(type, handler) {
      if (typeof handler !== 'function') throw new TypeError('rekindle: on(type, handler) needs a function');
      if (!listeners.has(type)) listeners.set(type, new Set());
      listeners.get(type).add(handler);
      return () => listeners.get(type)?.delete(handler);
    },
    /** Sends what waits in the outbox now. */
    async flush() {
      if (!transport) return { sent: 0, acked: 0, dropped: 0 };
      return transport.flush();
    },
    /** Current segment memberships. */
    segments() {
      return engine.segments();
    },
    /** When the engine next needs time to pass (ms), or null. */
    nextDeadline() {
      return engine.nextDeadline();
    },
    /** The whole state as JSON text. */
    snapshot() {
      return engine.snapshot();
    },
    /** Stops everything and frees the engine; state stays in storage. */
    async destroy() {
      if (destroyed) return;
      await save();
      destroyed = true;
      clearTimeout(timer);
      clearTimeout(saveTimer);
      stopAutoTrack?.();
      tiles?.destroy();
      transport?.stop();
      sync.close();
      removeListeners();
      store.close();
      engine.destroy();
    },
  };

  // Start: the latest state, the artifact, consent, then deadlines that passed
  // while the page was closed, processed at their true times.
  await sync.withLock(async () => {
    await reload();
    if (options.artifact !== undefined) {
      const r = engine.loadArtifact(options.artifact);
      if (!r.ok) {
        engine.destroy();
        throw new RekindleArtifactError(r.errors);
      }
    }
  });
  sync.announce({ version, hello: true });
  if (options.artifactUrl !== undefined) await loadArtifactFromUrl();
  if (options.consent) await change(() => engine.setConsent(options.consent));
  await change(() => engine.advance(now()));
  render();

  let stopAutoTrack = null;
  if (options.autoTrack !== false && typeof document !== 'undefined') {
    const parts = typeof options.autoTrack === 'object' ? options.autoTrack : {};
    stopAutoTrack = startAutoTrack({ track: (type, fields) => api.track(type, fields), ...parts });
  }

  // Catch up when the page becomes visible or the network returns; save and
  // beacon what waits when the page goes away.
  const onVisible = () => {
    if (document.visibilityState === 'visible') change(() => engine.advance(now()));
  };
  const onOnline = () => transport?.online();
  const onHide = () => {
    save();
    transport?.beacon();
  };
  if (typeof document !== 'undefined') document.addEventListener('visibilitychange', onVisible);
  globalThis.addEventListener?.('online', onOnline);
  globalThis.addEventListener?.('pagehide', onHide);
  function removeListeners() {
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', onVisible);
    globalThis.removeEventListener?.('online', onOnline);
    globalThis.removeEventListener?.('pagehide', onHide);
  }
  transport?.schedule();
  return api;
}
