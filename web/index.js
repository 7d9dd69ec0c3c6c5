// Browser and bundler entry. `createRekindle` is the page runtime (tiles,
// storage, transport, tabs); `createEngine` is the bare engine for hosts that
// do those themselves. The .wasm is fetched from next to this module unless
// `wasmUrl` says otherwise, or compiled from `wasmBinary` (its bytes) without
// a fetch.
// (page/rekindle.js first: see the order of its imports.)
import { createPageRekindle } from './page/rekindle.js';
import { createWithModule, RekindleOptionsError, RekindleArtifactError, RekindleConditionError } from './runtime.js';

export { RekindleOptionsError, RekindleArtifactError, RekindleConditionError };

function moduleOptions(options) {
  const bytes = options?.wasmBinary;
  if (bytes !== undefined) {
    // (ArrayBuffer by its tag, so one from another realm, e.g. an iframe, is taken too)
    if (!ArrayBuffer.isView(bytes) && Object.prototype.toString.call(bytes) !== '[object ArrayBuffer]') {
      throw new RekindleOptionsError('wasmBinary', 'must be an ArrayBuffer or a Uint8Array holding rekindle.wasm');
    }
    return { wasmBinary: bytes };
  }
  return { wasmUrl: options?.wasmUrl ?? new URL('./dist/rekindle.wasm', import.meta.url) };
}

/** Creates the page runtime. */
export async function createRekindle(options = {}) {
  return createPageRekindle(options ?? {}, moduleOptions(options));
}

/** Creates a bare engine: synchronous calls, no storage, DOM or network. */
export async function createEngine(options = {}) {
  return createWithModule(options ?? {}, moduleOptions(options));
}
