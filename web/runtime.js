// The environment-neutral part of the npm module: wraps the wasm engine in a
// friendly API. `index.js` (browsers, bundlers) and `node.js` (Node) differ
// only in how they obtain the wasm bytes.
import { loadModule, engineAbi } from './engine-abi.js';
import { isObject, describeType } from './page/common.js';

/** Thrown for options a developer must fix; names the option and the problem. */
export class RekindleOptionsError extends Error {
  constructor(option, problem) {
    super(`rekindle: option "${option}" ${problem}`);
    this.name = 'RekindleOptionsError';
    this.option = option;
  }
}

// "rekindle: the <what> is invalid (n errors):" and a line per error with its path.
function invalid(what, errors) {
  const lines = errors.map((e) => `  ${e.path}: ${e.reason}`).join('\n');
  return `rekindle: the ${what} is invalid (${errors.length} error${errors.length === 1 ? '' : 's'}):\n${lines}`;
}

/** Thrown when a campaign artifact given as an option is invalid; `errors` lists every problem with its path. */
export class RekindleArtifactError extends Error {
  constructor(errors) {
    super(invalid('artifact', errors));
    this.name = 'RekindleArtifactError';
    this.errors = errors;
  }
}

/** Thrown by `condition()` for an invalid condition; `errors` lists every problem with its path. */
export class RekindleConditionError extends Error {
  constructor(errors) {
    super(invalid('condition', errors));
    this.name = 'RekindleConditionError';
    this.errors = errors;
  }
}

const KNOWN_OPTIONS = new Set(['wasmUrl', 'wasmBinary', 'now', 'deviceId', 'artifact']);

