// The page runtime: the engine plus what a page needs around it — storage,
// one deadline timer, tiles, automatic collection, transport to the server,
// consent and several tabs acting as one device. `index.js` exports it as
// `createRekindle` for browsers.
//
// The order of these imports (index.js imports this module first) is the
// order of the modules in the script-tag build. Gzip compresses some orders
// up to 80 B better than others; this one was among the best measured
// (scripts/build-web.mjs prints the size).
import { startAutoTrack } from './autotrack.js';
import { Tiles } from './tiles.js';
import { Transport } from './transport.js';
import { createTabSync } from './tabs.js';
import { openStore } from './storage.js';
import { createWithModule, newEvent, newEventId, RekindleOptionsError, RekindleArtifactError } from '../runtime.js';
import { isObject, describe, describeType } from './common.js';

const OPTIONS = new Set([
  'endpoint', 'artifact', 'artifactUrl', 'consent', 'deviceId', 'storage', 'autoTrack', 'render',
  'wasmUrl', 'wasmBinary', 'writeKey', 'now', 'onError', 'name', 'on',
]);
const CONSENT_STATES = new Set(['granted', 'denied', 'pending']);
const CONSENT_PURPOSES = new Set(['analytics', 'personalize', 'marketing.email', 'marketing.sms', 'marketing.push']);
const AUTO_TRACK_PARTS = new Set(['pageViews', 'history', 'commerce']);
const MAX_TIMER_MS = 2 ** 31 - 1;

