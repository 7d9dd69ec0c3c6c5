// Browser and bundler entry. `createRekindle` is the page runtime (tiles,
// storage, transport, tabs); `createEngine` is the bare engine for hosts that
// do those themselves. The .wasm is fetched from next to this module unless
// `wasmUrl` says otherwise.
import { createWithModule, RekindleOptionsError, RekindleArtifactError, RekindleConditionError } from './runtime.js';
import { createPageRekindle } from './page/rekindle.js';

export { RekindleOptionsError, RekindleArtifactError, RekindleConditionError };

function moduleOptions(options) {
  const url = options?.wasmUrl ?? new URL('./dist/rekindle.wasm', import.meta.url);
  return { locateFile: (file) => (file.endsWith('.wasm') ? String(url) : file) };
}

/** Creates the page runtime. */
export async function createRekindle(options = {}) {
  return createPageRekindle(options ?? {}, moduleOptions(options));
}

/** Creates a bare engine: synchronous calls, no storage, DOM or network. */
export async function createEngine(options = {}) {
  return createWithModule(options ?? {}, moduleOptions(options));
}
