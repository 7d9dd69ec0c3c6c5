// Node entry: reads the .wasm from the package and hands it to the module, so
// no fetch or URL resolution is involved.
import { readFile } from 'node:fs/promises';
import { createWithModule, RekindleOptionsError, RekindleArtifactError } from './runtime.js';

export { RekindleOptionsError, RekindleArtifactError };

/** Creates a Rekindle engine in Node. */
export async function createRekindle(options = {}) {
  const opts = options ?? {};
  const wasmBinary = opts.wasmBinary ?? (await readFile(opts.wasmUrl ?? new URL('./dist/rekindle.wasm', import.meta.url)));
  return createWithModule(opts, { wasmBinary });
}