function validateOptions(options) {
  if (!isObject(options)) {
    throw new RekindleOptionsError('options', 'must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new RekindleOptionsError(key, 'is not a known option');
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new RekindleOptionsError('now', 'must be a function returning milliseconds');
  }
  if (options.wasmUrl !== undefined && typeof options.wasmUrl !== 'string' && !(options.wasmUrl instanceof URL)) {
    throw new RekindleOptionsError('wasmUrl', 'must be a string or URL');
  }
  if (options.deviceId !== undefined && (typeof options.deviceId !== 'string' || options.deviceId.length === 0)) {
    throw new RekindleOptionsError('deviceId', 'must be a non-empty string');
  }
  if (options.artifact !== undefined && !isObject(options.artifact)) {
    throw new RekindleOptionsError('artifact', 'must be a campaign artifact object');
  }
}

// JSON text for the engine, or an error result when the value cannot be serialized.
function toJsonText(value, what) {
  if (typeof value === 'string') return { text: value };
  try {
    const text = JSON.stringify(value);
    if (typeof text !== 'string') return { error: failure(`${what} must be a JSON object, not ${describeType(value)}`) };
    return { text };
  } catch (err) {
    return { error: failure(`${what} cannot be serialized as JSON: ${err.message}`) };
  }
}

/** An event of `eventType` with `fields`, and an id and the time `at` (ms) generated. */
export function newEvent(eventType, fields, at) {
  return { _id: newEventId(), eventType, timestamp: new Date(at).toISOString(), ...fields };
}

export function newEventId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  // Older browsers: 128 random bits from getRandomValues, formatted as a UUID v4.
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function failure(reason) {
  return { ok: false, duplicate: false, late: false, eventId: '', errors: [{ path: '$', reason }], transitions: [], effects: [] };
}

// The module's calls that can change the engine's state, with the types of
// their arguments (web/engine-abi.js, wasm/engine_bindings.cc). The others (_decide, _pending,
// _snapshot, _state, _segments, _nextDeadline and the counters) only read it:
// decide() ticks a copy of the clock, it does not move it. _restore replaces
// the state and is the host's own doing.
const STATE_CALLS = Object.freeze({
  _ingest: ['string', 'number'],
  _loadArtifact: ['string', 'number'],
  _setAttributes: ['string', 'number'],
  _identify: ['string', 'string', 'number'],
  _setConsent: ['string', 'number'],
  _advance: ['number'],
  _ack: ['string'],
});

const isStateCall = (method) => Object.prototype.hasOwnProperty.call(STATE_CALLS, method);

// Why [method, args] is not a state-changing call this module can make, or null.
function stateCallProblem(method, args) {
  if (typeof method !== 'string' || !isStateCall(method)) return `"${String(method).slice(0, 40)}" is not an engine call that changes the state`;
  const types = STATE_CALLS[method];
  if (!Array.isArray(args) || args.length !== types.length) return `${method} takes ${types.length} argument(s)`;
  for (let i = 0; i < types.length; ++i) {
    if (typeof args[i] !== types[i]) return `argument ${i + 1} of ${method} is ${describeType(args[i])}, not a ${types[i]}`;
  }
  return null;
}

/**
 * Loads the engine with the given module options (wasmBinary or wasmUrl)
 * and returns the public API object.
 *
 * `internal` (not public API; the page runtime's write-ahead journal uses
 * it): when given, `internal.onCall(method, args, result)` is called after
 * every module call that can change the state, with the exact arguments it
 * was given (the event JSON text with its generated id and timestamp, the
 * `now` used), and `internal.replay(method, args)` is set: it makes such a
 * call again, without reporting it, so that replaying the calls in order on
 * an engine at the same state reproduces the same state (the engine is a
 * deterministic function of its inputs). `internal.callProblem(method, args)`
 * says why a call cannot be replayed, or returns null.
 */
export async function createWithModule(options, moduleOptions, internal = null) {
  validateOptions(options);
  const now = options.now ?? (() => Date.now());
  const abi = engineAbi(await loadModule(moduleOptions));
  let engine = new abi.Engine(options.deviceId ?? '');
  const onCall = typeof internal?.onCall === 'function' ? internal.onCall : null;
  const call = (method, ...args) => {
    const result = JSON.parse(engine[method](...args));
    if (onCall && isStateCall(method)) onCall(method, args, result);
    return result;
  };
  if (internal) {
    internal.callProblem = stateCallProblem;
    internal.replay = (method, args) => {
      const problem = stateCallProblem(method, args);
      if (problem !== null) throw new TypeError(`rekindle: cannot replay: ${problem}`);
      if (engine === null) throw new Error(`rekindle: ${method}() replayed after destroy()`);
      engine[method](...args);
    };
  }

  if (options.artifact !== undefined) {
    const loaded = call('_loadArtifact', JSON.stringify(options.artifact), now());
    if (!loaded.ok) {
      engine.delete();
      throw new RekindleArtifactError(loaded.errors);
    }
  }

  function alive(method) {
    if (engine === null) throw new Error(`rekindle: ${method}() called after destroy()`);
  }

  // A condition dropped without dispose() is freed once collected, while the
  // engine lives (destroy() frees them all with it).
  const dropped = new FinalizationRegistry((handle) => engine?._conditionFree(handle));

  return {
    /** The engine's version. */
    version: abi.version(),

    /**
     * Tracks an event: either a full XDM event object, or an event type and
     * the fields to add (an id and timestamp are generated on the device).
     */
    track(eventOrType, fields = {}) {
      alive('track');
      let event = eventOrType;
      if (typeof eventOrType === 'string') {
        event = newEvent(eventOrType, fields, now());
      } else if (!isObject(eventOrType)) {
        return failure(`an event must be an object or an event type string, not ${describeType(eventOrType)}`);
      }
      const { text, error } = toJsonText(event, 'event');
      return error ?? call('_ingest', text, now());
    },

    /** Tracks an event given as JSON text (hosts that already hold the text: servers, imports). */
    trackJson(text) {
      alive('trackJson');
      if (typeof text !== 'string') return failure(`event JSON must be a string, not ${describeType(text)}`);
      return call('_ingest', text, now());
    },

    /**
     * Switches to a campaign artifact (object or JSON text). On errors the
     * engine keeps the artifact it had and the result lists every problem.
     */
    loadArtifact(artifact) {
      alive('loadArtifact');
      const { text, error } = toJsonText(artifact, 'artifact');
      return error ? { ...error, same: false } : call('_loadArtifact', text, now());
    },

    /** Sets profile attributes (nested objects set nested attributes). */
    setAttributes(attributes) {
      alive('setAttributes');
      if (!isObject(attributes)) {
        return failure(`attributes must be an object, not ${describeType(attributes)}`);
      }
      const { text, error } = toJsonText(attributes, 'attributes');
      return error ?? call('_setAttributes', text, now());
    },

    /** Links a known id (namespace + id, e.g. 'email', a hashed address) to this profile. */
    identify(namespace, id) {
      alive('identify');
      if (typeof namespace !== 'string' || typeof id !== 'string') return failure('identify(namespace, id) needs two strings');
      return call('_identify', namespace, id, now());
    },

    /** The visitor's consent decisions, e.g. `{ 'marketing.email': 'granted' }`. */
    setConsent(purposes) {
      alive('setConsent');
      if (!isObject(purposes)) {
        return failure(`consent must be an object of purpose: state, not ${describeType(purposes)}`);
      }
      const { text, error } = toJsonText(purposes, 'consent');
      return error ?? call('_setConsent', text, now());
    },

    /** The best offer for a placement now, or null. */
    decide(placement) {
      alive('decide');
      if (typeof placement !== 'string') throw new TypeError('rekindle: decide(placement) needs a placement id string');
      return call('_decide', placement, now());
    },

    /**
     * Compiles a condition over the profile's attributes and segment
     * memberships (the language of offer eligibility, docs/rules.md) once;
     * its `test()` then tells whether the visitor meets it now, without
     * crossing the boundary with any text. Throws RekindleConditionError,
     * listing every problem with its path, when the condition is invalid.
     */
    condition(rule) {
      alive('condition');
      const { text, error } = toJsonText(rule, 'a condition');
      if (error) throw new RekindleConditionError(error.errors);
      const handle = JSON.parse(engine._condition(text));
      if (typeof handle !== 'number') throw new RekindleConditionError(handle);
      // The handle is an address in the module: it never reaches it again after dispose() or destroy().
      let disposed = false;
      const condition = {
        /** True if the visitor meets the condition now; false without consent to personalization. */
        test() {
          if (disposed) throw new Error('rekindle: test() called on a disposed condition');
          alive('test');
          return engine._test(handle) === 1;
        },
        /** Frees the compiled condition now; test() throws afterwards. */
        dispose() {
          if (disposed) return;
          disposed = true;
          dropped.unregister(condition);
          if (engine !== null) engine._conditionFree(handle);
        },
      };
      dropped.register(condition, handle, condition);
      return condition;
    },

    /** Records waiting for the server that consent allows sending, oldest first. */
    pending(maxRecords = 50, maxBytes = 64 * 1024) {
      alive('pending');
      return call('_pending', maxRecords, maxBytes);
    },

    /** Records the server acknowledged leave the outbox; returns how many did. */
    ack(ids) {
      alive('ack');
      if (!Array.isArray(ids)) throw new TypeError('rekindle: ack(ids) needs an array of record ids');
      const text = JSON.stringify(ids.filter((id) => typeof id === 'string'));
      const n = engine._ack(text);
      // Even when no record left, the ids are remembered (the state changed).
      onCall?.('_ack', [text], n);
      return n;
    },

    /** Processes every deadline up to `at` (default: now); transitions carry their true times. */
    advance(at = now()) {
      alive('advance');
      if (typeof at !== 'number' || !Number.isFinite(at)) return failure('advance(at) needs a time in milliseconds');
      return call('_advance', at);
    },

    /** When a segment may next change without a new event (ms since epoch), or null. */
    nextDeadline() {
      alive('nextDeadline');
      const t = engine._nextDeadline();
      return Number.isNaN(t) ? null : t;
    },

    /** Current memberships: `[{ segment, status: 'existing', since }]`. */
    segments() {
      alive('segments');
      return call('_segments');
    },

    /**
     * What the engine holds about the visitor, without the event history:
     * `{ clock, profileId, profile, consent, journeys }`, each part as in a
     * snapshot. For an inspector or a consent banner: its size does not grow
     * with the history, unlike snapshot().
     */
    state() {
      alive('state');
      return call('_state');
    },

    /** The whole engine state as JSON text (format-versioned), to persist and restore. */
    snapshot() {
      alive('snapshot');
      return engine._snapshot();
    },

    /** Replaces the state with a snapshot; a damaged or newer one is refused and nothing changes. */
    restore(snapshot) {
      alive('restore');
      if (typeof snapshot !== 'string') return failure(`a snapshot must be JSON text, not ${describeType(snapshot)}`);
      return call('_restore', snapshot);
    },

    /** Counts of accepted and duplicate events. */
    stats() {
      alive('stats');
      return {
        accepted: engine._accepted(),
        duplicates: engine._duplicates(),
        outbox: engine._outboxSize(),
        outboxDropped: engine._outboxDropped(),
      };
    },

    /** Frees the engine. The object must not be used afterwards. */
    destroy() {
      if (engine !== null) {
        engine.delete();
        engine = null;
      }
    },
  };
}
