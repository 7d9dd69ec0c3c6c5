// Browser and bundler entry: the .wasm is fetched from next to this module
// unless `wasmUrl` says otherwise.
import { createWithModule, RekindleOptionsError, RekindleArtifactError } from './runtime.js';

export { RekindleOptionsError, RekindleArtifactError };

/** Creates a Rekindle engine in the page. */
export async function createRekindle(options = {}) {
  const url = options?.wasmUrl ?? new URL('./dist/rekindle.wasm', import.meta.url);
  return createWithModule(options ?? {}, {
    locateFile: (file) => (file.endsWith('.wasm') ? String(url) : file),
  });
}