function validate(options) {
  if (!isObject(options)) {
    throw new RekindleOptionsError('options', 'must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!OPTIONS.has(key)) throw new RekindleOptionsError(key, 'is not a known option');
  }
  const { endpoint, artifact, artifactUrl, consent, storage, autoTrack, onError, now, on, name, writeKey, deviceId, render } = options;
  for (const [key, value] of [['name', name], ['writeKey', writeKey], ['deviceId', deviceId]]) {
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw new RekindleOptionsError(key, 'must be a non-empty string');
  }
  // The server refuses an envelope whose deviceId is longer (docs/schema/collect.schema.json):
  // every record would wait for a send that can never succeed.
  if (deviceId !== undefined && [...deviceId].length > 128) throw new RekindleOptionsError('deviceId', 'must be at most 128 characters');
  if (render !== undefined && typeof render !== 'boolean') throw new RekindleOptionsError('render', 'must be true or false');
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
  if (artifact !== undefined && !isObject(artifact)) {
    throw new RekindleOptionsError('artifact', 'must be a campaign artifact object');
  }
  if (artifactUrl !== undefined && typeof artifactUrl !== 'string' && !(artifactUrl instanceof URL)) {
    throw new RekindleOptionsError('artifactUrl', 'must be a URL string');
  }
  if (consent !== undefined) {
    if (!isObject(consent)) {
      throw new RekindleOptionsError('consent', 'must be an object of purpose: "granted" | "denied" | "pending"');
    }
    for (const [purpose, state] of Object.entries(consent)) {
      if (!CONSENT_PURPOSES.has(purpose)) {
        throw new RekindleOptionsError('consent', `has "${purpose}", not a purpose; use ${[...CONSENT_PURPOSES].join(', ')}`);
      }
      if (!CONSENT_STATES.has(state)) throw new RekindleOptionsError('consent', `has "${purpose}": "${state}"; use granted, denied or pending`);
    }
  }
  if (storage !== undefined && storage !== 'indexeddb' && storage !== 'memory') {
    throw new RekindleOptionsError('storage', 'must be "indexeddb" or "memory"');
  }
  if (autoTrack !== undefined && typeof autoTrack !== 'boolean') {
    if (!isObject(autoTrack)) {
      throw new RekindleOptionsError('autoTrack', 'must be a boolean or { pageViews, history, commerce }');
    }
    for (const [part, on] of Object.entries(autoTrack)) {
      if (!AUTO_TRACK_PARTS.has(part)) throw new RekindleOptionsError('autoTrack', `has "${part}", not a part; use pageViews, history or commerce`);
      if (typeof on !== 'boolean') throw new RekindleOptionsError('autoTrack', `has "${part}": it must be true or false`);
    }
  }
  if (onError !== undefined && typeof onError !== 'function') throw new RekindleOptionsError('onError', 'must be a function');
  if (now !== undefined && typeof now !== 'function') throw new RekindleOptionsError('now', 'must be a function returning milliseconds');
  if (on !== undefined) {
    if (!isObject(on)) {
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
    // newEventId(): crypto.randomUUID() is missing from some supported browsers (Safari 15.0-15.3).
    const id = newEventId();
    globalThis.localStorage?.setItem(key, id);
    return id;
  } catch {
    return newEventId();
  }
}

const DISPLAY_MEMORY = 200;        // propositions whose counted display the device remembers
// Events tracked but not yet written when the page goes away (a click on a
// link that leaves the page) are kept in localStorage, which writes at once,
// under `<name>:<deviceId>` + this suffix + `:<page>`, and tracked by the next start.
const KEPT_SUFFIX = ':unwritten-events';
const KEPT_MAX = 200;
const ARTIFACT_TIMEOUT_MS = 10000;
// The stored journal (see createPageRekindle). A turn writes only the engine
// calls it made; the whole snapshot is written again (and the journal
// emptied) once the journal passes one of these bounds. A snapshot costs one
// engine.snapshot() of the whole state and its write: about 85 ms with a
// 10,000-event history in Chromium (bench/RESULTS.md, section 4), one long
// task. A journal entry costs a few hundred bytes and no snapshot, but a
// reload and the other tabs replay the journal, each call about as costly as
// when it was made (50 µs median, a few ms at worst, for an event with that
// history). 100 entries amortize the snapshot to under 1 ms a turn and keep
// the replay on reload to a fraction of the restore of the snapshot itself
// (hundreds of ms for that history); 256 K characters bound what the journal
// adds to storage and replay when the calls are large (big events or
// attributes, long lists of acknowledged ids).
const JOURNAL_MAX_ENTRIES = 100;
const JOURNAL_MAX_CHARS = 256 * 1024;
// Past the bounds the snapshot is written when the page is idle (under the
// lock, in a turn of its own), at the latest after this long; past twice the
// bounds (a page too busy to be idle) the turn that writes an entry writes it.
const COMPACT_IDLE_TIMEOUT_MS = 2000;
// A stored journal longer than this is damaged (compaction keeps it far shorter); it is not read further.
const JOURNAL_MAX_CHAIN = 4 * JOURNAL_MAX_ENTRIES;
const JOURNAL_PREFIX = 'journal:';
// The calls applied since the last write are kept so that they can be applied
// again on top of another tab's newer state. While writes fail (a full quota)
// they pile up: past these bounds they are let go, and a newer state from
// another tab then replaces this tab's unsaved changes (its acknowledgements
// are applied again), as when a write fails for good.
const UNSAVED_MAX_CALLS = 5000;
const UNSAVED_MAX_CHARS = 4 * 1024 * 1024;
// What changes the tiles a placement shows: journey tiles shown or withdrawn,
// consent, and what an offer's eligibility reads (segments, the profile, the
// artifact). A turn that only counted a display does not redraw: a tile whose
// cap that display filled stays while it is on screen (journeys.md, caps).
const TILE_EFFECTS = new Set(['offer.show', 'offer.withdraw', 'consent.changed']);
const PROFILE_METHODS = new Set(['setAttributes', 'identify', 'loadArtifact']);
// A flush() in a tab that does not send is handed to the tab that does (see
// "sending" in createPageRekindle). Without an answer that it started within
// this long (no sender yet, or one too busy to answer), the tab sends itself;
// once started, it waits this long for the result before doing the same.
const FLUSH_HANDOVER_MS = 3000;
const FLUSH_RESULT_MS = 60000;
const UNCHANGED = Object.freeze({ unchanged: true, effects: Object.freeze([]) });

function errorList(errors) {
  return errors.map((e) => `${e.path}: ${e.reason}`).join('; ');
}

/** The error of a call made after destroy(). */
function afterDestroy(method) {
  const err = new Error(`rekindle: ${method}() was called after destroy(); create a new instance with createRekindle()`);
  err.name = 'RekindleDestroyedError';
  return err;
}

// Why a stored state record cannot be used, or null.
function recordProblem(saved) {
  if (!isObject(saved)) return `the record is ${describeType(saved)}, not an object`;
  if (!Number.isSafeInteger(saved.version) || saved.version < 1) return '"version" is not a positive integer';
  if (typeof saved.snapshot !== 'string') return '"snapshot" is not text';
  return null;
}

function displayEntries(value) {
  if (!Array.isArray(value)) return [];
  return value.filter((e) => Array.isArray(e) && typeof e[0] === 'string' && Number.isFinite(e[1]));
}

// Counts a display of `proposition` at `at` in `map`, which keeps the latest DISPLAY_MEMORY.
function countDisplay(map, proposition, at) {
  map.delete(proposition);
  map.set(proposition, at);
  if (map.size > DISPLAY_MEMORY) map.delete(map.keys().next().value);
}

// The size of a recorded engine call, in characters (numbers count 8).
function callChars(call) {
  let n = 8;
  for (const part of call) n += typeof part === 'string' ? part.length : 8;
  return n;
}

// Why a stored journal entry cannot be replayed as version `expected`, or null.
function entryProblem(entry, expected, callProblem) {
  if (entry === undefined) return 'is missing';
  if (!isObject(entry)) return `is ${describeType(entry)}, not an object`;
  if (entry.version !== expected) return `has "version" ${JSON.stringify(entry.version) ?? 'undefined'}, not ${expected}`;
  if (!Array.isArray(entry.calls)) return 'has no "calls" list';
  for (let i = 0; i < entry.calls.length; ++i) {
    const call = entry.calls[i];
    const problem = Array.isArray(call) ? callProblem(call[0], call.slice(1)) : 'is not a list';
    if (problem !== null) return `has a damaged call at calls[${i}] (${problem})`;
  }
  if (entry.displays !== undefined && !Array.isArray(entry.displays)) return 'has a "displays" that is not a list';
  return null;
}

/**
 * Creates the page runtime; resolves once state is restored, the deadlines
 * that passed while the page was closed are processed at their true times,
 * and tiles are rendered.
 *
 * Every change runs in a "turn" under a lock shared by the tabs of the site:
 * the turn first brings this tab to the latest stored version when another
 * tab wrote a newer one, applies the changes queued in this tab (coalesced:
 * one turn for a burst), writes them before releasing the lock and announces
 * the new version. So the stored state is current whenever the lock is free,
 * no tab overwrites another's changes, and a tab that closes right after a
 * change has already saved it.
 *
 * What is stored is a write-ahead journal on a snapshot. `snapshot` holds
 * the whole engine state at version `base`; `journal:<v>` holds what version
 * v changed: the engine calls of its turn with their exact arguments (the
 * event text with its generated id and timestamp, the `now` used; captured
 * by web/runtime.js as they reach the module), and the displays counted on
 * this device when they changed. A turn writes one entry together with
 * `version` in one transaction, which costs no snapshot of the state. The
 * engine is deterministic given its inputs, so replaying the entries after
 * the snapshot, in order, reproduces the state exactly: a reload restores the
 * snapshot and replays the journal, another tab replays the entries it has
 * not seen. The whole snapshot is written again, and the journal emptied in
 * the same transaction, when the journal passes its bounds (when the page is
 * idle), when an artifact is loaded, when the page is hidden or destroyed,
 * and when an entry cannot be written or the stored state cannot take one
 * (damaged, lost). A damaged snapshot or journal is reported and replaced,
 * never fatal.
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
  const warn = (message) => report(new Error(message));
  // A rejection handler that reports `<what> failed: <why>`.
  const failed = (what) => (err) => warn(`${what} failed: ${describe(err)}`);
  const deviceId = options.deviceId ?? stableDeviceId(name);
  const key = `${name}:${deviceId}`;
  const keptKey = `${key}${KEPT_SUFFIX}`;
  const pageKeptKey = `${keptKey}:${newEventId()}`;
  let keptHere = false;         // this page's list in localStorage is not empty
  const queue = [];             // changes waiting for the next turn
  let inFlight = [];            // the changes of the running turn, until it has written them
  let stopAutoTrack = null;

  // Automatic collection listens from the start: what the visitor does while
  // the module loads and the saved state is restored (a click on "add to
  // cart" on a slow device) is kept, stamped with its time, and tracked once
  // the start is done. At pagehide, what no turn has written yet is kept in
  // localStorage for the next start (keepUnwritten), from now on too.
  let early = [];
  const autoTracked = (type, fields) => {
    if (early !== null) {
      if (early.length < KEPT_MAX) early.push(newEvent(type, fields, now()));
      return;
    }
    const { event, fn } = tracked(type, fields);
    internal(fn, `tracking ${type}`, event);
  };
  globalThis.addEventListener?.('pagehide', keepUnwritten);
  if (options.autoTrack !== false && typeof document !== 'undefined') {
    const parts = typeof options.autoTrack === 'object' ? options.autoTrack : {};
    stopAutoTrack = startAutoTrack({ track: autoTracked, ...parts });
  }
  // A start that fails keeps what was seen for the next one.
  const abandonStart = () => {
    keepUnwritten();
    globalThis.removeEventListener?.('pagehide', keepUnwritten);
    stopAutoTrack?.();
    stopAutoTrack = null;
    early = null;
  };

  // Every engine call that changes the state, as it happens (web/runtime.js).
  const calls = { onCall: recordCall };
  // The store and the module do not wait for each other: the database opens
  // while the wasm is fetched and compiled.
  const [opened, created] = await Promise.allSettled([
    openStore({ name: key, kind: options.storage ?? 'indexeddb', onWarning: warn }),
    createWithModule({ deviceId, now }, moduleOptions, calls),
  ]);
  if (opened.status === 'rejected' || created.status === 'rejected') {
    abandonStart();
    if (opened.status === 'fulfilled') opened.value.close();
    if (created.status === 'fulfilled') created.value.destroy();
    throw opened.status === 'rejected' ? opened.reason : created.reason;
  }
  const store = opened.value;
  const engine = created.value;

  const listeners = new Map();
  function listen(type, handler) {
    if (typeof handler !== 'function') throw new TypeError('rekindle: on(type, handler) needs a function');
    if (!listeners.has(type)) listeners.set(type, new Set());
    listeners.get(type).add(handler);
    return () => listeners.get(type)?.delete(handler);
  }
  // Handlers given as an option see every effect, those of the start-up too.
  for (const [type, handler] of Object.entries(options.on ?? {})) listen(type, handler);

  let version = 0;              // the stored version this tab's state is (with `unsaved` applied on it)
  let base = 0;                 // the version of the stored snapshot the journal builds on; 0: none
  let journalChars = 0;         // the size of the stored journal entries after `base` (callChars)
  let unsaved = [];             // engine calls applied since `version`, in order; null: too many to keep
  let unsavedChars = 0;
  let artifactLoaded = false;   // an artifact was loaded since the last write: the next one is a snapshot
  let compactWanted = false;    // the next write is a snapshot (page hidden, journal past its bounds)
  let idle = null;              // the scheduled compaction: { cancel() }
  let pulled = false;           // the stored state was read once
  let dirty = false;            // the stored state cannot take a journal entry (damaged, lost, unreadable)
  let destroyed = false;        // destroy() was called: the API refuses
  let torn = false;             // the engine is freed
  let destroying = null;
  let timer = null;
  let tiles = null;
  let artifactFetch = null;     // AbortController of the artifact request in flight
  let displays = new Map();     // proposition -> when a tab of this device counted its display
  let dropped = 0;              // outbox drops already reported (by any tab of the device)
  const shownSince = new Map(); // proposition -> since when this tab shows it
  const displayChanges = new Map(); // displays counted since the last write
  const acked = new Set();      // record ids the server acknowledged since the last write
  let stranded = false;         // the last write failed: this tab holds changes no other tab can see
  let turnQueued = false;
  let lastTurn = Promise.resolve();

  function emit(effects) {
    for (const effect of effects) {
      for (const handler of [...(listeners.get(effect.type) ?? []), ...(listeners.get('*') ?? [])]) {
        try {
          handler(effect);
        } catch (err) {
          warn(`an "${effect.type}" handler threw: ${describe(err)}`);
        }
      }
    }
  }

  // --- persistence: the journal and the snapshot (see the comment above) ---

  const where = store.kind === 'indexeddb' ? `IndexedDB database "${key}", object store "state"` : 'memory';

  // A call the engine made that changed its state (or may have): kept until written.
  function recordCall(method, args, result) {
    // A refused artifact is refused before anything changes (engine.cc load_artifact).
    if (method === '_loadArtifact') {
      if (!result?.ok) return;
      // The artifact the engine runs already (every start loads it): only
      // the clock moved, exactly as advance(now) (engine.h, LoadResult), so
      // the journal gets that rather than the artifact, and no snapshot.
      if (result.same) {
        recordCall('_advance', [args[1]], result);
        return;
      }
      artifactLoaded = true;
    }
    if (unsaved === null) return;
    const call = [method, ...args];
    unsaved.push(call);
    unsavedChars += callChars(call);
    if (unsaved.length > UNSAVED_MAX_CALLS || unsavedChars > UNSAVED_MAX_CHARS) {
      unsaved = null;
      unsavedChars = 0;
    }
  }

  const hasChanges = () => unsaved === null || unsaved.length > 0 || displayChanges.size > 0;

  // Applies the calls recorded since the last write again, after the state was
  // replaced by a newer stored one: this tab's changes go on top of the other
  // tabs' (their effects were emitted when they were first made).
  function reapplyUnsaved() {
    for (const [proposition, at] of displayChanges) countDisplay(displays, proposition, at);
    if (unsaved !== null) {
      for (const [method, ...args] of unsaved) calls.replay(method, args);
      return;
    }
    // Too many to keep: this tab's unsaved changes give way to the stored
    // state, except the acknowledgements (recorded anew from here).
    unsaved = [];
    unsavedChars = 0;
    if (acked.size > 0) engine.ack([...acked]);
  }

  // The journal entries of versions from..to, read in one transaction.
  function readEntries(from, to) {
    const keys = [];
    for (let v = from; v <= to; ++v) keys.push(`${JOURNAL_PREFIX}${v}`);
    return keys.length === 0 ? Promise.resolve([]) : store.getMany(keys);
  }

  // The longest run of `entries` (versions from, from+1, ...) that can be
  // replayed, and why the next one cannot.
  function soundPrefix(entries, from) {
    for (let i = 0; i < entries.length; ++i) {
      const problem = entryProblem(entries[i], from + i, calls.callProblem);
      if (problem !== null) return { count: i, problem };
    }
    return { count: entries.length, problem: null };
  }

  // Replays entries on the engine, their effects discarded. Returns how many
  // were applied and, when one threw, why.
  function replay(entries) {
    for (let i = 0; i < entries.length; ++i) {
      const entry = entries[i];
      try {
        for (const [method, ...args] of entry.calls) calls.replay(method, args);
      } catch (err) {
        return { count: i, problem: `cannot be replayed (${describe(err)})` };
      }
      if (entry.displays !== undefined) displays = new Map(displayEntries(entry.displays));
      if (Number.isSafeInteger(entry.dropped)) dropped = Math.max(dropped, entry.dropped);
      journalChars += entry.calls.reduce((n, call) => n + callChars(call), 0);
    }
    return { count: entries.length, problem: null };
  }

  // Brings this tab's state to the latest stored version (always reads it at
  // the first call). Returns true when the engine's state was replaced or
  // moved on. Only the `version` and `base` keys are read when nothing
  // changed; the entries another tab wrote are replayed when this tab is at a
  // version they build on, and the snapshot is restored otherwise.
  async function pull() {
    const first = !pulled;
    pulled = true;
    let head;
    try {
      head = await store.getMany(['version', 'base']);
    } catch (err) {
      warn(`stored state cannot be read (${describe(err)}); ${first ? 'starting fresh' : 'this tab goes on with its own'}`);
      if (!first) dirty = true;
      return false;
    }
    const [storedVersion, storedBase] = head.map((v) => (Number.isSafeInteger(v) && v >= 0 ? v : null));
    if (!first) {
      if (storedVersion === version) {
        // Another tab may have written the snapshot of this very version.
        if (storedBase !== null && storedBase > base && storedBase <= version) {
          base = storedBase;
          journalChars = 0;
        }
        return false;
      }
      if (storedVersion === null || storedVersion < version) {
        // The store no longer holds what this tab wrote (cleared by the
        // browser or the visitor): the next write is a whole snapshot.
        if (storedVersion !== null || version > 0) dirty = true;
        return false;
      }
      // Another tab wrote: replay its entries when this tab's state is exactly
      // the version they build on (nothing unsaved, the snapshot not newer).
      const exact = () => !dirty && unsaved !== null && unsaved.length === 0 && displayChanges.size === 0;
      if (exact() && storedBase !== null && storedBase <= version && base > 0 && storedVersion - version <= JOURNAL_MAX_CHAIN) {
        let entries = null;
        try {
          entries = await readEntries(version + 1, storedVersion);
        } catch {
          entries = null;  // the full path below reads again and reports
        }
        if (entries !== null && exact() && soundPrefix(entries, version + 1).problem === null) {
          const done = replay(entries);
          if (done.problem === null) {
            version = storedVersion;
            if (storedBase > base) base = storedBase;
            return true;
          }
          // Replayed in part: the full path below restores and replays again.
        }
      }
    }
    return pullSnapshot(first, storedVersion);
  }

  // Restores the stored snapshot and replays the journal after it, then this
  // tab's unsaved calls. A damaged snapshot is reported and left for the next
  // write to replace; a damaged or missing entry is reported, and the state
  // of the entries before it is used and written again.
  async function pullSnapshot(first, storedVersion) {
    const replacement = first ? 'a fresh state' : "this tab's state";
    let saved;
    try {
      saved = await store.get('snapshot');
    } catch (err) {
      warn(`stored state cannot be read (${describe(err)}); ${first ? 'starting fresh' : 'this tab goes on with its own'}`);
      if (!first) dirty = true;
      return false;
    }
    if (saved === undefined) {
      if (storedVersion === null || storedVersion === 0) return false;  // nothing stored yet
      warn(`stored state is damaged (version ${storedVersion} is stored without its snapshot, in ${where}); it is replaced by ${replacement}`);
      version = Math.max(version, storedVersion);
      dirty = true;
      return false;
    }
    let problem = recordProblem(saved);
    // Read the journal after the snapshot before changing anything.
    const target = Math.max(storedVersion ?? 0, problem === null ? saved.version : 0);
    let entries = [];
    let chainProblem = null;
    if (problem === null && target > saved.version) {
      const last = Math.min(target, saved.version + JOURNAL_MAX_CHAIN);
      try {
        entries = await readEntries(saved.version + 1, last);
      } catch (err) {
        chainProblem = `cannot be read (${describe(err)})`;
        entries = [];
      }
      const sound = soundPrefix(entries, saved.version + 1);
      if (sound.problem !== null) {
        chainProblem = sound.problem;
        entries = entries.slice(0, sound.count);
      } else if (chainProblem === null && last < target) {
        chainProblem = `is beyond the longest journal kept (${JOURNAL_MAX_CHAIN} entries)`;
      }
    }
    // From here on nothing waits: the calls recorded meanwhile are re-applied too.
    const restored = problem === null ? engine.restore(saved.snapshot) : null;
    if (problem === null && !restored.ok) problem = errorList(restored.errors);
    if (problem !== null) {
      warn(`stored state is damaged (${problem}); it is replaced by ${replacement}`);
      version = Math.max(version, Number.isSafeInteger(saved?.version) ? saved.version : 0, storedVersion ?? 0);
      dirty = true;
      return false;
    }
    version = saved.version;
    base = saved.version;
    journalChars = 0;
    displays = new Map(displayEntries(saved.displays));
    // A record without the count (older runtimes) takes the snapshot's drops as reported.
    dropped = Math.max(dropped, Number.isSafeInteger(saved.dropped) ? saved.dropped : engine.stats().outboxDropped);
    let done = replay(entries);
    if (done.problem !== null) {
      // A call threw half way: start again from the snapshot, up to that entry.
      const failed = done;
      engine.restore(saved.snapshot);
      journalChars = 0;
      displays = new Map(displayEntries(saved.displays));
      done = replay(entries.slice(0, failed.count));
      chainProblem = failed.problem;
      entries = entries.slice(0, failed.count);
    }
    version = saved.version + entries.length;
    dirty = false;
    if (chainProblem !== null) {
      const bad = version + 1;
      warn(`the stored journal is damaged: entry "${JOURNAL_PREFIX}${bad}" (${where}) ${chainProblem}; `
        + `the changes of version${bad === target ? ` ${bad}` : `s ${bad} to ${target}`} are lost, the state of version ${version} is used and stored again`);
      version = target;
      dirty = true;
    }
    reapplyUnsaved();
    return true;
  }

  // Records dropped unsent because the outbox was full (the server was out of
  // reach for long) are reported once, when the snapshot is written (the
  // count is part of it and of the stored record).
  function reportDrops() {
    const n = engine.stats().outboxDropped;
    if (n <= dropped) return;
    warn(`the outbox is full: the ${n - dropped} oldest record(s) were dropped unsent (${n} on this device so far)`);
    dropped = n;
  }

  // What is about to be written leaves the unsaved lists; `restore()` puts it
  // back in front of what was recorded meanwhile when the write fails.
  function takeUnsaved() {
    const taken = { calls: unsaved, chars: unsavedChars, displays: new Map(displayChanges), acked: [...acked] };
    unsaved = [];
    unsavedChars = 0;
    displayChanges.clear();
    acked.clear();
    taken.restore = () => {
      if (taken.calls === null || unsaved === null) {
        unsaved = null;
        unsavedChars = 0;
      } else {
        unsaved = taken.calls.concat(unsaved);
        unsavedChars += taken.chars;
        if (unsaved.length > UNSAVED_MAX_CALLS || unsavedChars > UNSAVED_MAX_CHARS) {
          unsaved = null;
          unsavedChars = 0;
        }
      }
      for (const [p, at] of taken.displays) if (!displayChanges.has(p)) displayChanges.set(p, at);
      for (const id of taken.acked) acked.add(id);
    };
    return taken;
  }

  // Writes the calls since the last write as the next version's journal entry.
  async function writeEntry() {
    const next = version + 1;
    const taken = takeUnsaved();
    const entry = { version: next, calls: taken.calls, savedAt: now(), dropped };
    if (taken.displays.size > 0) entry.displays = [...displays];
    try {
      await store.putAll([[`${JOURNAL_PREFIX}${next}`, entry], ['version', next]]);
    } catch (err) {
      taken.restore();
      return err;
    }
    version = next;
    journalChars += taken.chars;
    sync.announce({ version });
    return null;
  }

  // Writes the whole state as a snapshot and deletes the journal, in one
  // transaction: as the next version when something changed, as the current
  // one when it only compacts the journal.
  async function writeSnapshot() {
    const bump = dirty || hasChanges();
    const next = bump ? version + 1 : version;
    const taken = takeUnsaved();
    const wasDirty = dirty;
    const wasArtifact = artifactLoaded;
    const snapshot = engine.snapshot();
    reportDrops();
    const record = { version: next, snapshot, savedAt: now(), displays: [...displays], dropped };
    dirty = false;
    artifactLoaded = false;
    try {
      await store.putAll([['snapshot', record], ['base', next], ['version', next]], { deletePrefix: JOURNAL_PREFIX });
    } catch (err) {
      taken.restore();
      dirty = dirty || wasDirty;
      artifactLoaded = artifactLoaded || wasArtifact;
      warn(`state cannot be saved (${describe(err)}); it is kept in memory`);
      return false;
    }
    version = next;
    base = next;
    journalChars = 0;
    compactWanted = false;
    idle?.cancel();
    idle = null;
    if (bump) sync.announce({ version });
    return true;
  }

  // The journal is past its bounds: write the snapshot when the page is idle.
  function scheduleCompaction() {
    if (idle !== null || destroyed) return;
    const run = () => {
      idle = null;
      requestCompaction('compacting the stored journal');
    };
    if (typeof globalThis.requestIdleCallback === 'function') {
      const handle = globalThis.requestIdleCallback(run, { timeout: COMPACT_IDLE_TIMEOUT_MS });
      idle = { cancel: () => globalThis.cancelIdleCallback(handle) };
    } else {
      const handle = setTimeout(run, 0);
      idle = { cancel: () => clearTimeout(handle) };
    }
  }

  // A turn of its own that writes the snapshot, if there is a journal (or a change) to fold into it.
  function requestCompaction(what) {
    if (destroyed || !(dirty || hasChanges() || version > base)) return;
    compactWanted = true;
    internal(() => UNCHANGED, what);
  }

  // Writes what changed since the last write: a journal entry when the stored
  // state can take one, the whole snapshot otherwise (and when asked to
  // compact, or when the entry cannot be written). Returns false when nothing
  // could be written (reported; the changes stay in memory and are written
  // at the next turn).
  async function save() {
    const compact = compactWanted || version - base >= 2 * JOURNAL_MAX_ENTRIES || journalChars >= 2 * JOURNAL_MAX_CHARS;
    const chain = !dirty && unsaved !== null && base > 0 && !artifactLoaded;
    if (chain && hasChanges() && !compact) {
      const failed = await writeEntry();
      if (failed === null) {
        if (version - base >= JOURNAL_MAX_ENTRIES || journalChars >= JOURNAL_MAX_CHARS) scheduleCompaction();
        return true;
      }
      // The entry was not written (nothing was): try the whole snapshot.
    }
    if (!dirty && !hasChanges() && !artifactLoaded && !(compact && version > base)) {
      compactWanted = false;
      return true;
    }
    return writeSnapshot();
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
    inFlight = batch;
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
      // A tab that holds changes it could not write (a full quota, a broken
      // store) sends them itself: the sender cannot see them.
      stranded = (await save()) === false;
      // Calls that could not be written stay kept at pagehide until the next turn.
      if (!stranded) {
        inFlight = [];
        if (keptHere) keepUnwritten();
      }
      updateSending();
      let show = restored;
      for (const { item, result, error } of done) {
        settled.add(item);
        if (error) {
          item.reject(error);
          continue;
        }
        const effects = result?.effects ?? [];
        emit(effects);
        if (effects.some((e) => TILE_EFFECTS.has(e.type)) || result?.transitions?.length > 0
          || (PROFILE_METHODS.has(item.method) && result?.ok)) show = true;
        item.resolve(result);
      }
      if (show) render();
      // A turn that changed nothing (a write of acknowledgements or of the
      // snapshot) leaves the deadline timer as it is.
      if (work || restored) {
        armTimer();
        transport?.schedule();
      }
    } catch (err) {
      inFlight = [];
      for (const item of batch) if (!settled.has(item)) item.reject(err);
      warn(`a state change failed: ${describe(err)}`);
    }
  }

  // `event`: the event object a track() call ingests, kept at pagehide
  // while no turn has written it (keepUnwritten).
  function enqueue(fn, method, event = null) {
    return new Promise((resolve, reject) => {
      queue.push({ fn, method, resolve, reject, event });
      if (turnQueued) return;
      turnQueued = true;
      lastTurn = sync.withLock(turn).catch((err) => {
        // The lock itself failed: the changes waiting for this turn fail with it.
        turnQueued = false;
        for (const item of queue.splice(0)) item.reject(err);
        warn(`state changes cannot run (${describe(err)})`);
      });
    });
  }

  /** A change asked for through the API: rejects after destroy(). */
  function change(fn, method, event = null) {
    if (destroyed) return Promise.reject(afterDestroy(method));
    return enqueue(fn, method, event);
  }

  /** A change the runtime makes by itself (timer, feedback, collection): failures are reported. */
  function internal(fn, what, event = null) {
    if (destroyed) return;
    enqueue(fn, what, event).catch(failed(what));
  }

  // A track() for a turn: `event` is what is kept at pagehide until the turn
  // has written it; `fn` tracks it with the same id and, as every other call,
  // the time of its turn (a time taken now could be behind a clock that a
  // call ahead of it moves: the event would be late).
  function tracked(eventType, fields) {
    // An event as engine.track(type, fields) builds it, but now: its id and
    // time are fixed when it happens, so it can be kept at pagehide.
    const event = newEvent(eventType, fields, now());
    return { event, fn: () => engine.track(eventType, { _id: event._id, ...fields }) };
  }

  // --- events not yet written when the page goes away ---
  // Each page keeps under its own key (`<name>:<deviceId>:unwritten-events:<page>`):
  // tabs that go at once do not overwrite each other, and a page back from
  // the back/forward cache rewrites only its own list.

  function readKept(k) {
    let text = null;
    try {
      text = globalThis.localStorage?.getItem(k) ?? null;
    } catch {
      return [];
    }
    if (text === null) return [];
    try {
      const list = JSON.parse(text);
      if (Array.isArray(list)) return list.filter(isObject);
    } catch {
      // reported below
    }
    warn(`the events kept in localStorage "${k}" are damaged; they are dropped`);
    return [];
  }

  // At pagehide, and after a write once this page has kept something: the
  // events of the turn in flight and of the queue, and the ones seen before
  // the start was done. A turn that finishes after all (the page went into
  // the back/forward cache) makes them duplicates, which the engine ignores;
  // its write then empties this page's list.
  function keepUnwritten() {
    const events = [...inFlight, ...queue].map((item) => item.event).filter((e) => e !== null);
    if (early !== null) events.push(...early);
    if (events.length === 0 && !keptHere) return;
    // Each on its own: one that cannot be written as JSON (the engine would
    // refuse it too) does not take the others with it.
    const texts = [];
    for (const event of events.slice(-KEPT_MAX)) {
      try {
        texts.push(JSON.stringify(event));
      } catch {
        // skipped
      }
    }
    try {
      if (texts.length === 0) globalThis.localStorage?.removeItem(pageKeptKey);
      else globalThis.localStorage?.setItem(pageKeptKey, `[${texts.join(',')}]`);
      keptHere = texts.length > 0;
    } catch {
      // No storage or a full quota, while the page unloads: nothing else can keep them.
    }
  }

  // At start: what every page of the device kept is tracked again (each
  // kept again by this page until written).
  function trackKept() {
    let keys = [];
    try {
      const ls = globalThis.localStorage;
      for (let i = 0; ls && i < ls.length; ++i) {
        const k = ls.key(i);
        if (k?.startsWith(`${keptKey}:`)) keys.push(k);
      }
    } catch {
      keys = [];
    }
    const seen = new Set();
    for (const k of keys.sort()) {
      const events = readKept(k);
      try {
        globalThis.localStorage?.removeItem(k);
      } catch {
        // not readable either: readKept() found nothing
      }
      for (const event of events) {
        if (seen.has(event._id)) continue;
        seen.add(event._id);
        enqueue(() => engine.track(event), 'tracking an event kept at pagehide', event).then((r) => {
          if (r && !r.ok) warn(`an event kept at pagehide (${event._id}) is refused: ${errorList(r.errors)}`);
        }, failed(`an event kept at pagehide (${event._id})`));
      }
    }
  }

  const sync = createTabSync({
    name: key,
    onRemoteChange(message) {
      if (destroyed) return;
      if (message.hello) sync.announce({ version, here: true });
      // Another tab changed the state: take it, and show what it decided (and,
      // in the sender, send what it queued: the turn schedules the transport).
      if (message.version > version) internal(() => UNCHANGED, 'taking the state of another tab');
    },
    onMessage: onSendingMessage,
  });

  // Several track() results as one turn's result: every effect and transition, in order.
  function mergedResult(results) {
    const fresh = results.filter((r) => r.ok && !r.duplicate);
    if (fresh.length === 0) return UNCHANGED;
    return { ok: true, effects: fresh.flatMap((r) => r.effects), transitions: fresh.flatMap((r) => r.transitions) };
  }

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
    // In Node a deadline days away must not keep a finished script running.
    timer.unref?.();
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
      // A click on a tile's link leaves the page: kept like any tracked event.
      const { event, fn } = tracked('decisioning.propositionInteract', fields);
      internal(fn, `recording a ${kind}`, event);
      return;
    }
    const since = shownSince.get(info.proposition) ?? now();
    internal(() => {
      const counted = displays.get(info.proposition);
      if (counted !== undefined && counted >= since) return UNCHANGED;
      const result = engine.track('decisioning.propositionDisplay', fields);
      if (result.ok && !result.duplicate) {
        const at = now();
        countDisplay(displays, info.proposition, at);
        countDisplay(displayChanges, info.proposition, at);
      }
      return result;
    }, 'recording a display');
  }

  // What became of the records a delivery error is about, and where they went.
  function deliveryOutcome(e) {
    if (e.ids) return `${transport.url}; ${e.ids.length} record(s) dropped`;
    if (e.kind === 'http' || e.kind === 'network') return `${transport.url}; the records stay in the outbox and are retried`;
    return 'the outbox';
  }

  const transport = options.endpoint
    ? new Transport({
      endpoint: options.endpoint,
      deviceId,
      writeKey: options.writeKey,
      source: {
        pending: (max, bytes) => (torn ? [] : engine.pending(max, bytes)),
        // Acknowledged records leave the outbox at once (so they are not sent
        // again) and for good at the next write (the call is journaled like
        // any other), re-applied on whatever state that turn takes from storage.
        ack: (ids) => {
          if (torn) return 0;
          const n = engine.ack(ids);
          // Even when none was held any more, the ids are remembered (so that
          // they are not queued again): that is a change to write too.
          if (ids.length > 0) {
            for (const id of ids) acked.add(id);
            internal(() => UNCHANGED, 'saving acknowledgements');
          }
          return n;
        },
      },
      onError: (e) => warn(`delivery: ${e.reason ?? e.kind} (${deliveryOutcome(e)})`),
      // A purchase on another device (or imported) that the server sends back: this engine
      // ends the journey too, withdrawing its tiles. Known events are duplicates, ignored.
      onEvents: (events) => internal(() => mergedResult(events.map((e) => engine.track(e))), 'taking events from elsewhere'),
      standby: true,  // until this tab is the sender (see below)
    })
    : null;

  // --- sending: one tab of the device drains the shared outbox ---
  //
  // The tabs share one outbox (the stored state), so only one of them sends:
  // the sender, the tab holding the sender lock (tabs.js, electSender). The
  // others keep their transport on standby. The sender learns of what another
  // tab queued from its announcement: the turn that takes the new state
  // schedules the transport. When the sender closes, crashes or is destroyed,
  // the browser grants the lock to the next tab, which takes the latest
  // stored state and drains it. Nothing is lost: a record is in the stored
  // state before its change resolves, and some tab holds the lock as long as
  // a tab of the device is open (the next visit sends the rest otherwise).
  // Without the Locks API there is no election and every tab sends, as before.
  //
  // A tab that is not the sender still sends:
  // - its own changes that it could not write (`stranded`): the sender cannot see them;
  // - flush(): handed to the sender, which sends and answers with its result;
  //   the tab sends itself when no sender answers (FLUSH_HANDOVER_MS);
  // - its beacon at pagehide (see onHide).
  // Online events, backoff and Retry-After stay with the sender's transport.
  // A page frozen or put in the back/forward cache gives the lock up (a
  // frozen tab cannot send) and asks for it again when it resumes.

  function updateSending() {
    if (transport && !destroyed) transport.standby = !(sync.sender || stranded);
  }

  const handovers = new Map();  // flush() calls handed to the sender: id -> { resolve, timer }

  // Sends from this tab the flush handed over as `id` (no sender answered, or
  // this tab became the sender).
  function flushHere(id) {
    const h = handovers.get(id);
    if (!h) return;
    handovers.delete(id);
    clearTimeout(h.timer);
    h.resolve(transport.flush());  // flush() never rejects
  }

  function askSender(id) {
    const h = handovers.get(id);
    if (!h) return;
    clearTimeout(h.timer);
    if (!sync.post({ flush: id })) {
      flushHere(id);
      return;
    }
    h.timer = setTimeout(() => flushHere(id), FLUSH_HANDOVER_MS);
  }

  function handOverFlush() {
    return new Promise((resolve) => {
      const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
      handovers.set(id, { resolve, timer: null });
      askSender(id);
    });
  }

  function onSendingMessage(message) {
    if (destroyed || !transport) return;
    if (typeof message.flush === 'string') {
      // Another tab's flush(): the sender takes the latest state (the asking
      // tab wrote its changes before asking) and sends.
      if (!sync.sender) return;
      const id = message.flush;
      sync.post({ flushing: id });
      enqueue(() => UNCHANGED, 'a flush asked for by another tab')
        .catch(() => {})
        .then(() => transport.flush())
        .then((result) => sync.post({ flushed: id, result }));
    } else if (typeof message.flushing === 'string') {
      const h = handovers.get(message.flushing);
      if (!h) return;
      clearTimeout(h.timer);
      h.timer = setTimeout(() => flushHere(message.flushing), FLUSH_RESULT_MS);
    } else if (typeof message.flushed === 'string') {
      const h = handovers.get(message.flushed);
      if (!h) return;
      handovers.delete(message.flushed);
      clearTimeout(h.timer);
      const r = message.result;
      h.resolve(r && typeof r === 'object' ? r : { sent: 0, acked: 0, dropped: 0, retryAt: null });
    } else if (message.sender === true) {
      // A new sender (the one asked may have closed before answering): ask it.
      for (const id of [...handovers.keys()]) askSender(id);
    }
  }

  // This tab holds the sender lock: take the latest stored state (the last
  // sender may have closed with records waiting), then drain.
  function onElected() {
    if (destroyed || !transport) return;
    enqueue(() => UNCHANGED, 'taking over sending')
      .catch(failed('taking over sending'))
      .then(() => {
        if (destroyed || !sync.sender) return;
        updateSending();
        sync.post({ sender: true });
        for (const id of [...handovers.keys()]) flushHere(id);
      });
  }

  function electSender() {
    if (transport && !destroyed) sync.electSender(onElected);
  }

  function resignSender() {
    sync.resign();
    updateSending();
  }

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
    // A flag, not abort(reason): signal.reason is missing before Safari 15.4 and Chrome 98.
    let timedOut = false;
    const timeout = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, ARTIFACT_TIMEOUT_MS);
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
      warn(`the artifact cannot be fetched from ${url} (${timedOut ? `no answer within ${ARTIFACT_TIMEOUT_MS / 1000} s` : describe(err)}); ${fallback}`);
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
      warn(`the artifact cannot be cached (${describe(err)}); it is used but not kept`);
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
      warn('the cached artifact is damaged; fetching it again');
      cached = undefined;
    }
    if (cached && cached.url !== url) cached = undefined;  // another site configuration's artifact
    if (cached) {
      const r = await enqueue(loadArtifact(cached.text), 'loadArtifact');
      if (r.ok) {
        fetchArtifact(url, cached).catch(failed('artifact revalidation'));
        return;
      }
      warn(`the cached artifact is invalid (${errorList(r.errors)}); fetching it again`);
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
      // A type and fields: the event is built now, so that it can be kept if
      // the page goes away before it is written. Anything else gets the
      // engine's own error.
      if (typeof eventType !== 'string' || !isObject(fields)) {
        return change(() => engine.track(eventType, fields), 'track');
      }
      const { event, fn } = tracked(eventType, fields);
      return change(fn, 'track', event);
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
    /**
     * Compiles a condition over the profile and segment memberships once;
     * its test() tells whether the visitor meets it now (engine.condition()).
     */
    condition(rule) {
      guard('condition');
      // The engine's condition lives as long as this wrapper holds it.
      const compiled = engine.condition(rule);
      return {
        test() {
          guard('test');
          return compiled.test();
        },
        dispose() {
          compiled.dispose();
        },
      };
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
      // A tab that does not send hands the flush to the one that does.
      if (transport.standby && sync.connected) return handOverFlush();
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
    /** What the engine holds about the visitor, without the history (see the engine's state()). */
    state() {
      guard('state');
      return engine.state();
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
        idle?.cancel();
        idle = null;
        stopAutoTrack?.();
        stopAutoTrack = null;
        removeListeners();
        artifactFetch?.abort(new Error('destroyed'));
        transport?.stop();
        for (const id of [...handovers.keys()]) flushHere(id);
        try {
          // The journal is folded into a snapshot: the next visit restores it without replaying.
          await sync.withLock(async () => {
            if (dirty || hasChanges() || version > base) {
              await pull();
              compactWanted = true;
              await save();
            }
          });
        } catch (err) {
          warn(`state cannot be saved on destroy (${describe(err)})`);
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

  // The `consent` option, on every start: a purpose the visitor has decided
  // since (rk.setConsent) keeps that decision, and a denial always applies.
  function initialConsent() {
    const current = engine.state().consent;
    const initial = Object.fromEntries(Object.entries(options.consent)
      .filter(([purpose, state]) => state === 'denied' || !current[purpose]?.decided));
    if (Object.keys(initial).length === 0) return UNCHANGED;
    const result = engine.setConsent(initial);
    if (!result.ok) throw new RekindleOptionsError('consent', errorList(result.errors));
    return result;
  }

  // Start: the latest state and the artifact, consent, then the deadlines that
  // passed while the page was closed, processed at their true times.
  let seen = [];
  try {
    // What the last page could not write goes first, in the first turn, at
    // its own times: before the start catches up with the deadlines.
    trackKept();
    if (options.artifact !== undefined) {
      const r = await enqueue(loadArtifact(options.artifact), 'loadArtifact');
      if (!r.ok) throw new RekindleArtifactError(r.errors);
    } else {
      await enqueue(() => UNCHANGED, 'start');
    }
    sync.announce({ version, hello: true });
    if (options.artifactUrl !== undefined) await startArtifact();
    const start = [];
    if (options.consent) start.push(enqueue(initialConsent, 'setConsent'));
    // What this page saw while starting (its page view) goes into the start's
    // turn, at its own times, so that the first render shows what the visit
    // qualifies for. It stays in `early` until written: a start that fails keeps it.
    seen = [...early];
    for (const event of seen) {
      // A turn that fails fails the start (with the advance below), which keeps them.
      enqueue(() => engine.track(event), `tracking ${event.eventType}`, event).catch(() => {});
    }
    start.push(enqueue(() => engine.advance(now()), 'advance'));
    await Promise.all(start);
  } catch (err) {
    destroyed = true;
    torn = true;
    abandonStart();
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

  // What this page saw after the start's turn began.
  const later = early.slice(seen.length);
  early = null;
  for (const event of later) internal(() => engine.track(event), `tracking ${event.eventType}`, event);

  // Catch up when the page becomes visible again, or comes back from the
  // back/forward cache (timers may have slept); retry delivery when the
  // network returns; beacon what waits when the page goes away. The state is
  // already saved (every turn writes its journal entry); a page that is
  // hidden or goes away writes the snapshot, so the next visit or the other
  // tabs replay no journal.
  const catchUp = () => internal(() => engine.advance(now()), 'catching up');
  const onVisible = () => {
    if (document.visibilityState === 'visible') catchUp();
    else if (document.visibilityState === 'hidden') requestCompaction('saving');
  };
  const onShow = (event) => {
    if (!event.persisted) return;
    electSender();
    catchUp();
  };
  // Only the sender's transport acts on it (the others are on standby).
  const onOnline = () => transport?.online();
  // Every tab beacons at pagehide, the sender and the others alike. A tab
  // that is not the sender may be the only one holding some records: a
  // change whose turn had not written it yet, changes it could not write
  // (`stranded`), or the whole device is closing and the sender is going
  // too. Which of these holds cannot be known reliably while the page
  // unloads, and a beacon is one request when a page goes away, which the
  // server answers as duplicates when the sender sends the same records; so
  // the simple rule keeps "nothing lost" as it was with every tab sending.
  const onHide = (event) => {
    requestCompaction('saving');
    transport?.beacon();
    // Into the back/forward cache: another tab sends meanwhile.
    if (event?.persisted) resignSender();
  };
  // A frozen page runs nothing: another tab sends until it resumes.
  const onFreeze = () => resignSender();
  const onResume = () => electSender();
  // [target, type, listener]: added here, removed by destroy().
  const pageListeners = typeof document === 'undefined' ? [] : [
    [document, 'visibilitychange', onVisible], [document, 'freeze', onFreeze], [document, 'resume', onResume],
  ];
  pageListeners.push([globalThis, 'pageshow', onShow], [globalThis, 'online', onOnline], [globalThis, 'pagehide', onHide]);
  for (const [target, type, listener] of pageListeners) target.addEventListener?.(type, listener);
  function removeListeners() {
    for (const [target, type, listener] of pageListeners) target.removeEventListener?.(type, listener);
    globalThis.removeEventListener?.('pagehide', keepUnwritten);
  }
  electSender();
  return api;
}
