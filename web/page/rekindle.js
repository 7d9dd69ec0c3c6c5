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
  'wasmUrl', 'wasmBinary', 'writeKey', 'now', 'onError', 'name', 'on',
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
  const { endpoint, artifact, artifactUrl, consent, storage, autoTrack, onError, now, on } = options;
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
  if (on !== undefined) {
    if (on === null || typeof on !== 'object' || Array.isArray(on)) {
      throw new RekindleOptionsError('on', 'must be an object of effect type (or "*"): handler');
    }
    for (const [type, handler] of Object.entries(on)) {
      if (typeof handler !== 'function') throw new RekindleOptionsError('on', `has "${type}": a handler must be a function`);
    }
  }
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

const DISPLAY_MEMORY = 200;        // propositions whose counted display the device remembers
// The engine's outbox bounds (core/outbox/outbox.h, Limits): past either, the
// oldest records are dropped and counted in the snapshot's outbox.dropped.
const OUTBOX_MAX_RECORDS = 5000;
const OUTBOX_MAX_BYTES = 2 * 1024 * 1024;
const ARTIFACT_TIMEOUT_MS = 10000;
const TILE_EFFECTS = new Set(['offer.show', 'offer.withdraw', 'consent.changed']);
const UNCHANGED = Object.freeze({ unchanged: true, effects: Object.freeze([]) });

function describe(err) {
  return err && typeof err.message === 'string' ? err.message : String(err);
}

function errorList(errors) {
  return errors.map((e) => `${e.path}: ${e.reason}`).join('; ');
}

/** The error of a call made after destroy(). */
function afterDestroy(method) {
  const err = new Error(`rekindle: ${method}() was called after destroy(); create a new instance with createRekindle()`);
  err.name = 'RekindleDestroyedError';
  return err;
}

// The snapshot's count of records the outbox dropped at its bounds, or null.
function outboxDropped(snapshot) {
  try {
    const n = JSON.parse(snapshot).outbox?.dropped;
    return Number.isSafeInteger(n) ? n : null;
  } catch {
    return null;
  }
}

// Why a stored state record cannot be used, or null.
function recordProblem(saved) {
  if (saved === null || typeof saved !== 'object' || Array.isArray(saved)) {
    const what = saved === null ? 'null' : Array.isArray(saved) ? 'an array' : typeof saved;
    return `the record is ${what}, not an object`;
  }
  if (!Number.isSafeInteger(saved.version) || saved.version < 1) return '"version" is not a positive integer';
  if (typeof saved.snapshot !== 'string') return '"snapshot" is not text';
  return null;
}

function displayEntries(value) {
  if (!Array.isArray(value)) return [];
  return value.filter((e) => Array.isArray(e) && typeof e[0] === 'string' && Number.isFinite(e[1]));
}

/**
 * Creates the page runtime; resolves once state is restored, the deadlines
 * that passed while the page was closed are processed at their true times,
 * and tiles are rendered.
 *
 * State lives in storage as one record (the engine snapshot, a version, and
 * the displays counted on this device). Every change runs in a "turn" under a
 * lock shared by the tabs of the site: the turn first takes the stored state
 * when another tab wrote a newer one, applies the changes queued in this tab
 * (coalesced: one turn for a burst), writes the record before releasing the
 * lock and announces the new version. So the stored state is current whenever
 * the lock is free, no tab overwrites another's changes, and a tab that
 * closes right after a change has already saved it.
 */
// Placements stay hidden (not removed: layout is kept) until the first
// decision is rendered, so a visitor never sees the fallback swap to an offer.
// A failsafe shows the fallback if the engine is slow or fails to start.
const ANTI_FLICKER_MS = 1500;
// Pages that load the module late put the same style in their <head>
// (docs/page-runtime.md); the runtime adopts it and removes it after rendering.
function hidePlacements() {
  if (typeof document === 'undefined') return () => {};
  let style = document.getElementById('rk-anti-flicker');
  if (!style) {
    style = document.createElement('style');
    style.id = 'rk-anti-flicker';
    style.textContent = '[data-rk-placement]{visibility:hidden}';
    (document.head ?? document.documentElement).appendChild(style);
  }
  const reveal = () => {
    clearTimeout(failsafe);
    style.remove();
  };
  const failsafe = setTimeout(reveal, ANTI_FLICKER_MS);
  return reveal;
}

