// The JS half of the module's C ABI (wasm/engine_bindings.cc): loads the
// module, and gives an `Engine` class whose methods (`_ingest`, `_decide`, ...
// and `delete()`) take and return JS strings and numbers, as web/runtime.js
// calls them.
//
// Text goes in as UTF-8 written into the module's memory (TextEncoder): into
// one scratch buffer reused by every call, or, for text that may need more
// than SCRATCH_MAX bytes, into a buffer of its exact size freed after the
// call; a lone surrogate becomes U+FFFD, as TextEncoder writes it (embind's
// encoder turned it into another character and dropped the next one). A text
// result is read from the module's memory (TextDecoder) right after the call:
// the engine owns it until its next call, and its length is in the word whose
// address rk_result_size() gives. Numbers are passed as they are (the C++
// side clamps times and counts).
import createRekindleModule from './dist/rekindle.mjs';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Text whose UTF-8 may exceed this (3 bytes per UTF-16 unit at most) does not
// grow the scratch buffer, so one big call does not keep its memory.
const SCRATCH_MAX = 1 << 20;

/**
 * Instantiates the module from `{ wasmBinary }` (the bytes of rekindle.wasm)
 * or `{ wasmUrl }` (its URL, a string or URL object). Resolves with the
 * module's memory and exports (wasm/abi-post.js).
 */
export async function loadModule({ wasmBinary, wasmUrl }) {
  let compiled;
  if (wasmBinary) {
    compiled = await WebAssembly.compile(wasmBinary);
  } else {
    const url = String(wasmUrl);
    const response = await fetch(url, { credentials: 'same-origin' });
    if (!response.ok) throw new Error(`rekindle: failed to load ${url}: HTTP ${response.status}`);
    // Streaming compiles while the bytes arrive; it needs the application/wasm type.
    compiled = /^application\/wasm\b/.test(response.headers.get('content-type'))
      ? await WebAssembly.compileStreaming(response)
      : await WebAssembly.compile(await response.arrayBuffer());
  }
  return createRekindleModule({ wasm: compiled });
}

