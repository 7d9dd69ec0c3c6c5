// The environment-neutral part of the npm module: wraps the wasm engine in a
// friendly API. `index.js` (browsers, bundlers) and `node.js` (Node) differ
// only in how they obtain the wasm bytes.
import createRekindleModule from './dist/rekindle.mjs';

/** Thrown for options a developer must fix; names the option and the problem. */
export class RekindleOptionsError extends Error {
  constructor(option, problem) {
    super(`rekindle: option "${option}" ${problem}`);
    this.name = 'RekindleOptionsError';
    this.option = option;
  }
}

const KNOWN_OPTIONS = new Set(['wasmUrl', 'wasmBinary', 'now', 'deviceId']);

function validateOptions(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
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
}

function newEventId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  // Older browsers: 128 random bits from getRandomValues, formatted as a UUID v4.
  const b = globalThis.crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function describeType(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function failure(reason) {
  return { ok: false, duplicate: false, eventId: '', errors: [{ path: '$', reason }] };
}

/**
 * Loads the engine with the given module options (wasmBinary or locateFile)
 * and returns the public API object.
 */
export async function createWithModule(options, moduleOptions) {
  validateOptions(options);
  const now = options.now ?? (() => Date.now());
  const wasm = await createRekindleModule(moduleOptions);
  let engine = new wasm._Engine();

  function alive(method) {
    if (engine === null) throw new Error(`rekindle: ${method}() called after destroy()`);
  }

  return {
    /** The engine's version. */
    version: wasm._version(),

    /**
     * Tracks an event: either a full XDM event object, or an event type and
     * the fields to add (an id and timestamp are generated on the device).
     */
    track(eventOrType, fields = {}) {
      alive('track');
      let event = eventOrType;
      if (typeof eventOrType === 'string') {
        event = { _id: newEventId(), eventType: eventOrType, timestamp: new Date(now()).toISOString(), ...fields };
      } else if (eventOrType === null || typeof eventOrType !== 'object' || Array.isArray(eventOrType)) {
        return failure(`an event must be an object or an event type string, not ${describeType(eventOrType)}`);
      }
      let text;
      try {
        text = JSON.stringify(event);
      } catch (err) {
        return failure(`event cannot be serialized as JSON: ${err.message}`);
      }
      return JSON.parse(engine._ingest(text, now()));
    },

    /** Tracks an event given as JSON text (hosts that already hold the text: servers, imports). */
    trackJson(text) {
      alive('trackJson');
      if (typeof text !== 'string') return failure(`event JSON must be a string, not ${describeType(text)}`);
      return JSON.parse(engine._ingest(text, now()));
    },

    /** Counts of accepted and duplicate events. */
    stats() {
      alive('stats');
      return { accepted: engine._accepted(), duplicates: engine._duplicates() };
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