export async function createPageRekindle(options = {}, moduleOptions = {}) {
  validate(options);
  const reveal = options.render === false ? () => {} : hidePlacements();
  const name = options.name ?? 'rekindle';
  const now = options.now ?? (() => Date.now());
  const report = (error) => {
    if (!options.onError) {
      console.warn(`rekindle: ${error.message}`);
      return;
    }
    try {
      options.onError(error);
    } catch (err) {
      console.warn(`rekindle: the onError handler threw (${describe(err)}) on: ${error.message}`);
    }
  };
  const deviceId = options.deviceId ?? stableDeviceId(name);
  const key = `${name}:${deviceId}`;
  const store = await openStore({ name: key, kind: options.storage ?? 'indexeddb', onWarning: (m) => console.warn(`rekindle: ${m}`) });
  let engine;
  try {
    engine = await createWithModule({ deviceId, now }, moduleOptions);
  } catch (err) {
    store.close();
    throw err;
  }

  const listeners = new Map();
  function listen(type, handler) {
    if (typeof handler !== 'function') throw new TypeError('rekindle: on(type, handler) needs a function');
    if (!listeners.has(type)) listeners.set(type, new Set());
    listeners.get(type).add(handler);
    return () => listeners.get(type)?.delete(handler);
  }
  // Handlers given as an option see every effect, those of the start-up too.
  for (const [type, handler] of Object.entries(options.on ?? {})) listen(type, handler);

  let version = 0;              // the stored version this tab's state is, or was built on
  let pulled = false;           // the stored state was read once
  let dirty = false;            // a change is not in storage (damaged record, failed write)
  let destroyed = false;        // destroy() was called: the API refuses
  let torn = false;             // the engine is freed
  let destroying = null;
  let timer = null;
  let tiles = null;
  let stopAutoTrack = null;
  let artifactFetch = null;     // AbortController of the artifact request in flight
  let displays = new Map();     // proposition -> when a tab of this device counted its display
  let dropped = 0;              // outbox drops already reported (by any tab of the device)
  const shownSince = new Map(); // proposition -> since when this tab shows it
  const acked = new Set();      // record ids the server acknowledged since the last write
  const queue = [];             // changes waiting for the next turn
  let turnQueued = false;
  let lastTurn = Promise.resolve();

  function emit(effects) {
    for (const effect of effects) {
      for (const handler of [...(listeners.get(effect.type) ?? []), ...(listeners.get('*') ?? [])]) {
        try {
          handler(effect);
        } catch (err) {
          report(new Error(`an "${effect.type}" handler threw: ${describe(err)}`));
        }
      }
    }
  }

  // Takes the stored state when it is newer than this tab's (always at the
  // first call). Returns true when the engine's state was replaced. A damaged
  // record is reported and left for the next write to replace.
  async function pull() {
    const first = !pulled;
    pulled = true;
    let stored;
    if (!first) {
      try {
        stored = await store.get('version');
      } catch (err) {
        report(new Error(`stored state cannot be read (${describe(err)}); this tab goes on with its own`));
        return false;
      }
      if (!Number.isSafeInteger(stored) || stored <= version) return false;
    }
    let saved;
    try {
      saved = await store.get('snapshot');
    } catch (err) {
      report(new Error(`stored state cannot be read (${describe(err)}); ${first ? 'starting fresh' : 'this tab goes on with its own'}`));
      return false;
    }
    if (saved === undefined) return false;
    const problem = recordProblem(saved);
    const restored = problem === null ? engine.restore(saved.snapshot) : null;
    if (problem !== null || !restored.ok) {
      report(new Error(`stored state is damaged (${problem ?? errorList(restored.errors)}); it is replaced by a fresh state`));
      if (stored === undefined) stored = await store.get('version').catch(() => 0);
      version = Math.max(version, Number.isSafeInteger(saved?.version) ? saved.version : 0, Number.isSafeInteger(stored) ? stored : 0);
      dirty = true;
      return false;
    }
    version = saved.version;
    displays = new Map(displayEntries(saved.displays));
    dropped = Math.max(dropped, outboxDropped(saved.snapshot) ?? 0);
    return true;
  }

  // Records dropped unsent because the outbox was full (the server was out of
  // reach for long) are reported once. Only an outbox at one of its bounds can
  // drop, so a smaller state is not parsed (UTF-8 takes at most 3 bytes per
  // UTF-16 unit, and the bodies are part of the snapshot).
  function reportDrops(snapshot) {
    if (engine.stats().outbox < OUTBOX_MAX_RECORDS && snapshot.length * 3 < OUTBOX_MAX_BYTES) return;
    const n = outboxDropped(snapshot);
    if (n === null || n <= dropped) return;
    report(new Error(`the outbox is full: the ${n - dropped} oldest record(s) were dropped unsent (${n} on this device so far)`));
    dropped = n;
  }

  // Writes the state (with the acknowledgements received meanwhile) as the next version.
  async function save() {
    if (acked.size > 0) {
      engine.ack([...acked]);
      acked.clear();
    }
    const next = version + 1;
    const record = { version: next, snapshot: engine.snapshot(), savedAt: now(), displays: [...displays] };
    reportDrops(record.snapshot);
    dirty = false;
    try {
      await store.putAll([['snapshot', record], ['version', next]]);
    } catch (err) {
      dirty = true;
      report(new Error(`state cannot be saved (${describe(err)}); it is kept in memory`));
      return false;
    }
    version = next;
    sync.announce({ version });
    return true;
  }

  // One turn: the latest state, every change queued in this tab, one write.
  async function turn() {
    turnQueued = false;
    const batch = queue.splice(0);
    if (torn) {
      for (const item of batch) item.reject(afterDestroy(item.method));
      return;
    }
    const settled = new Set();
    try {
      const restored = await pull();
      const done = [];
      let work = false;
      for (const item of batch) {
        try {
          const result = item.fn();
          if (result !== UNCHANGED && !result?.unchanged) work = true;
          done.push({ item, result });
        } catch (error) {
          work = true;
          done.push({ item, error });
        }
      }
      if (work || dirty || acked.size > 0) await save();
      let show = restored;
      for (const { item, result, error } of done) {
        settled.add(item);
        if (error) {
          item.reject(error);
          continue;
        }
        const effects = result?.effects ?? [];
        emit(effects);
        if (effects.some((e) => TILE_EFFECTS.has(e.type))) show = true;
        item.resolve(result);
      }
      if (show) render();
      armTimer();
      if (work || restored) transport?.schedule();
    } catch (err) {
      for (const item of batch) if (!settled.has(item)) item.reject(err);
      report(new Error(`a state change failed: ${describe(err)}`));
    }
  }

  function enqueue(fn, method) {
    return new Promise((resolve, reject) => {
      queue.push({ fn, method, resolve, reject });
      if (turnQueued) return;
      turnQueued = true;
      lastTurn = sync.withLock(turn).catch((err) => {
        // The lock itself failed: the changes waiting for this turn fail with it.
        turnQueued = false;
        for (const item of queue.splice(0)) item.reject(err);
        report(new Error(`state changes cannot run (${describe(err)})`));
      });
    });
  }

  /** A change asked for through the API: rejects after destroy(). */
  function change(fn, method) {
    if (destroyed) return Promise.reject(afterDestroy(method));
    return enqueue(fn, method);
  }

  /** A change the runtime makes by itself (timer, feedback, collection): failures are reported. */
  function internal(fn, what) {
    if (destroyed) return;
    enqueue(fn, what).catch((err) => report(new Error(`${what} failed: ${describe(err)}`)));
  }

  const sync = createTabSync({
    name: key,
    onRemoteChange(message) {
      if (destroyed) return;
      if (message.hello) sync.announce({ version, here: true });
      // Another tab changed the state: take it, and show what it decided.
      if (message.version > version) internal(() => UNCHANGED, 'taking the state of another tab');
    },
  });

  // One timer, for the engine's next deadline.
  function armTimer() {
    clearTimeout(timer);
    timer = null;
    if (destroyed || torn) return;
    const next = engine.nextDeadline();
    if (next === null) return;
    timer = setTimeout(() => {
      timer = null;
      internal(() => engine.advance(now()), 'advancing to a deadline');
    }, Math.min(Math.max(next - now(), 0), MAX_TIMER_MS));
  }

  function render() {
    if (!tiles || torn) return;
    const current = new Set();
    for (const placement of tiles.placements()) {
      const decision = engine.decide(placement);
      tiles.render(placement, decision);
      if (decision) current.add(decision.proposition);
    }
    const t = now();
    for (const p of [...shownSince.keys()]) if (!current.has(p)) shownSince.delete(p);
    for (const p of current) if (!shownSince.has(p)) shownSince.set(p, t);
  }

  // A display is counted once per proposition per view, and the tabs of the
  // device share their views: a tab whose view of the proposition began
  // before another tab counted it does not count it again (both showed the
  // same tile at the same time). Later views (a reload, a new tab, the tile
  // shown again) count again, as caps expect. The check and the count run in
  // one turn, under the lock, on the latest stored state.
  function onFeedback(kind, info) {
    const fields = { _experience: { decisioning: { propositions: [{ id: info.proposition, scope: info.placement }] } } };
    if (kind !== 'display') {
      fields.data = { action: kind, offer: info.offer };
      internal(() => engine.track('decisioning.propositionInteract', fields), `recording a ${kind}`);
      return;
    }
    const since = shownSince.get(info.proposition) ?? now();
    internal(() => {
      const counted = displays.get(info.proposition);
      if (counted !== undefined && counted >= since) return UNCHANGED;
      const result = engine.track('decisioning.propositionDisplay', fields);
      if (result.ok && !result.duplicate) {
        displays.delete(info.proposition);
        displays.set(info.proposition, now());
        if (displays.size > DISPLAY_MEMORY) displays.delete(displays.keys().next().value);
      }
      return result;
    }, 'recording a display');
  }

  const transport = options.endpoint
    ? new Transport({
      endpoint: options.endpoint,
      deviceId,
      writeKey: options.writeKey,
      source: {
        pending: (max, bytes) => (torn ? [] : engine.pending(max, bytes)),
        // Acknowledged records leave the outbox at once (so they are not sent
        // again) and for good at the next write, re-applied on whatever state
        // that turn takes from storage.
        ack: (ids) => {
          if (torn) return 0;
          const n = engine.ack(ids);
          if (n > 0) {
            for (const id of ids) acked.add(id);
            internal(() => UNCHANGED, 'saving acknowledgements');
          }
          return n;
        },
      },
      onError: (e) => report(new Error(`delivery: ${e.reason ?? e.kind}${e.ids ? ` (${e.ids.length} record(s))` : ''}`)),
    })
    : null;

  // --- the artifact from artifactUrl: cached with its ETag, revalidated ---

  const loadArtifact = (artifact) => () => {
    const r = engine.loadArtifact(artifact);
    return r.ok ? r : { ...r, unchanged: true };
  };

  // The version of the artifact the engine runs, or null (read on error paths only).
  function currentArtifactVersion() {
    try {
      const version = JSON.parse(engine.snapshot()).artifact?.version;
      return typeof version === 'string' ? version : null;
    } catch {
      return null;
    }
  }

  async function fetchArtifact(url, cached) {
    const headers = {};
    if (cached?.etag) headers['If-None-Match'] = cached.etag;
    if (options.writeKey) headers['X-Rekindle-Key'] = options.writeKey;
    const controller = new AbortController();
    artifactFetch = controller;
    const timeout = setTimeout(() => controller.abort(new Error(`no answer within ${ARTIFACT_TIMEOUT_MS / 1000} s`)), ARTIFACT_TIMEOUT_MS);
    let res;
    let text;
    try {
      // no-store: this cache and its ETag are the only ones, so a 304 reaches us.
      res = await fetch(url, { headers, cache: 'no-store', credentials: 'omit', signal: controller.signal });
      if (res.status === 304 && cached) return;
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      text = await res.text();
    } catch (err) {
      if (destroyed) return;
      const fallback = cached ? 'the cached one stays in use' : 'the runtime goes on with the artifact it has';
      report(new Error(`the artifact cannot be fetched from ${url} (${describe(controller.signal.aborted ? controller.signal.reason : err)}); ${fallback}`));
      return;
    } finally {
      clearTimeout(timeout);
      if (artifactFetch === controller) artifactFetch = null;
    }
    if (destroyed) return;
    const r = await enqueue(loadArtifact(text), 'loadArtifact');
    if (!r.ok) {
      const err = new RekindleArtifactError(r.errors);
      const kept = currentArtifactVersion();
      err.message = `the artifact from ${url} is invalid and is not used; `
        + `${kept === null ? 'no artifact is loaded' : `the last good one (version "${kept}") stays in use`} `
        + `(${r.errors.length} error${r.errors.length === 1 ? '' : 's'}: ${errorList(r.errors)})`;
      report(err);
      return;
    }
    try {
      await store.put('artifact', { url, etag: res.headers.get('ETag'), text, savedAt: now() });
    } catch (err) {
      report(new Error(`the artifact cannot be cached (${describe(err)}); it is used but not kept`));
    }
  }

  // With a cached artifact the runtime starts at once and revalidates in the
  // background; without one it waits for the server (at most ARTIFACT_TIMEOUT_MS).
  async function startArtifact() {
    const url = new URL(String(options.artifactUrl), globalThis.location?.href).href;
    let cached;
    try {
      cached = await store.get('artifact');
    } catch {
      cached = undefined;
    }
    if (cached !== undefined && !(cached && typeof cached === 'object' && typeof cached.text === 'string')) {
      report(new Error('the cached artifact is damaged; fetching it again'));
      cached = undefined;
    }
    if (cached && cached.url !== url) cached = undefined;  // another site configuration's artifact
    if (cached) {
      const r = await enqueue(loadArtifact(cached.text), 'loadArtifact');
      if (r.ok) {
        fetchArtifact(url, cached).catch((err) => report(new Error(`artifact revalidation failed: ${describe(err)}`)));
        return;
      }
      report(new Error(`the cached artifact is invalid (${errorList(r.errors)}); fetching it again`));
      cached = undefined;
    }
    await fetchArtifact(url, undefined);
  }

  function guard(method) {
    if (destroyed) throw afterDestroy(method);
  }

  const api = {
    version: engine.version,
    deviceId,
    storage: store.kind,

    /** Tracks an event: an event type and XDM fields (id and timestamp generated). */
    track(eventType, fields = {}) {
      return change(() => engine.track(eventType, fields), 'track');
    },
    /** Links a known id to this visitor. */
    identify(namespace, id) {
      return change(() => engine.identify(namespace, id), 'identify');
    },
    /** Records the visitor's consent decisions. */
    setConsent(purposes) {
      return change(() => engine.setConsent(purposes), 'setConsent');
    },
    /** Sets profile attributes. */
    setAttributes(attributes) {
      return change(() => engine.setAttributes(attributes), 'setAttributes');
    },
    /** The best offer for a placement now, or null. */
    decide(placement) {
      guard('decide');
      return engine.decide(placement);
    },
    /** Renders every [data-rk-placement] element from the current decisions. */
    render() {
      guard('render');
      render();
    },
    /** Calls `handler(effect)` for each effect of that type ('*' for all); returns an unsubscribe function. */
    on(type, handler) {
      guard('on');
      return listen(type, handler);
    },
    /** Sends what waits in the outbox now (after the changes already asked for). */
    async flush() {
      guard('flush');
      await lastTurn;
      if (!transport) return { sent: 0, acked: 0, dropped: 0 };
      return transport.flush();
    },
    /** Current segment memberships. */
    segments() {
      guard('segments');
      return engine.segments();
    },
    /** When the engine next needs time to pass (ms), or null. */
    nextDeadline() {
      guard('nextDeadline');
      return engine.nextDeadline();
    },
    /** The whole state as JSON text. */
    snapshot() {
      guard('snapshot');
      return engine.snapshot();
    },
    /**
     * Stops everything and frees the engine. The changes already asked for
     * are applied and the state is saved before it resolves; every later
     * call rejects (or throws) with an error naming the call.
     */
    destroy() {
      if (destroying) return destroying;
      destroyed = true;
      destroying = (async () => {
        clearTimeout(timer);
        timer = null;
        stopAutoTrack?.();
        stopAutoTrack = null;
        removeListeners();
        artifactFetch?.abort(new Error('destroyed'));
        transport?.stop();
        try {
          await sync.withLock(async () => {
            if (dirty || acked.size > 0) {
              await pull();
              await save();
            }
          });
        } catch (err) {
          report(new Error(`state cannot be saved on destroy (${describe(err)})`));
        }
        torn = true;
        for (const item of queue.splice(0)) item.reject(afterDestroy(item.method));
        tiles?.destroy();
        tiles = null;
        sync.close();
        store.close();
        engine.destroy();
      })();
      return destroying;
    },
  };

  // Start: the latest state and the artifact, consent, then the deadlines that
  // passed while the page was closed, processed at their true times.
  try {
    if (options.artifact !== undefined) {
      const r = await enqueue(loadArtifact(options.artifact), 'loadArtifact');
      if (!r.ok) throw new RekindleArtifactError(r.errors);
    } else {
      await enqueue(() => UNCHANGED, 'start');
    }
    sync.announce({ version, hello: true });
    if (options.artifactUrl !== undefined) await startArtifact();
    const start = [];
    if (options.consent) start.push(enqueue(() => engine.setConsent(options.consent), 'setConsent'));
    start.push(enqueue(() => engine.advance(now()), 'advance'));
    await Promise.all(start);
  } catch (err) {
    destroyed = true;
    torn = true;
    clearTimeout(timer);
    artifactFetch?.abort(new Error('start failed'));
    transport?.stop();
    sync.close();
    store.close();
    engine.destroy();
    reveal();
    throw err;
  }

  if (typeof document !== 'undefined' && options.render !== false) tiles = new Tiles({ onFeedback });
  render();
  reveal();

  if (options.autoTrack !== false && typeof document !== 'undefined') {
    const parts = typeof options.autoTrack === 'object' ? options.autoTrack : {};
    stopAutoTrack = startAutoTrack({ track: (type, fields) => internal(() => engine.track(type, fields), `tracking ${type}`), ...parts });
  }

  // Catch up when the page becomes visible again, or comes back from the
  // back/forward cache (timers may have slept); retry delivery when the
  // network returns; beacon what waits when the page goes away (the state is
  // already saved: every turn writes it).
  const catchUp = () => internal(() => engine.advance(now()), 'catching up');
  const onVisible = () => {
    if (document.visibilityState === 'visible') catchUp();
  };
  const onShow = (event) => {
    if (event.persisted) catchUp();
  };
  const onOnline = () => transport?.online();
  const onHide = () => {
    if (dirty || acked.size > 0) internal(() => UNCHANGED, 'saving');
    transport?.beacon();
  };
  if (typeof document !== 'undefined') document.addEventListener('visibilitychange', onVisible);
  globalThis.addEventListener?.('pageshow', onShow);
  globalThis.addEventListener?.('online', onOnline);
  globalThis.addEventListener?.('pagehide', onHide);
  function removeListeners() {
    if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', onVisible);
    globalThis.removeEventListener?.('pageshow', onShow);
    globalThis.removeEventListener?.('online', onOnline);
    globalThis.removeEventListener?.('pagehide', onHide);
  }
  transport?.schedule();
  return api;
}