/** Binds the C ABI of a loaded module (loadModule()); returns `{ Engine, version() }`. */
export function engineAbi(wasm) {
  const { memory, malloc, free } = wasm;
  let heap = new Uint8Array(memory.buffer);
  let words = new Uint32Array(memory.buffer);
  const sizeIndex = wasm.rk_result_size() >>> 2;
  let scratch = 0;
  let capacity = 0;
  let temporary = 0;
  // Where encode() put its strings: pointers and byte lengths.
  let p1 = 0;
  let n1 = 0;
  let p2 = 0;
  let n2 = 0;

  // The views of the memory, made again after it grew (a grown memory detaches the old buffer).
  function views() {
    if (heap.byteLength === 0) {
      heap = new Uint8Array(memory.buffer);
      words = new Uint32Array(memory.buffer);
    }
  }

  // malloc(size), or a RangeError when the memory cannot grow (never a null pointer to write at).
  function allocate(size) {
    const ptr = malloc(size);
    if (ptr === 0) throw new RangeError(`rekindle: the engine's memory cannot grow by ${size} bytes`);
    return ptr;
  }

  function string(value) {
    if (typeof value !== 'string') throw new TypeError(`rekindle: the engine takes a string here, not ${value === null ? 'null' : typeof value}`);
  }

  // Writes the UTF-8 of `s` at `at` (room for 3 bytes per unit); returns its length.
  // Short ASCII text (ids, placements) without encodeInto's fixed cost.
  function put(s, at) {
    const n = s.length;
    if (n <= 32) {
      let i = 0;
      for (; i < n; ++i) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        heap[at + i] = c;
      }
      if (i === n) return n;
    }
    return encoder.encodeInto(s, heap.subarray(at, at + n * 3)).written;
  }

  // Where the two strings went: `a` at `at`, `b` right after it.
  function placed(at, na, nb) {
    p1 = at;
    n1 = na;
    p2 = at + na;
    n2 = nb;
  }

  // Writes the UTF-8 of `a` (and `b`) into the module's memory.
  function encode(a, b = '') {
    string(a);
    string(b);
    const max = (a.length + b.length) * 3;
    if (max <= SCRATCH_MAX) {
      if (max > capacity) {
        const size = Math.max(max, Math.min(2 * capacity, SCRATCH_MAX), 256);
        free(scratch);
        scratch = 0;
        capacity = 0;
        scratch = allocate(size);
        capacity = size;
      }
      views();
      const na = put(a, scratch);
      placed(scratch, na, put(b, scratch + na));
    } else {
      release();
      // ASCII text (most snapshots and artifacts) straight into the module's
      // memory, one byte per unit (in Chromium encode() and a copy took 15 ms
      // for a 2.4 MB snapshot, encodeInto 4 ms); other text at its exact size.
      const size = a.length + b.length;
      temporary = allocate(Math.max(size, 1));
      views();
      const ra = encoder.encodeInto(a, heap.subarray(temporary, temporary + a.length));
      const rb = ra.read === a.length ? encoder.encodeInto(b, heap.subarray(temporary + ra.written, temporary + size)) : null;
      if (rb !== null && rb.read === b.length) {
        placed(temporary, ra.written, rb.written);
        return;
      }
      release();
      const ea = encoder.encode(a);
      const eb = encoder.encode(b);
      temporary = allocate(ea.length + eb.length);
      views();
      heap.set(ea, temporary);
      heap.set(eb, temporary + ea.length);
      placed(temporary, ea.length, eb.length);
    }
  }

  // Frees the buffer of a big input after its call.
  function release() {
    if (temporary !== 0) {
      free(temporary);
      temporary = 0;
    }
  }

  // The text result at `ptr`, after release().
  function result(ptr) {
    release();
    views();
    const n = words[sizeIndex];
    // Short ASCII results ("null", "[]") without TextDecoder's fixed cost.
    if (n <= 16) {
      let s = '';
      for (let i = ptr; i < ptr + n; ++i) {
        const c = heap[i];
        if (c > 0x7f) return decoder.decode(heap.subarray(ptr, ptr + n));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return decoder.decode(heap.subarray(ptr, ptr + n));
  }

  // The engine's handle; throws once it is deleted (a stale handle must never reach the module).
  function live(engine) {
    if (engine.handle === 0) throw new Error('rekindle: the engine was deleted');
    return engine.handle;
  }

  class Engine {
    constructor(deviceId) {
      encode(deviceId);
      this.handle = wasm.rk_engine_new(p1, n1);
      release();
    }

    _ingest(eventJson, now) {
      const h = live(this);
      encode(eventJson);
      return result(wasm.rk_ingest(h, p1, n1, now));
    }

    _loadArtifact(artifactJson, now) {
      const h = live(this);
      encode(artifactJson);
      return result(wasm.rk_load_artifact(h, p1, n1, now));
    }

    _setAttributes(attributesJson, now) {
      const h = live(this);
      encode(attributesJson);
      return result(wasm.rk_set_attributes(h, p1, n1, now));
    }

    _identify(namespace, id, now) {
      const h = live(this);
      encode(namespace, id);
      return result(wasm.rk_identify(h, p1, n1, p2, n2, now));
    }

    _setConsent(statesJson, now) {
      const h = live(this);
      encode(statesJson);
      return result(wasm.rk_set_consent(h, p1, n1, now));
    }

    _advance(now) {
      return result(wasm.rk_advance(live(this), now));
    }

    /** NaN when there is no deadline. */
    _nextDeadline() {
      return wasm.rk_next_deadline(live(this));
    }

    _segments() {
      return result(wasm.rk_segments(live(this)));
    }

    _state() {
      return result(wasm.rk_state(live(this)));
    }

    _decide(placement, now) {
      const h = live(this);
      encode(placement);
      return result(wasm.rk_decide(h, p1, n1, now));
    }

    _pending(maxRecords, maxBytes) {
      return result(wasm.rk_pending(live(this), maxRecords, maxBytes));
    }

    _ack(idsJson) {
      const h = live(this);
      encode(idsJson);
      const n = wasm.rk_ack(h, p1, n1);
      release();
      return n;
    }

    /** JSON text: the compiled condition's handle (a number), or its errors (an array). */
    _condition(conditionJson) {
      const h = live(this);
      encode(conditionJson);
      return result(wasm.rk_condition(h, p1, n1));
    }

    /** 1 if met, 0 if not. `condition` must be a live handle from _condition() (web/runtime.js keeps track). */
    _test(condition) {
      return wasm.rk_test(live(this), condition);
    }

    _conditionFree(condition) {
      wasm.rk_condition_free(live(this), condition);
    }

    _outboxSize() {
      return wasm.rk_outbox_size(live(this));
    }

    _outboxDropped() {
      return wasm.rk_outbox_dropped(live(this));
    }

    _snapshot() {
      return result(wasm.rk_snapshot(live(this)));
    }

    _restore(snapshot) {
      const h = live(this);
      encode(snapshot);
      return result(wasm.rk_restore(h, p1, n1));
    }

    _accepted() {
      return wasm.rk_accepted(live(this));
    }

    _duplicates() {
      return wasm.rk_duplicates(live(this));
    }

    /** Frees the engine; any later call throws. */
    delete() {
      wasm.rk_engine_free(live(this));
      this.handle = 0;
    }
  }

  return { Engine, version: () => result(wasm.rk_version()) };
}
